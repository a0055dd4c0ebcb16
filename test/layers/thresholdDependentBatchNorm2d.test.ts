import { describe, expect, it } from 'vitest'
import {
  copy,
  equals,
  evaluate,
  full,
  key,
  maxAbsDiff,
  orThrow,
  tensor,
  thresholdDependentBatchNorm2d,
  toArray,
  train,
  zeros,
} from '../../src/index.js'
import { expectConfigError, expectLayerError } from './layerError.js'

const name = 'ThresholdDependentBatchNorm2d'
const bn = thresholdDependentBatchNorm2d({ numFeatures: 2, alpha: 1 })
const x = tensor([1, 3, 10, 20, 5, 7, 30, 40], [2, 2, 2, 1], 'float64') // channel 0: 1, 3, 5, 7; channel 1: 10, 20, 30, 40
const init = orThrow(bn.init(key(0), x.shape, 'float64'))

describe('ThresholdDependentBatchNorm2d', () => {
  it('starts with weight alpha * threshold, bias 0, running mean 0, variance 1, no batches', () => {
    expect(toArray(init.params.weight)).toEqual([0.5, 0.5])
    expect(toArray(init.params.bias)).toEqual([0, 0])
    expect(toArray(init.state.runningMean)).toEqual([0, 0])
    expect(toArray(init.state.runningVar)).toEqual([1, 1])
    expect(init.state.numBatchesTracked).toBe(0)
  })

  it('in training normalizes with the batch statistics and updates the running ones (worked example)', () => {
    const r = orThrow(bn.apply(init.params, init.state, x, train()))
    // channel 0: mean 4, biased var 5, unbiased 20/3; channel 1: mean 25, biased var 125, unbiased 500/3
    const s0 = 0.5 / Math.sqrt(5 + 1e-5)
    const s1 = 0.5 / Math.sqrt(125 + 1e-5)
    const expected = tensor([-3 * s0, -1 * s0, -15 * s1, -5 * s1, 1 * s0, 3 * s0, 5 * s1, 15 * s1], x.shape, 'float64')
    expect(maxAbsDiff(r.output, expected)).toBeLessThan(1e-12)
    expect(maxAbsDiff(r.state.runningMean, tensor([0.4, 2.5], [2], 'float64'))).toBeLessThan(1e-12)
    expect(maxAbsDiff(r.state.runningVar, tensor([0.9 + 2 / 3, 0.9 + 50 / 3], [2], 'float64'))).toBeLessThan(1e-12)
    expect(r.state.numBatchesTracked).toBe(1)
  })

  it('in eval uses the running statistics and returns the state unchanged', () => {
    const state = { runningMean: tensor([1, 2], [2], 'float64'), runningVar: tensor([4, 9], [2], 'float64'), numBatchesTracked: 7 }
    const r = orThrow(bn.apply(init.params, state, x, evaluate()))
    expect(r.state).toBe(state)
    expect(r.output.get(0, 0, 0, 0)).toBeCloseTo(((1 - 1) / Math.sqrt(4 + 1e-5)) * 0.5, 12)
    expect(r.output.get(1, 1, 1, 0)).toBeCloseTo(((40 - 2) / Math.sqrt(9 + 1e-5)) * 0.5, 12)
  })

  it('honours eps and momentum (BrainCog drops them)', () => {
    const custom = thresholdDependentBatchNorm2d({ numFeatures: 2, alpha: 1, eps: 0.5, momentum: 1 })
    const r = orThrow(custom.apply(init.params, init.state, x, train()))
    expect(r.output.get(0, 0, 0, 0)).toBeCloseTo((-3 * 0.5) / Math.sqrt(5.5), 12)
    expect(toArray(r.state.runningMean)).toEqual([4, 25])
  })

  it('time-aware mode takes [T, N, C, H, W] and normalizes over T as well', () => {
    const tdbn = thresholdDependentBatchNorm2d({ numFeatures: 2, alpha: 1, timeAware: true })
    const x5 = tensor(toArray(x), [2, 1, 2, 2, 1], 'float64') // T = 2 steps of the N = 1 samples above
    const a = orThrow(tdbn.init(key(0), x5.shape, 'float64'))
    const r = orThrow(tdbn.apply(a.params, a.state, x5, train()))
    expect(r.output.shape).toEqual([2, 1, 2, 2, 1])
    const flat = orThrow(bn.apply(init.params, init.state, x, train()))
    expect(toArray(r.output)).toEqual(toArray(flat.output))
    expectLayerError(tdbn.apply(a.params, a.state, x, train()), {
      layer: name,
      argument: 'input',
      expected: 'rank 5 [T, N, C, H, W]',
      got: 'rank 4 [2, 2, 2, 1]',
    })
  })

  it('keeps the input dtype, and rejects params and state of another dtype', () => {
    const x32 = copy(x, 'float32')
    const init32 = orThrow(bn.init(key(0), x.shape, 'float32'))
    const r = orThrow(bn.apply(init32.params, init32.state, x32, train()))
    expect(r.output.data).toBeInstanceOf(Float32Array)
    expect(r.state.runningMean.data).toBeInstanceOf(Float32Array)
    expectLayerError(bn.apply(init.params, init.state, x32, train()), {
      layer: name,
      argument: 'params.weight',
      expected: "float32 (the input's dtype)",
      got: 'float64',
    })
    expectLayerError(bn.apply(init32.params, init.state, x32, train()), { layer: name, argument: 'state.runningMean' })
  })

  it('modifies nothing passed in, and reads strided views as their copies', () => {
    const snapshot = [toArray(x), toArray(init.params.weight), toArray(init.state.runningVar)]
    const view = copy(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2) // same values, strided layout
    const a = orThrow(bn.apply(init.params, init.state, x, train()))
    const b = orThrow(bn.apply(init.params, init.state, view, train()))
    expect(equals(a.output, b.output)).toBe(true)
    expect([toArray(x), toArray(init.params.weight), toArray(init.state.runningVar)]).toEqual(snapshot)
  })

  it('rejects bad configuration when built', () => {
    expectConfigError(() => thresholdDependentBatchNorm2d({ numFeatures: 0, alpha: 1 }), {
      layer: name,
      argument: 'config.numFeatures',
      expected: 'an integer >= 1',
      got: '0',
    })
    expectConfigError(() => thresholdDependentBatchNorm2d({ numFeatures: 2, alpha: Number.NaN }), {
      layer: name,
      argument: 'config.alpha',
      got: 'NaN',
    })
    expectConfigError(() => thresholdDependentBatchNorm2d({ numFeatures: 2, alpha: 1, eps: 0 }), {
      layer: name,
      argument: 'config.eps',
      expected: '> 0',
    })
    expectConfigError(() => thresholdDependentBatchNorm2d({ numFeatures: 2, alpha: 1, momentum: 1.5 }), {
      layer: name,
      argument: 'config.momentum',
      expected: 'in [0, 1]',
      got: '1.5',
    })
    const timeAware = 'yes' as unknown as boolean
    expectConfigError(() => thresholdDependentBatchNorm2d({ numFeatures: 2, alpha: 1, timeAware }), {
      layer: name,
      argument: 'config.timeAware',
      got: '"yes"',
    })
  })

  it('rejects bad input, params and state with typed errors, at init and apply', () => {
    expectLayerError(bn.init(key(0), [2, 2, 3]), { layer: name, argument: 'input', expected: 'rank 4', got: 'rank 3 [2, 2, 3]' })
    expectLayerError(bn.apply(init.params, init.state, zeros([2, 3, 1, 1]), train()), {
      layer: name,
      argument: 'input',
      expected: 'channels (numFeatures) 2 on axis 1',
      got: '3',
    })
    expectLayerError(bn.apply(init.params, init.state, 'x' as never, train()), {
      layer: name,
      argument: 'input',
      expected: 'a tensor',
      got: '"x"',
    })
    expectLayerError(bn.apply({ ...init.params, weight: full([3], 1) }, init.state, x, train()), {
      layer: name,
      argument: 'params.weight',
      expected: 'shape [2]',
      got: '[3]',
    })
    expectLayerError(bn.apply(init.params, { ...init.state, runningVar: zeros([1]) }, x, evaluate()), {
      layer: name,
      argument: 'state.runningVar',
      got: '[1]',
    })
    expectLayerError(bn.apply(init.params, { ...init.state, numBatchesTracked: -1 }, x, train()), {
      layer: name,
      argument: 'state.numBatchesTracked',
      got: '-1',
    })
    // one value per channel: no variance to learn from (PyTorch refuses it too); eval is fine
    expectLayerError(bn.apply(init.params, init.state, zeros([1, 2, 1, 1], 'float64'), train()), {
      layer: name,
      argument: 'input',
      expected: 'more than 1 value per channel',
      got: '1',
    })
    const single = orThrow(bn.apply(init.params, init.state, zeros([1, 2, 1, 1], 'float64'), evaluate()))
    expect(single.output.shape).toEqual([1, 2, 1, 1])
  })
})
