/**
 * Properties of Poisson rate encoding: spikes are 0/1, the rate of a long train converges to
 * the input rate, and the key alone decides the bits.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { keyArb, shapeArb, stridedViewArb, tensorArb } from '../src/arbitraries/index.js'
import { astype, copy, equals, flatData, key, poissonEncode, type Tensor, tensor } from '../src/index.js'

const ratesArb = (maxDim = 4): fc.Arbitrary<Tensor> =>
  shapeArb({ minRank: 1, maxRank: 3, maxDim }).chain((shape) => tensorArb(shape, { min: 0, max: 1 }))

describe('poissonEncode', () => {
  it('gives [T, ...shape] of values 0 and 1', () => {
    fc.assert(
      fc.property(keyArb(), ratesArb(), fc.integer({ min: 0, max: 20 }), (k, rates, T) => {
        const spikes = poissonEncode(k, rates, T)
        expect(spikes.shape).toEqual([T, ...rates.shape])
        for (const v of flatData(spikes)) expect(v === 0 || v === 1).toBe(true)
      }),
    )
  })

  it('converges: the mean of a long train is within 5 sigma of the rate', () => {
    const T = 2000
    fc.assert(
      fc.property(keyArb(), ratesArb(2), (k, rates) => {
        const spikes = poissonEncode(k, rates, T)
        const p = flatData(rates)
        const s = flatData(spikes)
        for (let i = 0; i < p.length; i++) {
          let count = 0
          for (let t = 0; t < T; t++) count += s[t * p.length + i]
          const sigma = Math.sqrt((p[i] * (1 - p[i])) / T)
          expect(Math.abs(count / T - p[i])).toBeLessThanOrEqual(5 * sigma + 1e-6)
        }
      }),
      { numRuns: 30 },
    )
  })

  it('fires never at rate 0 and always at rate 1', () => {
    fc.assert(
      fc.property(keyArb(), fc.array(fc.constantFrom(0, 1), { minLength: 1, maxLength: 10 }), (k, bits) => {
        const rates = tensor(bits, [bits.length])
        const spikes = poissonEncode(k, rates, 16)
        for (let t = 0; t < 16; t++) expect(Array.from(flatData(spikes.pick(t) as Tensor))).toEqual(bits)
      }),
    )
  })

  it('same key, same bits; the input is left unchanged', () => {
    fc.assert(
      fc.property(keyArb(), ratesArb(), (k, rates) => {
        const before = copy(rates)
        expect(equals(poissonEncode(k, rates, 8), poissonEncode(k, rates, 8))).toBe(true)
        expect(equals(rates, before)).toBe(true)
      }),
    )
  })

  it('a shorter train is a prefix of a longer one (step t draws from foldIn(key, t))', () => {
    fc.assert(
      fc.property(keyArb(), ratesArb(), fc.integer({ min: 0, max: 8 }), (k, rates, T) => {
        const long = poissonEncode(k, rates, 8)
        expect(equals(poissonEncode(k, rates, T), long.hi(T))).toBe(true)
      }),
    )
  })

  it('a strided view and float64 rates give the same spikes as the contiguous float32 rates', () => {
    fc.assert(
      fc.property(
        keyArb(),
        ratesArb().chain((r) => fc.tuple(fc.constant(r), stridedViewArb(r))),
        (k, [rates, view]) => {
          const expected = poissonEncode(k, rates, 6)
          expect(equals(poissonEncode(k, view, 6), expected)).toBe(true)
          expect(equals(astype(poissonEncode(k, astype(rates, 'float64'), 6), 'float32'), expected)).toBe(true)
        },
      ),
    )
  })

  it('rejects a step count that is not an integer >= 0', () => {
    const rates = tensor([0.5], [1])
    expect(() => poissonEncode(key(0), rates, -1)).toThrow(RangeError)
    expect(() => poissonEncode(key(0), rates, 1.5)).toThrow(RangeError)
  })
})
