/**
 * VotingLayer: BrainCog's `braincog.base.connection.layer.VotingLayer`, the readout of a
 * population-coded spiking network: each class is represented by `voterNum` neurons, and its
 * score is their mean firing (Zeng et al., "BrainCog", Patterns 2023). BrainCog implements it as
 * `nn.AvgPool1d(voterNum, voterNum)` over the neuron axis.
 *
 * Shapes: `[..., L]` in, `[..., floor(L / voterNum)]` out (BrainCog: `[N, voterNum * C]` to
 * `[N, C]`). No params, no state.
 *
 * Device form (`lower`, see `scanOnDevice`): always, `groupMean` on the device.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { backendOf } from '../backend/select.js'
import type { Device, DeviceProgram } from '../device/device.js'
import { fail, type LayerError } from '../errors.js'
import { configChoice, configInt, expectMinRank, showShape } from '../layer/check.js'
import type { Layer, NoParams, NoState } from '../layer/layer.js'
import { none } from '../layer/layer.js'
import type { Axes, Shape } from '../tensor/tensor.js'
import { alloc, dtypeOf, flatData, sizeOf, wrap } from '../tensor/tensor.js'
import { statelessProgram } from './internal/deviceState.js'

const name = 'VotingLayer'

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
  const voterNum = configInt(name, 'config.voterNum', config.voterNum)
  const remainder = configChoice(name, 'config.remainder', config.remainder ?? 'drop', ['drop', 'error'] as const)

  const outputShape = (shape: Shape): E.Either<LayerError, Shape> => {
    const rank = expectMinRank(name, 'input', shape, 1, '[..., voterNum * C]')
    if (E.isLeft(rank)) return rank
    const length = shape[shape.length - 1]
    if (length < voterNum) {
      return fail(name, 'input', `a last axis of at least voterNum = ${voterNum}`, showShape(shape))
    }
    if (remainder === 'error' && length % voterNum !== 0) {
      return fail(name, 'input', `a last axis that is a multiple of voterNum = ${voterNum}`, showShape(shape))
    }
    return E.right([...shape.slice(0, -1), Math.floor(length / voterNum)])
  }

  /** The input seen as `[rows, length]` rows of voters, as `groupMean` takes it. */
  const rowsOf = (shape: Shape): { readonly rows: number; readonly length: number } => {
    const length = shape[shape.length - 1]
    return { rows: sizeOf(shape) / length, length }
  }

  return {
    name,
    outputShape,
    init: (_key, shape) => E.map((out: Shape) => ({ params: none, state: none, outputShape: out }))(outputShape(shape)),
    apply: (_params, state, input, ctx) =>
      E.map((out: Shape) => {
        const { rows, length } = rowsOf(input.shape)
        const y = alloc(rows * out[out.length - 1], dtypeOf(input))
        backendOf(ctx).groupMean(y, flatData(input), rows, length, voterNum)
        return { output: wrap(y, out), state }
      })(outputShape(input.shape)),
    reset: (state) => state,
    lower: <B>(device: Device<B>, _params: NoParams, stepShape: Shape): DeviceProgram<NoState, B> | null => {
      const out = outputShape(stepShape)
      if (E.isLeft(out)) return null
      const { rows, length } = rowsOf(stepShape)
      return statelessProgram<NoState, B>(device, out.right, (x) => device.groupMean(x, rows, length, voterNum))
    },
  }
}
