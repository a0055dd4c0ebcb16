/**
 * Elementwise kernels over float32 arrays of `len` elements. `mul` rounds once, exactly as the
 * float64 JavaScript reference does (a product of two float32s is exact in float64), so the
 * results are bit-identical. `axpy` computes in float64 lanes for the same reason.
 */

/** `out[i] = a[i] * b[i]`. */
export function mul(out: usize, a: usize, b: usize, len: i32): void {
  let i = 0
  for (; i + 8 <= len; i += 8) {
    const o = <usize>i * 4
    v128.store(out + o, f32x4.mul(v128.load(a + o), v128.load(b + o)))
    v128.store(out + o, f32x4.mul(v128.load(a + o, 16), v128.load(b + o, 16)), 16)
  }
  for (; i < len; i++) {
    const o = <usize>i * 4
    store<f32>(out + o, load<f32>(a + o) * load<f32>(b + o))
  }
}

/**
 * `mul` over the elements [from, to): one part of a call cut across threads (src/backend/wasm/split.ts);
 * the scratch is unused. Each element is one product, so the cut changes no bit.
 */
export function mulPart(scratch: usize, from: i32, to: i32, out: usize, a: usize, b: usize): void {
  const o = <usize>from * 4
  mul(out + o, a + o, b + o, to - from)
}

/**
 * `out[i] = a[i] + alpha * b[i]`, computed in float64 and rounded once, as in JavaScript. With
 * alpha 1 (the gradient tape's sums of cotangents) or -1 that is a float32 sum or difference,
 * which float64 rounded to float32 gives exactly (53 bits >= 2 x 24 + 2): four float32 lanes
 * instead of two float64 ones, the same bits.
 */
export function axpy(out: usize, a: usize, alpha: f64, b: usize, len: i32): void {
  if (alpha == 1) {
    addLanes(out, a, b, len, false)
    return
  }
  if (alpha == -1) {
    addLanes(out, a, b, len, true)
    return
  }
  const s = f64x2.splat(alpha)
  let i = 0
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i * 4
    const va = v128.load(a + o)
    const vb = v128.load(b + o)
    const lo = f64x2.add(f64x2.promote_low_f32x4(va), f64x2.mul(s, f64x2.promote_low_f32x4(vb)))
    // the high halves moved down, promoted the same way
    const ha = v128.shuffle<f32>(va, va, 2, 3, 0, 1)
    const hb = v128.shuffle<f32>(vb, vb, 2, 3, 0, 1)
    const hi = f64x2.add(f64x2.promote_low_f32x4(ha), f64x2.mul(s, f64x2.promote_low_f32x4(hb)))
    v128.store(out + o, v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5))
  }
  for (; i < len; i++) {
    const o = <usize>i * 4
    store<f32>(out + o, <f32>(<f64>load<f32>(a + o) + alpha * <f64>load<f32>(b + o)))
  }
}

/**
 * `out[i] = a[i] + b[i]` (`minus`: `a[i] - b[i]`) in float32; `out` may be `a` or `b` (each value
 * is read before it is written).
 */
// @ts-ignore: decorator
@inline function addLanes(out: usize, a: usize, b: usize, len: i32, minus: bool): void {
  let i = 0
  for (; i + 8 <= len; i += 8) {
    const o = <usize>i * 4
    const a0 = v128.load(a + o), a1 = v128.load(a + o, 16)
    const b0 = v128.load(b + o), b1 = v128.load(b + o, 16)
    v128.store(out + o, minus ? f32x4.sub(a0, b0) : f32x4.add(a0, b0))
    v128.store(out + o, minus ? f32x4.sub(a1, b1) : f32x4.add(a1, b1), 16)
  }
  for (; i < len; i++) {
    const o = <usize>i * 4
    store<f32>(out + o, minus ? load<f32>(a + o) - load<f32>(b + o) : load<f32>(a + o) + load<f32>(b + o))
  }
}
