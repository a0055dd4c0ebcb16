import { describe, expect, it } from 'vitest'
import type { Backend } from '../../src/index.js'
import {
  avgPool2d,
  ConfigError,
  cpu,
  equals,
  fromNested,
  maxPool2d,
  orThrow,
  pool2d,
  poolSpec,
  tensor,
  toNested,
  upsampleNearest,
} from '../../src/index.js'
import { expectLayerError } from './layerError.js'

const grid = tensor(
  [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16],
  [1, 1, 4, 4],
)

describe('maxPool2d / avgPool2d', () => {
  it('pools 2x2 windows', () => {
    expect(toNested(orThrow(maxPool2d(grid, { kernelSize: 2 })))).toEqual([[[[6, 8], [14, 16]]]])
    expect(toNested(orThrow(avgPool2d(grid, { kernelSize: 2 })))).toEqual([[[[3.5, 5.5], [11.5, 13.5]]]])
  })

  it('uses floor mode: a partial window at the edge is dropped', () => {
    const x = tensor(Array.from({ length: 25 }, (_, i) => i), [1, 1, 5, 5])
    expect(orThrow(maxPool2d(x, { kernelSize: 2 })).shape).toEqual([1, 1, 2, 2])
    expect(toNested(orThrow(maxPool2d(x, { kernelSize: 3, stride: 2 })))).toEqual([[[[12, 14], [22, 24]]]])
  })

  it('counts padding in the average and never lets it win the max', () => {
    const ones = tensor([1, 1, 1, 1], [1, 1, 2, 2])
    expect(toNested(orThrow(avgPool2d(ones, { kernelSize: 2, stride: 1, padding: 1 })))).toEqual([
      [[[0.25, 0.5, 0.25], [0.5, 1, 0.5], [0.25, 0.5, 0.25]]],
    ])
    const negative = tensor([-1, -2, -3, -4], [1, 1, 2, 2])
    expect(toNested(orThrow(maxPool2d(negative, { kernelSize: 3, stride: 1, padding: 1 })))).toEqual([
      [[[-1, -1], [-1, -1]]],
    ])
  })

  it('propagates NaN through max pooling', () => {
    const x = tensor([1, Number.NaN, 3, 4], [1, 1, 2, 2])
    expect(Number.isNaN(orThrow(maxPool2d(x, { kernelSize: 2 })).get(0, 0, 0, 0))).toBe(true)
  })

  it('keeps the dtype, and pools every (N, C) plane separately', () => {
    const x = fromNested([[[[1, 2]], [[3, 4]]], [[[5, 6]], [[7, 8]]]], 'float64') // [2, 2, 1, 2]
    const out = orThrow(maxPool2d(x, { kernelSize: 1, stride: 2 }))
    expect(out.data).toBeInstanceOf(Float64Array)
    expect(toNested(out)).toEqual([[[[1]], [[3]]], [[[5]], [[7]]]])
  })

  it('reads strided views (a transpose) as their contiguous copy and modifies nothing', () => {
    const t = grid.transpose(0, 1, 3, 2)
    const before = Array.from(grid.data)
    expect(equals(orThrow(maxPool2d(t, { kernelSize: 2 })), tensor([6, 14, 8, 16], [1, 1, 2, 2]))).toBe(true)
    const inner = grid.hi(1, 1, 3, 3).lo(0, 0, 1, 1) // rows and columns 1..2: a view with an offset
    expect(equals(orThrow(maxPool2d(inner, { kernelSize: 2 })), tensor([11], [1, 1, 1, 1]))).toBe(true)
    expect(equals(orThrow(avgPool2d(t, { kernelSize: 2 })), tensor([3.5, 11.5, 5.5, 13.5], [1, 1, 2, 2]))).toBe(true)
    expect(Array.from(grid.data)).toEqual(before)
  })

  it('runs on the backend it is given', () => {
    const calls: string[] = []
    const spy: Backend = { ...cpu, name: 'spy', pool2d: (...a) => (calls.push('pool2d'), cpu.pool2d(...a)) }
    orThrow(pool2d(grid, { op: 'maxPool2d', kernelSize: 2 }, spy))
    expect(calls).toEqual(['pool2d'])
  })

  it('rejects bad input and bad windows with typed errors naming op, argument, expectation and value', () => {
    expectLayerError(maxPool2d(tensor([1, 2], [1, 2]), { kernelSize: 1 }), {
      layer: 'maxPool2d',
      argument: 'input',
      expected: 'rank 4 [N, C, H, W]',
      got: 'rank 2 [1, 2]',
    })
    expectLayerError(maxPool2d(grid, { kernelSize: 0 }), {
      layer: 'maxPool2d',
      argument: 'options.kernelSize',
      expected: 'an integer in [1, 32768]',
      got: '0',
    })
    // past the kernels' 32-bit window arithmetic
    expectLayerError(maxPool2d(grid, { kernelSize: 2 ** 40, padding: 2 ** 39 }), {
      layer: 'maxPool2d',
      argument: 'options.kernelSize',
      expected: 'an integer in [1, 32768]',
    })
    expectLayerError(avgPool2d(grid, { kernelSize: 2, stride: 0 }), {
      layer: 'avgPool2d',
      argument: 'options.stride',
      got: '0',
    })
    expectLayerError(avgPool2d(grid, { kernelSize: 2, padding: -1 }), {
      layer: 'avgPool2d',
      argument: 'options.padding',
      expected: 'an integer in [0, 32768]',
      got: '-1',
    })
    expectLayerError(maxPool2d(grid, { kernelSize: 3, padding: 2 }), {
      layer: 'maxPool2d',
      argument: 'options.padding',
      expected: 'at most half the window',
      got: '2',
    })
    expectLayerError(maxPool2d(grid, { kernelSize: 5 }), {
      layer: 'maxPool2d',
      argument: 'input',
      expected: 'H + 2*padding >= 5',
      got: '[1, 1, 4, 4]',
    })
    expectLayerError(pool2d(grid, { op: 'minPool2d' as 'maxPool2d', kernelSize: 2 }), {
      layer: 'pool2d',
      argument: 'options.op',
      got: '"minPool2d"',
    })
  })
})

describe('upsampleNearest', () => {
  it('repeats each cell into a factor x factor block', () => {
    expect(toNested(orThrow(upsampleNearest(tensor([1, 2, 3, 4], [1, 1, 2, 2]), 2)))).toEqual([
      [[[1, 1, 2, 2], [1, 1, 2, 2], [3, 3, 4, 4], [3, 3, 4, 4]]],
    ])
    expect(equals(orThrow(upsampleNearest(grid, 1)), grid)).toBe(true)
  })

  it('rejects a non-integer factor and a wrong rank', () => {
    expectLayerError(upsampleNearest(grid, 1.5), { layer: 'upsampleNearest', argument: 'factor', got: '1.5' })
    expectLayerError(upsampleNearest(grid, 0), { layer: 'upsampleNearest', argument: 'factor', got: '0' })
    expectLayerError(upsampleNearest(tensor([1], [1]), 2), {
      layer: 'upsampleNearest',
      argument: 'input',
      got: 'rank 1 [1]',
    })
  })
})

describe('poolSpec', () => {
  it('fills in PyTorch defaults (stride = kernelSize, padding 0)', () => {
    expect(poolSpec({ op: 'avgPool2d', kernelSize: 3 })).toEqual({
      op: 'avgPool2d',
      window: { kernelH: 3, kernelW: 3, strideH: 3, strideW: 3, padH: 0, padW: 0 },
    })
    expect(poolSpec({ op: 'maxPool2d', kernelSize: [3, 2], padding: [1, 0] }).window).toEqual({
      kernelH: 3,
      kernelW: 2,
      strideH: 3,
      strideW: 2,
      padH: 1,
      padW: 0,
    })
  })

  it('throws a ConfigError naming the layer and argument', () => {
    expect(() => poolSpec({ op: 'maxPool2d', kernelSize: 2, padding: 2 }, 'LIPool', 'config.child')).toThrow(ConfigError)
    try {
      poolSpec({ op: 'maxPool2d', kernelSize: 2.5 }, 'LIPool', 'config.child')
    } catch (e) {
      expect((e as ConfigError).detail).toMatchObject({ layer: 'LIPool', argument: 'config.child.kernelSize', got: '2.5' })
    }
  })
})
