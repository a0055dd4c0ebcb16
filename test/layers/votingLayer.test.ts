import { describe, expect, it } from 'vitest'
import type { Tensor } from '../../src/index.js'
import { copy, equals, evaluate, key, orThrow, tensor, toNested, votingLayer, zeros } from '../../src/index.js'
import { expectConfigError, expectLayerError } from './layerError.js'

const vote = votingLayer({ voterNum: 2 })
const run = (x: Tensor, layer = vote) => layer.apply({}, {}, x, evaluate())

describe('VotingLayer', () => {
  it('averages consecutive groups of voterNum: [N, voterNum * C] -> [N, C]', () => {
    const y = orThrow(run(tensor([1, 0, 1, 1, 0, 0, 0, 1, 1, 1, 1, 0], [2, 6]))).output
    expect(toNested(y)).toEqual([
      [0.5, 1, 0],
      [0.5, 1, 0.5],
    ])
  })

  it('accepts [L] and time-major [T, N, L]', () => {
    expect(toNested(orThrow(run(tensor([1, 3, 5, 7], [4]))).output)).toEqual([2, 6])
    const y = orThrow(run(tensor([1, 3, 5, 7, 0, 2, 4, 6], [2, 1, 4]))).output
    expect(y.shape).toEqual([2, 1, 2])
    expect(toNested(y)).toEqual([[[2, 6]], [[1, 5]]])
    expect(orThrow(vote.init(key(0), [3, 2, 8])).outputShape).toEqual([3, 2, 4])
  })

  it("drops a remainder by default (as AvgPool1d) and rejects it with remainder: 'error'", () => {
    expect(toNested(orThrow(run(tensor([1, 3, 5, 7, 100], [1, 5]))).output)).toEqual([[2, 6]])
    const strict = votingLayer({ voterNum: 2, remainder: 'error' })
    expectLayerError(run(zeros([1, 5]), strict), {
      layer: 'VotingLayer',
      argument: 'input',
      expected: 'multiple of voterNum = 2',
      got: 'rank 2 [1, 5]',
    })
    expect(orThrow(run(zeros([1, 4]), strict)).output.shape).toEqual([1, 2])
  })

  it('keeps the input dtype', () => {
    expect(orThrow(run(zeros([2, 4], 'float64'))).output.data).toBeInstanceOf(Float64Array)
    expect(orThrow(run(zeros([2, 4]))).output.data).toBeInstanceOf(Float32Array)
  })

  it('rejects bad configuration at build', () => {
    expectConfigError(() => votingLayer({ voterNum: 0 }), {
      layer: 'VotingLayer',
      argument: 'config.voterNum',
      expected: 'integer >= 1',
      got: '0',
    })
    expectConfigError(() => votingLayer({ voterNum: Number.POSITIVE_INFINITY }), {
      layer: 'VotingLayer',
      argument: 'config.voterNum',
      got: 'Infinity',
    })
    expectConfigError(() => votingLayer({ voterNum: 2, remainder: 'pad' as 'drop' }), {
      layer: 'VotingLayer',
      argument: 'config.remainder',
      got: '"pad"',
    })
  })

  it('rejects rank 0 and a last axis shorter than voterNum', () => {
    expectLayerError(run(tensor([1], [])), { layer: 'VotingLayer', argument: 'input', expected: 'rank >= 1', got: 'rank 0' })
    expectLayerError(run(zeros([3, 1])), {
      layer: 'VotingLayer',
      argument: 'input',
      expected: 'at least voterNum = 2',
      got: '[3, 1]',
    })
  })

  it('does not modify its input, and gives a strided view what its copy gives', () => {
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 4])
    const before = copy(x)
    const transposed = tensor([1, 5, 2, 6, 3, 7, 4, 8], [4, 2]).transpose(1, 0) as Tensor
    expect(equals(orThrow(run(transposed)).output, orThrow(run(x)).output)).toBe(true)
    const reversed = tensor([8, 7, 6, 5, 4, 3, 2, 1], [8]).step(-1) as Tensor
    expect(toNested(orThrow(run(reversed)).output)).toEqual([1.5, 3.5, 5.5, 7.5])
    expect(equals(x, before)).toBe(true)
  })
})
