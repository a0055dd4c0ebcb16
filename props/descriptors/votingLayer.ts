import fc from 'fast-check'
import { votingLayer } from '../../src/index.js'
import type { LayerDescriptor } from './descriptor.js'

const lead = fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 0, maxLength: 2 })

export const descriptors: readonly LayerDescriptor[] = [
  {
    name: 'VotingLayer voterNum=3 drop',
    make: () => votingLayer({ voterNum: 3 }),
    // any length >= voterNum: a remainder is dropped
    inputShape: fc.tuple(lead, fc.integer({ min: 3, max: 11 })).map(([l, n]) => [...l, n]),
    stateful: false,
  },
  {
    name: 'VotingLayer voterNum=2 error',
    make: () => votingLayer({ voterNum: 2, remainder: 'error' }),
    inputShape: fc.tuple(lead, fc.integer({ min: 1, max: 5 })).map(([l, groups]) => [...l, 2 * groups]),
    stateful: false,
  },
]
