import { describe, expect, it } from 'vitest'
import type { LayerNormParams, Tensor } from '../../src/index.js'
import { allClose, copy, equals, evaluate, key, layerNorm, orThrow, tensor, zeros } from '../../src/index.js'
import { expectConfigError, expectLayerError } from './layerError.js'

const last = layerNorm({ normalizedShape: 2 })
const first = layerNorm({ normalizedShape: 2, dataFormat: 'channels_first' })
const unit = orThrow(last.init(key(0), [2])).params
const run = (x: Tensor, layer = last, params: LayerNormParams = unit) => layer.apply(params, {}, x, evaluate())

describe('LayerNorm', () => {
  it('channels_last normalizes the last axis, then applies weight and bias', () => {
    const x = tensor([1, 3, 10, 14], [2, 2])
    expect(allClose(orThrow(run(x)).output, tensor([-1, 1, -1, 1], [2, 2]), 1e-5)).toBe(true)
    const params = { weight: tensor([2, 3], [2]), bias: tensor([1, -1], [2]) }
    expect(allClose(orThrow(run(x, last, params)).output, tensor([-1, 2, -1, 2], [2, 2]), 1e-5)).toBe(true)
  })

  it('channels_first normalizes axis 1 for any rank >= 2', () => {
    // [N=1, C=2, W=2]: per position w, over the two channels
    const x = tensor([1, 10, 3, 14], [1, 2, 2])
    expect(allClose(orThrow(run(x, first)).output, tensor([-1, -1, 1, 1], [1, 2, 2]), 1e-5)).toBe(true)
    expect(allClose(orThrow(run(tensor([5, 7], [1, 2]), first)).output, tensor([-1, 1], [1, 2]), 1e-5)).toBe(true)
    const x5 = zeros([1, 2, 1, 1, 3])
    expect(orThrow(run(x5, first)).output.shape).toEqual([1, 2, 1, 1, 3])
  })

  it('init gives ones and zeros of the requested dtype', () => {
    const { params, outputShape } = orThrow(first.init(key(0), [3, 2, 4], 'float64'))
    expect(outputShape).toEqual([3, 2, 4])
    expect(Array.from(params.weight.data)).toEqual([1, 1])
    expect(Array.from(params.bias.data)).toEqual([0, 0])
    expect(params.weight.data).toBeInstanceOf(Float64Array)
  })

  it('is stable for float32 input with a large offset', () => {
    const x = tensor([10000, 10001, 10002, 10003], [1, 4])
    const ln = layerNorm({ normalizedShape: 4 })
    const { params } = orThrow(ln.init(key(0), [1, 4]))
    const s = Math.sqrt(1.25)
    const expected = tensor([-1.5 / s, -0.5 / s, 0.5 / s, 1.5 / s], [1, 4])
    expect(allClose(orThrow(ln.apply(params, {}, x, evaluate())).output, expected, 1e-5)).toBe(true)
  })

  it('keeps the input dtype', () => {
    const unit64 = orThrow(last.init(key(0), [2], 'float64')).params
    expect(orThrow(run(zeros([3, 2], 'float64'), last, unit64)).output.data).toBeInstanceOf(Float64Array)
    expect(orThrow(run(zeros([3, 2]))).output.data).toBeInstanceOf(Float32Array)
  })

  it('rejects bad configuration at build', () => {
    expectConfigError(() => layerNorm({ normalizedShape: 0 }), {
      layer: 'LayerNorm',
      argument: 'config.normalizedShape',
      expected: 'integer >= 1',
      got: '0',
    })
    expectConfigError(() => layerNorm({ normalizedShape: 4, eps: Number.NaN }), {
      layer: 'LayerNorm',
      argument: 'config.eps',
      got: 'NaN',
    })
    expectConfigError(() => layerNorm({ normalizedShape: 4, eps: -1 }), { layer: 'LayerNorm', argument: 'config.eps' })
    expectConfigError(() => layerNorm({ normalizedShape: 4, dataFormat: 'nchw' as 'channels_first' }), {
      layer: 'LayerNorm',
      argument: 'config.dataFormat',
      got: '"nchw"',
    })
  })

  it('rejects the wrong rank, the wrong size on the normalized axis, and params that are not [C]', () => {
    expectLayerError(run(tensor([1], [])), { layer: 'LayerNorm', argument: 'input', expected: 'rank >= 1', got: 'rank 0' })
    expectLayerError(run(zeros([2]), first), { layer: 'LayerNorm', argument: 'input', expected: 'rank >= 2', got: 'rank 1' })
    expectLayerError(run(zeros([4, 3])), {
      layer: 'LayerNorm',
      argument: 'input',
      expected: 'normalizedShape 2 on axis 1',
      got: '3',
    })
    expectLayerError(run(zeros([1, 3, 2]), first), {
      layer: 'LayerNorm',
      argument: 'input',
      expected: 'normalizedShape 2 on axis 1',
      got: '3 (rank 3 [1, 3, 2])',
    })
    expectLayerError(first.init(key(0), [2, 3]), { layer: 'LayerNorm', argument: 'input' })
    expectLayerError(run(zeros([1, 2]), last, { weight: zeros([3]), bias: zeros([2]) }), {
      layer: 'LayerNorm',
      argument: 'params.weight',
      expected: '[2]',
      got: '[3]',
    })
    expectLayerError(run(zeros([1, 2]), last, { weight: zeros([2]), bias: zeros([1, 2]) as Tensor }), {
      layer: 'LayerNorm',
      argument: 'params.bias',
    })
  })

  it('modifies neither input nor params, and gives strided views what their copies give', () => {
    const x = tensor([1, 5, 2, 7, 4, 8], [3, 2]).transpose(1, 0) as Tensor // [2, 3] strided
    const x0 = copy(x)
    const ln = layerNorm({ normalizedShape: 3 })
    const params = { weight: tensor([1, 2, 3, 4, 5, 6], [6]).step(2) as Tensor, bias: tensor([0.5, 0, -0.5], [3]) }
    const p0 = { weight: copy(params.weight), bias: copy(params.bias) }
    const a = orThrow(ln.apply(params, {}, x, evaluate())).output
    expect(equals(a, orThrow(ln.apply(p0, {}, x0, evaluate())).output)).toBe(true)
    expect(equals(x, x0) && equals(params.weight, p0.weight) && equals(params.bias, p0.bias)).toBe(true)
    const cf = orThrow(run(x.transpose(1, 0) as Tensor, layerNorm({ normalizedShape: 2, dataFormat: 'channels_first' })))
    expect(equals(cf.output, orThrow(run(copy(x.transpose(1, 0) as Tensor), first)).output)).toBe(true)
  })
})
