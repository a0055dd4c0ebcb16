/**
 * The fused neuron step and its surrogate backward, one pass each, and `scale`.
 *
 * `neuron` is float32 throughout, each operation rounded as the reference rounds it (a float32
 * SIMD operation rounds exactly as JavaScript's float64 operation followed by `Math.fround`
 * does, for + - * / of float32 operands), so spikes and potentials are bit-identical.
 * `neuronGrad` recomputes the potential the same way, then evaluates the surrogate and the
 * cotangents in float32 in the reference's operation order, the same bits. The surrogates are
 * rational (atan's derivative, qgate, gate) except the sigmoid's `exp`, which `exp64` below
 * computes in float64 by fdlibm's method, as V8's `Math.exp` does: the same bits on V8 (Node,
 * Chrome); an engine with another `Math.exp` may differ from it by an ulp of float64, which
 * rarely survives the rounding of the sigmoid to float32.
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

/** `out[i] = alpha * x[i]`, in float64 and rounded once, as in JavaScript. */
export function scale(out: usize, x: usize, alpha: f64, len: i32): void {
  const s = f64x2.splat(alpha)
  let i = 0
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i * 4
    const v = v128.load(x + o)
    v128.store(out + o, pack(f64x2.mul(s, lo(v)), f64x2.mul(s, hi(v))))
  }
  for (; i < len; i++) store<f32>(out + <usize>i * 4, <f32>(alpha * <f64>load<f32>(x + <usize>i * 4)))
}

/** The potential before firing, four lanes: `v + (x - v) / tau` (LIF) or `v + x` (IF), each operation rounded. */
// @ts-ignore: decorator
@inline function integrate(v: v128, x: v128, lif: bool, tau: v128): v128 {
  return lif ? f32x4.add(v, f32x4.div(f32x4.sub(x, v), tau)) : f32x4.add(v, x)
}

/**
 * One neuron step over `len` elements: `spikes` (0 or 1) and the potential after the reset
 * `next`, from the potential `v` (0: a potential of +0) and the input `x`.
 */
export function neuron(
  spikes: usize, next: usize, v: usize, x: usize, len: i32,
  lif: i32, tau: f32, threshold: f32, strict: i32, soft: i32, vReset: f32,
): void {
  // one loop per model, comparison and reset, each without the others' selects (a quarter of the time)
  if (lif != 0) {
    if (strict != 0) {
      if (soft != 0) stepLoop(spikes, next, v, x, len, tau, threshold, vReset, true, true, true)
      else stepLoop(spikes, next, v, x, len, tau, threshold, vReset, true, true, false)
    } else if (soft != 0) stepLoop(spikes, next, v, x, len, tau, threshold, vReset, true, false, true)
    else stepLoop(spikes, next, v, x, len, tau, threshold, vReset, true, false, false)
  } else if (strict != 0) {
    if (soft != 0) stepLoop(spikes, next, v, x, len, tau, threshold, vReset, false, true, true)
    else stepLoop(spikes, next, v, x, len, tau, threshold, vReset, false, true, false)
  } else if (soft != 0) stepLoop(spikes, next, v, x, len, tau, threshold, vReset, false, false, true)
  else stepLoop(spikes, next, v, x, len, tau, threshold, vReset, false, false, false)
}

/** `neuron`'s loop for one model, comparison and reset (`isLif`, `isStrict`, `isSoft`: constants where inlined). */
// @ts-ignore: decorator
@inline function stepLoop(
  spikes: usize, next: usize, v: usize, x: usize, len: i32,
  tau: f32, threshold: f32, vReset: f32, isLif: bool, isStrict: bool, isSoft: bool,
): void {
  const vt = f32x4.splat(tau)
  const th = f32x4.splat(threshold)
  const reset = f32x4.splat(vReset)
  const one = f32x4.splat(1)
  const zero = f32x4.splat(0)
  let i = 0
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i * 4
    const u = integrate(v != 0 ? v128.load(v + o) : zero, v128.load(x + o), isLif, vt)
    const fired = isStrict ? f32x4.gt(u, th) : f32x4.ge(u, th)
    v128.store(spikes + o, v128.and(one, fired))
    v128.store(next + o, v128.bitselect(isSoft ? f32x4.sub(u, th) : reset, u, fired))
  }
  for (; i < len; i++) {
    const o = <usize>i * 4
    const vi: f32 = v != 0 ? load<f32>(v + o) : 0
    const xi = load<f32>(x + o)
    const u: f32 = isLif ? vi + (xi - vi) / tau : vi + xi
    const fired = isStrict ? u > threshold : u >= threshold
    store<f32>(spikes + o, fired ? 1 : 0)
    store<f32>(next + o, fired ? (isSoft ? u - threshold : vReset) : u)
  }
}

/** A part's pointer: `p` moved to element `from`, or 0 (no array) left as it is. */
// @ts-ignore: decorator
@inline function at(p: usize, from: i32): usize {
  return p != 0 ? p + <usize>from * 4 : 0
}

/**
 * `neuron` over the elements [from, to): one part of a call cut across threads
 * (src/backend/wasm/split.ts); the scratch is unused. The pool passes 32-bit integers only, so
 * the float32 arguments come as their bits. Each element is computed alone: the cut changes no bit.
 */
export function neuronPart(
  scratch: usize, from: i32, to: i32, spikes: usize, next: usize, v: usize, x: usize,
  lif: i32, tauBits: i32, thresholdBits: i32, strict: i32, soft: i32, vResetBits: i32,
): void {
  neuron(
    at(spikes, from), at(next, from), at(v, from), at(x, from), to - from,
    lif, reinterpret<f32>(tauBits), reinterpret<f32>(thresholdBits), strict, soft, reinterpret<f32>(vResetBits),
  )
}

/**
 * `neuronGrad` over the elements [from, to), as {@link neuronPart}; `alpha` comes as the low
 * and high 32 bits of its float64.
 */
export function neuronGradPart(
  scratch: usize, from: i32, to: i32, dx: usize, dv: usize, cotSpikes: usize, cotV: usize, v: usize, x: usize,
  lif: i32, tauBits: i32, thresholdBits: i32, strict: i32, soft: i32, surrogate: i32, alphaLo: i32, alphaHi: i32,
): void {
  neuronGrad(
    at(dx, from), at(dv, from), at(cotSpikes, from), at(cotV, from), at(v, from), at(x, from), to - from,
    lif, reinterpret<f32>(tauBits), reinterpret<f32>(thresholdBits), strict, soft, surrogate,
    reinterpret<f64>((<u64><u32>alphaHi << 32) | <u64><u32>alphaLo),
  )
}

// surrogate codes, as the JavaScript row passes them
const ATAN = 0
const QGATE = 1
const SIGMOID = 2
const GATE = 3

/**
 * The cotangents of one neuron step, `dx` and `dv`, from those of the spikes and the new
 * potential (0: zero), recomputing the potential from `v` (0: +0) and `x` as `neuron` does.
 * `gu = cotSpikes * g(u - threshold) + cotV * (soft || !fired)`, `dx = gu / tau`,
 * `dv = gu * (1 - 1 / tau)` (LIF), in float32 as PyTorch computes BrainCog's backward: each
 * operation rounded, the constants (alpha squared, 1 / alpha, ...) rounded once.
 */
export function neuronGrad(
  dx: usize, dv: usize, cotSpikes: usize, cotV: usize, v: usize, x: usize, len: i32,
  lif: i32, tau: f32, threshold: f32, strict: i32, soft: i32, surrogate: i32, alpha: f64,
): void {
  const flags = (lif != 0 ? LIF : 0) | (strict != 0 ? STRICT : 0) | (soft != 0 ? SOFT : 0)
  // LIFNode's and IFNode's default surrogates get loops of their own, each in a function (inlined
  // into one, binaryen merged their loops back into one that tests the code); the others test it
  if (surrogate == QGATE) gradQgate(dx, dv, cotSpikes, cotV, v, x, len, flags, tau, threshold, alpha)
  else if (surrogate == ATAN) gradAtan(dx, dv, cotSpikes, cotV, v, x, len, flags, tau, threshold, alpha)
  else gradBy(dx, dv, cotSpikes, cotV, v, x, len, flags, tau, threshold, surrogate, alpha)
}

// the model, comparison and reset as bits of one code
const LIF = 1
const STRICT = 2
const SOFT = 4

function gradQgate(
  dx: usize, dv: usize, cs: usize, cv: usize, v: usize, x: usize, len: i32, flags: i32, tau: f32, th: f32, alpha: f64,
): void {
  gradBy(dx, dv, cs, cv, v, x, len, flags, tau, th, QGATE, alpha)
}

function gradAtan(
  dx: usize, dv: usize, cs: usize, cv: usize, v: usize, x: usize, len: i32, flags: i32, tau: f32, th: f32, alpha: f64,
): void {
  gradBy(dx, dv, cs, cv, v, x, len, flags, tau, th, ATAN, alpha)
}

/** `neuronGrad` with its flags as bits: one loop per model, comparison and reset, as `neuron`'s. */
// @ts-ignore: decorator
@inline function gradBy(
  dx: usize, dv: usize, cotSpikes: usize, cotV: usize, v: usize, x: usize, len: i32,
  flags: i32, tau: f32, threshold: f32, surrogate: i32, alpha: f64,
): void {
  const lif = (flags & LIF) != 0
  const strict = (flags & STRICT) != 0
  const soft = (flags & SOFT) != 0
  if (lif) {
    if (strict) {
      if (soft) gradLoop(dx, dv, cotSpikes, cotV, v, x, len, tau, threshold, surrogate, alpha, true, true, true)
      else gradLoop(dx, dv, cotSpikes, cotV, v, x, len, tau, threshold, surrogate, alpha, true, true, false)
    } else if (soft) gradLoop(dx, dv, cotSpikes, cotV, v, x, len, tau, threshold, surrogate, alpha, true, false, true)
    else gradLoop(dx, dv, cotSpikes, cotV, v, x, len, tau, threshold, surrogate, alpha, true, false, false)
  } else if (strict) {
    if (soft) gradLoop(dx, dv, cotSpikes, cotV, v, x, len, tau, threshold, surrogate, alpha, false, true, true)
    else gradLoop(dx, dv, cotSpikes, cotV, v, x, len, tau, threshold, surrogate, alpha, false, true, false)
  } else if (soft) gradLoop(dx, dv, cotSpikes, cotV, v, x, len, tau, threshold, surrogate, alpha, false, false, true)
  else gradLoop(dx, dv, cotSpikes, cotV, v, x, len, tau, threshold, surrogate, alpha, false, false, false)
}

/** `neuronGrad`'s loop for one model, comparison and reset (`isLif`, `isStrict`, `isSoft`: constants where inlined). */
// @ts-ignore: decorator
@inline function gradLoop(
  dx: usize, dv: usize, cotSpikes: usize, cotV: usize, v: usize, x: usize, len: i32,
  tau: f32, threshold: f32, surrogate: i32, alpha: f64, isLif: bool, isStrict: bool, isSoft: bool,
): void {
  const vt = f32x4.splat(tau)
  const th = f32x4.splat(threshold)
  const zero = f32x4.splat(0)
  const keep1 = <f32>(1 - 1 / <f64>tau)
  const keep = f32x4.splat(keep1)
  let i = 0
  for (; i + 4 <= len; i += 4) {
    const o = <usize>i * 4
    const u = integrate(v != 0 ? v128.load(v + o) : zero, v128.load(x + o), isLif, vt)
    const fired = isStrict ? f32x4.gt(u, th) : f32x4.ge(u, th)
    const cs = cotSpikes != 0 ? v128.load(cotSpikes + o) : zero
    // the potential's cotangent passes where the reset is soft or the neuron did not fire
    const cv = cotV != 0 ? (isSoft ? v128.load(cotV + o) : v128.andnot(v128.load(cotV + o), fired)) : zero
    const gu = f32x4.add(f32x4.mul(cs, surrogate4(surrogate, alpha, f32x4.sub(u, th))), cv)
    if (isLif) {
      v128.store(dx + o, f32x4.div(gu, vt))
      v128.store(dv + o, f32x4.mul(gu, keep))
    } else {
      v128.store(dx + o, gu)
      v128.store(dv + o, gu)
    }
  }
  for (; i < len; i++) {
    const o = <usize>i * 4
    const vi: f32 = v != 0 ? load<f32>(v + o) : 0
    const xi = load<f32>(x + o)
    const u: f32 = isLif ? vi + (xi - vi) / tau : vi + xi
    const fired = isStrict ? u > threshold : u >= threshold
    const cs: f32 = cotSpikes != 0 ? load<f32>(cotSpikes + o) : 0
    const cv: f32 = cotV != 0 && (isSoft || !fired) ? load<f32>(cotV + o) : 0
    const gu = cs * surrogate1(surrogate, alpha, u - threshold) + cv
    store<f32>(dx + o, isLif ? gu / tau : gu)
    store<f32>(dv + o, isLif ? gu * keep1 : gu)
  }
}

/** The surrogate derivative at `z`, as the reference's `surrogate` (electing `none` for unknown codes). */
function surrogate1(name: i32, alpha: f64, z: f32): f32 {
  if (name == ATAN) {
    const t = <f32>((Math.PI / 2) * alpha) * z
    return <f32>(alpha / 2) / (1 + t * t)
  }
  if (name == QGATE) return abs(z) > <f32>(1 / alpha) ? 0 : <f32>alpha - <f32>(alpha * alpha) * abs(z)
  if (name == SIGMOID) {
    const s = <f32>(1 / (1 + exp64(-alpha * <f64>z)))
    return <f32>alpha * s * (1 - s)
  }
  if (name == GATE) return abs(z) < <f32>(1 / alpha) ? 1 : 0
  return 0
}

/** `surrogate1` on four lanes: the same operations in the same order (exp lane by lane, in float64). */
// @ts-ignore: decorator
@inline function surrogate4(name: i32, alpha: f64, z: v128): v128 {
  const a = f32x4.splat(<f32>alpha)
  const one = f32x4.splat(1)
  if (name == ATAN) {
    const t = f32x4.mul(f32x4.splat(<f32>((Math.PI / 2) * alpha)), z)
    return f32x4.div(f32x4.splat(<f32>(alpha / 2)), f32x4.add(one, f32x4.mul(t, t)))
  }
  if (name == QGATE) {
    const m = f32x4.abs(z)
    const g = f32x4.sub(a, f32x4.mul(f32x4.splat(<f32>(alpha * alpha)), m))
    return v128.andnot(g, f32x4.gt(m, f32x4.splat(<f32>(1 / alpha))))
  }
  if (name == SIGMOID) {
    const na = -alpha
    let e = f32x4.splat(<f32>(1 / (1 + exp64(na * <f64>f32x4.extract_lane(z, 0)))))
    e = f32x4.replace_lane(e, 1, <f32>(1 / (1 + exp64(na * <f64>f32x4.extract_lane(z, 1)))))
    e = f32x4.replace_lane(e, 2, <f32>(1 / (1 + exp64(na * <f64>f32x4.extract_lane(z, 2)))))
    e = f32x4.replace_lane(e, 3, <f32>(1 / (1 + exp64(na * <f64>f32x4.extract_lane(z, 3)))))
    return f32x4.mul(f32x4.mul(a, e), f32x4.sub(one, e))
  }
  if (name == GATE) return v128.and(one, f32x4.lt(f32x4.abs(z), f32x4.splat(<f32>(1 / alpha))))
  return f32x4.splat(0)
}

/**
 * e^x by fdlibm's method (Sun Microsystems' freely distributable libm, the algorithm behind
 * V8's Math.exp): reduce x = k ln2 + r with ln2 split in two parts, approximate e^r by a
 * degree-5 rational Remez form, scale by 2^k. Same constants, same operations, same order.
 */
export function exp64(x: f64): f64 {
  const LN2_HI: f64 = 6.93147180369123816490e-01
  const LN2_LO: f64 = 1.90821492927058770002e-10
  const INV_LN2: f64 = 1.44269504088896338700e+00
  const P1: f64 = 1.66666666666666019037e-01
  const P2: f64 = -2.77777777770155933842e-03
  const P3: f64 = 6.61375632143793436117e-05
  const P4: f64 = -1.65339022054652515390e-06
  const P5: f64 = 4.13813679705723846039e-08
  const bits = reinterpret<u64>(x)
  const high = <u32>(bits >> 32)
  const negative = (high >> 31) != 0
  const ax = high & 0x7fffffff
  if (ax >= 0x40862e42) {
    // |x| >= 709.78: NaN, the infinities, overflow, underflow
    if (ax >= 0x7ff00000) {
      if (((ax & 0xfffff) | <u32>bits) != 0) return x + x
      return negative ? 0 : x
    }
    if (x > 7.09782712893383973096e+02) return Infinity
    if (x < -7.45133219101941108420e+02) return 0
  }
  let hiPart: f64 = 0
  let loPart: f64 = 0
  let k: i32 = 0
  let r = x
  if (ax > 0x3fd62e42) {
    // |x| > ln2 / 2
    if (ax < 0x3ff0a2b2) {
      // and < 1.5 ln2: k = +-1 (exp(1) itself is special-cased to E, as V8 does)
      if (x == 1.0) return 2.718281828459045
      hiPart = negative ? x + LN2_HI : x - LN2_HI
      loPart = negative ? -LN2_LO : LN2_LO
      k = negative ? -1 : 1
    } else {
      k = <i32>(INV_LN2 * x + (negative ? -0.5 : 0.5))
      const t = <f64>k
      hiPart = x - t * LN2_HI
      loPart = t * LN2_LO
    }
    r = hiPart - loPart
  } else if (ax < 0x3e300000) {
    // |x| < 2^-28
    return 1 + x
  }
  const t = r * r
  const c = r - t * (P1 + t * (P2 + t * (P3 + t * (P4 + t * P5))))
  if (k == 0) return 1 - ((r * c) / (c - 2.0) - r)
  const y = 1 - ((loPart - (r * c) / (2.0 - c)) - hiPart)
  if (k >= -1021) {
    if (k == 1024) return y * 2.0 * 8.988465674311579539e307
    return y * reinterpret<f64>(<u64>(0x3ff + k) << 52)
  }
  return y * reinterpret<f64>(<u64>(0x3ff + k + 1000) << 52) * 9.33263618503218878990e-302
}
