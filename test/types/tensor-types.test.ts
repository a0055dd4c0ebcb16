/**
 * Compile-time guarantees of the tensor types. `tsc --noEmit` (part of `npm test`) fails if a
 * `@ts-expect-error` line below stops being an error.
 */
import { describe, expect, it } from 'vitest'
import type { Rank2, Rank4, Tensor } from '../../src/index.js'
import { fromNested, named, zeros } from '../../src/index.js'

const wantsRank4 = (x: Tensor<Rank4>): number => x.shape.length
const wantsNCHW = (x: Tensor<readonly ['N', 'C', 'H', 'W']>): number => x.shape.length

describe('tensor types', () => {
  it('carry rank and axis names', () => {
    const rank2: Tensor<Rank2> = zeros([2, 3])
    const rank4 = zeros([1, 2, 3, 4])
    const nchw = named(zeros([1, 2, 3, 4]), ['N', 'C', 'H', 'W'] as const)
    const nlhw = named(zeros([1, 2, 3, 4]), ['N', 'L', 'H', 'W'] as const)
    // @ts-expect-error a rank-2 tensor where rank 4 is wanted
    wantsRank4(rank2)
    // @ts-expect-error axis names must match
    wantsNCHW(nlhw)
    expect(wantsRank4(rank4)).toBe(4)
    expect(wantsRank4(nchw)).toBe(4)
    expect(wantsNCHW(nchw)).toBe(4)
    // a tensor of unknown rank (and a raw ndarray view) is accepted, checked at run time
    expect(wantsRank4(fromNested([[[[1]]]]))).toBe(4)
    expect(wantsRank4(rank4.transpose(0, 1, 3, 2))).toBe(4)
  })
})
