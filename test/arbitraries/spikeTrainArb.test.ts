/** spikeTrainArb: the arguments it rejects (which arbitrary, argument, expected and got) and the edges it accepts. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { spikeTrainArb } from '../../src/arbitraries/index.js'
import type { DType, Shape } from '../../src/index.js'

/** Building throws a RangeError with exactly this message. */
const rejects = (build: () => unknown, message: string): void => {
  let thrown: unknown
  try {
    build()
  } catch (e) {
    thrown = e
  }
  expect(thrown).toBeInstanceOf(RangeError)
  expect((thrown as RangeError).message).toBe(message)
}

describe('spikeTrainArb arguments', () => {
  it('rejects a rate that is not a finite number in [0, 1]', () => {
    const expected = 'spikeTrainArb: rate: expected a finite number in [0, 1], got'
    rejects(() => spikeTrainArb([2], -0.1), `${expected} -0.1`)
    rejects(() => spikeTrainArb([2], 1.5), `${expected} 1.5`)
    rejects(() => spikeTrainArb([2], Number.NaN), `${expected} NaN`)
    rejects(() => spikeTrainArb([2], Number.POSITIVE_INFINITY), `${expected} Infinity`)
    rejects(() => spikeTrainArb([2], '0.5' as unknown as number), `${expected} "0.5"`)
    rejects(() => spikeTrainArb([2], null as unknown as number), `${expected} null`)
  })

  it('rejects a shape that is not a list of non-negative integers', () => {
    const expected = 'spikeTrainArb: shape: expected a list of non-negative integers, got'
    rejects(() => spikeTrainArb([2, -1]), `${expected} [2, -1]`)
    rejects(() => spikeTrainArb([1.5]), `${expected} [1.5]`)
    rejects(() => spikeTrainArb([Number.NaN]), `${expected} [NaN]`)
    rejects(() => spikeTrainArb([2, '3'] as unknown as Shape), `${expected} [2, "3"]`)
    rejects(() => spikeTrainArb(4 as unknown as Shape), `${expected} 4`)
    rejects(() => spikeTrainArb(undefined as unknown as Shape), `${expected} undefined`)
  })

  it('rejects a dtype other than float32 and float64', () => {
    rejects(
      () => spikeTrainArb([2], 0.5, 'int32' as DType),
      'spikeTrainArb: dtype: expected one of "float32", "float64", got "int32"',
    )
  })

  it('accepts the edges: rates 0 and 1, rank 0, empty axes', () => {
    expect(Array.from(fc.sample(spikeTrainArb([3], 0), 1)[0].data)).toEqual([0, 0, 0])
    expect(Array.from(fc.sample(spikeTrainArb([3], 1, 'float64'), 1)[0].data)).toEqual([1, 1, 1])
    expect(fc.sample(spikeTrainArb([]), 1)[0].size).toBe(1)
    expect(fc.sample(spikeTrainArb([2, 0, 3]), 1)[0].shape).toEqual([2, 0, 3])
  })
})
