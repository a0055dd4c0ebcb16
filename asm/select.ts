/** Selection along an axis and group means, float32 data. */

/** Group g + 1's value beside group g's in the low float64 lanes: `[x(p), x(p + stride)]` promoted. */
// @ts-ignore: decorator
@inline function pairAt(p: usize, stride: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load32_lane(p + stride, v128.load32_zero(p), 1))
}

/** The float32 means of two float64 lane sums, and two more, as one vector. */
// @ts-ignore: decorator
@inline function means(a: v128, b: v128, n: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(f64x2.div(a, n)), f32x4.demote_f64x2_zero(f64x2.div(b, n)), 0, 1, 4, 5)
}

/**
 * Means of consecutive groups of `size` along rows of `length`, each summed in float64 in
 * order (as the reference does). Eight groups run side by side, two to a float64 vector: eight
 * independent dependency chains instead of one, the same additions in the same order (a lane
 * adds exactly what the scalar loop adds, and divides and rounds as it does). Where the groups
 * fill the rows (no trailing elements) the rows are one run of groups, so that the groups left
 * over at the end of a row (two of VotingLayer's ten) do not each run as a single chain.
 */
export function groupMean(out: usize, x: usize, rows: i32, length: i32, size: i32): void {
  let groups = length / size
  if (groups * size == length) {
    groups *= rows
    length *= rows
    rows = 1
  }
  const n = <f64>size
  const vn = f64x2.splat(n)
  const stride = <usize>size * 4
  for (let r = 0; r < rows; r++) {
    const row = x + <usize>(r * length) * 4
    const dst = out + <usize>(r * groups) * 4
    let g = 0
    for (; g + 8 <= groups; g += 8) {
      const b0 = row + <usize>(g * size) * 4
      let a0 = f64x2.splat(0)
      let a1 = a0
      let a2 = a0
      let a3 = a0
      for (let j = 0; j < size; j++) {
        const p = b0 + <usize>j * 4
        a0 = f64x2.add(a0, pairAt(p, stride))
        a1 = f64x2.add(a1, pairAt(p + 2 * stride, stride))
        a2 = f64x2.add(a2, pairAt(p + 4 * stride, stride))
        a3 = f64x2.add(a3, pairAt(p + 6 * stride, stride))
      }
      const d = dst + <usize>g * 4
      v128.store(d, means(a0, a1, vn))
      v128.store(d, means(a2, a3, vn), 16)
    }
    for (; g < groups; g++) {
      const base = row + <usize>(g * size) * 4
      let sum: f64 = 0
      for (let j = 0; j < size; j++) sum += <f64>load<f32>(base + <usize>j * 4)
      store<f32>(dst + <usize>g * 4, <f32>(sum / n))
    }
  }
}

/**
 * WTALayer's k = 1 selection: out = `values` where x * noise is its column's max along the
 * middle axis of [outer, axis, inner], else 0 (`values` is x for the forward, the output's
 * cotangent for the backward). f32x4.mul rounds as the reference's float32 score does; the
 * max propagates NaN (a NaN column selects nothing, since nothing is >= NaN) and the sign of a
 * zero max does not matter to `>=`, so the result is bit-identical. `best` is scratch for
 * `inner` floats: one pass finds the column maxima row by row (contiguous loads), a second
 * pass selects.
 */
export function keepMaxAlongAxis(
  out: usize, values: usize, x: usize, noise: usize, outer: i32, axis: i32, inner: i32, best: usize,
): void {
  if (inner == 1) {
    keepMaxAlongRows(out, values, x, noise, outer, axis)
    return
  }
  for (let o = 0; o < outer; o++) {
    const base = <usize>(o * axis * inner) * 4
    let i = 0
    for (; i + 4 <= inner; i += 4) v128.store(best + <usize>i * 4, f32x4.splat(-Infinity))
    for (; i < inner; i++) store<f32>(best + <usize>i * 4, -Infinity)
    for (let c = 0; c < axis; c++) {
      const row = base + <usize>(c * inner) * 4
      i = 0
      for (; i + 4 <= inner; i += 4) {
        const at = row + <usize>i * 4
        const s = f32x4.mul(v128.load(x + at), v128.load(noise + at))
        const b = best + <usize>i * 4
        v128.store(b, f32x4.max(v128.load(b), s))
      }
      for (; i < inner; i++) {
        const at = row + <usize>i * 4
        const b = best + <usize>i * 4
        store<f32>(b, max(load<f32>(b), load<f32>(x + at) * load<f32>(noise + at)))
      }
    }
    for (let c = 0; c < axis; c++) {
      const row = base + <usize>(c * inner) * 4
      i = 0
      for (; i + 4 <= inner; i += 4) {
        const at = row + <usize>i * 4
        const wins = f32x4.ge(f32x4.mul(v128.load(x + at), v128.load(noise + at)), v128.load(best + <usize>i * 4))
        v128.store(out + at, v128.and(v128.load(values + at), wins))
      }
      for (; i < inner; i++) {
        const at = row + <usize>i * 4
        const wins = load<f32>(x + at) * load<f32>(noise + at) >= load<f32>(best + <usize>i * 4)
        store<f32>(out + at, wins ? load<f32>(values + at) : 0)
      }
    }
  }
}

/** keepMaxAlongAxis with inner = 1: each row's max across SIMD lanes, then the selection. */
function keepMaxAlongRows(out: usize, values: usize, x: usize, noise: usize, rows: i32, length: i32): void {
  for (let r = 0; r < rows; r++) {
    const row = <usize>(r * length) * 4
    let acc = f32x4.splat(-Infinity)
    let c = 0
    for (; c + 4 <= length; c += 4) {
      const at = row + <usize>c * 4
      acc = f32x4.max(acc, f32x4.mul(v128.load(x + at), v128.load(noise + at)))
    }
    let m = max(max(f32x4.extract_lane(acc, 0), f32x4.extract_lane(acc, 1)), max(f32x4.extract_lane(acc, 2), f32x4.extract_lane(acc, 3)))
    for (; c < length; c++) m = max(m, load<f32>(x + row + <usize>c * 4) * load<f32>(noise + row + <usize>c * 4))
    const top = f32x4.splat(m)
    c = 0
    for (; c + 4 <= length; c += 4) {
      const at = row + <usize>c * 4
      const wins = f32x4.ge(f32x4.mul(v128.load(x + at), v128.load(noise + at)), top)
      v128.store(out + at, v128.and(v128.load(values + at), wins))
    }
    for (; c < length; c++) {
      const at = row + <usize>c * 4
      store<f32>(out + at, load<f32>(x + at) * load<f32>(noise + at) >= m ? load<f32>(values + at) : 0)
    }
  }
}

/**
 * The cotangent of x through groupMean: `cot / size` (in float64, rounded once, as the
 * reference) to each member of a group, 0 to the remainder.
 */
export function groupMeanGrad(out: usize, cot: usize, rows: i32, length: i32, size: i32): void {
  const groups = length / size
  const n = <f64>size
  for (let r = 0; r < rows; r++) {
    const row = out + <usize>(r * length) * 4
    const src = cot + <usize>(r * groups) * 4
    for (let g = 0; g < groups; g++) {
      const share = <f32>(<f64>load<f32>(src + <usize>g * 4) / n)
      const v = f32x4.splat(share)
      const d = row + <usize>(g * size) * 4
      let j = 0
      for (; j + 4 <= size; j += 4) v128.store(d + <usize>j * 4, v)
      for (; j < size; j++) store<f32>(d + <usize>j * 4, share)
    }
    for (let j = groups * size; j < length; j++) store<f32>(row + <usize>j * 4, 0)
  }
}
