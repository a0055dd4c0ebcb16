import fc from 'fast-check'
import { tebn } from '../../src/index.js'
import type { LayerDescriptor } from './descriptor.js'

const C = 2
const dim = fc.integer({ min: 1, max: 3 })

/** The running statistics move with the batch, but as buffers (no gradient), as in PyTorch. */
const runningStats = ['runningMean', 'runningVar']

export const descriptors: readonly LayerDescriptor[] = [
  {
    name: 'TEBN step=3 [(T*B), C, H, W]',
    make: () => tebn({ numFeatures: C, step: 3 }),
    inputShape: fc.tuple(fc.integer({ min: 1, max: 2 }), dim, dim).map(([b, h, w]) => [3 * b, C, h, w]),
    stateful: false,
    detachedState: runningStats,
  },
  {
    name: 'TEBN step=2 [T, B, C, H, W], eps/momentum set',
    make: () => tebn({ numFeatures: C, step: 2, eps: 1e-3, momentum: 0.5 }),
    inputShape: fc.tuple(fc.integer({ min: 1, max: 3 }), dim, dim).map(([b, h, w]) => [2, b, C, h, w]),
    stateful: false,
    detachedState: runningStats,
  },
]
