/**
 * One LIPool step over non-overlapping k x k windows of float32 [planes, height, width]
 * images, in one pass: total = sum + x, out = pool(total), nextSum = total - upsample(out).
 * No intermediate arrays: each window's totals stay in registers (k = 2 max, SIMD) or are
 * stored to nextSum once and corrected in place while still in cache (the general path).
 * Every result is bit-identical to the JavaScript reference (float32 add and subtract round
 * as JavaScript's float64 ones do, the average sums in float64 in the same order, and the max
 * keeps the reference's order: the first of equal values, NaN sticking).
 */
import { maxStep, maxStep1 } from './pool'

/** total = sum + x for one 4-lane block (x alone without a sum). */
// @ts-ignore: decorator
@inline function total4(sum: usize, x: usize, at: usize): v128 {
  const v = v128.load(x + at)
  return sum == 0 ? v : f32x4.add(v128.load(sum + at), v)
}

// @ts-ignore: decorator
@inline function total1(sum: usize, x: usize, at: usize): f32 {
  const v = load<f32>(x + at)
  return sum == 0 ? v : load<f32>(sum + at) + v
}

/** k = 2 max: eight inputs of two rows, four outputs, one nextSum store per input, per step. */
function maxStep2x2(out: usize, next: usize, sum: usize, x: usize, planes: i32, height: i32, width: i32): void {
  const outH = height >> 1
  const outW = width >> 1
  const rowBytes = <usize>width * 4
  for (let p = 0; p < planes; p++) {
    for (let oy = 0; oy < outH; oy++) {
      const r0 = <usize>((p * height + 2 * oy) * width) * 4
      const r1 = r0 + rowBytes
      const d = out + <usize>((p * outH + oy) * outW) * 4
      let ox = 0
      for (; ox + 4 <= outW; ox += 4) {
        const o = <usize>(2 * ox) * 4
        const a0 = total4(sum, x, r0 + o)
        const a1 = total4(sum, x, r0 + o + 16)
        const b0 = total4(sum, x, r1 + o)
        const b1 = total4(sum, x, r1 + o + 16)
        // the window's cells in the reference's scan order: top-left, top-right, bottom-left, bottom-right
        const tl = v128.shuffle<f32>(a0, a1, 0, 2, 4, 6)
        const tr = v128.shuffle<f32>(a0, a1, 1, 3, 5, 7)
        const bl = v128.shuffle<f32>(b0, b1, 0, 2, 4, 6)
        const br = v128.shuffle<f32>(b0, b1, 1, 3, 5, 7)
        const m = maxStep(maxStep(maxStep(maxStep(f32x4.splat(-Infinity), tl), tr), bl), br)
        v128.store(d + <usize>ox * 4, m)
        const lo = v128.shuffle<f32>(m, m, 0, 0, 1, 1)
        const hi = v128.shuffle<f32>(m, m, 2, 2, 3, 3)
        v128.store(next + r0 + o, f32x4.sub(a0, lo))
        v128.store(next + r0 + o, f32x4.sub(a1, hi), 16)
        v128.store(next + r1 + o, f32x4.sub(b0, lo))
        v128.store(next + r1 + o, f32x4.sub(b1, hi), 16)
      }
      for (; ox < outW; ox++) {
        const o = <usize>(2 * ox) * 4
        const t00 = total1(sum, x, r0 + o)
        const t01 = total1(sum, x, r0 + o + 4)
        const t10 = total1(sum, x, r1 + o)
        const t11 = total1(sum, x, r1 + o + 4)
        const m = maxStep1(maxStep1(maxStep1(maxStep1(-Infinity, t00), t01), t10), t11)
        store<f32>(d + <usize>ox * 4, m)
        store<f32>(next + r0 + o, t00 - m)
        store<f32>(next + r0 + o, t01 - m, 4)
        store<f32>(next + r1 + o, t10 - m)
        store<f32>(next + r1 + o, t11 - m, 4)
      }
    }
  }
}

/**
 * Any k, max or average: per band of k rows, the totals go to nextSum (SIMD), each window is
 * reduced as the reference does (average in float64, row by row), and the band is corrected
 * in place while it is still in cache.
 */
function stepGeneral(
  out: usize, next: usize, sum: usize, x: usize, planes: i32, height: i32, width: i32, k: i32, isMax: bool,
): void {
  const outH = height / k
  const outW = width / k
  const divisor = <f64>(k * k)
  const bandLen = k * width
  for (let p = 0; p < planes; p++) {
    for (let oy = 0; oy < outH; oy++) {
      const band = <usize>((p * height + oy * k) * width) * 4
      let i = 0
      for (; i + 4 <= bandLen; i += 4) v128.store(next + band + <usize>i * 4, total4(sum, x, band + <usize>i * 4))
      for (; i < bandLen; i++) store<f32>(next + band + <usize>i * 4, total1(sum, x, band + <usize>i * 4))
      const d = out + <usize>((p * outH + oy) * outW) * 4
      for (let ox = 0; ox < outW; ox++) {
        const cell = next + band + <usize>(ox * k) * 4
        let m: f32 = -Infinity
        let acc: f64 = 0
        for (let y = 0; y < k; y++) {
          const row = cell + <usize>(y * width) * 4
          for (let xx = 0; xx < k; xx++) {
            const v = load<f32>(row + <usize>xx * 4)
            if (isMax) m = maxStep1(m, v)
            else acc += <f64>v
          }
        }
        const r: f32 = isMax ? m : <f32>(acc / divisor)
        store<f32>(d + <usize>ox * 4, r)
        for (let y = 0; y < k; y++) {
          const row = cell + <usize>(y * width) * 4
          for (let xx = 0; xx < k; xx++) store<f32>(row + <usize>xx * 4, load<f32>(row + <usize>xx * 4) - r)
        }
      }
    }
  }
}

/** One LIPool step; `sum` 0 means no accumulated sum yet (total = x). */
export function liPoolStep(
  out: usize, next: usize, sum: usize, x: usize, planes: i32, height: i32, width: i32, k: i32, isMax: bool,
): void {
  if (isMax && k == 2) maxStep2x2(out, next, sum, x, planes, height, width)
  else stepGeneral(out, next, sum, x, planes, height, width, k, isMax)
}
