/** IFNeuron (the conversion neuron) and BrainCog's IFNode/LIFNode: worked examples, resets, errors. */
import { describe, expect, it } from 'vitest'
import {
  ifNeuron,
  ifNode,
  key,
  lifNode,
  orThrow,
  scan,
  tensor,
  toArray,
  toNested,
  train,
  zeros,
} from '../../src/index.js'
import { expectConfigError, expectLayerError } from './layerError.js'

const x = tensor([0.6, 1.2, 0.6, 1.2, 0.6, 1.2], [3, 2]) // [T = 3, 2 neurons]

describe('IFNeuron', () => {
  it('integrates, fires at v >= threshold and subtracts the threshold (soft reset, the default)', () => {
    const r = orThrow(scan(ifNeuron({ threshold: 1 })).apply({}, { v: null }, x, train()))
    expect(toNested(r.output)).toEqual([[0, 1], [1, 1], [0, 1]])
    // neuron 0: 0.6, 1.2 -> fires, 0.2; 0.8. Neuron 1: 1.2 -> 0.2; 1.4 -> 0.4; 1.6 -> 0.6
    expect(toArray(r.state.v!).map((v) => Math.round(v * 1e6) / 1e6)).toEqual([0.8, 0.6])
  })

  it('a potential equal to the threshold fires (>=); hard reset sets vReset', () => {
    const hard = ifNeuron({ threshold: 0.5, reset: 'hard', vReset: -0.25 })
    const r = orThrow(hard.apply({}, { v: null }, tensor([0.5, 0.25], [2]), train()))
    expect(toNested(r.output)).toEqual([1, 0])
    expect(toNested(r.state.v!)).toEqual([-0.25, 0.25])
  })

  it('reset clears the potential; state from init is null', () => {
    const n = ifNeuron()
    expect(orThrow(n.init(key(0), [2])).state).toEqual({ v: null })
    expect(n.reset({ v: tensor([1, 2], [2]) })).toEqual({ v: null })
  })

  it('rejects bad configuration, a held potential of another shape and state of another layer', () => {
    expectConfigError(() => ifNeuron({ threshold: 0 }), { layer: 'IFNeuron', argument: 'config.threshold', got: '0' })
    expectConfigError(() => ifNeuron({ reset: 'medium' as 'soft' }), { layer: 'IFNeuron', argument: 'config.reset' })
    const n = ifNeuron()
    expectLayerError(n.apply({}, { v: zeros([3]) }, zeros([2]), train()), {
      layer: 'IFNeuron',
      argument: 'state.v',
      expected: "the input's shape [2]",
      got: '[3]',
    })
    expectLayerError(n.apply({}, { mask: null } as never, zeros([2]), train()), {
      layer: 'IFNeuron',
      argument: 'state',
      got: 'mask',
    })
  })

  it('modifies neither input nor state', () => {
    const v = tensor([0.5, 0.9], [2])
    const input = tensor([0.6, 0.05], [2])
    orThrow(ifNeuron().apply({}, { v }, input, train()))
    expect([toArray(v), toArray(input)]).toEqual([[0.5, 0.9].map(Math.fround), [0.6, 0.05].map(Math.fround)])
  })
})

describe("BrainCog's IFNode and LIFNode", () => {
  it('IFNode fires strictly above the threshold and resets to 0', () => {
    const r = orThrow(scan(ifNode()).apply({}, { v: null }, tensor([0.5, 0.25, 0.25, 0.5], [2, 2]), train()))
    // step 0: 0.5 does not fire (strict); step 1: 0.75 fires and resets, 0.75 fires
    expect(toNested(r.output)).toEqual([[0, 0], [1, 1]])
    expect(toNested(r.state.v!)).toEqual([0, 0])
  })

  it('LIFNode leaks: u = v + (x - v) / tau', () => {
    const r = orThrow(scan(lifNode({ tau: 2 })).apply({}, { v: null }, tensor([0.8, 0.8], [2, 1]), train()))
    // 0.4 (no spike), then 0.4 + (0.8 - 0.4) / 2 = 0.6 fires
    expect(toNested(r.output)).toEqual([[0], [1]])
  })

  it('SigmoidGrad fires at u == threshold (its Heaviside is x >= 0), the others do not', () => {
    const at = tensor([0.5], [1])
    expect(toNested(orThrow(ifNode({ surrogate: 'SigmoidGrad' }).apply({}, { v: null }, at, train())).output)).toEqual([1])
    for (const surrogate of ['AtanGrad', 'QGateGrad', 'GateGrad'] as const) {
      expect(toNested(orThrow(ifNode({ surrogate }).apply({}, { v: null }, at, train())).output)).toEqual([0])
    }
  })

  it('rejects unknown surrogates, tau below 1 and alpha <= 0', () => {
    expectConfigError(() => ifNode({ surrogate: 'ReLUGrad' as 'AtanGrad' }), { layer: 'IFNode', argument: 'config.surrogate' })
    expectConfigError(() => lifNode({ tau: 0.5 }), { layer: 'LIFNode', argument: 'config.tau' })
    expectConfigError(() => lifNode({ alpha: 0 }), { layer: 'LIFNode', argument: 'config.alpha' })
  })
})
