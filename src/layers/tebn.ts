/**
 * TEBN: BrainCog's `TEBN`, temporal effective batch normalization (Duan et al., "Temporal
 * Effective Batch Normalization in Spiking Neural Networks", NeurIPS 2022).
 *
 * A batch norm whose statistics pool all time steps (each channel normalized over T, B, H, W,
 * as BrainCog's `BatchNorm3d` on `[T, C, B, H, W]` does), followed by a learnable scale `p[t]`
 * per time step: `y[t] = p[t] * (weight * (x[t] - mean) / sqrt(var + eps) + bias)`. Training
 * and eval as in any batch norm (running statistics are state, unbiased running variance).
 *
 * Shapes: time-major `[(T*B), C, H, W]` (BrainCog's layout, T = `step`, so the leading size must
 * be a multiple of `step`) or `[T, B, C, H, W]` with T = `step`; the output has the input's
 * shape and dtype.
 *
 * Differences from BrainCog: `p` has `step` entries for any `step >= 1` (BrainCog hard-codes 4
 * and breaks for any other step); `eps` and `momentum` are honoured (BrainCog ignores them and
 * uses 1e-5 and 0.1, our defaults); the `[T, B, C, H, W]` layout is accepted too.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { chain } from '../either.js'
import { layerFailure, type LayerError } from '../errors.js'
import { configInt, configNumber, configObject, expectAxisSize, showShape } from '../layer/check.js'
import type { Layer } from '../layer/layer.js'
import type { Axes, Rank1, Shape, Tensor } from '../tensor/tensor.js'
import { sizeOf } from '../tensor/tensor.js'
import { type BatchNormParams, type BatchNormState, batchNormLayer } from './internal/batchNorm.js'

const name = 'TEBN'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** TEBN configuration. */
export interface TEBNConfig {
  /** Number of channels C, an integer >= 1. */
  readonly numFeatures: number
  /** Number of time steps T, an integer >= 1: the length of `p`. */
  readonly step: number
  /** Added to the variance before the square root, > 0 (default 1e-5). */
  readonly eps?: number
  /** Weight of the batch in the running statistics, in [0, 1] (default 0.1). */
  readonly momentum?: number
}

/** TEBN params: the batch norm's `weight`, `bias` `[C]` and one scale per time step, `p` `[step]`. */
export interface TEBNParams extends BatchNormParams {
  /** Scale of time step t (starts at 1), `[step]`. */
  readonly p: Tensor<Rank1>
}

/** TEBN state: the running statistics. */
export type TEBNState = BatchNormState

// ---------------------------------------------------------------------------------------------
// constructor
// ---------------------------------------------------------------------------------------------

/**
 * Builds a TEBN layer. Bad configuration throws a `ConfigError` here.
 *
 * @example
 * import { key, orThrow, tebn, train, zeros } from 'braincog-fn'
 * const bn = tebn({ numFeatures: 2, step: 3 })
 * const { params, state } = orThrow(bn.init(key(0), [6, 2, 4, 4])) // T = 3, B = 2
 * params.p.shape // [3]
 * orThrow(bn.apply(params, state, zeros([6, 2, 4, 4]), train())).output.shape // [6, 2, 4, 4]
 */
export const tebn = (config: TEBNConfig): Layer<TEBNParams, TEBNState, Axes, Axes> => {
  const c = configObject<TEBNConfig>(name, config, true, ['numFeatures', 'step', 'eps', 'momentum'])
  const numFeatures = configInt(name, 'config.numFeatures', c.numFeatures)
  const step = configInt(name, 'config.step', c.step)
  const eps = configNumber(name, 'config.eps', c.eps ?? 1e-5, { min: 0, minExclusive: true })
  const momentum = configNumber(name, 'config.momentum', c.momentum ?? 0.1, { min: 0, max: 1 })

  // -------------------------------------------------------------------------------------------
  // layer
  // -------------------------------------------------------------------------------------------

  /** Checks the layout and gives B, the batch size per time step. */
  const batchOf = (shape: Shape): E.Either<LayerError, number> => {
    if (shape.length === 4) {
      const ok = expectAxisSize(name, 'input', shape, 1, numFeatures, 'channels (numFeatures)')
      if (E.isLeft(ok)) return ok
      return shape[0] % step === 0
        ? E.right(shape[0] / step)
        : layerFailure(name, 'input', `a leading size (T*B) divisible by step ${step}`, showShape(shape))
    }
    if (shape.length === 5) {
      const ok = chain((s: Shape) => expectAxisSize(name, 'input', s, 2, numFeatures, 'channels (numFeatures)'))(
        expectAxisSize(name, 'input', shape, 0, step, 'time steps (step)'),
      )
      return E.map(() => shape[1])(ok)
    }
    return layerFailure(name, 'input', `rank 4 [(T*B), C, H, W] or rank 5 [T, B, C, H, W]`, showShape(shape))
  }

  return batchNormLayer<TEBNParams>({
    name,
    channels: numFeatures,
    eps,
    momentum,
    outputShape: (shape) => E.map(() => shape)(batchOf(shape)),
    // both layouts as [T, B, C, H*W] (row-major), time step t the t-th block of B samples
    view: (shape) => ({ outer: sizeOf(shape.slice(0, shape.length - 3)), inner: sizeOf(shape.slice(-2)), steps: step }),
    initialWeight: 1,
    gainSteps: step,
  })
}
