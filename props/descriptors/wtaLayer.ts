import fc from 'fast-check'
import { wtaLayer } from '../../src/index.js'
import type { LayerDescriptor } from './descriptor.js'

/** `[N, C, ...]` with at least `k` channels. */
const shape = (k: number) =>
  fc
    .tuple(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: k, max: 5 }),
      fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 2 }),
    )
    .map(([n, c, rest]) => [n, c, ...rest])

/** Winners change at ties of the scores `x * u`: the output jumps there. */
const piecewise = { kind: 'piecewise' } as const

export const descriptors: readonly LayerDescriptor[] = [
  { name: 'WTALayer k=1', make: () => wtaLayer(), inputShape: shape(1), stateful: false, gradient: piecewise },
  { name: 'WTALayer k=2', make: () => wtaLayer({ k: 2 }), inputShape: shape(2), stateful: false, gradient: piecewise },
  {
    name: 'WTALayer k=2 exact',
    make: () => wtaLayer({ k: 2, exact: true }),
    inputShape: shape(2),
    stateful: false,
    gradient: piecewise,
  },
]
