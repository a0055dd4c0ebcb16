import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import type { Tensor } from '../../src/index.js'
import {
  copy,
  customLinear,
  customLinearParams,
  equals,
  evaluate,
  key,
  orThrow,
  tensor,
  toNested,
  zeros,
} from '../../src/index.js'
import { expectConfigError, expectLayerError } from './layerError.js'

const layer = customLinear({ inFeatures: 2, outFeatures: 3 })
const weight = tensor([1, 2, 3, 4, 5, 6], [2, 3])
const params = orThrow(customLinearParams({ weight }))
const run = (x: Tensor, p = params) => layer.apply(p, {}, x, evaluate())

describe('CustomLinear', () => {
  it('computes x @ W for [in], [N, in] and [..., in]', () => {
    expect(toNested(orThrow(run(tensor([1, 1], [2]))).output)).toEqual([5, 7, 9])
    expect(toNested(orThrow(run(tensor([1, 0, 0, 1], [2, 2]))).output)).toEqual([
      [1, 2, 3],
      [4, 5, 6],
    ])
    const deep = orThrow(run(tensor([1, 0, 0, 1, 1, 1, 2, 0], [2, 2, 2]))).output
    expect(deep.shape).toEqual([2, 2, 3])
    expect(toNested(deep)).toEqual([
      [
        [1, 2, 3],
        [4, 5, 6],
      ],
      [
        [5, 7, 9],
        [2, 4, 6],
      ],
    ])
  })

  it('adds the bias when params have one, and ignores the mask in the forward pass', () => {
    const withBias = customLinear({ inFeatures: 2, outFeatures: 3, bias: true })
    const p = orThrow(customLinearParams({ weight, mask: zeros([2, 3]), bias: tensor([1, -1, 0.5], [3]) }))
    expect(toNested(orThrow(withBias.apply(p, {}, tensor([1, 1], [2]), evaluate())).output)).toEqual([6, 6, 9.5])
  })

  it('init draws the weight uniform in [-1/sqrt(in), 1/sqrt(in)) from the key, no mask, bias only when asked', () => {
    const big = customLinear({ inFeatures: 16, outFeatures: 8 })
    const a = orThrow(big.init(key(1), [4, 16]))
    const b = orThrow(big.init(key(1), [4, 16]))
    expect(a.outputShape).toEqual([4, 8])
    expect(equals(a.params.weight, b.params.weight)).toBe(true)
    expect(a.params.weight.shape).toEqual([16, 8])
    for (const v of a.params.weight.data) expect(Math.abs(v)).toBeLessThanOrEqual(0.25)
    expect(new Set(a.params.weight.data).size).toBeGreaterThan(100)
    expect(a.params.mask).toBeNull()
    expect(a.params.bias).toBeNull()
    const c = orThrow(customLinear({ inFeatures: 16, outFeatures: 8, bias: true }).init(key(2), [16], 'float64'))
    expect(c.params.weight.data).toBeInstanceOf(Float64Array)
    expect(c.params.bias?.shape).toEqual([8])
    expect(c.params.bias?.data).toBeInstanceOf(Float64Array)
  })

  it('keeps the input dtype, and rejects params of another dtype', () => {
    const p64 = orThrow(customLinearParams({ weight: copy(weight, 'float64') }))
    const y = orThrow(run(tensor([1, 2], [2], 'float64'), p64)).output
    expect(y.data).toBeInstanceOf(Float64Array)
    expect(orThrow(run(tensor([1, 2], [2]))).output.data).toBeInstanceOf(Float32Array)
    expectLayerError(run(tensor([1, 2], [2], 'float64')), {
      layer: 'CustomLinear',
      argument: 'params.weight',
      expected: "float64 (the input's dtype)",
      got: 'float32',
    })
  })

  it('rejects bad configuration at build', () => {
    expectConfigError(() => customLinear({ inFeatures: 0, outFeatures: 2 }), {
      layer: 'CustomLinear',
      argument: 'config.inFeatures',
      expected: 'integer >= 1',
      got: '0',
    })
    expectConfigError(() => customLinear({ inFeatures: 2, outFeatures: 1.5 }), {
      layer: 'CustomLinear',
      argument: 'config.outFeatures',
      got: '1.5',
    })
    expectConfigError(() => customLinear({ inFeatures: Number.NaN, outFeatures: 2 }), {
      layer: 'CustomLinear',
      argument: 'config.inFeatures',
      got: 'NaN',
    })
    expectConfigError(() => customLinear({ inFeatures: 2, outFeatures: 2, bias: 'yes' as unknown as boolean }), {
      layer: 'CustomLinear',
      argument: 'config.bias',
    })
  })

  it('rejects inputs of the wrong rank or size', () => {
    expectLayerError(run(tensor([1], [])), { layer: 'CustomLinear', argument: 'input', expected: 'rank >= 1', got: 'rank 0' })
    expectLayerError(run(zeros([4, 3])), { layer: 'CustomLinear', argument: 'input', expected: 'inFeatures 2', got: '3' })
    expectLayerError(layer.init(key(0), [4, 5]), { layer: 'CustomLinear', argument: 'input' })
  })

  it('rejects params that do not fit', () => {
    expectLayerError(customLinearParams({ weight: zeros([6]) }), {
      layer: 'CustomLinear',
      argument: 'params.weight',
      expected: 'rank 2',
      got: 'rank 1',
    })
    expectLayerError(customLinearParams({ weight, mask: zeros([3, 2]) }), {
      layer: 'CustomLinear',
      argument: 'params.mask',
      expected: '[2, 3]',
      got: '[3, 2]',
    })
    expectLayerError(customLinearParams({ weight, bias: zeros([2]) }), {
      layer: 'CustomLinear',
      argument: 'params.bias',
      expected: '[3]',
      got: '[2]',
    })
    const other = orThrow(customLinearParams({ weight: zeros([2, 4]) }))
    expectLayerError(run(tensor([1, 1], [2]), other), {
      layer: 'CustomLinear',
      argument: 'params.weight',
      expected: '[2, 3]',
      got: '[2, 4]',
    })
  })

  it('update adds dw * mask to new params and rejects a dw of the wrong shape', () => {
    const masked = orThrow(customLinearParams({ weight, mask: tensor([1, 0, 1, 0, 1, 0], [2, 3]) }))
    const dw = tensor([10, 10, 10, 10, 10, 10], [2, 3])
    const next = orThrow(layer.update(masked, dw))
    expect(toNested(next.weight)).toEqual([
      [11, 2, 13],
      [4, 15, 6],
    ])
    expect(next.mask).toBe(masked.mask)
    expect(toNested(orThrow(layer.update(params, dw)).weight)).toEqual([
      [11, 12, 13],
      [14, 15, 16],
    ])
    expectLayerError(layer.update(masked, zeros([3, 2])), {
      layer: 'CustomLinear',
      argument: 'dw',
      expected: '[2, 3]',
      got: '[3, 2]',
    })
  })

  it('modifies neither input, params nor dw', () => {
    const masked = orThrow(customLinearParams({ weight, mask: tensor([1, 0, 1, 0, 1, 0], [2, 3]) }))
    const x = tensor([1, 2, 3, 4], [2, 2])
    const dw = tensor([1, 2, 3, 4, 5, 6], [2, 3])
    const before = [x, weight, masked.mask as Tensor, dw].map((t) => copy(t))
    orThrow(run(x, masked))
    orThrow(layer.update(masked, dw))
    ;[x, weight, masked.mask as Tensor, dw].forEach((t, i) => expect(equals(t, before[i])).toBe(true))
  })

  it('gives a strided view (a transpose, a step) what its contiguous copy gives', () => {
    const base = tensor([1, 2, 3, 4, 5, 6], [2, 3])
    const transposed = base.transpose(1, 0) as Tensor // [3, 2], non-contiguous
    const contiguous = copy(transposed)
    expect(equals(orThrow(run(transposed)).output, orThrow(run(contiguous)).output)).toBe(true)
    const stepped = tensor([1, 9, 2, 9, 3, 9, 4, 9], [8]).step(2) as Tensor
    expect(toNested(orThrow(run(stepped.hi(2) as Tensor)).output)).toEqual([9, 12, 15])
    const reversed = tensor([4, 5, 6, 1, 2, 3], [2, 3]).step(-1, 1) as Tensor // rows reversed: equals weight
    const reversedWeight = orThrow(customLinearParams({ weight: reversed }))
    expect(equals(orThrow(run(contiguous, reversedWeight)).output, orThrow(run(contiguous)).output)).toBe(true)
    expect(E.isRight(run(transposed))).toBe(true)
  })
})
