/**
 * IFNeuron: a minimal integrate-and-fire neuron as a pure layer.
 *
 * Not one of BrainCog's connection layers, but what sits between them: BrainCog's IFNode and
 * the neurons its ANN-to-SNN conversion inserts. Each call integrates the input into the
 * membrane potential `v`, emits a spike (1) where `v >= threshold`, and resets the neurons that
 * fired: to `vReset` ('hard') or by subtracting the threshold ('soft', what conversion uses,
 * since it keeps the residue and so the rate code).
 *
 * Shapes: any `[...]` in, the same shape of spikes (0 or 1) out. State: the membrane potential,
 * `null` before the first step and after `reset`.
 *
 * Device form (`lower`, see `scanOnDevice`): always, the potential kept on the device.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { backendOf } from '../backend/select.js'
import type { Device, DeviceProgram } from '../device/device.js'
import type { LayerError } from '../errors.js'
import { configChoice, configNumber, expectSameShape } from '../layer/check.js'
import type { Layer, NoParams } from '../layer/layer.js'
import { none } from '../layer/layer.js'
import type { Axes, Shape, Tensor } from '../tensor/tensor.js'
import { alloc, dtypeOf, flatData, wrap } from '../tensor/tensor.js'
import { enterTensor, exitTensor, freeTensor } from './internal/deviceState.js'

/** IFNeuron configuration. */
export interface IFNeuronConfig {
  /** Firing threshold (default 1). */
  readonly threshold?: number
  /** 'soft' subtracts the threshold after a spike (default), 'hard' sets `v` to `vReset`. */
  readonly reset?: 'soft' | 'hard'
  /** Potential after a hard reset (default 0). */
  readonly vReset?: number
}

/** IFNeuron state: the membrane potential, or `null` when nothing has been integrated yet. */
export interface IFNeuronState {
  /** The membrane potential, shaped like the input. */
  readonly v: Tensor | null
}

/**
 * Builds an integrate-and-fire neuron layer.
 *
 * @example
 * import { ifNeuron, key, orThrow, tensor, train } from 'braincog-fn'
 * const lif = ifNeuron({ threshold: 1 })
 * const { params, state } = orThrow(lif.init(key(0), [2]))
 * const s1 = orThrow(lif.apply(params, state, tensor([0.6, 1.2], [2]), train()))
 * s1.output // spikes [0, 1]; s1.state.v is [0.6, 0.2]
 */
export const ifNeuron = (config: IFNeuronConfig = {}): Layer<NoParams, IFNeuronState, Axes, Axes> => {
  const name = 'IFNeuron'
  const threshold = configNumber(name, 'config.threshold', config.threshold ?? 1, { min: 0, minExclusive: true })
  const mode = configChoice(name, 'config.reset', config.reset ?? 'soft', ['soft', 'hard'] as const)
  const vReset = configNumber(name, 'config.vReset', config.vReset ?? 0)

  /** A held potential must have the input's shape. */
  const checkState = (state: IFNeuronState, shape: Shape): E.Either<LayerError, unknown> =>
    state.v === null ? E.right(undefined) : expectSameShape(name, 'input', shape, state.v.shape)

  return {
    name,
    outputShape: (shape) => E.right(shape),
    init: (_key, shape) => E.right({ params: none, state: { v: null }, outputShape: shape }),
    apply: (_params, state, input, ctx) => {
      const ok = checkState(state, input.shape)
      if (E.isLeft(ok)) return ok
      const x = flatData(input)
      const dtype = dtypeOf(input)
      const backend = backendOf(ctx)
      const v = alloc(x.length, dtype)
      if (state.v === null) v.set(x)
      else backend.axpy(v, flatData(state.v), 1, x)
      const spikes = alloc(x.length, dtype)
      backend.fire(spikes, v, threshold, mode, vReset)
      return E.right({ output: wrap(spikes, input.shape), state: { v: wrap(v, input.shape) } })
    },
    reset: () => ({ v: null }),
    // the potential as one device buffer (null until the first step), `device.fire` per step
    lower: <B>(device: Device<B>, _params: NoParams, stepShape: Shape): DeviceProgram<IFNeuronState, B, B | null> => ({
      outputShape: stepShape,
      enter: (state) => E.map(() => enterTensor(device, state.v))(checkState(state, stepShape)),
      step: (v, x) => {
        const next = device.fire(v, x, threshold, mode, vReset)
        device.free(x)
        freeTensor(device, v)
        return E.right({ output: next.spikes, state: next.v })
      },
      exit: (v) => ({ v: exitTensor(device, v, stepShape) }),
      discard: (v) => freeTensor(device, v),
      dispose: () => undefined,
    }),
  }
}
