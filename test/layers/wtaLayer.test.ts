import { describe, expect, it } from 'vitest'
import type { Ctx, Tensor } from '../../src/index.js'
import { copy, equals, evaluate, full, key, orThrow, tensor, toNested, train, wtaLayer, zeros } from '../../src/index.js'
import { expectConfigError, expectLayerError } from './layerError.js'

const withNoise = (u: Tensor): Ctx => ({ ...evaluate(), draws: u })

describe('WTALayer', () => {
  it('keeps x where x * u reaches the k-th largest along axis 1, zero elsewhere', () => {
    const x = tensor([1, 1, 0], [1, 3])
    const u = tensor([0.2, 0.7, 0.5], [1, 3])
    expect(toNested(orThrow(wtaLayer().apply({}, {}, x, withNoise(u))).output)).toEqual([[0, 1, 0]])
    // [N=1, C=3, W=2]: per position (column) the two best of three
    const x2 = tensor([3, 1, 2, 2, 1, 3], [1, 3, 2])
    const u2 = full([1, 3, 2], 0.5)
    expect(toNested(orThrow(wtaLayer({ k: 2 }).apply({}, {}, x2, withNoise(u2))).output)).toEqual([
      [
        [3, 0],
        [2, 2],
        [0, 3],
      ],
    ])
  })

  it('lets ties at the k-th value through (BrainCog), or keeps the lowest channels with exact: true', () => {
    const x = tensor([1, 1, 1, 0.5], [1, 4])
    const u = full([1, 4], 0.5)
    expect(toNested(orThrow(wtaLayer({ k: 2 }).apply({}, {}, x, withNoise(u))).output)).toEqual([[1, 1, 1, 0]])
    expect(toNested(orThrow(wtaLayer({ k: 2, exact: true }).apply({}, {}, x, withNoise(u))).output)).toEqual([
      [1, 1, 0, 0],
    ])
  })

  it('draws u from the key in training and eval alike: same key, same output', () => {
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [2, 6])
    const layer = wtaLayer({ k: 2 })
    const a = orThrow(layer.apply({}, {}, x, train(key(3)))).output
    const b = orThrow(layer.apply({}, {}, x, { training: false, key: key(3) })).output
    expect(equals(a, b)).toBe(true)
    for (const row of toNested(a) as number[][]) expect(row.filter((v) => v !== 0).length).toBeGreaterThanOrEqual(2)
  })

  it('keeps the input dtype', () => {
    const x = zeros([2, 3, 2], 'float64')
    expect(orThrow(wtaLayer().apply({}, {}, x, train(key(0)))).output.data).toBeInstanceOf(Float64Array)
  })

  it('rejects bad configuration at build', () => {
    expectConfigError(() => wtaLayer({ k: 0 }), { layer: 'WTALayer', argument: 'config.k', expected: 'integer >= 1', got: '0' })
    expectConfigError(() => wtaLayer({ k: Number.NaN }), { layer: 'WTALayer', argument: 'config.k', got: 'NaN' })
    expectConfigError(() => wtaLayer({ exact: 1 as unknown as boolean }), { layer: 'WTALayer', argument: 'config.exact' })
  })

  it('rejects rank < 2, fewer than k channels, noise of another shape, and no source of noise', () => {
    const layer = wtaLayer({ k: 3 })
    expectLayerError(layer.apply({}, {}, zeros([4]), train(key(0))), {
      layer: 'WTALayer',
      argument: 'input',
      expected: 'rank >= 2',
      got: 'rank 1 [4]',
    })
    expectLayerError(layer.apply({}, {}, zeros([2, 2, 5]), train(key(0))), {
      layer: 'WTALayer',
      argument: 'input',
      expected: 'at least k = 3 channels',
      got: 'rank 3 [2, 2, 5]',
    })
    expectLayerError(layer.init(key(0), [2, 2]), { layer: 'WTALayer', argument: 'input' })
    expectLayerError(layer.apply({}, {}, zeros([2, 3]), withNoise(zeros([3, 2]))), {
      layer: 'WTALayer',
      argument: 'ctx.draws',
      expected: '[2, 3]',
      got: '[3, 2]',
    })
    expectLayerError(layer.apply({}, {}, zeros([2, 3]), evaluate()), {
      layer: 'WTALayer',
      argument: 'ctx.key',
      got: 'neither',
    })
  })

  it('modifies neither input nor noise, and gives strided views what their copies give', () => {
    const x = tensor([1, 4, 2, 5, 3, 6], [3, 2]).transpose(1, 0) as Tensor // [2, 3], strided
    const u = tensor([0.9, 0.1, 0.5, 0.3, 0.8, 0.2], [3, 2]).transpose(1, 0) as Tensor
    const [x0, u0] = [copy(x), copy(u)]
    const layer = wtaLayer({ k: 2 })
    const strided = orThrow(layer.apply({}, {}, x, withNoise(u))).output
    expect(equals(strided, orThrow(layer.apply({}, {}, x0, withNoise(u0))).output)).toBe(true)
    // x = [[1, 2, 3], [4, 5, 6]], u = [[0.9, 0.5, 0.8], [0.1, 0.3, 0.2]]
    expect(toNested(strided)).toEqual([
      [0, 2, 3],
      [0, 5, 6],
    ])
    expect(equals(x, x0) && equals(u, u0)).toBe(true)
  })
})
