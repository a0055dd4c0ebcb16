import fc from 'fast-check'
import { spikeTrainArb } from '../../src/arbitraries/index.js'
import { sMaxPool } from '../../src/index.js'
import type { LayerDescriptor } from './descriptor.js'

/** `[N, C, H, W]` with H, W at least `min` (so the padded window fits). */
/**
 * BrainCog's formula adds and subtracts `1000 * S`: in float64 L carries about 1e-12 of rounding,
 * which differences at a step of 1e-5 would turn into 1e-7 of noise. The layer is piecewise
 * linear, so a step of 1e-3 costs no truncation and keeps the noise at 1e-9.
 */
const braincogStep = 1e-3

const shape = (min: number) =>
  fc
    .tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min, max: 6 }))
    .chain(([n, c, h]) => fc.integer({ min, max: 6 }).map((w) => [n, c, h, w]))

export const descriptors: readonly LayerDescriptor[] = [
  {
    name: 'SMaxPool braincog max 2x2, spikes',
    make: () => sMaxPool({ child: { op: 'maxPool2d', kernelSize: 2 } }),
    inputShape: shape(2),
    input: (s) => spikeTrainArb(s, 0.4),
    stateful: true,
    gradient: { kind: 'piecewise' },
    fdStep: braincogStep,
  },
  {
    name: 'SMaxPool braincog max k3 s2 p1, floats',
    make: () => sMaxPool({ child: { op: 'maxPool2d', kernelSize: 3, stride: 2, padding: 1 } }),
    inputShape: shape(1),
    stateful: true,
    gradient: { kind: 'piecewise' },
    // BrainCog's formula rounds x + 1000*S in the tensor's precision: float32 keeps ~1e-4 of it
    f64Tolerance: 1e-3,
    fdStep: braincogStep,
  },
  {
    name: 'SMaxPool braincog avg k2 s1, floats',
    make: () => sMaxPool({ child: { op: 'avgPool2d', kernelSize: 2, stride: 1 } }),
    inputShape: shape(2),
    stateful: true,
    f64Tolerance: 1e-3,
    fdStep: braincogStep,
  },
  {
    name: 'SMaxPool exact max k3 s1 p1, spikes',
    make: () => sMaxPool({ child: { op: 'maxPool2d', kernelSize: 3, stride: 1, padding: 1 }, mode: 'exact' }),
    inputShape: shape(1),
    input: (s) => spikeTrainArb(s, 0.4),
    stateful: true,
    gradient: { kind: 'piecewise' },
  },
  {
    name: 'SMaxPool exact max 2x2, floats',
    make: () => sMaxPool({ child: { op: 'maxPool2d', kernelSize: 2 }, mode: 'exact' }),
    inputShape: shape(2),
    stateful: true,
    gradient: { kind: 'piecewise' },
  },
]
