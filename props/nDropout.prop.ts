/**
 * NDropout: the mask is identical on every step until `reset`, holds only 0 and 1/(1-p), its
 * mean tends to 1, and eval is the identity.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { keyArb, shapeArb, tensorArb } from '../src/arbitraries/index.js'
import type { Tensor } from '../src/index.js'
import { equals, evaluate, foldIn, full, nDropout, orThrow, scan, toArray, train } from '../src/index.js'
import { snapshot, unchangedSince } from './support.js'

const pArb = fc.constantFrom(0, 0.1, 0.2, 0.5, 0.9, 1)

describe('NDropout properties', () => {
  it('multiplies every step by the same mask until reset', () => {
    fc.assert(
      fc.property(
        pArb,
        shapeArb({ maxRank: 3 }).chain((s) => fc.array(tensorArb(s), { minLength: 2, maxLength: 5 })),
        keyArb(),
        (p, xs, key) => {
          const drop = nDropout({ p })
          let state = orThrow(drop.init(key, xs[0].shape)).state
          let mask: Tensor | null = null
          xs.forEach((x, t) => {
            const step = orThrow(drop.apply({}, state, x, train(foldIn(key, t))))
            state = step.state
            mask ??= state.mask
            expect(state.mask).not.toBeNull()
            expect(equals(state.mask as Tensor, mask as Tensor)).toBe(true)
            const m = toArray(mask as Tensor)
            const xv = toArray(x)
            expect(toArray(step.output)).toEqual(xv.map((v, i) => Math.fround(v * m[i])))
          })
          expect(drop.reset(state).mask).toBeNull()
        },
      ),
    )
  })

  it('through scan over [T, ...], gives every time step of a sample the same mask', () => {
    fc.assert(
      fc.property(pArb, fc.integer({ min: 1, max: 5 }), shapeArb({ maxRank: 3 }), keyArb(), (p, T, shape, key) => {
        const drop = scan(nDropout({ p }))
        const { output, state } = orThrow(drop.apply({}, { mask: null }, full([T, ...shape], 1), train(key)))
        for (let t = 0; t < T; t++) expect(equals(output.pick(t) as Tensor, state.mask as Tensor)).toBe(true)
      }),
    )
  })

  it('draws masks of 0 and 1/(1-p) only (all zeros for p = 1)', () => {
    fc.assert(
      fc.property(pArb, shapeArb(), keyArb(), (p, shape, key) => {
        const { state } = orThrow(nDropout({ p }).apply({}, { mask: null }, full(shape, 1, 'float64'), train(key)))
        const scale = p === 1 ? 0 : 1 / (1 - p)
        for (const v of toArray(state.mask as Tensor)) expect(v === 0 || v === scale).toBe(true)
      }),
    )
  })

  // Seeds are fixed (props/setup.ts), so this is deterministic. The mean of n masks entries has
  // mean 1 and standard deviation sqrt(p / ((1 - p) n)); 5 standard deviations bound a miss at
  // about 6e-7 per draw.
  it('gives masks whose mean tends to 1 (within 5 standard deviations)', () => {
    const n = 20_000
    fc.assert(
      fc.property(fc.constantFrom(0.1, 0.3, 0.5, 0.8), keyArb(), (p, key) => {
        const { state } = orThrow(nDropout({ p }).apply({}, { mask: null }, full([n], 1), train(key)))
        const mean = toArray(state.mask as Tensor).reduce((a, b) => a + b, 0) / n
        expect(Math.abs(mean - 1)).toBeLessThanOrEqual(5 * Math.sqrt(p / ((1 - p) * n)))
      }),
      { numRuns: 40 },
    )
  })

  it('is the identity in eval mode and leaves the state as it was', () => {
    fc.assert(
      fc.property(
        pArb,
        shapeArb().chain((s) => tensorArb(s)),
        fc.boolean(),
        keyArb(),
        (p, x, held, key) => {
          const drop = nDropout({ p })
          const state = held ? orThrow(drop.apply({}, { mask: null }, x, train(key))).state : { mask: null }
          const before = snapshot(state)
          const step = orThrow(drop.apply({}, state, x, evaluate()))
          expect(equals(step.output, x)).toBe(true)
          expect(step.state).toBe(state)
          expect(unchangedSince(state, before)).toBe(true)
        },
      ),
    )
  })
})
