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
 * Device form (`lower`, see `scanOnDevice`): in eval mode (one per-channel affine map); training
 * mode runs on the host.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { pipe } from 'fp-ts/lib/function.js'
import { backendOf } from '../backend/select.js'
import type { Device, DeviceProgram } from '../device/device.js'
import { type LayerError, rejectConfig } from '../errors.js'
import { configInt, configNumber, expectAxisSize, expectRank } from '../layer/check.js'
import type { Ctx } from '../layer/context.js'
import type { Layer } from '../layer/layer.js'
import type { Axes, Shape } from '../tensor/tensor.js'
import { dtypeOf, flatData, full, sizeOf, wrap, zeros } from '../tensor/tensor.js'
import {
  type BatchNormParams,
  type BatchNormState,
  batchNormEvalProgram,
  batchNormStep,
  checkBatchNormArgs,
  checkBatchNormParams,
  initialStats,
} from './internal/batchNorm.js'

export type { BatchNormParams, BatchNormState } from './internal/batchNorm.js'

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
  const name = 'ThresholdDependentBatchNorm2d'
  const numFeatures = configInt(name, 'config.numFeatures', config.numFeatures)
  const alpha = configNumber(name, 'config.alpha', config.alpha)
  const threshold = configNumber(name, 'config.threshold', config.threshold ?? 0.5)
  const eps = configNumber(name, 'config.eps', config.eps ?? 1e-5, { min: 0, minExclusive: true })
  const momentum = configNumber(name, 'config.momentum', config.momentum ?? 0.1, { min: 0, max: 1 })
  const timeAware = config.timeAware ?? false
  if (typeof timeAware !== 'boolean') rejectConfig(name, 'config.timeAware', 'a boolean', timeAware)
  const rank = timeAware ? 5 : 4
  const axes = timeAware ? '[T, N, C, H, W]' : '[N, C, H, W]'
  const channelAxis = rank - 3

  const checkInput = (shape: Shape): E.Either<LayerError, Shape> =>
    E.chain((s: Shape) => expectAxisSize(name, 'input', s, channelAxis, numFeatures, 'channels (numFeatures)'))(
      expectRank(name, 'input', shape, rank, axes),
    )

  /** `[T, N]` (time-aware) or `[N]` before the channel axis, as one "outer" axis (data is row-major); H*W after. */
  const viewOf = (shape: Shape): { readonly outer: number; readonly inner: number } => ({
    outer: sizeOf(shape.slice(0, channelAxis)),
    inner: sizeOf(shape.slice(channelAxis + 1)),
  })

  return {
    name,
    outputShape: checkInput,
    init: (_key, shape, dtype = 'float32') =>
      E.map((s: Shape) => ({
        params: { weight: full([numFeatures], alpha * threshold, dtype), bias: zeros([numFeatures], dtype) },
        state: initialStats(numFeatures, dtype),
        outputShape: s,
      }))(checkInput(shape)),
    apply: (params, state, input, ctx) => {
      const ok = checkBatchNormArgs(name, numFeatures, input, params, state)
      if (E.isLeft(ok)) return ok
      const shaped = checkInput(input.shape)
      if (E.isLeft(shaped)) return shaped
      const shape = input.shape
      const { outer, inner } = viewOf(shape)
      const call = {
        layer: name,
        backend: backendOf(ctx),
        x: flatData(input),
        dtype: dtypeOf(input),
        outer,
        channels: numFeatures,
        inner,
        training: ctx.training,
        eps,
        momentum,
      }
      return pipe(
        batchNormStep(call, params, state),
        E.map((r) => ({ output: wrap(r.out, shape), state: r.state })),
      )
    },
    reset: (state) => state,
    // eval only: the running statistics folded into one per-channel affine map
    lower: <B>(
      device: Device<B>,
      params: ThresholdDependentBatchNorm2dParams,
      stepShape: Shape,
      ctx: Ctx,
    ): DeviceProgram<ThresholdDependentBatchNorm2dState, B> | null => {
      if (ctx.training || E.isLeft(checkBatchNormParams(name, numFeatures, params))) return null
      if (E.isLeft(checkInput(stepShape))) return null
      const call = { layer: name, ...viewOf(stepShape), channels: numFeatures, eps }
      return batchNormEvalProgram(device, call, params, stepShape)
    },
  }
}
