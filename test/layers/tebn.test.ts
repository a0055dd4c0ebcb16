import { describe, expect, it } from 'vitest'
import { copy, equals, evaluate, full, key, maxAbsDiff, orThrow, tebn, tensor, toArray, train, zeros } from '../../src/index.js'
import { expectConfigError, expectLayerError } from './layerError.js'

const name = 'TEBN'

describe('TEBN', () => {
  it('normalizes each channel over all time steps, then scales step t by p[t] (worked example)', () => {
    const layer = tebn({ numFeatures: 1, step: 2 })
    const x = tensor([1, 3], [2, 1, 1, 1], 'float64') // T = 2, B = 1: mean 2, biased var 1, unbiased 2
    const { params, state } = orThrow(layer.init(key(0), x.shape, 'float64'))
    const p = tensor([2, -1], [2], 'float64')
    const r = orThrow(layer.apply({ ...params, p }, state, x, train()))
    const s = 1 / Math.sqrt(1 + 1e-5)
    expect(maxAbsDiff(r.output, tensor([-s * 2, s * -1], [2, 1, 1, 1], 'float64'))).toBeLessThan(1e-12)
    expect(toArray(r.state.runningMean)).toEqual([0.2])
    expect(r.state.runningVar.get(0)).toBeCloseTo(0.9 + 0.2, 12)
    expect(r.state.numBatchesTracked).toBe(1)
  })

  it('takes any step >= 1 (BrainCog fixes p to 4 entries), and p starts at ones', () => {
    for (const step of [1, 3, 5]) {
      const layer = tebn({ numFeatures: 2, step })
      const { params, state } = orThrow(layer.init(key(0), [2 * step, 2, 2, 2]))
      expect(toArray(params.p)).toEqual(new Array(step).fill(1))
      const r = orThrow(layer.apply(params, state, zeros([2 * step, 2, 2, 2]), train()))
      expect(r.output.shape).toEqual([2 * step, 2, 2, 2])
    }
  })

  it('accepts [T, B, C, H, W] with T = step', () => {
    const layer = tebn({ numFeatures: 2, step: 3 })
    const x = tensor(Array.from({ length: 3 * 2 * 2 * 2 }, (_, i) => Math.sin(i)), [3, 2, 2, 2, 1])
    const { params, state } = orThrow(layer.init(key(0), x.shape))
    const r5 = orThrow(layer.apply(params, state, x, train()))
    const r4 = orThrow(layer.apply(params, state, tensor(toArray(x), [6, 2, 2, 1]), train()))
    expect(r5.output.shape).toEqual([3, 2, 2, 2, 1])
    expect(toArray(r5.output)).toEqual(toArray(r4.output))
  })

  it('in eval uses the running statistics and leaves the state as it was', () => {
    const layer = tebn({ numFeatures: 1, step: 2 })
    const state = { runningMean: tensor([1], [1]), runningVar: tensor([4], [1]), numBatchesTracked: 3 }
    const params = { weight: full([1], 1), bias: zeros([1]), p: tensor([1, 10], [2]) }
    const r = orThrow(layer.apply(params, state, tensor([3, 3], [2, 1, 1, 1]), evaluate()))
    expect(r.state).toBe(state)
    expect(toArray(r.output)[1]).toBeCloseTo((10 * 2) / Math.sqrt(4 + 1e-5), 5)
  })

  it('modifies nothing passed in, and reads strided views as their copies', () => {
    const layer = tebn({ numFeatures: 2, step: 2 })
    const x = tensor(Array.from({ length: 16 }, (_, i) => (i * 7) % 5), [2, 2, 2, 2])
    const { params, state } = orThrow(layer.init(key(0), x.shape))
    const before = [toArray(x), toArray(params.p), toArray(state.runningMean)]
    const view = copy(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    const a = orThrow(layer.apply(params, state, x, train()))
    const b = orThrow(layer.apply(params, state, view, train()))
    expect(equals(a.output, b.output)).toBe(true)
    expect([toArray(x), toArray(params.p), toArray(state.runningMean)]).toEqual(before)
  })

  it('rejects bad configuration when built', () => {
    expectConfigError(() => tebn({ numFeatures: 2, step: 0 }), {
      layer: name,
      argument: 'config.step',
      expected: 'an integer >= 1',
      got: '0',
    })
    expectConfigError(() => tebn({ numFeatures: 1.5, step: 4 }), { layer: name, argument: 'config.numFeatures', got: '1.5' })
    expectConfigError(() => tebn({ numFeatures: 2, step: 4, momentum: -0.1 }), { layer: name, argument: 'config.momentum' })
    expectConfigError(() => tebn({ numFeatures: 2, step: 4, eps: -1 }), { layer: name, argument: 'config.eps' })
  })

  it('rejects a leading size not divisible by step, wrong T, rank, channels or p, with typed errors', () => {
    const layer = tebn({ numFeatures: 2, step: 4 })
    const { params, state } = orThrow(layer.init(key(0), [8, 2, 1, 1]))
    expectLayerError(layer.apply(params, state, zeros([6, 2, 1, 1]), train()), {
      layer: name,
      argument: 'input',
      expected: 'divisible by step 4',
      got: 'rank 4 [6, 2, 1, 1]',
    })
    expectLayerError(layer.init(key(0), [3, 2, 2, 1, 1]), {
      layer: name,
      argument: 'input',
      expected: 'time steps (step) 4 on axis 0',
      got: '3',
    })
    expectLayerError(layer.apply(params, state, zeros([8, 2, 1]), train()), {
      layer: name,
      argument: 'input',
      expected: 'rank 4 [(T*B), C, H, W] or rank 5',
      got: 'rank 3 [8, 2, 1]',
    })
    expectLayerError(layer.apply(params, state, zeros([8, 3, 1, 1]), train()), {
      layer: name,
      argument: 'input',
      expected: 'channels (numFeatures) 2',
      got: '3',
    })
    expectLayerError(layer.apply({ ...params, p: full([3], 1) }, state, zeros([8, 2, 1, 1]), train()), {
      layer: name,
      argument: 'params.p',
      expected: 'shape [4]',
      got: '[3]',
    })
  })
})
