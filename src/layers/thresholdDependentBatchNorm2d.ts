/**
 * ThresholdDependentBatchNorm2d: BrainCog's `ThresholdDependentBatchNorm2d`, the
 * threshold-dependent batch normalization (tdBN) of Zheng et al., "Going Deeper With
 * Directly-Trained Larger Spiking Neural Networks" (AAAI 2021).
 *
 * A batch norm whose weight starts at `alpha * threshold` (so pre-activations are scaled to the
 * firing threshold of the neurons that follow) and whose bias starts at 0. Training mode
 * normalizes each channel with the batch's mean and biased variance and moves the running
 * statistics towards the batch's (unbiased variance) with `momentum`; eval mode uses the
 * running statistics. Weight and bias are params; the running statistics are state.
 *
 * Shapes: `[N, C, H, W]` in and out (BrainCog's only mode). With `timeAware: true`,
 * `[T, N, C, H, W]` in and out, each channel normalized over T, N, H and W together, as the
 * tdBN paper does (BrainCog has no such mode).
 *
 * Differences from BrainCog: `eps` and `momentum` are honoured (BrainCog accepts and silently
 * drops them, always using 1e-5 and 0.1, which are our defaults); the time-aware mode is new;
 * `momentum: null` (PyTorch's cumulative average) is not offered.
 *
 * @module
 */
import type * as E from 'fp-ts/lib/Either.js'
import { chain } from '../either.js'
import type { LayerError } from '../errors.js'
import {
  configBoolean,
  configFail,
  configInt,
  configNumber,
  configObject,
  expectAxisSize,
  expectRank,
  FLOAT32_MAX,
} from '../layer/check.js'
import type { Layer } from '../layer/layer.js'
import type { Axes, Shape } from '../tensor/tensor.js'
import { sizeOf } from '../tensor/tensor.js'
import { type BatchNormParams, type BatchNormState, batchNormLayer } from './internal/batchNorm.js'

export type { BatchNormParams, BatchNormState } from './internal/batchNorm.js'

const name = 'ThresholdDependentBatchNorm2d'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** ThresholdDependentBatchNorm2d configuration. */
export interface ThresholdDependentBatchNorm2dConfig {
  /** Number of channels C, an integer >= 1. */
  readonly numFeatures: number
  /** Scale of the initial weight (tdBN's alpha), a finite number. */
  readonly alpha: number
  /** Firing threshold of the following neurons (default 0.5); the weight starts at `alpha * threshold`. */
  readonly threshold?: number
  /** Added to the variance before the square root, > 0 (default 1e-5). */
  readonly eps?: number
  /** Weight of the batch in the running statistics, in [0, 1] (default 0.1). */
  readonly momentum?: number
  /** Take `[T, N, C, H, W]` and normalize over time too (default false: `[N, C, H, W]`). */
  readonly timeAware?: boolean
}

/** Params: `weight` and `bias`, `[C]` each. */
export type ThresholdDependentBatchNorm2dParams = BatchNormParams
/** State: the running statistics. */
export type ThresholdDependentBatchNorm2dState = BatchNormState

// ---------------------------------------------------------------------------------------------
// constructor
// ---------------------------------------------------------------------------------------------

/**
 * Builds a threshold-dependent batch norm. Bad configuration throws a `ConfigError` here.
 *
 * Input `[N, C, H, W]` (or `[T, N, C, H, W]` when `timeAware`), output the same shape and dtype.
 * Training needs more than one value per channel (N*H*W, or T*N*H*W, >= 2).
 *
 * @example
 * import { evaluate, key, orThrow, thresholdDependentBatchNorm2d, train, zeros } from 'braincog-fn'
 * const bn = thresholdDependentBatchNorm2d({ numFeatures: 3, alpha: 1 })
 * const { params, state } = orThrow(bn.init(key(0), [4, 3, 8, 8]))
 * params.weight // [0.5, 0.5, 0.5]: alpha * threshold
 * const r = orThrow(bn.apply(params, state, zeros([4, 3, 8, 8]), train()))
 * r.state.numBatchesTracked // 1
 * orThrow(bn.apply(params, r.state, zeros([4, 3, 8, 8]), evaluate())).output.shape // [4, 3, 8, 8]
 */
export const thresholdDependentBatchNorm2d = (
  config: ThresholdDependentBatchNorm2dConfig,
): Layer<ThresholdDependentBatchNorm2dParams, ThresholdDependentBatchNorm2dState, Axes, Axes> => {
  const c = configObject<ThresholdDependentBatchNorm2dConfig>(name, config, true, [
    'numFeatures',
    'alpha',
    'threshold',
    'eps',
    'momentum',
    'timeAware',
  ])
  const numFeatures = configInt(name, 'config.numFeatures', c.numFeatures)
  const alpha = configNumber(name, 'config.alpha', c.alpha)
  const threshold = configNumber(name, 'config.threshold', c.threshold ?? 0.5)
  const eps = configNumber(name, 'config.eps', c.eps ?? 1e-5, { min: 0, minExclusive: true })
  const momentum = configNumber(name, 'config.momentum', c.momentum ?? 0.1, { min: 0, max: 1 })
  const timeAware = configBoolean(name, 'config.timeAware', c.timeAware ?? false)
  const initialWeight = alpha * threshold
  // the initial weight is stored in the params' dtype: float32 must hold it (not round it to Infinity)
  if (!(Math.abs(initialWeight) <= FLOAT32_MAX)) {
    configFail(name, 'config.alpha', 'alpha * threshold within float32 range (the initial weight)', `${alpha} * ${threshold}`)
  }
  const rank = timeAware ? 5 : 4
  const channelAxis = rank - 3

  // -------------------------------------------------------------------------------------------
  // layer
  // -------------------------------------------------------------------------------------------

  const outputShape = (shape: Shape): E.Either<LayerError, Shape> =>
    chain((s: Shape) => expectAxisSize(name, 'input', s, channelAxis, numFeatures, 'channels (numFeatures)'))(
      expectRank(name, 'input', shape, rank, timeAware ? '[T, N, C, H, W]' : '[N, C, H, W]'),
    )

  return batchNormLayer<ThresholdDependentBatchNorm2dParams>({
    name,
    channels: numFeatures,
    eps,
    momentum,
    outputShape,
    // [T, N] (time-aware) or [N] before the channel axis are one "outer" axis; H*W after
    view: (shape) => ({
      outer: sizeOf(shape.slice(0, channelAxis)),
      inner: sizeOf(shape.slice(channelAxis + 1)),
      steps: 1,
    }),
    initialWeight,
  })
}
