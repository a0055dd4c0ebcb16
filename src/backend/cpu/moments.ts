import type { Data } from '../../tensor/tensor.js'
import type { AxisView, ChannelView, Moments } from '../../kernel/kernels.js'

/**
 * The sum of `x[start, start + len)` (float32 data) shifted by `hi` (a float32), each value
 * `f32(x - hi)`, or (`square`) of the squared deviations from the two-float mean `hi + lo`,
 * `d = f32(f32(x - hi) - lo)`, `f32(d * d)`: blocks of 16 values summed in four float32 lanes
 * first (lane l: `(v[l] + v[4 + l]) + (v[8 + l] + v[12 + l])`, each addition rounded to
 * float32), the lane sums of every block added into four float64 accumulators, combined as
 * `(a0 + a2) + (a1 + a3)`, then the tail added one value at a time in float64. Exactly what
 * the WebAssembly kernels compute with SIMD (asm/moments.ts).
 *
 * Why not float64 all the way: the data are float32, and summing four values in float32 costs
 * far less than promoting every value to float64 (the bench's W2a and W3 statistics run 1.4-1.5x
 * faster). Why the shifts: a float32 sum of values far above their spread (a mean of 1e4,
 * a spread of 0.03) would lose the spread; shifted by the first value (exact near it, by
 * Sterbenz's lemma) the sums hold only the spread, and the deviations from the two-float mean
 * are as exact. props/moments.prop.ts bounds the result against float64 two-pass moments:
 * about 3 float32 roundoffs of the shifted magnitudes for the mean, 7 for the variance.
 */
export const blockedSum = (x: Float32Array, start: number, len: number, hi: number, lo: number, square: boolean): number => {
  const f = Math.fround
  const at = (j: number): number => {
    const v = f(x[j] - hi)
    if (!square) return v
    const d = f(v - lo)
    return f(d * d)
  }
  let a0 = 0
  let a1 = 0
  let a2 = 0
  let a3 = 0
  let i = 0
  for (; i + 16 <= len; i += 16) {
    const p = start + i
    a0 += f(f(at(p) + at(p + 4)) + f(at(p + 8) + at(p + 12)))
    a1 += f(f(at(p + 1) + at(p + 5)) + f(at(p + 9) + at(p + 13)))
    a2 += f(f(at(p + 2) + at(p + 6)) + f(at(p + 10) + at(p + 14)))
    a3 += f(f(at(p + 3) + at(p + 7)) + f(at(p + 11) + at(p + 15)))
  }
  let total = a0 + a2 + (a1 + a3)
  for (; i < len; i++) total += at(start + i)
  return total
}

/** The shift for float32 values starting at `x[at]`: the first one, or 0 if it is not finite. */
const shiftAt = (x: Float32Array, at: number): number => (Number.isFinite(x[at]) ? x[at] : 0)

/** The float32 pair `hi + lo` nearest a float64 mean. */
const split = (mean: number): readonly [number, number] => {
  const hi = Math.fround(mean)
  return [hi, Math.fround(mean - hi)]
}

/**
 * Two-pass mean and biased variance along the middle axis of [outer, axis, inner]: float64
 * sums in order, except contiguous float32 rows (inner = 1), summed by {@link blockedSum}
 * (shifted by the row's first value; the squares from the two-float mean).
 */
export const momentsAlongAxis = ({ mean, variance }: Moments<Data>, x: Data, { outer, axis, inner }: AxisView): void => {
  if (inner === 1 && x instanceof Float32Array) {
    for (let o = 0; o < outer; o++) {
      const shift = axis > 0 ? shiftAt(x, o * axis) : 0
      const mu = shift + blockedSum(x, o * axis, axis, shift, 0, false) / axis
      const [hi, lo] = split(mu)
      mean[o] = mu
      variance[o] = blockedSum(x, o * axis, axis, hi, lo, true) / axis
    }
    return
  }
  for (let o = 0; o < outer; o++) {
    const base = o * axis * inner
    for (let i = 0; i < inner; i++) {
      let sum = 0
      for (let c = 0; c < axis; c++) sum += x[base + c * inner + i]
      const mu = sum / axis
      let squares = 0
      for (let c = 0; c < axis; c++) {
        const d = x[base + c * inner + i] - mu
        squares += d * d
      }
      mean[o * inner + i] = mu
      variance[o * inner + i] = squares / axis
    }
  }
}

/**
 * Two-pass per-channel mean and biased variance of [outer, channels, inner]: float64 sums in
 * order, except float32 data, whose runs of `inner` values are each summed by
 * {@link blockedSum} (shifted by the channel's first value; the squares from the two-float
 * mean) and the runs added in order, in float64.
 */
export const momentsPerChannel = (
  { mean, variance }: Moments<Data>,
  x: Data,
  { outer, channels, inner }: ChannelView,
): void => {
  const count = outer * inner
  const f32 = x instanceof Float32Array ? x : undefined
  for (let c = 0; c < channels; c++) {
    const shift = f32 !== undefined && count > 0 ? shiftAt(f32, c * inner) : 0
    let sum = 0
    for (let o = 0; o < outer; o++) {
      const base = (o * channels + c) * inner
      if (f32 !== undefined) sum += blockedSum(f32, base, inner, shift, 0, false)
      else for (let i = 0; i < inner; i++) sum += x[base + i]
    }
    const mu = shift + sum / count
    const [hi, lo] = split(mu)
    let squares = 0
    for (let o = 0; o < outer; o++) {
      const base = (o * channels + c) * inner
      if (f32 !== undefined) squares += blockedSum(f32, base, inner, hi, lo, true)
      else {
        for (let i = 0; i < inner; i++) {
          const d = x[base + i] - mu
          squares += d * d
        }
      }
    }
    mean[c] = mu
    variance[c] = squares / count
  }
}

/**
 * `(x - mean[o, i]) / sqrt(variance[o, i] + eps) * weight[c] + bias[c]` over [outer, axis, inner].
 *
 * Float32 data is normalized in float32, as PyTorch's `layer_norm` does (and the WebAssembly
 * kernel with four lanes a vector, asm/moments.ts): per statistic the two-float mean `hi + lo`
 * and `r = f32(1 / sqrt(variance + eps))`, then `f32(f32(f32(f32(x - hi) - lo) * r) * w) + b`,
 * each operation rounded. The deviation from the two-float mean is as exact as the variance
 * pass's, so a mean far above the spread costs nothing; with the three roundings after it the
 * result stays within a few float32 roundoffs of the float64 formula on the same statistics
 * (bounded in props/moments.prop.ts). Float64 data is computed in float64.
 */
export const normalizeAlongAxis = (
  out: Data,
  x: Data,
  mean: Data,
  variance: Data,
  weight: Data,
  bias: Data,
  { outer, axis, inner, eps }: AxisView & { readonly eps: number },
): void => {
  const at = normalizer(out instanceof Float32Array, mean, variance, eps, outer * inner)
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < axis; c++) {
      const base = (o * axis + c) * inner
      const w = weight[c]
      const b = bias[c]
      for (let i = 0; i < inner; i++) out[base + i] = at(x[base + i], o * inner + i, w, b)
    }
  }
}

/** One value normalized with statistic `s`, weight `w` and bias `b`: in float32 or in float64. */
const normalizer = (
  float32: boolean,
  mean: Data,
  variance: Data,
  eps: number,
  stats: number,
): ((x: number, s: number, w: number, b: number) => number) => {
  if (!float32) {
    const invStd = Float64Array.from({ length: stats }, (_, s) => 1 / Math.sqrt(variance[s] + eps))
    return (x, s, w, b) => (x - mean[s]) * invStd[s] * w + b
  }
  const f = Math.fround
  const his = new Float32Array(stats)
  const los = new Float32Array(stats)
  const rs = new Float32Array(stats)
  for (let s = 0; s < stats; s++) {
    ;[his[s], los[s]] = split(mean[s])
    rs[s] = 1 / Math.sqrt(variance[s] + eps)
  }
  return (x, s, w, b) => f(f(f(f(f(x - his[s]) - los[s]) * rs[s]) * w) + b)
}

/** Batch-norm folding into per-step, per-channel scale and shift (see `Kernels.channelScaleShift`). */
export const channelScaleShift = (
  { scale, shift }: { readonly scale: Data; readonly shift: Data },
  mean: Data,
  variance: Data,
  weight: Data,
  bias: Data,
  gains: Data | null,
  { channels, steps, eps }: { readonly channels: number; readonly steps: number; readonly eps: number },
): void => {
  for (let t = 0; t < steps; t++) {
    const gain = gains === null ? 1 : gains[t]
    for (let c = 0; c < channels; c++) {
      const s = weight[c] / Math.sqrt(variance[c] + eps)
      scale[t * channels + c] = s * gain
      shift[t * channels + c] = (bias[c] - mean[c] * s) * gain
    }
  }
}

/** `x * scale[t, c] + shift[t, c]` over [outer, channels, inner], outer in `steps` equal blocks. */
export const channelAffine = (
  out: Data,
  x: Data,
  scale: Data,
  shift: Data,
  { outer, channels, inner, steps }: ChannelView & { readonly steps: number },
): void => {
  const block = outer / steps
  for (let o = 0; o < outer; o++) {
    const row = Math.floor(o / block) * channels
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner
      const a = scale[row + c]
      const b = shift[row + c]
      for (let i = 0; i < inner; i++) out[base + i] = x[base + i] * a + b
    }
  }
}

/** PyTorch's running-statistics rule, with the unbiased batch variance. */
export const runningStats = (
  next: Moments<Data>,
  runningMean: Data,
  runningVar: Data,
  mean: Data,
  variance: Data,
  { momentum, count }: { readonly momentum: number; readonly count: number },
): void => {
  const correction = count > 1 ? count / (count - 1) : Number.NaN
  for (let c = 0; c < next.mean.length; c++) {
    next.mean[c] = (1 - momentum) * runningMean[c] + momentum * mean[c]
    next.variance[c] = (1 - momentum) * runningVar[c] + momentum * variance[c] * correction
  }
}

// ---------------------------------------------------------------------------------------------
// backward
// ---------------------------------------------------------------------------------------------

/** `dMean / n + dVariance * 2 (x - mean) / n` along the middle axis of [outer, axis, inner] (null: 0). */
export const momentsAlongAxisGrad = (
  out: Data,
  dMean: Data | null,
  dVariance: Data | null,
  x: Data,
  mean: Data,
  { outer, axis, inner }: AxisView,
): void => {
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < axis; c++) {
      const base = (o * axis + c) * inner
      for (let i = 0; i < inner; i++) {
        const s = o * inner + i
        const dm = dMean === null ? 0 : dMean[s]
        const dv = dVariance === null ? 0 : dVariance[s]
        out[base + i] = dm / axis + (x[base + i] - mean[s]) * ((dv * 2) / axis)
      }
    }
  }
}

/** `dMean[c] / n + (x - mean[c]) (2 dVariance[c] / n)` per channel of [outer, channels, inner] (null: 0). */
export const momentsPerChannelGrad = (
  out: Data,
  dMean: Data | null,
  dVariance: Data | null,
  x: Data,
  mean: Data,
  { outer, channels, inner }: ChannelView,
): void => {
  const n = outer * inner
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner
      const dm = dMean === null ? 0 : dMean[c]
      const dv = dVariance === null ? 0 : dVariance[c]
      const t = dm / n
      const k = (dv * 2) / n
      for (let i = 0; i < inner; i++) out[base + i] = t + (x[base + i] - mean[c]) * k
    }
  }
}

/**
 * The cotangents of `normalizeAlongAxis` (`y = (x - m) r w + b`, `r = 1 / sqrt(v + eps)`):
 * `dx = cot w r`, `dMean = -r sum_c cot w`, `dVariance = -r^3 / 2 sum_c cot w (x - m)`,
 * `dWeight[c] = sum cot (x - m) r`, `dBias[c] = sum cot`, all sums in float64.
 */
export const normalizeAlongAxisGrad = (
  out: { readonly dx: Data; readonly dMean: Data; readonly dVariance: Data; readonly dWeight: Data; readonly dBias: Data },
  cot: Data,
  x: Data,
  mean: Data,
  variance: Data,
  weight: Data,
  { outer, axis, inner, eps }: AxisView & { readonly eps: number },
): void => {
  const dWeight = new Float64Array(axis)
  const dBias = new Float64Array(axis)
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const s = o * inner + i
      const m = mean[s]
      const r = 1 / Math.sqrt(variance[s] + eps)
      let sumG = 0
      let sumGx = 0
      for (let c = 0; c < axis; c++) {
        const at = (o * axis + c) * inner + i
        const g = cot[at]
        const centred = x[at] - m
        const gw = g * weight[c]
        out.dx[at] = gw * r
        sumG += gw
        sumGx += gw * centred
        dWeight[c] += g * centred * r
        dBias[c] += g
      }
      out.dMean[s] = -r * sumG
      out.dVariance[s] = -0.5 * r * r * r * sumGx
    }
  }
  out.dWeight.set(dWeight)
  out.dBias.set(dBias)
}

/**
 * The cotangents of `channelScaleShift` (`s = w / sqrt(v + eps)`, `scale[t] = s g[t]`,
 * `shift[t] = (b - m s) g[t]`), in float64.
 */
export const channelScaleShiftGrad = (
  out: { readonly dMean: Data; readonly dVariance: Data; readonly dWeight: Data; readonly dBias: Data; readonly dGains: Data },
  dScale: Data,
  dShift: Data,
  mean: Data,
  variance: Data,
  weight: Data,
  bias: Data,
  gains: Data | null,
  { channels, steps, eps }: { readonly channels: number; readonly steps: number; readonly eps: number },
): void => {
  const dGains = new Float64Array(steps)
  for (let c = 0; c < channels; c++) {
    const root = Math.sqrt(variance[c] + eps)
    const s = weight[c] / root
    let sumScale = 0
    let sumShift = 0
    for (let t = 0; t < steps; t++) {
      const g = gains === null ? 1 : gains[t]
      const at = t * channels + c
      sumScale += dScale[at] * g
      sumShift += dShift[at] * g
      dGains[t] += dScale[at] * s + dShift[at] * (bias[c] - mean[c] * s)
    }
    const ds = sumScale - mean[c] * sumShift
    out.dMean[c] = -s * sumShift
    out.dBias[c] = sumShift
    out.dWeight[c] = ds / root
    out.dVariance[c] = (-0.5 * ds * weight[c]) / (root * root * root)
  }
  if (gains !== null) out.dGains.set(dGains)
}

/** The cotangents of `channelAffine`: `dx = cot scale`, `dScale = sum cot x`, `dShift = sum cot` per step and channel. */
export const channelAffineGrad = (
  out: { readonly dx: Data; readonly dScale: Data; readonly dShift: Data },
  cot: Data,
  x: Data,
  scale: Data,
  { outer, channels, inner, steps }: ChannelView & { readonly steps: number },
): void => {
  const block = outer / steps
  out.dScale.fill(0)
  out.dShift.fill(0)
  for (let o = 0; o < outer; o++) {
    const row = Math.floor(o / block) * channels
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner
      const a = scale[row + c]
      let sx = 0
      let s1 = 0
      for (let i = 0; i < inner; i++) {
        const g = cot[base + i]
        out.dx[base + i] = g * a
        sx += g * x[base + i]
        s1 += g
      }
      out.dScale[row + c] += sx
      out.dShift[row + c] += s1
    }
  }
}
