/** PRNG keys: determinism of split/foldIn, independence of derived keys, uniform draws. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { keyArb } from '../src/arbitraries/index.js'
import { foldIn, key, keyData, keyFromData, split, uniform } from '../src/index.js'

const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i])

describe('keys', () => {
  it('split and foldIn are deterministic', () => {
    fc.assert(
      fc.property(keyArb(), fc.integer({ min: 0, max: 1000 }), (k, i) => {
        expect(keyData(split(k, 3)[1])).toEqual(keyData(split(k, 3)[1]))
        expect(keyData(foldIn(k, i))).toEqual(keyData(foldIn(k, i)))
        expect(Array.from(uniform(k, 5))).toEqual(Array.from(uniform(k, 5)))
      }),
    )
  })

  it('derived keys differ from each other and from their parent', () => {
    fc.assert(
      fc.property(keyArb(), fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 }), (k, i, j) => {
        fc.pre(i !== j)
        const kids = split(k, 4).map(keyData)
        for (let a = 0; a < kids.length; a++) {
          expect(same(kids[a], keyData(k))).toBe(false)
          for (let b = a + 1; b < kids.length; b++) expect(same(kids[a], kids[b])).toBe(false)
        }
        expect(same(keyData(foldIn(k, i)), keyData(foldIn(k, j)))).toBe(false)
        // a split child is not a fold of the parent, and grandchildren do not collide with children
        expect(same(keyData(split(k)[0]), keyData(foldIn(k, 0)))).toBe(false)
        expect(same(keyData(split(split(k)[0])[0]), keyData(split(k)[1]))).toBe(false)
      }),
    )
  })

  it('draws from different keys are uncorrelated', () => {
    // correlation of 4096 draws of two sibling keys: |r| < 0.06 is > 3.8 standard errors
    fc.assert(
      fc.property(keyArb(), (k) => {
        const [a, b] = split(k).map((c) => uniform(c, 4096))
        let sa = 0
        let sb = 0
        let sab = 0
        let saa = 0
        let sbb = 0
        for (let i = 0; i < a.length; i++) {
          sa += a[i]
          sb += b[i]
          sab += a[i] * b[i]
          saa += a[i] * a[i]
          sbb += b[i] * b[i]
        }
        const n = a.length
        const r = (sab - (sa * sb) / n) / Math.sqrt((saa - (sa * sa) / n) * (sbb - (sb * sb) / n))
        expect(Math.abs(r)).toBeLessThan(0.06)
      }),
      { numRuns: 50 },
    )
  })

  it('uniform draws lie in [0, 1), have mean ~1/2, and agree across dtypes', () => {
    fc.assert(
      fc.property(keyArb(), (k) => {
        const u = uniform(k, 4096)
        const u64 = uniform(k, 4096, 'float64')
        let sum = 0
        let inRange = true
        let agree = true
        for (let i = 0; i < u.length; i++) {
          inRange &&= u[i] >= 0 && u[i] < 1
          agree &&= u64[i] === u[i]
          sum += u[i]
        }
        expect(inRange).toBe(true)
        expect(agree).toBe(true)
        // the mean of 4096 U(0,1) has sd 0.0045; 0.02 is > 4 sd
        expect(Math.abs(sum / u.length - 0.5)).toBeLessThan(0.02)
      }),
      { numRuns: 50 },
    )
  })

  it('round-trips through keyData and rejects bad seeds', () => {
    fc.assert(
      fc.property(keyArb(), (k) => {
        expect(keyData(keyFromData(keyData(k)))).toEqual(keyData(k))
      }),
    )
    expect(() => key(1.5)).toThrow(/seed/)
    expect(() => keyFromData([1, 2, 3])).toThrow(/four uint32/)
  })
})
