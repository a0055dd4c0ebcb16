import fc from 'fast-check'
import { spikeTrainArb } from '../../src/arbitraries/index.js'
import { liPool } from '../../src/index.js'
import type { LayerDescriptor } from './descriptor.js'

/** `[N, C, k*h, k*w]`: spatial sizes the window k divides. */
const shapeFor = (k: number) =>
  fc
    .tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.nat(2))
    .map(([n, c, h, w]) => [n, c, h, w + 1])
    .map(([n, c, h, w]) => [n, c, k * h, k * w])

export const descriptors: readonly LayerDescriptor[] = [
  {
    name: 'LIPool max 2x2 (BrainCog), floats',
    make: () => liPool({ child: { op: 'maxPool2d', kernelSize: 2, stride: 2, padding: 0 } }),
    inputShape: shapeFor(2),
    stateful: true,
    gradient: { kind: 'piecewise' },
  },
  {
    name: 'LIPool max 3x3, spikes',
    make: () => liPool({ child: { op: 'maxPool2d', kernelSize: 3 } }),
    inputShape: shapeFor(3),
    input: (shape) => spikeTrainArb(shape, 0.4),
    stateful: true,
    gradient: { kind: 'piecewise' },
  },
  {
    name: 'LIPool avg 2x2, floats',
    make: () => liPool({ child: { op: 'avgPool2d', kernelSize: 2 } }),
    inputShape: shapeFor(2),
    stateful: true,
  },
]
