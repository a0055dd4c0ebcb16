/**
 * VotingLayer: BrainCog's `braincog.base.connection.layer.VotingLayer`, the readout of a
 * population-coded spiking network: each class is represented by `voterNum` neurons, and its
 * score is their mean firing (Zeng et al., "BrainCog", Patterns 2023). BrainCog implements it as
 * `nn.AvgPool1d(voterNum, voterNum)` over the neuron axis.
 *
 * Shapes: `[..., L]` in, `[..., floor(L / voterNum)]` out (BrainCog: `[N, voterNum * C]` to
 * `[N, C]`). No params, no state.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { layerFailure, type LayerError } from '../errors.js'
import { DeviceTensor } from '../kernel/device.js'
import { configChoice, configInt, configObject, expectMinRank, showShape } from '../layer/check.js'
import { defineLayer } from '../layer/define.js'
import type { Layer, NoParams, NoState } from '../layer/layer.js'
import { empty } from '../layer/layer.js'
import { record } from '../layer/schema.js'
import type { Axes, Shape } from '../tensor/tensor.js'
import { sizeOf } from '../tensor/tensor.js'

const name = 'VotingLayer'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** VotingLayer configuration. */
export interface VotingLayerConfig {
  /** Neurons per class (BrainCog's `voter_num`), an integer >= 1. */
  readonly voterNum: number
  /**
   * What to do when the last axis is not a multiple of `voterNum`: `'drop'` the trailing
   * neurons, as PyTorch's `AvgPool1d` does (default), or reject the input with an `'error'`.
   */
  readonly remainder?: 'drop' | 'error'
}

// ---------------------------------------------------------------------------------------------
// constructor
// ---------------------------------------------------------------------------------------------

/**
 * Builds a VotingLayer: the mean of each consecutive group of `voterNum` values along the last
 * axis.
 *
 * Differences from BrainCog: any rank `>= 1` is accepted (time-major `[T, N, L]` included; BrainCog
 * needs `[N, L]`); a remainder can be rejected instead of dropped. Rejects (as `LayerError`): rank
 * 0, a last axis shorter than `voterNum`, and with `remainder: 'error'` a last axis that is not a
 * multiple of `voterNum`. `voterNum < 1` throws a `ConfigError` at build.
 *
 * @example
 * import { evaluate, orThrow, tensor, votingLayer } from 'braincog-fn'
 * const vote = votingLayer({ voterNum: 2 })
 * orThrow(vote.apply({}, {}, tensor([1, 0, 1, 1, 0, 0], [1, 6]), evaluate())).output // [[0.5, 1, 0]]
 */
export const votingLayer = (config: VotingLayerConfig): Layer<NoParams, NoState, Axes, Axes> => {
  const c = configObject<VotingLayerConfig>(name, config, true, ['voterNum', 'remainder'])
  const voterNum = configInt(name, 'config.voterNum', c.voterNum)
  const remainder = configChoice(name, 'config.remainder', c.remainder ?? 'drop', ['drop', 'error'] as const)

  // -------------------------------------------------------------------------------------------
  // layer
  // -------------------------------------------------------------------------------------------

  const outputShape = (shape: Shape): E.Either<LayerError, Shape> => {
    const rank = expectMinRank(name, 'input', shape, 1, '[..., voterNum * C]')
    if (E.isLeft(rank)) return rank
    const length = shape[shape.length - 1]
    if (length < voterNum) {
      return layerFailure(name, 'input', `a last axis of at least voterNum = ${voterNum}`, showShape(shape))
    }
    if (remainder === 'error' && length % voterNum !== 0) {
      return layerFailure(name, 'input', `a last axis that is a multiple of voterNum = ${voterNum}`, showShape(shape))
    }
    return E.right([...shape.slice(0, -1), Math.floor(length / voterNum)])
  }

  return defineLayer<NoParams, NoState>({
    name,
    outputShape,
    params: record({}),
    state: record({}),
    init: () => ({ params: empty, state: empty }),
    run: (d, _params, state, x) => {
      const length = x.shape[x.shape.length - 1]
      const rows = sizeOf(x.shape) / length
      const y = d.groupMean(x.buffer, { rows, length, size: voterNum })
      return { output: new DeviceTensor(y, [...x.shape.slice(0, -1), Math.floor(length / voterNum)]), state }
    },
  })
}
