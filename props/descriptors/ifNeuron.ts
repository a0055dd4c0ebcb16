import fc from 'fast-check'
import { ifNeuron } from '../../src/index.js'
import type { LayerDescriptor } from './descriptor.js'

const shape = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 })

export const descriptors: readonly LayerDescriptor[] = [
  { name: 'IFNeuron soft', make: () => ifNeuron({ threshold: 1 }), inputShape: shape, stateful: true },
  { name: 'IFNeuron hard', make: () => ifNeuron({ threshold: 0.5, reset: 'hard' }), inputShape: shape, stateful: true },
]
