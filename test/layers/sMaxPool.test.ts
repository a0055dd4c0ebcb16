import { describe, expect, it } from 'vitest'
import type { PoolSpec, SMaxPoolState, Tensor } from '../../src/index.js'
import { copy, equals, key, orThrow, sMaxPool, tensor, toArray, train, zeros } from '../../src/index.js'
import { expectConfigError, expectLayerError } from './layerError.js'

const name = 'SMaxPool'
const max2: PoolSpec = { op: 'maxPool2d', kernelSize: 2 }
const window = (...v: number[]) => tensor(v, [1, 1, 2, 2])

const outputsOf = (layer: ReturnType<typeof sMaxPool>, xs: readonly Tensor[]): number[][] => {
  let { state } = orThrow(layer.init(key(0), xs[0].shape))
  return xs.map((x) => {
    const r = orThrow(layer.apply({}, state, x, train()))
    state = r.state
    return toArray(r.output)
  })
}

describe('SMaxPool', () => {
  for (const mode of ['braincog', 'exact'] as const) {
    it(`(${mode}) passes the spike of the neuron with the largest count; ties pass a spike if any leader fires`, () => {
      const layer = sMaxPool({ child: max2, mode })
      const xs = [window(1, 0, 0, 0), window(1, 0, 0, 0), window(0, 1, 0, 0), window(1, 1, 0, 0), window(0, 1, 1, 0)]
      // counts: [1,0,0,0] [2,0,0,0] [2,1,0,0] [3,2,0,0] [3,3,1,0]
      expect(outputsOf(layer, xs)).toEqual([[1], [1], [0], [1], [1]])
    })
  }

  it("(exact) stays right where BrainCog's 1000 * count loses the spike in float32", () => {
    // counts reach 20000: 1000 * 20000 + 1 is not a float32, so BrainCog's difference is 0
    const state: SMaxPoolState = { sum: window(19999, 19998, 0, 0) }
    const x = window(1, 0, 0, 0)
    const exact = orThrow(sMaxPool({ child: max2, mode: 'exact' }).apply({}, state, x, train()))
    const braincog = orThrow(sMaxPool({ child: max2 }).apply({}, state, x, train()))
    expect(toArray(exact.output)).toEqual([1])
    expect(toArray(braincog.output)).not.toEqual([1])
  })

  it('works with any kernel, stride and padding, and with an average child (BrainCog formula)', () => {
    const x = tensor(Array.from({ length: 25 }, (_, i) => (i % 3 === 0 ? 1 : 0)), [1, 1, 5, 5])
    const layer = sMaxPool({ child: { op: 'maxPool2d', kernelSize: 3, stride: 2, padding: 1 } })
    expect(orThrow(layer.outputShape([1, 1, 5, 5]))).toEqual([1, 1, 3, 3])
    expect(outputsOf(layer, [x])[0].every((v) => v === 0 || v === 1)).toBe(true)
    // with an average child the 1000 * count terms cancel: the output is avgPool(x)
    const avg = sMaxPool({ child: { op: 'avgPool2d', kernelSize: 2 } })
    expect(outputsOf(avg, [window(1, 0, 1, 1), window(0, 0, 0, 1)])).toEqual([[0.75], [0.25]])
  })

  it('reset clears the accumulated count', () => {
    const layer = sMaxPool({ child: max2 })
    let { state } = orThrow(layer.init(key(0), [1, 1, 2, 2]))
    state = orThrow(layer.apply({}, state, window(1, 0, 0, 0), train())).state
    expect(layer.reset(state)).toEqual({ sum: null })
    // after the reset neuron 1 leads alone, so its spike passes
    expect(toArray(orThrow(layer.apply({}, layer.reset(state), window(0, 1, 0, 0), train())).output)).toEqual([1])
  })

  it('modifies nothing passed in, reads strided views as their copies, keeps the dtype', () => {
    for (const mode of ['braincog', 'exact'] as const) {
      const layer = sMaxPool({ child: { op: 'maxPool2d', kernelSize: 3, stride: 1, padding: 1 }, mode })
      const x = tensor(Array.from({ length: 16 }, (_, i) => (i * 5) % 2), [1, 1, 4, 4], 'float64')
      const state: SMaxPoolState = { sum: tensor(Array.from({ length: 16 }, (_, i) => i % 4), [1, 1, 4, 4], 'float64') }
      const before = [toArray(x), toArray(state.sum as Tensor)]
      const view = copy(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
      const a = orThrow(layer.apply({}, state, x, train()))
      const b = orThrow(layer.apply({}, state, view, train()))
      expect(equals(a.output, b.output)).toBe(true)
      expect(a.output.data).toBeInstanceOf(Float64Array)
      expect([toArray(x), toArray(state.sum as Tensor)]).toEqual(before)
    }
  })

  it('rejects bad configuration when built', () => {
    expectConfigError(() => sMaxPool({ child: max2, mode: 'fast' as 'exact' }), {
      layer: name,
      argument: 'config.mode',
      expected: '"braincog", "exact"',
      got: '"fast"',
    })
    expectConfigError(() => sMaxPool({ child: { op: 'avgPool2d', kernelSize: 2 }, mode: 'exact' }), {
      layer: name,
      argument: 'config.child.op',
      expected: '"maxPool2d" with mode "exact"',
      got: '"avgPool2d"',
    })
    expectConfigError(() => sMaxPool({ child: { op: 'maxPool2d', kernelSize: 2, padding: 2 } }), {
      layer: name,
      argument: 'config.child.padding',
      expected: 'at most half the window',
      got: '2',
    })
    expectConfigError(() => sMaxPool({ child: { op: 'maxPool2d', kernelSize: 2, stride: -1 } }), {
      layer: name,
      argument: 'config.child.stride',
      got: '-1',
    })
  })

  it('rejects a window larger than the padded input, wrong rank and a mismatched state', () => {
    const layer = sMaxPool({ child: { op: 'maxPool2d', kernelSize: 3 } })
    expectLayerError(layer.init(key(0), [1, 1, 2, 5]), {
      layer: name,
      argument: 'input',
      expected: 'H + 2*padding >= 3',
      got: '[1, 1, 2, 5]',
    })
    expectLayerError(layer.apply({}, { sum: null }, zeros([3, 3]) as never, train()), {
      layer: name,
      argument: 'input',
      got: 'rank 2 [3, 3]',
    })
    expectLayerError(layer.apply({}, { sum: null }, undefined as never, train()), {
      layer: name,
      argument: 'input',
      expected: 'an ndarray',
      got: 'undefined',
    })
    expectLayerError(layer.apply({}, { sum: zeros([1, 1, 3, 3]) }, zeros([1, 2, 3, 3]), train()), {
      layer: name,
      argument: 'state.sum',
      got: '[1, 1, 3, 3]',
    })
  })
})
