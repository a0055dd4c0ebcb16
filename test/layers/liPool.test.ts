import { describe, expect, it } from 'vitest'
import type { LIPoolState, PoolSpec, Tensor } from '../../src/index.js'
import { copy, equals, key, liPool, maxPool2d, orThrow, tensor, toArray, toNested, train, upsampleNearest, zeros } from '../../src/index.js'
import { expectConfigError, expectLayerError } from './layerError.js'

const name = 'LIPool'
const max2: PoolSpec = { op: 'maxPool2d', kernelSize: 2 }

/** Runs `layer` over `xs` from a fresh state, returning the outputs and the final state. */
const run = (layer: ReturnType<typeof liPool>, xs: readonly Tensor[]) => {
  let { state } = orThrow(layer.init(key(0), xs[0].shape))
  const outputs: number[][] = []
  for (const x of xs) {
    const r = orThrow(layer.apply({}, state, x, train()))
    outputs.push(toArray(r.output))
    state = r.state
  }
  return { outputs, state }
}

const window = (...v: number[]) => tensor(v, [1, 1, 2, 2])

describe('LIPool', () => {
  it('passes at most the max of the input counts, subtracting what it passed (worked example)', () => {
    const xs = [window(1, 1, 0, 0), window(1, 0, 0, 0), window(0, 1, 0, 0), window(0, 1, 0, 0)]
    const { outputs, state } = run(liPool({ child: max2 }), xs)
    // counts so far: [1,1,0,0] -> max 1, [2,1,0,0] -> 2, [2,2,0,0] -> 2, [2,3,0,0] -> 3
    expect(outputs).toEqual([[1], [1], [0], [1]])
    // the state is the accumulated input minus the upsampled outputs: [2,3,0,0] - 3
    expect(toArray(state.sum as Tensor)).toEqual([-1, 0, -3, -3])
  })

  it('supports any non-overlapping window, max or average (BrainCog hard-wires 2x2)', () => {
    const x = tensor(Array.from({ length: 36 }, (_, i) => (i % 7 === 0 ? 1 : 0)), [1, 1, 6, 6])
    const max3 = run(liPool({ child: { op: 'maxPool2d', kernelSize: 3, stride: 3, padding: 0 } }), [x])
    expect(max3.outputs[0]).toEqual([1, 0, 0, 1]) // a diagonal of spikes: 3 in each diagonal window
    const avg3 = run(liPool({ child: { op: 'avgPool2d', kernelSize: 3 } }), [x, x])
    expect(avg3.outputs[0].map((v) => v * 9)).toEqual([3, 0, 0, 3].map((v) => expect.closeTo(v, 5)))
  })

  it('reset clears the accumulated sum (null means zeros)', () => {
    const layer = liPool({ child: max2 })
    const { state } = run(layer, [window(1, 0, 0, 0)])
    expect(state.sum).not.toBeNull()
    expect(layer.reset(state)).toEqual({ sum: null })
    const fresh = orThrow(layer.apply({}, layer.reset(state), window(1, 0, 0, 0), train()))
    expect(toArray(fresh.output)).toEqual([1])
  })

  it('modifies nothing passed in, reads strided views as their copies, keeps the dtype', () => {
    const layer = liPool({ child: max2 })
    const x = tensor(Array.from({ length: 16 }, (_, i) => (i * 5) % 3), [1, 1, 4, 4], 'float64')
    const state: LIPoolState = { sum: tensor(Array.from({ length: 16 }, (_, i) => -i / 4), [1, 1, 4, 4], 'float64') }
    const before = [toArray(x), toArray(state.sum as Tensor)]
    const view = copy(x.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
    const a = orThrow(layer.apply({}, state, x, train()))
    const b = orThrow(layer.apply({}, state, view, train()))
    expect(equals(a.output, b.output)).toBe(true)
    expect(equals(a.state.sum as Tensor, b.state.sum as Tensor)).toBe(true)
    expect(a.output.data).toBeInstanceOf(Float64Array)
    expect([toArray(x), toArray(state.sum as Tensor)]).toEqual(before)
  })

  it('rejects overlapping, padded or invalid children when built', () => {
    expectConfigError(() => liPool({ child: { op: 'maxPool2d', kernelSize: 2, stride: 1 } }), {
      layer: name,
      argument: 'config.child',
      expected: 'non-overlapping window (stride == kernelSize, padding 0)',
      got: 'stride: 1',
    })
    expectConfigError(() => liPool({ child: { op: 'avgPool2d', kernelSize: 2, stride: 2, padding: 1 } }), {
      layer: name,
      argument: 'config.child',
      got: 'padding: 1',
    })
    expectConfigError(() => liPool({ child: { op: 'maxPool2d', kernelSize: 0 } }), {
      layer: name,
      argument: 'config.child.kernelSize',
      got: '0',
    })
    expectConfigError(() => liPool({ child: { op: 'sumPool2d' as 'maxPool2d', kernelSize: 2 } }), {
      layer: name,
      argument: 'config.child.op',
      got: '"sumPool2d"',
    })
    expectConfigError(() => liPool({} as { child: PoolSpec }), { layer: name, argument: 'config.child', got: 'undefined' })
  })

  it('rejects sizes the window does not divide, small inputs, wrong rank and a mismatched state', () => {
    const layer = liPool({ child: max2 })
    expectLayerError(layer.init(key(0), [1, 1, 5, 4]), {
      layer: name,
      argument: 'input',
      expected: 'H and W that the window (stride 2) tiles exactly',
      got: 'rank 4 [1, 1, 5, 4]',
    })
    expectLayerError(layer.apply({}, { sum: null }, zeros([1, 1, 4, 3]), train()), {
      layer: name,
      argument: 'input',
      expected: 'tiles exactly',
      got: '[1, 1, 4, 3]',
    })
    expectLayerError(layer.apply({}, { sum: null }, zeros([1, 1, 1, 1]), train()), {
      layer: name,
      argument: 'input',
      expected: 'H + 2*padding >= 2',
    })
    expectLayerError(layer.apply({}, { sum: null }, zeros([4, 4]) as never, train()), {
      layer: name,
      argument: 'input',
      expected: 'rank 4 [N, C, H, W]',
      got: 'rank 2 [4, 4]',
    })
    expectLayerError(layer.apply({}, { sum: null }, [1, 2] as never, train()), {
      layer: name,
      argument: 'input',
      expected: 'an ndarray of float32 or float64',
      got: '[1, 2]',
    })
    expectLayerError(layer.apply({}, { sum: zeros([1, 1, 2, 2]) }, zeros([1, 1, 4, 4]), train()), {
      layer: name,
      argument: 'state.sum',
      expected: 'shape [1, 1, 4, 4]',
      got: '[1, 1, 2, 2]',
    })
  })

  it('runs an overlapping, padded child as BrainCog does when allowOverlap is set', () => {
    const child = { op: 'maxPool2d', kernelSize: 3, stride: 2, padding: 1 } as const
    expectConfigError(() => liPool({ child }), { layer: name, argument: 'config.child' })
    expectConfigError(() => liPool({ child, allowOverlap: 'yes' as never }), { layer: name, argument: 'config.allowOverlap' })
    const layer = liPool({ child, allowOverlap: true })
    const x = tensor(Array.from({ length: 16 }, (_, i) => (i * 7) % 5), [1, 1, 4, 4])
    const step = orThrow(layer.apply({}, { sum: null }, x, train()))
    const pooled = orThrow(maxPool2d(x, child))
    expect(toNested(step.output)).toEqual(toNested(pooled))
    // the state is x minus the output upsampled by the stride (2), BrainCog's fixed factor
    const up = orThrow(upsampleNearest(pooled, 2))
    const expected = toArray(x).map((v, i) => v - up.data[i])
    expect(toArray(step.state.sum as Tensor)).toEqual(expected)
  })
})
