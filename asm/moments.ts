/**
 * Moments and normalization: float32 data, float64 statistics (pointers to f64 arrays).
 * Where the reduction runs along a strided axis (inner > 1) the lanes are independent
 * (outer, inner) pairs summed in the reference's order; a contiguous run of values (a row
 * when inner == 1, each channel's runs of `inner`) is summed by `sumRun`, float32 blocks into
 * float64, as the reference does it: bit-identical either way.
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
@inline function lo2(v: v128): v128 {
  return lo(v)
}
// @ts-ignore: decorator
@inline function hi2(v: v128): v128 {
  return hi(v)
}
// @ts-ignore: decorator
@inline function pack(l: v128, h: v128): v128 {
  return v128.shuffle<f32>(f32x4.demote_f64x2_zero(l), f32x4.demote_f64x2_zero(h), 0, 1, 4, 5)
}

/**
 * Sum of `len` contiguous float32 values shifted by `hi`, `f32(x - hi)` (`hi` a float32 near
 * the values: the first one, so that offsets far above the spread cancel exactly), or
 * (`square`) of their squared deviations from the two-float mean `hi + lo`:
 * `d = f32(f32(x - hi) - lo)`, `f32(d * d)`. Blocks of 16 values are summed in float32 lanes
 * first (lane l: `(v[l] + v[4 + l]) + (v[8 + l] + v[12 + l])`), each block's four lane sums
 * added into float64 accumulators (lanes 0 and 2, 1 and 3 combined at the end); the tail is
 * added one value at a time in float64. The reference (src/backend/cpu/moments.ts,
 * `blockedSum`) computes the same operations in the same order: bit-identical.
 */
function sumRun(x: usize, len: i32, hi: f32, lo: f32, square: bool): f64 {
  const h = f32x4.splat(hi)
  const l = f32x4.splat(lo)
  let a = f64x2.splat(0)
  let b = a
  let i = 0
  if (square) {
    for (; i + 16 <= len; i += 16) {
      const p = x + <usize>i * 4
      let v0 = f32x4.sub(f32x4.sub(v128.load(p), h), l)
      let v1 = f32x4.sub(f32x4.sub(v128.load(p, 16), h), l)
      let v2 = f32x4.sub(f32x4.sub(v128.load(p, 32), h), l)
      let v3 = f32x4.sub(f32x4.sub(v128.load(p, 48), h), l)
      v0 = f32x4.mul(v0, v0)
      v1 = f32x4.mul(v1, v1)
      v2 = f32x4.mul(v2, v2)
      v3 = f32x4.mul(v3, v3)
      const t = f32x4.add(f32x4.add(v0, v1), f32x4.add(v2, v3))
      a = f64x2.add(a, lo2(t))
      b = f64x2.add(b, hi2(t))
    }
  } else {
    for (; i + 16 <= len; i += 16) {
      const p = x + <usize>i * 4
      const v0 = f32x4.sub(v128.load(p), h)
      const v1 = f32x4.sub(v128.load(p, 16), h)
      const v2 = f32x4.sub(v128.load(p, 32), h)
      const v3 = f32x4.sub(v128.load(p, 48), h)
      const t = f32x4.add(f32x4.add(v0, v1), f32x4.add(v2, v3))
      a = f64x2.add(a, lo2(t))
      b = f64x2.add(b, hi2(t))
    }
  }
  const c = f64x2.add(a, b)
  let total = f64x2.extract_lane(c, 0) + f64x2.extract_lane(c, 1)
  for (; i < len; i++) {
    const v = load<f32>(x + <usize>i * 4) - hi
    if (square) {
      const d = v - lo
      total += <f64>(d * d)
    } else total += <f64>v
  }
  return total
}

/** A float32 shift for a run starting at `x`: its first value, or 0 if that is not finite. */
// @ts-ignore: decorator
@inline function shiftOf(x: usize): f32 {
  const v = load<f32>(x)
  return v - v == 0 ? v : 0
}

/** The mean of n values shifted by `shift` from the sum of their shifted values. */
// @ts-ignore: decorator
@inline function unshift(shift: f32, sum: f64, n: f64): f64 {
  return <f64>shift + sum / n
}

/** Mean and biased variance along the middle axis of [outer, axis, inner], two-pass. */
export function momentsAlongAxis(mean: usize, variance: usize, x: usize, outer: i32, axis: i32, inner: i32): void {
  const n = <f64>axis
  if (inner == 1) {
    for (let o = 0; o < outer; o++) {
      const row = x + <usize>(o * axis) * 4
      const shift: f32 = axis > 0 ? shiftOf(row) : 0
      const mu = unshift(shift, sumRun(row, axis, shift, 0, false), n)
      const hi = <f32>mu
      store<f64>(mean + <usize>o * 8, mu)
      store<f64>(variance + <usize>o * 8, sumRun(row, axis, hi, <f32>(mu - <f64>hi), true) / n)
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

/**
 * Mean and biased variance of each channel of [outer, channels, inner], two-pass. Each pass
 * reads x once from start to end, every channel's runs added into its own sum as they come
 * (`mean` and `variance` hold the running sums): the memory streams, where channel after
 * channel would jump a plane's length every run, and each channel's sum still adds its runs
 * in order of `outer`, with the same bits.
 */
export function momentsPerChannel(mean: usize, variance: usize, x: usize, outer: i32, channels: i32, inner: i32): void {
  const count = <f64>outer * <f64>inner
  // each channel's shift (its first value), kept in `variance` until the second pass
  for (let c = 0; c < channels; c++) {
    const shift: f32 = outer > 0 && inner > 0 ? shiftOf(x + <usize>(c * inner) * 4) : 0
    store<f64>(mean + <usize>c * 8, 0)
    store<f64>(variance + <usize>c * 8, <f64>shift)
  }
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const m = mean + <usize>c * 8
      const run = x + <usize>((o * channels + c) * inner) * 4
      store<f64>(m, load<f64>(m) + sumRun(run, inner, <f32>load<f64>(variance + <usize>c * 8), 0, false))
    }
  }
  for (let c = 0; c < channels; c++) {
    const m = mean + <usize>c * 8
    store<f64>(m, unshift(<f32>load<f64>(variance + <usize>c * 8), load<f64>(m), count))
    store<f64>(variance + <usize>c * 8, 0)
  }
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const mu = load<f64>(mean + <usize>c * 8)
      const hi = <f32>mu
      const v = variance + <usize>c * 8
      const run = x + <usize>((o * channels + c) * inner) * 4
      store<f64>(v, load<f64>(v) + sumRun(run, inner, hi, <f32>(mu - <f64>hi), true))
    }
  }
  for (let c = 0; c < channels; c++) store<f64>(variance + <usize>c * 8, load<f64>(variance + <usize>c * 8) / count)
}

/**
 * `out = (x - mean[o, i]) / sqrt(variance[o, i] + eps) * weight[c] + bias[c]` over [outer,
 * axis, inner], in float32 lanes as the reference does it (src/backend/cpu/moments.ts): per
 * statistic the two-float mean `hi + lo` and `r = f32(1 / sqrt(variance + eps))`, kept in
 * `scratch` (3 * outer * inner float32s: his, los, rs), then
 * `f32(f32(f32(f32(x - hi) - lo) * r) * w) + b`: bit-identical.
 */
export function normalizeAlongAxis(
  out: usize, x: usize, outer: i32, axis: i32, inner: i32,
  mean: usize, variance: usize, eps: f64, weight: usize, bias: usize, scratch: usize,
): void {
  const stats = outer * inner
  const his = scratch
  const los = scratch + <usize>stats * 4
  const rs = los + <usize>stats * 4
  for (let s = 0; s < stats; s++) {
    const mu = load<f64>(mean + <usize>s * 8)
    const hi = <f32>mu
    store<f32>(his + <usize>s * 4, hi)
    store<f32>(los + <usize>s * 4, <f32>(mu - <f64>hi))
    store<f32>(rs + <usize>s * 4, <f32>(1 / sqrt<f64>(load<f64>(variance + <usize>s * 8) + eps)))
  }
  if (inner == 1) {
    // one statistic per row; weight and bias vary along the row
    for (let o = 0; o < outer; o++) {
      const vh = v128.load32_splat(his + <usize>o * 4)
      const vl = v128.load32_splat(los + <usize>o * 4)
      const vr = v128.load32_splat(rs + <usize>o * 4)
      const row = x + <usize>(o * axis) * 4
      const dst = out + <usize>(o * axis) * 4
      let c = 0
      for (; c + 4 <= axis; c += 4) {
        const p = <usize>c * 4
        const d = f32x4.sub(f32x4.sub(v128.load(row + p), vh), vl)
        const y = f32x4.add(f32x4.mul(f32x4.mul(d, vr), v128.load(weight + p)), v128.load(bias + p))
        v128.store(dst + p, y)
      }
      const hi = load<f32>(his + <usize>o * 4)
      const lo = load<f32>(los + <usize>o * 4)
      const r = load<f32>(rs + <usize>o * 4)
      for (; c < axis; c++) {
        const p = <usize>c * 4
        store<f32>(dst + p, (load<f32>(row + p) - hi - lo) * r * load<f32>(weight + p) + load<f32>(bias + p))
      }
    }
    return
  }
  for (let o = 0; o < outer; o++) {
    const s0 = <usize>(o * inner) * 4
    for (let c = 0; c < axis; c++) {
      const w = load<f32>(weight + <usize>c * 4)
      const b = load<f32>(bias + <usize>c * 4)
      const vw = f32x4.splat(w)
      const vb = f32x4.splat(b)
      const off = <usize>((o * axis + c) * inner) * 4
      const row = x + off
      const dst = out + off
      let i = 0
      for (; i + 4 <= inner; i += 4) {
        const p = <usize>i * 4
        const st = s0 + p
        const d = f32x4.sub(f32x4.sub(v128.load(row + p), v128.load(his + st)), v128.load(los + st))
        v128.store(dst + p, f32x4.add(f32x4.mul(f32x4.mul(d, v128.load(rs + st)), vw), vb))
      }
      for (; i < inner; i++) {
        const p = <usize>i * 4
        const st = s0 + p
        store<f32>(dst + p, (load<f32>(row + p) - load<f32>(his + st) - load<f32>(los + st)) * load<f32>(rs + st) * w + b)
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

// ---------------------------------------------------------------------------------------------
// backward
// ---------------------------------------------------------------------------------------------

/** Two float32s at `p` as float64 lanes. */
// @ts-ignore: decorator
@inline function pair(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p))
}

/** Two float64 lanes stored as float32s at `p`. */
// @ts-ignore: decorator
@inline function storePair(p: usize, v: v128): void {
  v128.store64_lane(p, f32x4.demote_f64x2_zero(v), 0)
}

/** `out[i] = t + (x[i] - m) * k` over `len` float32s, in float64 and rounded once. */
function deviationsScaled(out: usize, x: usize, len: i32, t: f64, k: f64, m: f64): void {
  const vt = f64x2.splat(t)
  const vk = f64x2.splat(k)
  const vm = f64x2.splat(m)
  let i = 0
  for (; i + 4 <= len; i += 4) {
    const xv = v128.load(x + <usize>i * 4)
    const l = f64x2.add(vt, f64x2.mul(f64x2.sub(lo(xv), vm), vk))
    const h = f64x2.add(vt, f64x2.mul(f64x2.sub(hi(xv), vm), vk))
    v128.store(out + <usize>i * 4, pack(l, h))
  }
  for (; i < len; i++) store<f32>(out + <usize>i * 4, <f32>(t + (<f64>load<f32>(x + <usize>i * 4) - m) * k))
}

/**
 * The cotangent of x through momentsAlongAxis: `dMean / n + (x - mean) * (dVariance * 2 / n)`
 * in float64 (a 0 pointer: zero), the reference's expression in its order.
 */
export function momentsAlongAxisGrad(
  out: usize, dMean: usize, dVariance: usize, x: usize, mean: usize, outer: i32, axis: i32, inner: i32,
): void {
  const n = <f64>axis
  const vn = f64x2.splat(n)
  const two = f64x2.splat(2)
  const zero = f64x2.splat(0)
  for (let o = 0; o < outer; o++) {
    const base = <usize>(o * axis * inner) * 4
    if (inner == 1) {
      const dm: f64 = dMean != 0 ? load<f64>(dMean + <usize>o * 8) : 0
      const dv: f64 = dVariance != 0 ? load<f64>(dVariance + <usize>o * 8) : 0
      const m = load<f64>(mean + <usize>o * 8)
      deviationsScaled(out + base, x + base, axis, dm / n, (dv * 2) / n, m)
      continue
    }
    const s0 = <usize>(o * inner) * 8
    for (let c = 0; c < axis; c++) {
      const row = base + <usize>(c * inner) * 4
      let i = 0
      for (; i + 2 <= inner; i += 2) {
        const s = s0 + <usize>i * 8
        const dm = dMean != 0 ? v128.load(dMean + s) : zero
        const dv = dVariance != 0 ? v128.load(dVariance + s) : zero
        const d = f64x2.sub(pair(x + row + <usize>i * 4), v128.load(mean + s))
        const g = f64x2.add(f64x2.div(dm, vn), f64x2.mul(d, f64x2.div(f64x2.mul(dv, two), vn)))
        storePair(out + row + <usize>i * 4, g)
      }
      for (; i < inner; i++) {
        const s = s0 + <usize>i * 8
        const dm: f64 = dMean != 0 ? load<f64>(dMean + s) : 0
        const dv: f64 = dVariance != 0 ? load<f64>(dVariance + s) : 0
        const at = row + <usize>i * 4
        store<f32>(out + at, <f32>(dm / n + (<f64>load<f32>(x + at) - load<f64>(mean + s)) * ((dv * 2) / n)))
      }
    }
  }
}

/** The cotangent of x through momentsPerChannel: momentsAlongAxisGrad's expression per channel, n = outer * inner. */
export function momentsPerChannelGrad(
  out: usize, dMean: usize, dVariance: usize, x: usize, mean: usize, outer: i32, channels: i32, inner: i32, count: f64,
): void {
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const dm: f64 = dMean != 0 ? load<f64>(dMean + <usize>c * 8) : 0
      const dv: f64 = dVariance != 0 ? load<f64>(dVariance + <usize>c * 8) : 0
      const m = load<f64>(mean + <usize>c * 8)
      const row = <usize>((o * channels + c) * inner) * 4
      deviationsScaled(out + row, x + row, inner, dm / count, (dv * 2) / count, m)
    }
  }
}

/**
 * The cotangents of normalizeAlongAxis (see the reference): dx (float32), dMean and dVariance
 * per (outer, inner) (float64), dWeight and dBias per channel (float32, summed in float64).
 * Every sum runs in the reference's order: the per-position sums along the axis in lanes of
 * positions, the per-channel sums over (outer, inner) in order (lanes of channels when
 * inner = 1, one chain per channel otherwise). `scratch`: 8 * (2 axis + 3 inner) bytes.
 */
export function normalizeAlongAxisGrad(
  dx: usize, dMean: usize, dVariance: usize, dWeight: usize, dBias: usize,
  cot: usize, x: usize, mean: usize, variance: usize, weight: usize,
  outer: i32, axis: i32, inner: i32, eps: f64, scratch: usize,
): void {
  const dW = scratch
  const dB = dW + <usize>axis * 8
  const rs = dB + <usize>axis * 8
  const sumG = rs + <usize>inner * 8
  const sumGx = sumG + <usize>inner * 8
  memory.fill(dW, 0, <usize>(2 * axis) * 8)
  for (let o = 0; o < outer; o++) {
    if (inner == 1) {
      const m = load<f64>(mean + <usize>o * 8)
      const r = 1 / sqrt<f64>(load<f64>(variance + <usize>o * 8) + eps)
      const vm = f64x2.splat(m)
      const vr = f64x2.splat(r)
      let g1: f64 = 0
      let gx: f64 = 0
      const row = <usize>(o * axis) * 4
      let c = 0
      for (; c + 2 <= axis; c += 2) {
        const at = row + <usize>c * 4
        const g = pair(cot + at)
        const centred = f64x2.sub(pair(x + at), vm)
        const gw = f64x2.mul(g, pair(weight + <usize>c * 4))
        storePair(dx + at, f64x2.mul(gw, vr))
        const gwx = f64x2.mul(gw, centred)
        g1 = g1 + f64x2.extract_lane(gw, 0)
        gx = gx + f64x2.extract_lane(gwx, 0)
        g1 = g1 + f64x2.extract_lane(gw, 1)
        gx = gx + f64x2.extract_lane(gwx, 1)
        const w = dW + <usize>c * 8
        const b = dB + <usize>c * 8
        v128.store(w, f64x2.add(v128.load(w), f64x2.mul(f64x2.mul(g, centred), vr)))
        v128.store(b, f64x2.add(v128.load(b), g))
      }
      for (; c < axis; c++) {
        const at = row + <usize>c * 4
        const g = <f64>load<f32>(cot + at)
        const centred = <f64>load<f32>(x + at) - m
        const gw = g * <f64>load<f32>(weight + <usize>c * 4)
        store<f32>(dx + at, <f32>(gw * r))
        g1 += gw
        gx += gw * centred
        store<f64>(dW + <usize>c * 8, load<f64>(dW + <usize>c * 8) + g * centred * r)
        store<f64>(dB + <usize>c * 8, load<f64>(dB + <usize>c * 8) + g)
      }
      store<f64>(dMean + <usize>o * 8, -r * g1)
      store<f64>(dVariance + <usize>o * 8, -0.5 * r * r * r * gx)
      continue
    }
    const s0 = <usize>(o * inner) * 8
    for (let i = 0; i < inner; i++) {
      store<f64>(rs + <usize>i * 8, 1 / sqrt<f64>(load<f64>(variance + s0 + <usize>i * 8) + eps))
    }
    memory.fill(sumG, 0, <usize>(2 * inner) * 8)
    for (let c = 0; c < axis; c++) {
      const w = <f64>load<f32>(weight + <usize>c * 4)
      const vw = f64x2.splat(w)
      let dWc = load<f64>(dW + <usize>c * 8)
      let dBc = load<f64>(dB + <usize>c * 8)
      const row = <usize>((o * axis + c) * inner) * 4
      let i = 0
      for (; i + 2 <= inner; i += 2) {
        const at = row + <usize>i * 4
        const s = <usize>i * 8
        const g = pair(cot + at)
        const centred = f64x2.sub(pair(x + at), v128.load(mean + s0 + s))
        const gw = f64x2.mul(g, vw)
        const r = v128.load(rs + s)
        storePair(dx + at, f64x2.mul(gw, r))
        v128.store(sumG + s, f64x2.add(v128.load(sumG + s), gw))
        v128.store(sumGx + s, f64x2.add(v128.load(sumGx + s), f64x2.mul(gw, centred)))
        const t = f64x2.mul(f64x2.mul(g, centred), r)
        dWc = dWc + f64x2.extract_lane(t, 0)
        dBc = dBc + f64x2.extract_lane(g, 0)
        dWc = dWc + f64x2.extract_lane(t, 1)
        dBc = dBc + f64x2.extract_lane(g, 1)
      }
      for (; i < inner; i++) {
        const at = row + <usize>i * 4
        const s = <usize>i * 8
        const g = <f64>load<f32>(cot + at)
        const centred = <f64>load<f32>(x + at) - load<f64>(mean + s0 + s)
        const gw = g * w
        const r = load<f64>(rs + s)
        store<f32>(dx + at, <f32>(gw * r))
        store<f64>(sumG + s, load<f64>(sumG + s) + gw)
        store<f64>(sumGx + s, load<f64>(sumGx + s) + gw * centred)
        dWc += g * centred * r
        dBc += g
      }
      store<f64>(dW + <usize>c * 8, dWc)
      store<f64>(dB + <usize>c * 8, dBc)
    }
    for (let i = 0; i < inner; i++) {
      const s = <usize>i * 8
      const r = load<f64>(rs + s)
      store<f64>(dMean + s0 + s, -r * load<f64>(sumG + s))
      store<f64>(dVariance + s0 + s, -0.5 * r * r * r * load<f64>(sumGx + s))
    }
  }
  for (let c = 0; c < axis; c++) {
    store<f32>(dWeight + <usize>c * 4, <f32>load<f64>(dW + <usize>c * 8))
    store<f32>(dBias + <usize>c * 4, <f32>load<f64>(dB + <usize>c * 8))
  }
}

/**
 * The cotangents of channelAffine: `dx = cot * scale` (float64, rounded once), and per step
 * and channel `dScale += sum cot * x`, `dShift += sum cot` (float64), each (row, channel)'s
 * sums over inner in order as the reference's. Two channels run side by side in the float64
 * lanes (two independent chains, the same additions in the same order).
 */
export function channelAffineGrad(
  dx: usize, dScale: usize, dShift: usize, cot: usize, x: usize, scale: usize,
  outer: i32, channels: i32, inner: i32, steps: i32,
): void {
  const block = outer / steps
  memory.fill(dScale, 0, <usize>(steps * channels) * 8)
  memory.fill(dShift, 0, <usize>(steps * channels) * 8)
  for (let o = 0; o < outer; o++) {
    const row = (o / block) * channels
    let c = 0
    for (; c + 2 <= channels; c += 2) {
      const r0 = <usize>((o * channels + c) * inner) * 4
      const r1 = r0 + <usize>inner * 4
      const a0 = load<f64>(scale + <usize>(row + c) * 8)
      const a1 = load<f64>(scale + <usize>(row + c + 1) * 8)
      const va0 = f64x2.splat(a0)
      const va1 = f64x2.splat(a1)
      let sx = f64x2.splat(0)
      let s1 = sx
      let i = 0
      for (; i + 4 <= inner; i += 4) {
        const o4 = <usize>i * 4
        const g0 = v128.load(cot + r0 + o4)
        const g1 = v128.load(cot + r1 + o4)
        const x0 = v128.load(x + r0 + o4)
        const x1 = v128.load(x + r1 + o4)
        v128.store(dx + r0 + o4, pack(f64x2.mul(lo(g0), va0), f64x2.mul(hi(g0), va0)))
        v128.store(dx + r1 + o4, pack(f64x2.mul(lo(g1), va1), f64x2.mul(hi(g1), va1)))
        // lanes (channel c, channel c + 1) for each of the four positions
        const ga = v128.shuffle<f32>(g0, g1, 0, 4, 1, 5)
        const gb = v128.shuffle<f32>(g0, g1, 2, 6, 3, 7)
        const xa = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5)
        const xb = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7)
        const p0 = lo(ga)
        const p1 = hi(ga)
        const p2 = lo(gb)
        const p3 = hi(gb)
        sx = f64x2.add(sx, f64x2.mul(p0, lo(xa)))
        s1 = f64x2.add(s1, p0)
        sx = f64x2.add(sx, f64x2.mul(p1, hi(xa)))
        s1 = f64x2.add(s1, p1)
        sx = f64x2.add(sx, f64x2.mul(p2, lo(xb)))
        s1 = f64x2.add(s1, p2)
        sx = f64x2.add(sx, f64x2.mul(p3, hi(xb)))
        s1 = f64x2.add(s1, p3)
      }
      let sx0 = f64x2.extract_lane(sx, 0)
      let sx1 = f64x2.extract_lane(sx, 1)
      let s10 = f64x2.extract_lane(s1, 0)
      let s11 = f64x2.extract_lane(s1, 1)
      for (; i < inner; i++) {
        const o4 = <usize>i * 4
        const g0 = <f64>load<f32>(cot + r0 + o4)
        const g1 = <f64>load<f32>(cot + r1 + o4)
        store<f32>(dx + r0 + o4, <f32>(g0 * a0))
        store<f32>(dx + r1 + o4, <f32>(g1 * a1))
        sx0 += g0 * <f64>load<f32>(x + r0 + o4)
        sx1 += g1 * <f64>load<f32>(x + r1 + o4)
        s10 += g0
        s11 += g1
      }
      const at = <usize>(row + c) * 8
      store<f64>(dScale + at, load<f64>(dScale + at) + sx0)
      store<f64>(dScale + at, load<f64>(dScale + at, 8) + sx1, 8)
      store<f64>(dShift + at, load<f64>(dShift + at) + s10)
      store<f64>(dShift + at, load<f64>(dShift + at, 8) + s11, 8)
    }
    for (; c < channels; c++) {
      const r0 = <usize>((o * channels + c) * inner) * 4
      const a = load<f64>(scale + <usize>(row + c) * 8)
      let sx: f64 = 0
      let s1: f64 = 0
      for (let i = 0; i < inner; i++) {
        const o4 = <usize>i * 4
        const g = <f64>load<f32>(cot + r0 + o4)
        store<f32>(dx + r0 + o4, <f32>(g * a))
        sx += g * <f64>load<f32>(x + r0 + o4)
        s1 += g
      }
      const at = <usize>(row + c) * 8
      store<f64>(dScale + at, load<f64>(dScale + at) + sx)
      store<f64>(dShift + at, load<f64>(dShift + at) + s1)
    }
  }
}
