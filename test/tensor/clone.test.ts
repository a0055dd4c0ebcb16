/**
 * Tensors survive `structuredClone` (what `postMessage` and IndexedDB do to them): the clone is
 * a plain `{ data, shape, stride, offset }` record, and every public function that takes a
 * tensor gives with it what it gives with the tensor itself. `revive` makes a live ndarray of
 * one. (test/browser/worker.test.ts does the same through a real Worker.)
 */
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import type { Tensor } from '../../src/index.js'
import {
  avgPool2d,
  copy,
  customLinear,
  customLinearParams,
  equals,
  evaluate,
  flatData,
  fromNested,
  generate,
  key,
  layerNorm,
  maxPool2d,
  named,
  orThrow,
  poissonEncode,
  reshape,
  revive,
  sequential,
  tensor,
  thresholdDependentBatchNorm2d,
  toNested,
  train,
  upsampleNearest,
  vjp,
  zeros,
} from '../../src/index.js'
import { stridedViewArb } from '../../src/arbitraries/index.js'
import { sameBits } from '../../props/support.js'

/** A tensor as it arrives on the other side of postMessage. */
const clone = <T>(t: T): T => structuredClone(t)

describe('structured clones of tensors', () => {
  it('are plain records: the prototype (and its methods) does not survive', () => {
    const c = clone(tensor([1, 2, 3, 4], [2, 2])) as unknown as Record<string, unknown>
    expect(typeof c.pick).toBe('undefined')
    expect(Object.keys(c).sort()).toEqual(['data', 'offset', 'shape', 'stride'])
  })

  it("CustomLinear with a cloned weight: the issue's [41, 52, 63], also from a transposed view", () => {
    const fc = customLinear({ inFeatures: 2, outFeatures: 3 })
    const x = tensor([1, 10], [1, 2])
    const contiguous = tensor([1, 2, 3, 4, 5, 6], [2, 3])
    const transposed = tensor([1, 4, 2, 5, 3, 6], [3, 2]).transpose(1, 0)
    for (const weight of [contiguous, transposed]) {
      const params = orThrow(customLinearParams({ weight: clone(weight) }))
      expect(toNested(orThrow(fc.apply(params, {}, clone(x), evaluate())).output)).toEqual([[41, 52, 63]])
      // params cloned whole (as postMessage sends them), and as JSON gives them (no null entries)
      const whole = clone(orThrow(customLinearParams({ weight })))
      expect(toNested(orThrow(fc.apply(whole, {}, x, evaluate())).output)).toEqual([[41, 52, 63]])
      expect(toNested(orThrow(fc.apply({ weight: clone(weight) } as never, {}, x, evaluate())).output)).toEqual([[41, 52, 63]])
    }
  })

  it('CustomLinear.update with a cloned weight, mask and dw gives the same new weight', () => {
    const fc = customLinear({ inFeatures: 2, outFeatures: 2 })
    const params = orThrow(customLinearParams({ weight: tensor([1, 2, 3, 4], [2, 2]), mask: tensor([1, 0, 0, 1], [2, 2]) }))
    const dw = tensor([1, 1, 1, 1], [2, 2]).transpose(1, 0)
    const live = orThrow(fc.update(params, dw))
    const cloned = orThrow(fc.update(clone(params), clone(dw)))
    expect(toNested(cloned.weight)).toEqual([[2, 2], [3, 5]])
    expect(sameBits(cloned.weight, live.weight)).toBe(true)
  })

  it('tdBN with cloned params, state and input: the same numbers, not NaN, in training and in eval', () => {
    const bn = thresholdDependentBatchNorm2d({ numFeatures: 2, alpha: 1 })
    const { params, state } = orThrow(bn.init(key(0), [2, 2, 3, 3]))
    const trained = orThrow(bn.apply(params, state, generate([2, 2, 3, 3], Math.sin), train()))
    const x = generate([2, 2, 3, 3], (i) => Math.cos(i))
    for (const ctx of [train(), evaluate()]) {
      const live = orThrow(bn.apply(params, trained.state, x, ctx))
      const there = orThrow(bn.apply(clone(params), clone(trained.state), clone(x), ctx))
      expect(Array.from(there.output.data).every(Number.isFinite)).toBe(true)
      expect(sameBits(there.output, live.output)).toBe(true)
      expect(sameBits(there.state, live.state)).toBe(true)
    }
  })

  it('a pipeline with cloned params and state, and a strided, offset input', () => {
    const net = sequential(customLinear({ inFeatures: 4, outFeatures: 6 }), layerNorm({ normalizedShape: 6 }))
    const { params, state } = orThrow(net.init(key(1), [3, 4]))
    const x = generate([5, 4], (i) => Math.sin(i)).hi(4, 4).lo(1, 0).step(-1, 1)
    const live = orThrow(net.apply(params, state, x, evaluate()))
    const there = orThrow(net.apply(clone(params), clone(state), clone(x), evaluate()))
    expect(sameBits(there.output, live.output)).toBe(true)
  })

  it('ops and the encoder take clones', () => {
    const images = generate([1, 2, 4, 4], (i) => Math.sin(i)).transpose(0, 1, 3, 2)
    expect(equals(orThrow(maxPool2d(clone(images), { kernelSize: 2 })), orThrow(maxPool2d(images, { kernelSize: 2 })))).toBe(true)
    expect(equals(orThrow(avgPool2d(clone(images), { kernelSize: 2 })), orThrow(avgPool2d(images, { kernelSize: 2 })))).toBe(true)
    expect(equals(orThrow(upsampleNearest(clone(images), 2)), orThrow(upsampleNearest(images, 2)))).toBe(true)
    const rates = generate([3, 2], (i) => i / 6).transpose(1, 0)
    expect(sameBits(poissonEncode(key(2), clone(rates), 16), poissonEncode(key(2), rates, 16))).toBe(true)
    // a cloned key is a plain array of four words: a key still
    expect(sameBits(poissonEncode(clone(key(2)), rates, 16), poissonEncode(key(2), rates, 16))).toBe(true)
  })

  it('vjp and its pullback take clones', () => {
    const fc = customLinear({ inFeatures: 2, outFeatures: 1 })
    const params = orThrow(customLinearParams({ weight: tensor([3, 4], [2, 1]) }))
    const r = orThrow(vjp(fc, clone(params), {}, clone(tensor([1, 2], [1, 2])), evaluate()))
    expect(toNested(r.output)).toEqual([[11]])
    const g = orThrow(r.pullback(clone(tensor([1], [1, 1]))))
    expect(toNested(g.input)).toEqual([[3, 4]])
    expect(toNested(g.params.weight)).toEqual([[1], [2]])
  })

  it('the tensor helpers take clones: flatData, toNested, copy, reshape, named, equals', () => {
    const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]).transpose(1, 0)
    const c = clone(t)
    expect(Array.from(flatData(c))).toEqual([1, 4, 2, 5, 3, 6])
    expect(toNested(c)).toEqual(toNested(t))
    expect(equals(copy(c), t)).toBe(true)
    expect(reshape(c, [6]).shape).toEqual([6])
    expect(named(c, ['a', 'b'] as const).get(2, 1)).toBe(6)
    expect(equals(c, t)).toBe(true)
  })

  it('strided views of every layout survive: transposed, stepped, reversed, offset', () => {
    const t = generate([2, 3, 2], (i) => i)
    const views = [t, t.transpose(2, 0, 1), t.step(-1, 1, -1), t.hi(2, 2, 1).lo(1, 1, 0), ...fc.sample(stridedViewArb(t), 20)]
    for (const v of views) expect(sameBits(revive(clone(v)), v)).toBe(true)
  })
})

describe('revive', () => {
  it('gives a live ndarray over the same data, or the tensor itself', () => {
    const t = tensor([1, 2, 3, 4], [2, 2]).transpose(1, 0)
    const c = clone(t)
    const live = revive(c)
    expect(typeof live.pick).toBe('function')
    expect(live.data).toBe(c.data)
    expect(live.get(0, 1)).toBe(3)
    expect(revive(t)).toBe(t)
  })

  it('revives a 0-d tensor, whose clone has no shape or stride (they live on its prototype)', () => {
    const scalar = fromNested(5)
    const c = clone(scalar) as unknown as Record<string, unknown>
    expect(Object.keys(c).sort()).toEqual(['data', 'offset'])
    expect(revive(c).shape).toEqual([])
    expect(toNested(revive(c))).toBe(5)
  })

  it('rejects what is not a tensor with a RangeError naming revive, the field and what came', () => {
    const rejects = (v: unknown, message: RegExp): void => {
      let thrown: unknown
      try {
        revive(v)
      } catch (e) {
        thrown = e
      }
      expect(thrown).toBeInstanceOf(RangeError)
      expect((thrown as Error).message).toMatch(/^revive: record/)
      expect((thrown as Error).message).toMatch(message)
    }
    rejects(undefined, /expected a tensor .*, got undefined/)
    rejects([1, 2], /got \[1, 2\]/)
    rejects({ data: new Int32Array(4), shape: [4], stride: [1], offset: 0 }, /record\.data: expected Float32Array or Float64Array data, got Int32Array/)
    rejects({ data: new Float32Array(2), shape: [4], stride: [1], offset: 0 }, /a view inside its data, got shape \[4\] addressing elements \[0, 3\] of 2/)
    rejects({ data: new Float32Array(4), shape: [2, 2], stride: [2, 1], offset: 3 }, /addressing elements \[3, 6\] of 4/)
    rejects({ data: new Float32Array(4), shape: [2, Number.NaN], stride: [2, 1], offset: 0 }, /integer shape, stride and offset/)
    rejects({ data: new Float32Array(1), shape: [2 ** 40], stride: [0], offset: 0 }, /1099511627776 elements \(at most 2\^32\)/)
  })

  it('messages name the layer and the argument when a layer is given a broken record', () => {
    const r = customLinear({ inFeatures: 2, outFeatures: 1 }).apply(
      orThrow(customLinearParams({ weight: zeros([2, 1]) })),
      {},
      { data: new Float32Array(1), shape: [1, 2], stride: [2, 1], offset: 0 } as unknown as Tensor,
      evaluate(),
    )
    expect(E.isLeft(r) && r.left.message).toBe(
      'CustomLinear: input: expected a view inside its data, got shape [1, 2] addressing elements [0, 1] of 1',
    )
  })
})
