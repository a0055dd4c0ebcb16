/**
 * One Adam/AdamW update of a float32 tensor, four elements at a time, with the JavaScript
 * reference's rounding (src/backend/cpu/optim.ts): its float32 `mul`, `div`, `add` and `sqrt`
 * are f32x4's (a float64 result of float32 operands rounded once to float32 is the float32
 * operation's), and its fused multiply-adds `round32(s + a * b)` are computed in f64x2 lanes,
 * the product exact, as the reference computes them in float64.
 */

/** Four lanes of `round32(s + a * b)`, the sum and product in float64 (the product is exact). */
// @ts-ignore: decorator
@inline function addProduct(s: v128, a: v128, b: v128): v128 {
  const lo = f64x2.add(f64x2.promote_low_f32x4(s), f64x2.mul(f64x2.promote_low_f32x4(a), f64x2.promote_low_f32x4(b)))
  const sh = v128.shuffle<f32>(s, s, 2, 3, 0, 1)
  const ah = v128.shuffle<f32>(a, a, 2, 3, 0, 1)
  const bh = v128.shuffle<f32>(b, b, 2, 3, 0, 1)
  const hi = f64x2.add(f64x2.promote_low_f32x4(sh), f64x2.mul(f64x2.promote_low_f32x4(ah), f64x2.promote_low_f32x4(bh)))
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(lo), f32x4.demote_f64x2_zero(hi), 0, 1, 4, 5)
}

/**
 * Lanes `[i, i + 4)` of the update: the four elements at each pointer (`vmax0`/`vmax1` 0: no
 * amsgrad), the scalars as {@link adam} takes them.
 */
// @ts-ignore: decorator
@inline function adamLanes(
  outP: usize, m1: usize, v1: usize, vmax1: usize, p: usize, g: usize, m0: usize, v0: usize, vmax0: usize,
  beta1: f32, beta2: f32, keep1: f32, keep2: f32, eps: f32, l2: f32, shrink: f32, step: f32, bc2Sqrt: f32, flags: i32,
): void {
  // every input read before any output is written: an output may be one of the inputs
  let pi = v128.load(p)
  let gi = v128.load(g)
  const mi = v128.load(m0)
  const vi = v128.load(v0)
  const prev = vmax0 != 0 ? v128.load(vmax0) : vi
  if ((flags & 2) != 0) pi = f32x4.mul(pi, f32x4.splat(shrink))
  if ((flags & 1) != 0) gi = addProduct(gi, f32x4.splat(l2), pi)
  const m = addProduct(f32x4.mul(f32x4.splat(beta1), mi), f32x4.splat(keep1), gi)
  const v = addProduct(f32x4.mul(f32x4.splat(beta2), vi), f32x4.mul(f32x4.splat(keep2), gi), gi)
  v128.store(m1, m)
  v128.store(v1, v)
  let vhat = v
  if (vmax0 != 0) {
    // torch.maximum: NaN wins
    vhat = v128.bitselect(prev, v, v128.or(f32x4.gt(prev, v), f32x4.ne(prev, prev)))
    v128.store(vmax1, vhat)
  }
  const denom = f32x4.add(f32x4.div(f32x4.sqrt(vhat), f32x4.splat(bc2Sqrt)), f32x4.splat(eps))
  v128.store(outP, f32x4.add(pi, f32x4.div(f32x4.mul(f32x4.splat(step), m), denom)))
}

/**
 * `len` elements of the update: params `p`, gradients `g`, moments `m0`, `v0` (and with
 * `vmax0` != 0 the running maximum) in; `outP`, `m1`, `v1` (`vmax1`) out. The scalars are
 * float32, as the reference rounds them; `flags` bit 0: add the L2 term `l2 * p`, bit 1: shrink
 * the params first (the reference asks its float64 scalars, which may round to 0 or 1 in
 * float32). `tail` is 128 bytes of scratch for the last partial group of four.
 */
export function adam(
  outP: usize, m1: usize, v1: usize, vmax1: usize, p: usize, g: usize, m0: usize, v0: usize, vmax0: usize, len: i32,
  beta1: f32, beta2: f32, keep1: f32, keep2: f32, eps: f32, l2: f32, shrink: f32, step: f32, bc2Sqrt: f32,
  flags: i32, tail: usize,
): void {
  const whole = len & ~3
  const ams = vmax0 != 0
  for (let i = 0; i < whole; i += 4) {
    const o = <usize>i * 4
    adamLanes(outP + o, m1 + o, v1 + o, ams ? vmax1 + o : 0, p + o, g + o, m0 + o, v0 + o, ams ? vmax0 + o : 0,
      beta1, beta2, keep1, keep2, eps, l2, shrink, step, bc2Sqrt, flags)
  }
  const rest = len - whole
  if (rest == 0) return
  // the last 1-3 elements through scratch lanes: [p, g, m0, v0, vmax0] in, [p, m, v, vmax] out
  const o = <usize>whole * 4
  const bytes = <usize>rest * 4
  memory.fill(tail, 0, 128)
  memory.copy(tail, p + o, bytes)
  memory.copy(tail + 16, g + o, bytes)
  memory.copy(tail + 32, m0 + o, bytes)
  memory.copy(tail + 48, v0 + o, bytes)
  if (ams) memory.copy(tail + 64, vmax0 + o, bytes)
  adamLanes(tail + 80, tail + 96, tail + 112, ams ? tail + 64 : 0, tail, tail + 16, tail + 32, tail + 48, ams ? tail + 64 : 0,
    beta1, beta2, keep1, keep2, eps, l2, shrink, step, bc2Sqrt, flags)
  memory.copy(outP + o, tail + 80, bytes)
  memory.copy(m1 + o, tail + 96, bytes)
  memory.copy(v1 + o, tail + 112, bytes)
  if (ams) memory.copy(vmax1 + o, tail + 64, bytes)
}
