/**
 * IFNeuron: a minimal integrate-and-fire neuron as a pure layer, the one ANN-to-SNN conversion
 * uses.
 *
 * Not one of BrainCog's connection layers, but what sits between them in a converted network.
 * Each call integrates the input into the membrane potential `v`, emits a spike (1) where
 * `v >= threshold`, and resets the neurons that fired: to `vReset` ('hard') or by subtracting
 * the threshold ('soft', what conversion uses, since it keeps the residue and so the rate code).
 * BrainCog's own trained neurons, with its strict threshold and surrogate gradients, are
 * {@link ifNode} and {@link lifNode}.
 *
 * Shapes: any `[...]` in, the same shape of spikes (0 or 1) out. State: the membrane potential,
 * `null` before the first step and after `reset`.
 *
 * @module
 */
import type { Layer, NoParams } from '../layer/layer.js'
import { configChoice, configNumber, configObject, FLOAT32_MAX } from '../layer/check.js'
import type { Axes } from '../tensor/tensor.js'
import { type NeuronState, neuronLayer } from './internal/neuron.js'

const name = 'IFNeuron'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** IFNeuron configuration. */
export interface IFNeuronConfig {
  /** Firing threshold, > 0 (default 1). */
  readonly threshold?: number
  /** 'soft' subtracts the threshold after a spike (default), 'hard' sets `v` to `vReset`. */
  readonly reset?: 'soft' | 'hard'
  /** Potential after a hard reset (default 0). */
  readonly vReset?: number
}

/** IFNeuron state: the membrane potential, or `null` when nothing has been integrated yet. */
export type IFNeuronState = NeuronState

// ---------------------------------------------------------------------------------------------
// constructor
// ---------------------------------------------------------------------------------------------

/**
 * Builds an integrate-and-fire neuron layer. Bad configuration throws a `ConfigError` here.
 *
 * @example
 * import { ifNeuron, key, orThrow, tensor, train } from 'braincog-fn'
 * const neuron = ifNeuron({ threshold: 1 })
 * const { params, state } = orThrow(neuron.init(key(0), [2]))
 * const s1 = orThrow(neuron.apply(params, state, tensor([0.6, 1.2], [2]), train()))
 * s1.output // spikes [0, 1]; s1.state.v is [0.6, 0.2]
 */
export const ifNeuron = (config: IFNeuronConfig = {}): Layer<NoParams, IFNeuronState, Axes, Axes> => {
  const c = configObject<IFNeuronConfig>(name, config, false, ['threshold', 'reset', 'vReset'])
  return neuronLayer(name, {
    model: 'if',
    tau: 1,
    threshold: configNumber(name, 'config.threshold', c.threshold ?? 1, { min: 0, minExclusive: true, max: FLOAT32_MAX }),
    fireAt: '>=',
    reset: configChoice(name, 'config.reset', c.reset ?? 'soft', ['soft', 'hard'] as const),
    vReset: configNumber(name, 'config.vReset', c.vReset ?? 0, { min: -FLOAT32_MAX, max: FLOAT32_MAX }),
    surrogate: 'none',
    alpha: 0,
  })
}
