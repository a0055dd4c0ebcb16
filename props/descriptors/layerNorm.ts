import fc from 'fast-check'
import { layerNorm } from '../../src/index.js'
import type { LayerDescriptor } from './descriptor.js'

const dims = (min: number, max: number) => fc.array(fc.integer({ min: 1, max: 3 }), { minLength: min, maxLength: max })

export const descriptors: readonly LayerDescriptor[] = [
  {
    name: 'LayerNorm channels_last C=4',
    make: () => layerNorm({ normalizedShape: 4 }),
    inputShape: dims(0, 3).map((lead) => [...lead, 4]),
    stateful: false,
  },
  {
    name: 'LayerNorm channels_first C=3',
    make: () => layerNorm({ normalizedShape: 3, dataFormat: 'channels_first', eps: 1e-5 }),
    inputShape: fc.tuple(fc.integer({ min: 1, max: 3 }), dims(0, 2)).map(([n, rest]) => [n, 3, ...rest]),
    stateful: false,
  },
]
