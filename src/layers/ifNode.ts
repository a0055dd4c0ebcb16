/**
 * IFNode and LIFNode: BrainCog's trained spiking neurons (`braincog/base/node/node.py`), with
 * surrogate gradients (`braincog/base/strategy/surrogate.py`), for direct training with
 * backpropagation through time.
 *
 * Per step, with `v` the potential after the previous step's reset (0 at the start):
 * IF `u = v + x`; LIF `u = v + (x - v) / tau` (each operation rounded in the data's precision,
 * as PyTorch does); `spike = H(u - threshold)` with BrainCog's strict `>` (SigmoidGrad's
 * Heaviside is `>=`); `v = u * (1 - spike)`: a hard reset to 0, detached from the gradient. In
 * the backward pass the spike's derivative is the surrogate's `g(u - threshold)`:
 *
 * - `'atan'` (AtanGrad): `alpha / 2 / (1 + (pi / 2 * alpha * z)^2)`;
 * - `'qgate'` (QGateGrad): `alpha - alpha^2 |z|` where `|z| <= 1 / alpha`, else 0;
 * - `'sigmoid'` (SigmoidGrad): `alpha * s * (1 - s)`, `s = sigmoid(alpha z)`;
 * - `'gate'` (GateGrad): 1 where `|z| < 1 / alpha`, else 0.
 *
 * Shapes: any `[...]` in, spikes of the same shape out. State: the potential `v` (`null` before
 * the first step and after `reset`).
 *
 * Differences from BrainCog: the surrogate and alpha are options (BrainCog fixes alpha at 2 in
 * both neurons); the threshold is not learnable; a potential that is infinite at a spike resets
 * to 0 (BrainCog's `inf * 0` gives NaN).
 *
 * @module
 */
import type { Surrogate } from '../kernel/kernels.js'
import { configChoice, configNumber, configObject, FLOAT32_MAX } from '../layer/check.js'
import type { Layer, NoParams } from '../layer/layer.js'
import type { Axes } from '../tensor/tensor.js'
import { type NeuronState, neuronLayer } from './internal/neuron.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** BrainCog's surrogate gradient functions, by class name. */
export type SurrogateName = 'AtanGrad' | 'QGateGrad' | 'SigmoidGrad' | 'GateGrad'

/** IFNode configuration. */
export interface IFNodeConfig {
  /** Firing threshold (default 0.5, BrainCog's). */
  readonly threshold?: number
  /** The surrogate gradient (default `'AtanGrad'`, BrainCog's). */
  readonly surrogate?: SurrogateName
  /** The surrogate's alpha, > 0 (default 2, BrainCog's). */
  readonly alpha?: number
}

/** LIFNode configuration. */
export interface LIFNodeConfig extends Omit<IFNodeConfig, 'surrogate'> {
  /** Membrane time constant, >= 1 (default 2, BrainCog's). */
  readonly tau?: number
  /** The surrogate gradient (default `'QGateGrad'`, BrainCog's). */
  readonly surrogate?: SurrogateName
}

/** The state of IFNode and LIFNode: the membrane potential. */
export type NodeState = NeuronState

const surrogates: Readonly<Record<SurrogateName, Surrogate>> = {
  AtanGrad: 'atan',
  QGateGrad: 'qgate',
  SigmoidGrad: 'sigmoid',
  GateGrad: 'gate',
}
const surrogateNames = Object.keys(surrogates) as readonly SurrogateName[]

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/** The neuron kernel's attributes of a BrainCog node. */
const nodeAttrs = (name: string, config: LIFNodeConfig, model: 'if' | 'lif', surrogate: SurrogateName) => {
  const s = configChoice(name, 'config.surrogate', config.surrogate ?? surrogate, surrogateNames)
  return {
    model,
    tau: model === 'lif' ? configNumber(name, 'config.tau', config.tau ?? 2, { min: 1 }) : 1,
    threshold: configNumber(name, 'config.threshold', config.threshold ?? 0.5, { min: -FLOAT32_MAX, max: FLOAT32_MAX }),
    // SigmoidGrad's forward is heaviside(x) = (x >= 0), the others' x.gt(0)
    fireAt: s === 'SigmoidGrad' ? ('>=' as const) : ('>' as const),
    reset: 'hard' as const,
    vReset: 0,
    surrogate: surrogates[s],
    alpha: configNumber(name, 'config.alpha', config.alpha ?? 2, { min: 0, minExclusive: true }),
  }
}

/**
 * Builds BrainCog's IFNode: integrate and fire with a surrogate gradient (default AtanGrad,
 * alpha 2, threshold 0.5). Bad configuration throws a `ConfigError` here.
 *
 * @example
 * import { ifNode, key, orThrow, tensor, train } from 'braincog-fn'
 * const node = ifNode()
 * const { params, state } = orThrow(node.init(key(0), [3]))
 * const r = orThrow(node.apply(params, state, tensor([0.25, 0.5, 0.75], [3]), train()))
 * r.output // spikes [0, 0, 1]: 0.5 equals the threshold and does not fire (strict >)
 */
export const ifNode = (config: IFNodeConfig = {}): Layer<NoParams, NodeState, Axes, Axes> => {
  const c = configObject<IFNodeConfig>('IFNode', config, false, ['threshold', 'surrogate', 'alpha'])
  return neuronLayer('IFNode', nodeAttrs('IFNode', c, 'if', 'AtanGrad'))
}

/**
 * Builds BrainCog's LIFNode: leaky integrate and fire (default tau 2, QGateGrad, alpha 2,
 * threshold 0.5). Bad configuration throws a `ConfigError` here.
 *
 * @example
 * import { key, lifNode, orThrow, tensor, train } from 'braincog-fn'
 * const node = lifNode()
 * const { params, state } = orThrow(node.init(key(0), [2]))
 * const r = orThrow(node.apply(params, state, tensor([0.8, 1.2], [2]), train()))
 * r.output // [0, 1]: u = x / 2 is 0.4 and 0.6
 */
export const lifNode = (config: LIFNodeConfig = {}): Layer<NoParams, NodeState, Axes, Axes> => {
  const c = configObject<LIFNodeConfig>('LIFNode', config, false, ['threshold', 'surrogate', 'alpha', 'tau'])
  return neuronLayer('LIFNode', nodeAttrs('LIFNode', c, 'lif', 'QGateGrad'))
}
