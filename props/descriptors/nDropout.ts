import fc from 'fast-check'
import { nDropout } from '../../src/index.js'
import type { LayerDescriptor } from './descriptor.js'

const shape = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 3 })

export const descriptors: readonly LayerDescriptor[] = [
  { name: 'NDropout p=0.5', make: () => nDropout({ p: 0.5 }), inputShape: shape, stateful: true },
  { name: 'NDropout p=0.2', make: () => nDropout({ p: 0.2 }), inputShape: shape, stateful: true },
  { name: 'NDropout p=1', make: () => nDropout({ p: 1 }), inputShape: shape, stateful: true },
]
