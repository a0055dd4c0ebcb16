import fc from 'fast-check'
import type { IFNodeConfig, LIFNodeConfig } from '../../src/index.js'
import { ifNode, lifNode } from '../../src/index.js'
import type { LayerDescriptor, NeuronModel } from './descriptor.js'

const shape = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 })

/** BrainCog's formulas for a node built from `config` (the node's defaults filled in as its doc states them). */
const model = (kind: 'if' | 'lif', config: LIFNodeConfig): NeuronModel => {
  const surrogate = config.surrogate ?? (kind === 'if' ? 'AtanGrad' : 'QGateGrad')
  return {
    model: kind,
    tau: kind === 'lif' ? (config.tau ?? 2) : 1,
    threshold: config.threshold ?? 0.5,
    fireAt: surrogate === 'SigmoidGrad' ? '>=' : '>',
    reset: 'hard',
    vReset: 0,
    surrogate,
    alpha: config.alpha ?? 2,
  }
}

export const ifCase = (name: string, config: IFNodeConfig): LayerDescriptor => ({
  name,
  make: () => ifNode(config),
  inputShape: shape,
  stateful: true,
  gradient: { kind: 'spikes', neuron: model('if', config) },
})

export const lifCase = (name: string, config: LIFNodeConfig): LayerDescriptor => ({
  name,
  make: () => lifNode(config),
  inputShape: shape,
  stateful: true,
  gradient: { kind: 'spikes', neuron: model('lif', config) },
})

// every surrogate once; thresholds, tau and alpha dyadic, so float32 and float64 potentials are
// the same numbers for a few steps of grid inputs (the float64-vs-float32 law needs the same spikes)
export const descriptors: readonly LayerDescriptor[] = [
  ifCase('IFNode AtanGrad (defaults)', {}),
  ifCase('IFNode SigmoidGrad threshold=1 alpha=4', { surrogate: 'SigmoidGrad', threshold: 1, alpha: 4 }),
  lifCase('LIFNode QGateGrad (defaults)', {}),
  lifCase('LIFNode GateGrad tau=4 threshold=0.25 alpha=1', {
    surrogate: 'GateGrad',
    tau: 4,
    threshold: 0.25,
    alpha: 1,
  }),
]
