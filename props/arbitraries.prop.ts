/**
 * spikeTrainArb: each element is an independent Bernoulli(`rate`) draw (the spike fraction over
 * all elements, at every position, and of disjoint pairs, within stated bounds), values are
 * exactly 0 or 1 in the dtype and shape asked, and shrinking only ever removes spikes.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { shapeArb, spikeTrainArb } from '../src/arbitraries/index.js'
import type { DType, Tensor } from '../src/index.js'
import { isContiguous, sizeOf } from '../src/index.js'

const spikesIn = (t: Tensor): number => Array.from(t.data).filter((v) => v === 1).length

/**
 * How far the mean of `n` independent Bernoulli(p) draws may stray from p: Bernstein's
 * inequality, P(|mean - p| >= t) <= 2 exp(-n t^2 / (2 (p (1 - p) + t / 3))), solved for t at
 * probability 1e-9. Unlike a normal approximation it holds for p near 0 and 1 too; at p = 0.5
 * and n = 120000 it is 0.0095 (6.6 standard deviations).
 */
const bernstein = (p: number, n: number): number => {
  const l = Math.log(2 / 1e-9)
  const v = p * (1 - p)
  return ((2 * l) / 3 + Math.sqrt(((2 * l) / 3) ** 2 + 8 * n * l * v)) / (2 * n)
}

/** The tolerance on an observed fraction: none where the draws are certain (p 0 or 1). */
const tolerance = (p: number, n: number): number => (p === 0 || p === 1 ? 0 : bernstein(p, n))

describe('spikeTrainArb', () => {
  const shape = [3, 4, 5]
  const samples = 2000
  for (const rate of [0, 0.05, 0.4, 0.5, 0.9, 1]) {
    it(`rate ${rate}: the spike fraction is ${rate} overall, at every position, and rate^2 for disjoint pairs`, () => {
      // drawn as fc.assert draws (the global seed, the same bias schedule): what a property sees
      const xs = fc.sample(spikeTrainArb(shape, rate), samples)
      const size = sizeOf(shape)
      const perPosition = new Array<number>(size).fill(0)
      let pairs = 0
      for (const x of xs) {
        for (let i = 0; i < size; i++) perPosition[i] += x.data[i]
        for (let i = 0; i + 1 < size; i += 2) pairs += x.data[i] * x.data[i + 1]
      }
      const total = perPosition.reduce((a, b) => a + b, 0)
      // rates 0 and 1 exactly; the others within Bernstein's bound, so that all 4 x 62 checks
      // together fail with probability < 3e-7
      expect(Math.abs(total / (samples * size) - rate)).toBeLessThanOrEqual(tolerance(rate, samples * size))
      for (const c of perPosition) expect(Math.abs(c / samples - rate)).toBeLessThanOrEqual(tolerance(rate, samples))
      const pairTrials = samples * Math.floor(size / 2)
      expect(Math.abs(pairs / pairTrials - rate ** 2)).toBeLessThanOrEqual(tolerance(rate ** 2, pairTrials))
    })
  }

  it('draws exactly 0 or 1, contiguous, in the dtype and shape asked; rate 0 only zeros, rate 1 only ones', () => {
    fc.assert(
      fc.property(
        fc
          .record({
            shape: shapeArb({ minRank: 0, maxRank: 4, minDim: 0, maxDim: 4 }),
            rate: fc.oneof(fc.constantFrom(0, 1), fc.double({ min: 0, max: 1, noNaN: true })),
            dtype: fc.constantFrom<DType>('float32', 'float64'),
          })
          .chain((c) => spikeTrainArb(c.shape, c.rate, c.dtype).map((t) => ({ ...c, t }))),
        ({ shape, rate, dtype, t }) => {
          expect(t.shape).toEqual(shape)
          expect(t.data).toBeInstanceOf(dtype === 'float64' ? Float64Array : Float32Array)
          expect(t.data.length).toBe(sizeOf(shape))
          expect(isContiguous(t)).toBe(true)
          const values = Array.from(t.data)
          expect(values.every((v) => Object.is(v, 0) || Object.is(v, 1))).toBe(true)
          if (rate === 0) expect(values.every((v) => v === 0)).toBe(true)
          if (rate === 1) expect(values.every((v) => v === 1)).toBe(true)
        },
      ),
    )
  })

  it('shrinks by removing spikes: a failure on a spike at p shrinks, one spike at a time, to the one-hot at p', () => {
    fc.assert(
      fc.property(
        shapeArb({ maxRank: 3, maxDim: 4 }),
        fc.double({ min: 0.1, max: 0.9, noNaN: true }),
        fc.nat(),
        fc.integer(),
        (shape, rate, at, seed) => {
          const p = at % sizeOf(shape)
          // spike counts of the failing inputs, in the order fast-check tried them: the first
          // failure, then every shrink it accepted
          const path: number[] = []
          const r = fc.check(
            fc.property(spikeTrainArb(shape, rate), (t) => {
              if (t.data[p] === 0) return true
              path.push(spikesIn(t))
              return false
            }),
            // 1000 runs: no spike at p in all of them has probability 0.9^1000 < 1e-45
            { seed, numRuns: 1000 },
          )
          expect(r.failed).toBe(true)
          const [shrunk] = r.counterexample as [Tensor]
          expect(shrunk.data[p]).toBe(1)
          expect(spikesIn(shrunk)).toBe(1)
          expect(r.numShrinks).toBe(path.length - 1)
          for (let i = 1; i < path.length; i++) expect(path[i]).toBe(path[i - 1] - 1)
        },
      ),
    )
  })

  it('shrinks a failure that needs k spikes to exactly k, through ever fewer spikes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.double({ min: 0.3, max: 0.9, noNaN: true }),
        fc.integer(),
        (k, rate, seed) => {
          const path: number[] = []
          const r = fc.check(
            fc.property(spikeTrainArb([4, 6], rate), (t) => {
              if (spikesIn(t) < k) return true
              path.push(spikesIn(t))
              return false
            }),
            { seed, numRuns: 1000 },
          )
          expect(r.failed).toBe(true)
          expect(spikesIn((r.counterexample as [Tensor])[0])).toBe(k)
          for (let i = 1; i < path.length; i++) expect(path[i]).toBe(path[i - 1] - 1)
        },
      ),
    )
  })

  it('at rate 1 nothing shrinks: a 0 is never drawn, so no shrink may produce one', () => {
    const r = fc.check(fc.property(spikeTrainArb([2, 3], 1), (t) => spikesIn(t) === 0))
    expect(r.failed).toBe(true)
    expect(r.numShrinks).toBe(0)
    expect(Array.from((r.counterexample as [Tensor])[0].data)).toEqual([1, 1, 1, 1, 1, 1])
  })
})
