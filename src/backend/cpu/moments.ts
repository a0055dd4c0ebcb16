import type { Data } from '../../tensor/tensor.js'
import type { Stats } from '../backend.js'

/** Two-pass mean and biased variance along the middle axis of [outer, axis, inner]. */
export const momentsAlongAxis = (
  mean: Stats,
  variance: Stats,
  x: Data,
  outer: number,
  axis: number,
  inner: number,
): void => {
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
  mean: Stats,
  variance: Stats,
  x: Data,
  outer: number,
  channels: number,
  inner: number,
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

/** `(x - mean[o, i]) * invStd[o, i] * weight[c] + bias[c]` over [outer, axis, inner]. */
export const normalizeAlongAxis = (
  out: Data,
  x: Data,
  outer: number,
  axis: number,
  inner: number,
  mean: Stats,
  invStd: Stats,
  weight: Data,
  bias: Data,
): void => {
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

/** `x * scale[c] + shift[c]` over [outer, channels, inner]. */
export const channelAffine = (
  out: Data,
  x: Data,
  outer: number,
  channels: number,
  inner: number,
  scale: Stats,
  shift: Stats,
): void => {
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < channels; c++) {
      const base = (o * channels + c) * inner
      const a = scale[c]
      const b = shift[c]
      for (let i = 0; i < inner; i++) out[base + i] = x[base + i] * a + b
    }
  }
}
