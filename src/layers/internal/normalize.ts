/**
 * The moments/normalize helper shared by LayerNorm, ThresholdDependentBatchNorm2d and TEBN.
 * Inputs are flat row-major data viewed as [outer, axis, inner]; statistics are computed in
 * float64 by the backend's two-pass kernels, so a large common offset does not cancel.
 *
 * @module
 */
import type { Backend, Stats } from '../../backend/backend.js'
import type { Data, DType } from '../../tensor/tensor.js'
import { alloc } from '../../tensor/tensor.js'

/** Layer-norm style: normalize over the middle axis for every (outer, inner), then `* weight[c] + bias[c]`. */
export const normalizeOverAxis = (
  backend: Backend,
  x: Data,
  dtype: DType,
  outer: number,
  axis: number,
  inner: number,
  weight: Data,
  bias: Data,
  eps: number,
): Data => {
  const mean = new Float64Array(outer * inner)
  const variance = new Float64Array(outer * inner)
  backend.momentsAlongAxis(mean, variance, x, outer, axis, inner)
  for (let i = 0; i < variance.length; i++) variance[i] = 1 / Math.sqrt(variance[i] + eps)
  const out = alloc(x.length, dtype)
  backend.normalizeAlongAxis(out, x, outer, axis, inner, mean, variance, weight, bias)
  return out
}

/** Per-channel statistics of [outer, channels, inner]: mean and biased variance. */
export interface ChannelMoments {
  readonly mean: Stats
  readonly variance: Stats
  /** Number of values per channel (outer * inner), for the unbiased correction. */
  readonly count: number
}

/** Batch statistics per channel of x viewed as [outer, channels, inner]. */
export const channelMoments = (
  backend: Backend,
  x: Data,
  outer: number,
  channels: number,
  inner: number,
): ChannelMoments => {
  const mean = new Float64Array(channels)
  const variance = new Float64Array(channels)
  backend.momentsPerChannel(mean, variance, x, outer, channels, inner)
  return { mean, variance, count: outer * inner }
}

/**
 * Batch-norm style, folded: the per-channel `scale` and `shift` with which
 * `x * scale[c] + shift[c]` is `(x - mean[c]) / sqrt(variance[c] + eps) * weight[c] + bias[c]`;
 * `gain` (optional) multiplies both, for TEBN's per-step `p`. Computed in float64.
 */
export const channelScaleShift = (
  channels: number,
  mean: ArrayLike<number>,
  variance: ArrayLike<number>,
  weight: Data,
  bias: Data,
  eps: number,
  gain = 1,
): { readonly scale: Stats; readonly shift: Stats } => {
  const scale = new Float64Array(channels)
  const shift = new Float64Array(channels)
  for (let c = 0; c < channels; c++) {
    const s = weight[c] / Math.sqrt(variance[c] + eps)
    scale[c] = s * gain
    shift[c] = (bias[c] - mean[c] * s) * gain
  }
  return { scale, shift }
}

/**
 * Batch-norm style: `(x - mean[c]) / sqrt(variance[c] + eps) * weight[c] + bias[c]`, folded into
 * one per-channel scale and shift ({@link channelScaleShift}); `gain` (optional) multiplies
 * both, for TEBN's per-step `p`.
 */
export const normalizePerChannel = (
  backend: Backend,
  out: Data,
  x: Data,
  outer: number,
  channels: number,
  inner: number,
  mean: ArrayLike<number>,
  variance: ArrayLike<number>,
  weight: Data,
  bias: Data,
  eps: number,
  gain = 1,
): void => {
  const { scale, shift } = channelScaleShift(channels, mean, variance, weight, bias, eps, gain)
  backend.channelAffine(out, x, outer, channels, inner, scale, shift)
}

/**
 * Running statistics after one training batch, PyTorch's rule:
 * `running = (1 - momentum) * running + momentum * batch`, with the unbiased batch variance
 * (`variance * n / (n - 1)`).
 */
export const updateRunningStats = (
  runningMean: Data,
  runningVar: Data,
  batch: ChannelMoments,
  momentum: number,
  dtype: DType,
): { readonly runningMean: Data; readonly runningVar: Data } => {
  const channels = batch.mean.length
  const mean = alloc(channels, dtype)
  const variance = alloc(channels, dtype)
  const correction = batch.count > 1 ? batch.count / (batch.count - 1) : Number.NaN
  for (let c = 0; c < channels; c++) {
    mean[c] = (1 - momentum) * runningMean[c] + momentum * batch.mean[c]
    variance[c] = (1 - momentum) * runningVar[c] + momentum * batch.variance[c] * correction
  }
  return { runningMean: mean, runningVar: variance }
}
