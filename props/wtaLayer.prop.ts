/**
 * WTALayer: every output is 0 or the input value; exact mode keeps at most k per position along
 * dim 1 (exactly k for positive inputs); the winners are the top scores `x * u`; the layer
 * reproduces a plain reference on caller-supplied noise.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { keyArb, tensorArb } from '../src/arbitraries/index.js'
import type { Ctx, Shape, Tensor } from '../src/index.js'
import { orThrow, toArray, train, wtaLayer } from '../src/index.js'

/** k, and a shape `[N, C, ...]` with C >= k. */
const caseArb = fc
  .tuple(
    fc.integer({ min: 1, max: 4 }),
    fc.integer({ min: 1, max: 3 }),
    fc.integer({ min: 0, max: 3 }),
    fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
  )
  .map(([k, n, extra, rest]) => ({ k, shape: [n, k + extra, ...rest] as Shape }))

/** Visits each position (n, inner) with the flat indices of its channels. */
const positions = (shape: Shape, visit: (channels: number[]) => void): void => {
  const [outer, channels] = shape
  const inner = shape.slice(2).reduce((a, b) => a * b, 1)
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) visit(Array.from({ length: channels }, (_, c) => (o * channels + c) * inner + i))
  }
}

const run = (k: number, exact: boolean, x: Tensor, ctx: Ctx): number[] =>
  toArray(orThrow(wtaLayer({ k, exact }).apply({}, {}, x, ctx)).output)

describe('WTALayer properties', () => {
  it('outputs only 0 or the input value, in both modes', () => {
    fc.assert(
      fc.property(
        caseArb.chain((c) => fc.tuple(fc.constant(c), tensorArb(c.shape))),
        keyArb(),
        fc.boolean(),
        ([{ k }, x], key, exact) => {
          const xs = toArray(x)
          run(k, exact, x, train(key)).forEach((v, i) => expect(v === 0 || v === xs[i]).toBe(true))
        },
      ),
    )
  })

  it('exact mode keeps at most k non-zeros per position, exactly k for positive inputs', () => {
    fc.assert(
      fc.property(
        caseArb.chain((c) => fc.tuple(fc.constant(c), tensorArb(c.shape), tensorArb(c.shape, { min: 0.5, max: 2 }))),
        keyArb(),
        ([{ k, shape }, x, positive], key) => {
          const y = run(k, true, x, train(key))
          const yPositive = run(k, true, positive, train(key))
          positions(shape, (idx) => {
            expect(idx.filter((i) => y[i] !== 0).length).toBeLessThanOrEqual(k)
            expect(idx.filter((i) => yPositive[i] !== 0).length).toBe(k)
          })
        },
      ),
    )
  })

  it('keeps the top scores x * u of the supplied noise (ties: all in BrainCog mode, lowest channels in exact)', () => {
    fc.assert(
      fc.property(
        caseArb.chain((c) =>
          fc.tuple(fc.constant(c), tensorArb(c.shape), tensorArb(c.shape, { min: 0, max: 0.999 })),
        ),
        fc.boolean(),
        ([{ k, shape }, x, u], exact) => {
          const y = run(k, exact, x, { training: false, draws: u })
          const xs = toArray(x)
          const us = toArray(u)
          const score = xs.map((v, i) => Math.fround(v * us[i]))
          positions(shape, (idx) => {
            const kth = idx.map((i) => score[i]).sort((a, b) => b - a)[k - 1]
            let budget = k - idx.filter((i) => score[i] > kth).length
            for (const i of idx) {
              const wins = exact ? score[i] > kth || (score[i] === kth && budget-- > 0) : score[i] >= kth
              expect(y[i]).toBe(wins ? xs[i] : 0)
            }
          })
        },
      ),
    )
  })
})
