/**
 * Moments and normalization: float32 data, float64 statistics (pointers to f64 arrays).
 * Where the reduction runs along a strided axis (inner > 1) the lanes are independent
 * (outer, inner) pairs summed in the reference's order, so results are bit-identical; a
 * contiguous reduction (inner == 1) uses several float64 accumulators, equal within rounding.
 * The normalize/affine kernels compute in float64 lanes in the reference's operation order.
 */

// @ts-ignore: decorator
@inline function lo(v: v128): v128 {
  return f64x2.promote_low_f32x4(v)
}
// @ts-ignore: decorator
@inline function hi(v: v128): v128 {
  return f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1))
}
// @ts-ignore: decorator
@inline function pack(l: v128, h: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(l), f32x4.demote_f64x2_zero(h), 0, 1, 4, 5)
}

/**
 * Sum of `len` contiguous floats in float64, or (`square`) of their squared distances to
 * `shift`. Four float64x2 accumulators, eight elements a step: four independent addition
 * chains, so the loop runs at the adder's throughput rather than its latency.
 */
function sumRun(x: usize, len: i32, shift: f64, square: bool): f64 {
  const s = f64x2.splat(shift)
  let a0 = f64x2.splat(0)
  let a1 = a0
  let a2 = a0
  let a3 = a0
  let i = 0
  if (square) {
    for (; i + 8 <= len; i += 8) {
      const v = v128.load(x + <usize>i * 4)
      const w = v128.load(x + <usize>i * 4, 16)
      const d0 = f64x2.sub(lo(v), s)
      const d1 = f64x2.sub(hi(v), s)
      const d2 = f64x2.sub(lo(w), s)
      const d3 = f64x2.sub(hi(w), s)
      a0 = f64x2.add(a0, f64x2.mul(d0, d0))
      a1 = f64x2.add(a1, f64x2.mul(d1, d1))
      a2 = f64x2.add(a2, f64x2.mul(d2, d2))
      a3 = f64x2.add(a3, f64x2.mul(d3, d3))
    }
  } else {
    for (; i + 8 <= len; i += 8) {
      const v = v128.load(x + <usize>i * 4)
      const w = v128.load(x + <usize>i * 4, 16)
      a0 = f64x2.add(a0, lo(v))
      a1 = f64x2.add(a1, hi(v))
      a2 = f64x2.add(a2, lo(w))
      a3 = f64x2.add(a3, hi(w))
    }
  }
  const a = f64x2.add(f64x2.add(a0, a1), f64x2.add(a2, a3))
  let total = f64x2.extract_lane(a, 0) + f64x2.extract_lane(a, 1)
  for (; i < len; i++) {
    const d = <f64>load<f32>(x + <usize>i * 4) - shift
    total += square ? d * d : d
  }
  return total
}

/** Mean and biased variance along the middle axis of [outer, axis, inner], two-pass. */
export function momentsAlongAxis(mean: usize, variance: usize, x: usize, outer: i32, axis: i32, inner: i32): void {
  const n = <f64>axis
  if (inner == 1) {
    for (let o = 0; o < outer; o++) {
      const row = x + <usize>(o * axis) * 4
      const mu = sumRun(row, axis, 0, false) / n
      store<f64>(mean + <usize>o * 8, mu)
      store<f64>(variance + <usize>o * 8, sumRun(row, axis, mu, true) / n)
    }
    return
  }
  for (let o = 0; o < outer; o++) {
    const base = x + <usize>(o * axis * inner) * 4
    const m = mean + <usize>(o * inner) * 8
    const v = variance + <usize>(o * inner) * 8
    memory.fill(m, 0, <usize>inner * 8)
    memory.fill(v, 0, <usize>inner * 8)
    for (let c = 0; c < axis; c++) {
      const row = base + <usize>(c * inner) * 4
      let i = 0
      for (; i + 4 <= inner; i += 4) {
        const xv = v128.load(row + <usize>i * 4)
        const mi = m + <usize>i * 8
        v128.store(mi, f64x2.add(v128.load(mi), lo(xv)))
        v128.store(mi, f64x2.add(v128.load(mi, 16), hi(xv)), 16)
      }
      for (; i < inner; i++) {
        const mi = m + <usize>i * 8
        store<f64>(mi, load<f64>(mi) + <f64>load<f32>(row + <usize>i * 4))
      }
    }
    for (let i = 0; i < inner; i++) store<f64>(m + <usize>i * 8, load<f64>(m + <usize>i * 8) / n)
    for (let c = 0; c < axis; c++) {
      const row = base + <usize>(c * inner) * 4
      let i = 0
      for (; i + 4 <= inner; i += 4) {
        const xv = v128.load(row + <usize>i * 4)
        const mi = m + <usize>i * 8
        const vi = v + <usize>i * 8
        const dl = f64x2.sub(lo(xv), v128.load(mi))
        const dh = f64x2.sub(hi(xv), v128.load(mi, 16))
        v128.store(vi, f64x2.add(v128.load(vi), f64x2.mul(dl, dl)))
        v128.store(vi, f64x2.add(v128.load(vi, 16), f64x2.mul(dh, dh)), 16)
      }
      for (; i < inner; i++) {
        const d = <f64>load<f32>(row + <usize>i * 4) - load<f64>(m + <usize>i * 8)
        const vi = v + <usize>i * 8
        store<f64>(vi, load<f64>(vi) + d * d)
      }
    }
    for (let i = 0; i < inner; i++) store<f64>(v + <usize>i * 8, load<f64>(v + <usize>i * 8) / n)
  }
}

/** Mean and biased variance of each channel of [outer, channels, inner], two-pass. */
export function momentsPerChannel(mean: usize, variance: usize, x: usize, outer: i32, channels: i32, inner: i32): void {
  const count = <f64>outer * <f64>inner
  for (let c = 0; c < channels; c++) {
    let sum: f64 = 0
    for (let o = 0; o < outer; o++) sum += sumRun(x + <usize>((o * channels + c) * inner) * 4, inner, 0, false)
    const mu = sum / count
    let squares: f64 = 0
    for (let o = 0; o < outer; o++) squares += sumRun(x + <usize>((o * channels + c) * inner) * 4, inner, mu, true)
    store<f64>(mean + <usize>c * 8, mu)
    store<f64>(variance + <usize>c * 8, squares / count)
  }
}

/**
 * `out = (x - mean[o, i]) * invStd[o, i] * weight[c] + bias[c]` over [outer, axis, inner], with
 * `invStd = 1 / sqrt(variance + eps)` computed once per (o, i) into `invStd` (scratch for
 * outer * inner float64s), in float64 as the reference does.
 */
export function normalizeAlongAxis(
  out: usize, x: usize, outer: i32, axis: i32, inner: i32,
  mean: usize, variance: usize, eps: f64, weight: usize, bias: usize, invStd: usize,
): void {
  const stats = outer * inner
  for (let s = 0; s < stats; s++) {
    store<f64>(invStd + <usize>s * 8, 1 / sqrt<f64>(load<f64>(variance + <usize>s * 8) + eps))
  }
  if (inner == 1) {
    // one statistic per row; weight and bias vary along the row
    for (let o = 0; o < outer; o++) {
      const mu = load<f64>(mean + <usize>o * 8)
      const is = load<f64>(invStd + <usize>o * 8)
      const vm = f64x2.splat(mu)
      const vs = f64x2.splat(is)
      const row = x + <usize>(o * axis) * 4
      const dst = out + <usize>(o * axis) * 4
      let c = 0
      for (; c + 4 <= axis; c += 4) {
        const xv = v128.load(row + <usize>c * 4)
        const w = v128.load(weight + <usize>c * 4)
        const b = v128.load(bias + <usize>c * 4)
        const l = f64x2.add(f64x2.mul(f64x2.mul(f64x2.sub(lo(xv), vm), vs), lo(w)), lo(b))
        const h = f64x2.add(f64x2.mul(f64x2.mul(f64x2.sub(hi(xv), vm), vs), hi(w)), hi(b))
        v128.store(dst + <usize>c * 4, pack(l, h))
      }
      for (; c < axis; c++) {
        const v = (<f64>load<f32>(row + <usize>c * 4) - mu) * is * <f64>load<f32>(weight + <usize>c * 4) +
          <f64>load<f32>(bias + <usize>c * 4)
        store<f32>(dst + <usize>c * 4, <f32>v)
      }
    }
    return
  }
  for (let o = 0; o < outer; o++) {
    const m = mean + <usize>(o * inner) * 8
    const s = invStd + <usize>(o * inner) * 8
    for (let c = 0; c < axis; c++) {
      const w = <f64>load<f32>(weight + <usize>c * 4)
      const b = <f64>load<f32>(bias + <usize>c * 4)
      const vw = f64x2.splat(w)
      const vb = f64x2.splat(b)
      const off = <usize>((o * axis + c) * inner) * 4
      const row = x + off
      const dst = out + off
      let i = 0
      for (; i + 4 <= inner; i += 4) {
        const xv = v128.load(row + <usize>i * 4)
        const mi = m + <usize>i * 8
        const si = s + <usize>i * 8
        const l = f64x2.add(f64x2.mul(f64x2.mul(f64x2.sub(lo(xv), v128.load(mi)), v128.load(si)), vw), vb)
        const h = f64x2.add(f64x2.mul(f64x2.mul(f64x2.sub(hi(xv), v128.load(mi, 16)), v128.load(si, 16)), vw), vb)
        v128.store(dst + <usize>i * 4, pack(l, h))
      }
      for (; i < inner; i++) {
        const v = (<f64>load<f32>(row + <usize>i * 4) - load<f64>(m + <usize>i * 8)) * load<f64>(s + <usize>i * 8) * w + b
        store<f32>(dst + <usize>i * 4, <f32>v)
      }
    }
  }
}

/**
 * `out = x * scale[t, c] + shift[t, c]` over [outer, channels, inner], in float64 lanes; the
 * outer rows form `steps` equal blocks, block t taking row t of scale and shift.
 */
export function channelAffine(
  out: usize, x: usize, outer: i32, channels: i32, inner: i32, steps: i32, scale: usize, shift: usize,
): void {
  const block = outer / steps
  for (let o = 0; o < outer; o++) {
    const row = (o / block) * channels
    for (let c = 0; c < channels; c++) {
      const a = load<f64>(scale + <usize>(row + c) * 8)
      const b = load<f64>(shift + <usize>(row + c) * 8)
      const va = f64x2.splat(a)
      const vb = f64x2.splat(b)
      const off = <usize>((o * channels + c) * inner) * 4
      const row = x + off
      const dst = out + off
      let i = 0
      for (; i + 4 <= inner; i += 4) {
        const xv = v128.load(row + <usize>i * 4)
        v128.store(dst + <usize>i * 4, pack(f64x2.add(f64x2.mul(lo(xv), va), vb), f64x2.add(f64x2.mul(hi(xv), va), vb)))
      }
      for (; i < inner; i++) store<f32>(dst + <usize>i * 4, <f32>(<f64>load<f32>(row + <usize>i * 4) * a + b))
    }
  }
}
