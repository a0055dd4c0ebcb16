import fc from 'fast-check'
import { ifNeuron } from '../../src/index.js'
import type { LayerDescriptor, NeuronModel } from './descriptor.js'

const shape = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 })

/** IFNeuron's formulas: IF, fire at `>=`, no surrogate (conversion neurons are not trained). */
const model = (threshold: number, reset: 'soft' | 'hard'): NeuronModel => ({
  model: 'if',
  tau: 1,
  threshold,
  fireAt: '>=',
  reset,
  vReset: 0,
  surrogate: 'none',
  alpha: 0,
})

export const descriptors: readonly LayerDescriptor[] = [
  {
    name: 'IFNeuron soft',
    make: () => ifNeuron({ threshold: 1 }),
    inputShape: shape,
    stateful: true,
    gradient: { kind: 'spikes', neuron: model(1, 'soft') },
  },
  {
    name: 'IFNeuron hard',
    make: () => ifNeuron({ threshold: 0.5, reset: 'hard' }),
    inputShape: shape,
    stateful: true,
    gradient: { kind: 'spikes', neuron: model(0.5, 'hard') },
  },
]
