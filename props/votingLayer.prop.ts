/** VotingLayer: the output is the mean of each group of voterNum, it is linear, a remainder is dropped or rejected. */
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { tensorArb } from '../src/arbitraries/index.js'
import { evaluate, generate, maxAbsDiff, orThrow, toArray, votingLayer } from '../src/index.js'

const f64 = { dtype: 'float64' } as const

/** voterNum, leading axes and a last axis of at least voterNum (often with a remainder). */
const caseArb = fc
  .tuple(
    fc.integer({ min: 1, max: 5 }),
    fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
    fc.integer({ min: 1, max: 4 }),
    fc.integer({ min: 0, max: 4 }),
  )
  .map(([voterNum, lead, groups, extra]) => ({ voterNum, shape: [...lead, voterNum * groups + (extra % voterNum)] }))

describe('VotingLayer properties', () => {
  it('gives the mean of each consecutive group of voterNum along the last axis', () => {
    fc.assert(
      fc.property(
        caseArb.chain((c) => fc.tuple(fc.constant(c), tensorArb(c.shape, f64))),
        ([{ voterNum, shape }, x]) => {
          const y = orThrow(votingLayer({ voterNum }).apply({}, {}, x, evaluate())).output
          const length = shape[shape.length - 1]
          const groups = Math.floor(length / voterNum)
          expect(y.shape).toEqual([...shape.slice(0, -1), groups])
          const xs = toArray(x)
          const expected = generate(y.shape, (i) => {
            const row = Math.floor(i / groups)
            const g = i % groups
            let sum = 0
            for (let j = 0; j < voterNum; j++) sum += xs[row * length + g * voterNum + j]
            return sum / voterNum
          }, 'float64')
          expect(maxAbsDiff(y, expected)).toBeLessThanOrEqual(1e-12)
        },
      ),
    )
  })

  it('is linear: f(a x + b y) = a f(x) + b f(y)', () => {
    fc.assert(
      fc.property(
        caseArb.chain((c) => fc.tuple(fc.constant(c), tensorArb(c.shape, f64), tensorArb(c.shape, f64))),
        fc.integer({ min: -4, max: 4 }),
        fc.integer({ min: -4, max: 4 }),
        ([{ voterNum }, x, y], a, b) => {
          const vote = votingLayer({ voterNum })
          const f = (t: typeof x) => toArray(orThrow(vote.apply({}, {}, t, evaluate())).output)
          const xs = toArray(x)
          const ys = toArray(y)
          const mixed = f(generate(x.shape, (i) => a * xs[i] + b * ys[i], 'float64'))
          const fx = f(x)
          const fy = f(y)
          mixed.forEach((v, i) => expect(Math.abs(v - (a * fx[i] + b * fy[i]))).toBeLessThanOrEqual(1e-9))
        },
      ),
    )
  })

  it("rejects a remainder with remainder: 'error', and only then", () => {
    fc.assert(
      fc.property(caseArb, ({ voterNum, shape }) => {
        const r = votingLayer({ voterNum, remainder: 'error' }).outputShape(shape)
        const remainder = shape[shape.length - 1] % voterNum
        expect(E.isLeft(r)).toBe(remainder !== 0)
        if (E.isLeft(r)) expect(r.left.argument).toBe('input')
      }),
    )
  })
})
