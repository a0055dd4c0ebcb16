import { describe, expect, it } from 'vitest'
import type { Ctx, Tensor } from '../../src/index.js'
import {
  copy,
  equals,
  evaluate,
  full,
  key,
  nDropout,
  orThrow,
  scan,
  tensor,
  toNested,
  train,
  zeros,
} from '../../src/index.js'
import { expectConfigError, expectLayerError } from './layerError.js'

const drop = nDropout({ p: 0.5 })
const start = { mask: null }
const withMask = (mask: Tensor): Ctx => ({ ...train(), draws: mask })

describe('NDropout', () => {
  it('uses the supplied mask on the first training step and reuses it until reset', () => {
    const mask = tensor([2, 0, 0, 2], [2, 2])
    const s1 = orThrow(drop.apply({}, start, tensor([1, 2, 3, 4], [2, 2]), withMask(mask)))
    expect(toNested(s1.output)).toEqual([
      [2, 0],
      [0, 8],
    ])
    // a later step draws nothing: the key is not even needed
    const s2 = orThrow(drop.apply({}, s1.state, tensor([5, 6, 7, 8], [2, 2]), train()))
    expect(toNested(s2.output)).toEqual([
      [10, 0],
      [0, 16],
    ])
    expect(drop.reset(s2.state)).toEqual({ mask: null })
  })

  it('draws a mask of 0 and 1/(1-p) from the key; the same key gives the same mask', () => {
    const layer = nDropout({ p: 0.2 })
    const a = orThrow(layer.apply({}, start, full([4, 25], 1), train(key(7))))
    const b = orThrow(layer.apply({}, start, full([4, 25], 1), train(key(7))))
    expect(equals(a.output, b.output)).toBe(true)
    const values = new Set(a.output.data)
    expect([...values].sort()).toEqual([0, 1.25])
  })

  it('p = 1 drops everything and p = 0 keeps everything', () => {
    const x = tensor([1, -2, 3], [3])
    const dropped = orThrow(nDropout({ p: 1 }).apply({}, start, x, train(key(0)))).output
    expect(Array.from(dropped.data).every((v) => v === 0)).toBe(true) // -2 * 0 is -0, as in PyTorch
    expect(toNested(orThrow(nDropout({ p: 0 }).apply({}, start, x, train(key(0)))).output)).toEqual([1, -2, 3])
  })

  it('is the identity in eval mode and keeps the state', () => {
    const held = { mask: tensor([0, 2], [2]) }
    const x = tensor([3, 4], [2])
    const r = orThrow(drop.apply({}, held, x, evaluate()))
    expect(toNested(r.output)).toEqual([3, 4])
    expect(r.output).not.toBe(x)
    expect(r.state).toBe(held)
  })

  it('shares one mask across all time steps of a scan over [T, N, ...]', () => {
    const { output } = orThrow(scan(drop).apply({}, start, full([5, 2, 8], 1), train(key(1))))
    const steps = toNested(output) as number[][][]
    for (const step of steps) expect(step).toEqual(steps[0])
  })

  it('keeps the input dtype', () => {
    expect(orThrow(drop.apply({}, start, zeros([3], 'float64'), train(key(0)))).output.data).toBeInstanceOf(Float64Array)
    expect(orThrow(drop.apply({}, start, zeros([3], 'float64'), evaluate())).output.data).toBeInstanceOf(Float64Array)
  })

  it('rejects p outside [0, 1] and non-finite p at build', () => {
    for (const p of [-0.1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expectConfigError(() => nDropout({ p }), { layer: 'NDropout', argument: 'config.p', expected: 'in [0, 1]', got: String(p) })
    }
  })

  it('rejects a batch of another shape than the held mask, bad draws, and no source of randomness', () => {
    const held = orThrow(drop.apply({}, start, zeros([2, 3]), train(key(0)))).state
    expectLayerError(drop.apply({}, held, zeros([3, 3]), train(key(1))), {
      layer: 'NDropout',
      argument: 'state.mask',
      expected: "the input's shape [3, 3] (reset the state",
      got: '[2, 3]',
    })
    expectLayerError(drop.apply({}, start, zeros([2, 3]), withMask(zeros([3, 2]))), {
      layer: 'NDropout',
      argument: 'ctx.draws',
      expected: '[2, 3]',
      got: '[3, 2]',
    })
    expectLayerError(drop.apply({}, start, zeros([2]), withMask(tensor([2, 1], [2]))), {
      layer: 'NDropout',
      argument: 'ctx.draws',
      expected: '0 or 1 / (1 - p) = 2',
      got: '1 at flat index 1',
    })
    expectLayerError(drop.apply({}, start, zeros([2]), train()), { layer: 'NDropout', argument: 'ctx.key', got: 'neither' })
  })

  it('modifies neither input, draws nor state, and gives strided views what their copies give', () => {
    const x = tensor([1, 4, 2, 5, 3, 6], [3, 2]).transpose(1, 0) as Tensor
    const mask = tensor([2, 0, 2, 0, 0, 2], [3, 2]).transpose(1, 0) as Tensor
    const [x0, m0] = [copy(x), copy(mask)]
    const a = orThrow(drop.apply({}, start, x, withMask(mask)))
    const b = orThrow(drop.apply({}, start, x0, withMask(m0)))
    expect(equals(a.output, b.output)).toBe(true)
    expect(equals(a.state.mask as Tensor, b.state.mask as Tensor)).toBe(true)
    const heldMask = copy(a.state.mask as Tensor)
    orThrow(drop.apply({}, a.state, x, train()))
    expect(equals(x, x0) && equals(mask, m0) && equals(a.state.mask as Tensor, heldMask)).toBe(true)
    expect(toNested(a.output)).toEqual([
      [2, 4, 0],
      [0, 0, 12],
    ])
  })
})
