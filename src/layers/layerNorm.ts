/**
 * LayerNorm: BrainCog's `braincog.base.connection.layer.LayerNorm` (the ConvNeXt-style layer
 * norm of Liu et al., "A ConvNet for the 2020s", CVPR 2022), which normalizes each position
 * over its channels either last (`channels_last`, PyTorch's `F.layer_norm`) or on axis 1
 * (`channels_first`), then applies a per-channel affine map.
 *
 * Shapes: `[..., C]` (channels_last) or `[N, C, ...]` (channels_first) in, the same shape out.
 * Params: `weight [C]` (init ones), `bias [C]` (init zeros). No state.
 *
 * @module
 */
import type * as E from 'fp-ts/lib/Either.js'
import { chain } from '../either.js'
import type { LayerError } from '../errors.js'
import { DeviceTensor } from '../kernel/device.js'
import { configChoice, configInt, configNumber, configObject, expectAxisSize, expectMinRank } from '../layer/check.js'
import { defineLayer } from '../layer/define.js'
import type { Layer, NoState } from '../layer/layer.js'
import { empty } from '../layer/layer.js'
import { record, tensorOf } from '../layer/schema.js'
import type { Axes, Rank1, Shape, Tensor } from '../tensor/tensor.js'
import { full, sizeOf } from '../tensor/tensor.js'

const name = 'LayerNorm'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** LayerNorm configuration. */
export interface LayerNormConfig {
  /** The channel count C: size of the normalized axis (BrainCog's `normalized_shape`, an int). */
  readonly normalizedShape: number
  /** Added to the variance (default 1e-6, BrainCog's). */
  readonly eps?: number
  /** Channels on the last axis (default) or on axis 1. */
  readonly dataFormat?: 'channels_last' | 'channels_first'
}

/** LayerNorm params. */
export interface LayerNormParams {
  /** `[C]`, init ones. */
  readonly weight: Tensor<Rank1>
  /** `[C]`, init zeros. */
  readonly bias: Tensor<Rank1>
}

// ---------------------------------------------------------------------------------------------
// constructor
// ---------------------------------------------------------------------------------------------

/**
 * Builds a LayerNorm layer: for every position, `(x - mean) / sqrt(var + eps) * weight + bias`
 * with the mean and biased variance taken over the C channels (last axis for `channels_last`,
 * axis 1 for `channels_first`).
 *
 * Differences from BrainCog: `channels_first` works for any rank `>= 2` (BrainCog's only for
 * 4-D, through `weight[:, None, None]`); statistics are computed in float64, two-pass, so an
 * input with a large offset (mean 1e4, spread 1) normalizes without cancellation even in float32.
 * Rejects (as `LayerError`): rank below 1 (channels_last) or 2 (channels_first), a normalized
 * axis whose size is not `normalizedShape`, params not `[C]`. A `normalizedShape` below 1 or a
 * negative or non-finite `eps` throws a `ConfigError` at build.
 *
 * @example
 * import { evaluate, key, layerNorm, orThrow, tensor } from 'braincog-fn'
 * const ln = layerNorm({ normalizedShape: 2 })
 * const { params } = orThrow(ln.init(key(0), [1, 2]))
 * orThrow(ln.apply(params, {}, tensor([10001, 10003], [1, 2]), evaluate())).output // ~[[-1, 1]]
 */
export const layerNorm = (config: LayerNormConfig): Layer<LayerNormParams, NoState, Axes, Axes> => {
  const c = configObject<LayerNormConfig>(name, config, true, ['normalizedShape', 'eps', 'dataFormat'])
  const channels = configInt(name, 'config.normalizedShape', c.normalizedShape)
  const eps = configNumber(name, 'config.eps', c.eps ?? 1e-6, { min: 0 })
  const format = configChoice(name, 'config.dataFormat', c.dataFormat ?? 'channels_last', [
    'channels_last',
    'channels_first',
  ] as const)

  // -------------------------------------------------------------------------------------------
  // layer
  // -------------------------------------------------------------------------------------------

  const axisOf = (shape: Shape): number => (format === 'channels_last' ? shape.length - 1 : 1)

  const outputShape = (shape: Shape): E.Either<LayerError, Shape> => {
    const rank =
      format === 'channels_last'
        ? expectMinRank(name, 'input', shape, 1, '[..., C]')
        : expectMinRank(name, 'input', shape, 2, '[N, C, ...]')
    return chain(() => expectAxisSize(name, 'input', shape, axisOf(shape), channels, 'normalizedShape'))(rank)
  }

  return defineLayer<LayerNormParams, NoState>({
    name,
    outputShape,
    params: record({ weight: tensorOf([channels]), bias: tensorOf([channels]) }) as never,
    state: record({}),
    init: (_key, _shape, dtype) => ({
      params: { weight: full([channels], 1, dtype), bias: full([channels], 0, dtype) },
      state: empty,
    }),
    run: (d, p, state, x) => {
      const axis = axisOf(x.shape)
      const view = { outer: sizeOf(x.shape.slice(0, axis)), axis: channels, inner: sizeOf(x.shape.slice(axis + 1)) }
      const { mean, variance } = d.momentsAlongAxis(x.buffer, view)
      const y = d.normalizeAlongAxis(x.buffer, mean, variance, p.weight.buffer, p.bias.buffer, { ...view, eps })
      d.free(mean)
      d.free(variance)
      return { output: new DeviceTensor(y, x.shape), state }
    },
  })
}
