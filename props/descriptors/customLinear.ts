import fc from 'fast-check'
import { customLinear } from '../../src/index.js'
import type { LayerDescriptor } from './descriptor.js'

const IN = 3

/** `[in]`, `[N, in]` and deeper `[..., in]`, with the fixed `in` the layers below are built for. */
const shape = fc
  .array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 2 })
  .map((lead) => [...lead, IN])

export const descriptors: readonly LayerDescriptor[] = [
  {
    name: 'CustomLinear 3->2',
    make: () => customLinear({ inFeatures: IN, outFeatures: 2 }),
    inputShape: shape,
    stateful: false,
  },
  {
    name: 'CustomLinear 3->4 bias',
    make: () => customLinear({ inFeatures: IN, outFeatures: 4, bias: true }),
    inputShape: shape,
    stateful: false,
  },
]
