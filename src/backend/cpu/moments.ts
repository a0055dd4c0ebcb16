import type { Data } from '../../tensor/tensor.js'
import type { AxisView, ChannelView, Moments } from '../../kernel/kernels.js'

/** Two-pass mean and biased variance along the middle axis of [outer, axis, inner]. */
export const momentsAlongAxis = ({ mean, variance }: Moments<Data>, x: Data, { outer, axis, inner }: AxisView): void => {
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

/** Two-pass per-channel mean and biased variance of [outer, channels, inner]. */
export const momentsPerChannel = (
  { mean, variance }: Moments<Data>,
  x: Data,
  { outer, channels, inner }: ChannelView,
): void => {
  const count = outer * inner
  for (let c = 0; c < channels; c++) {
    let sum = 0
    for (let o = 0; o < outer; o++) {
      const base = (o * channels + c) * inner
      for (let i = 0; i < inner; i++) sum += x[base + i]
    }
    const mu = sum / count
    let squares = 0
    for (let o = 0; o < outer; o++) {
      const base = (o * channels + c) * inner
      for (let i = 0; i < inner; i++) {
        const d = x[base + i] - mu
        squares += d * d
      }
    }
    mean[c] = mu
    variance[c] = squares / count
  }
}

/** `(x - mean[o, i]) / sqrt(variance[o, i] + eps) * weight[c] + bias[c]` over [outer, axis, inner]. */
export const normalizeAlongAxis = (
  out: Data,
  x: Data,
  mean: Data,
  variance: Data,
  weight: Data,
  bias: Data,
  { outer, axis, inner, eps }: AxisView & { readonly eps: number },
): void => {
  const invStd = new Float64Array(outer * inner)
  for (let s = 0; s < invStd.length; s++) invStd[s] = 1 / Math.sqrt(variance[s] + eps)
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < axis; c++) {
      const base = (o * axis + c) * inner
      const w = weight[c]
      const b = bias[c]
      for (let i = 0; i < inner; i++) {
        const s = o * inner + i
        out[base + i] = (x[base + i] - mean[s]) * invStd[s] * w + b
      }
    }
  }
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
