import fc from 'fast-check'
import { thresholdDependentBatchNorm2d } from '../../src/index.js'
import type { LayerDescriptor } from './descriptor.js'

const C = 3
const dim = fc.integer({ min: 1, max: 4 })
// N >= 2: the laws run in training mode, which needs more than one value per channel
const batch = fc.integer({ min: 2, max: 3 })

/** The running statistics move with the batch, but as buffers (no gradient), as in PyTorch. */
const runningStats = ['runningMean', 'runningVar']

export const descriptors: readonly LayerDescriptor[] = [
  {
    name: 'ThresholdDependentBatchNorm2d [N, C, H, W]',
    make: () => thresholdDependentBatchNorm2d({ numFeatures: C, alpha: 1, threshold: 0.5 }),
    inputShape: fc.tuple(batch, dim, dim).map(([n, h, w]) => [n, C, h, w]),
    stateful: false,
    detachedState: runningStats,
  },
  {
    name: 'ThresholdDependentBatchNorm2d timeAware [T, N, C, H, W], eps/momentum set',
    make: () => thresholdDependentBatchNorm2d({ numFeatures: C, alpha: 2, timeAware: true, eps: 1e-3, momentum: 0.3 }),
    inputShape: fc.tuple(fc.integer({ min: 1, max: 3 }), batch, dim, dim).map(([t, n, h, w]) => [t, n, C, h, w]),
    stateful: false,
    detachedState: runningStats,
  },
]
