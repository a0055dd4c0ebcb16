/** Tensor helpers: flat and nested round trips, and strided views equal to contiguous copies. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { shapeArb, stridedViewArb, tensorArb } from '../src/arbitraries/index.js'
import type { Nested } from '../src/index.js'
import {
  allClose,
  copy,
  equals,
  flatData,
  fromNested,
  isContiguous,
  maxAbsDiff,
  reshape,
  sizeOf,
  tensor,
  toArray,
  toNested,
} from '../src/index.js'

const caseArb = shapeArb({ maxRank: 4, maxDim: 4 }).chain((s) => tensorArb(s))

describe('tensors', () => {
  it('round-trip through flat data', () => {
    fc.assert(
      fc.property(caseArb, (t) => {
        const back = tensor(toArray(t), t.shape)
        expect(equals(back, t)).toBe(true)
        expect(back.shape).toEqual(t.shape)
      }),
    )
  })

  it('round-trip through nested arrays, in both dtypes', () => {
    fc.assert(
      fc.property(caseArb, fc.constantFrom('float32' as const, 'float64' as const), (t, dtype) => {
        const back = fromNested(toNested(t), dtype)
        expect(back.shape).toEqual(t.shape)
        expect(equals(back, t)).toBe(true)
        expect(back.data).toBeInstanceOf(dtype === 'float64' ? Float64Array : Float32Array)
      }),
    )
  })

  it('treat a strided view exactly like its contiguous copy', () => {
    fc.assert(
      fc.property(
        caseArb.chain((t) => fc.tuple(fc.constant(t), stridedViewArb(t))),
        ([t, view]) => {
          expect(Array.from(flatData(view))).toEqual(Array.from(flatData(t)))
          expect(toNested(view)).toEqual(toNested(t))
          expect(equals(copy(view), t)).toBe(true)
          expect(isContiguous(copy(view))).toBe(true)
          expect(equals(reshape(view, [sizeOf(t.shape)]), reshape(t, [sizeOf(t.shape)]))).toBe(true)
          expect(maxAbsDiff(view, t)).toBe(0)
          expect(allClose(view, t, 0, 0)).toBe(true)
        },
      ),
    )
  })

  it('never hand out storage they were not given: copy is independent of its source', () => {
    fc.assert(
      fc.property(caseArb, (t) => {
        const c = copy(t)
        c.data.fill(7)
        expect(equals(copy(t), c) && t.size > 0 && !t.data.every((v) => v === 7)).toBe(false)
      }),
    )
  })

  it('reject ragged nested arrays and wrong data lengths', () => {
    expect(() => fromNested([[1, 2], [3]] as Nested)).toThrow(/length 2/)
    expect(() => tensor([1, 2, 3], [2, 2])).toThrow(/expected 4 values/)
  })
})
