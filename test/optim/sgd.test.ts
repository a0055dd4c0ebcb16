/** SGD: worked examples against hand-computed values, configuration and update errors, purity. */
import { describe, expect, it } from 'vitest'
import type { Tensor } from '../../src/index.js'
import { customLinear, key, orThrow, sgd, tensor, toArray, toNested, trainableExcept } from '../../src/index.js'
import { snapshot, unchangedSince } from '../../props/support.js'
import { expectConfigError, expectLayerError } from '../layers/layerError.js'

const f64 = (data: number[], shape: number[] = [data.length]) => tensor(data, shape, 'float64')

/** Runs `steps` updates with the given gradients (one per step), from `init`. */
const runSteps = (opt: ReturnType<typeof sgd>, params: { readonly w: Tensor }, grads: readonly Tensor[]) => {
  let p = params
  let s = opt.init(p)
  for (const g of grads) {
    const r = orThrow(opt.update({ w: g }, s, p))
    p = r.params
    s = r.state
  }
  return { params: p, state: s }
}

describe('SGD', () => {
  it('without momentum is p - lr * g', () => {
    const r = runSteps(sgd({ lr: 0.5 }), { w: f64([1, 2, -3]) }, [f64([1, -2, 0.5])])
    expect(toArray(r.params.w)).toEqual([0.5, 3, -3.25])
    expect(r.state).toEqual({ step: 1, momentumBuffer: null })
  })

  it('copies the gradient into the momentum buffer on the first step, without dampening, and damps later', () => {
    const opt = sgd({ lr: 0.1, momentum: 0.9, dampening: 0.5 })
    const g1 = f64([1, -2])
    const g2 = f64([0.5, 4])
    const r = runSteps(opt, { w: f64([0, 0]) }, [g1, g2])
    // t = 1: b = g1 = [1, -2]; p = -0.1 g1
    // t = 2: b = 0.9 b + 0.5 g2 = [1.15, 0.2]; p = -0.1 [1, -2] - 0.1 [1.15, 0.2]
    const b = [0.9 * 1 + 0.5 * 0.5, 0.9 * -2 + 0.5 * 4]
    expect(toArray(r.state.momentumBuffer!.w!)).toEqual(b)
    expect(toArray(r.params.w)).toEqual([0 - 0.1 * 1 - 0.1 * b[0], 0 - 0.1 * -2 - 0.1 * b[1]])
    expect(r.state.step).toBe(2)
  })

  it('adds weight decay to the gradient and takes Nesterov steps g + momentum * b', () => {
    const opt = sgd({ lr: 0.1, momentum: 0.5, weightDecay: 0.1, nesterov: true })
    const r = runSteps(opt, { w: f64([2]) }, [f64([1]), f64([1])])
    // t = 1: g = 1 + 0.2 = 1.2, b = 1.2, step g + 0.5 b = 1.8: p = 2 - 0.18 = 1.82
    // t = 2: g = 1 + 0.182 = 1.182, b = 0.6 + 1.182 = 1.782, step 1.182 + 0.891 = 2.073: p = 1.82 - 0.2073
    const p1 = 2 - 0.1 * (1.2 + 0.5 * 1.2)
    const g2 = 1 + 0.1 * p1
    const b2 = 0.5 * 1.2 + g2
    expect(toArray(r.params.w)[0]).toBe(p1 - 0.1 * (g2 + 0.5 * b2))
    expect(toArray(r.params.w)[0]).toBeCloseTo(1.6127, 12)
  })

  it('rounds float32 as PyTorch: the update p + (-lr) g is one fused multiply-add', () => {
    // fround(1 + fround(-0.1) * 0.3f) in one rounding; two roundings (mul, then add) give a neighbour
    const p = tensor([1], [1])
    const g = tensor([0.3], [1])
    const r = orThrow(sgd({ lr: 0.1 }).update({ w: g }, { step: 0, momentumBuffer: null }, { w: p }))
    const fused = Math.fround(1 + Math.fround(-0.1) * Math.fround(0.3))
    expect(r.params.w.data[0]).toBe(fused)
    expect(fused).not.toBe(Math.fround(1 + Math.fround(Math.fround(-0.1) * Math.fround(0.3))))
  })

  it('walks pipelines: arrays of per-layer params, null params skipped', () => {
    const fc = customLinear({ inFeatures: 2, outFeatures: 2 })
    const p0 = orThrow(fc.init(key(1), [1, 2])).params
    const params = [p0, { weight: tensor([1, 2], [2]), bias: null }] as const
    const grads = [
      { weight: tensor([1, 1, 1, 1], [2, 2]), mask: null, bias: null },
      { weight: tensor([1, 1], [2]), bias: null },
    ] as const
    const opt = sgd({ lr: 1 })
    const r = orThrow(opt.update(grads, opt.init(params), params))
    expect(toArray(r.params[0].weight)).toEqual(toArray(p0.weight).map((v) => Math.fround(v - 1)))
    expect(r.params[0].mask).toBeNull()
    expect(toNested(r.params[1].weight)).toEqual([0, 1])
    expect(r.params[1].bias).toBeNull()
  })

  it('leaves frozen tensors as they are (the same object), and needs no gradient for them', () => {
    const params = { weight: tensor([1, 2], [2]), mask: tensor([1, 0], [2]) }
    const opt = sgd({ lr: 0.1, momentum: 0.9, weightDecay: 0.5, trainable: trainableExcept('mask') })
    const state = opt.init(params)
    expect(state.momentumBuffer!.mask).toBeNull()
    const r = orThrow(opt.update({ weight: tensor([1, 1], [2]) }, state, params))
    expect(r.params.mask).toBe(params.mask)
    expect(r.state.momentumBuffer!.mask).toBeNull()
    expect(toArray(r.params.weight)).not.toEqual([1, 2])
  })

  it('never modifies grads, params or state, and returns fresh tensors', () => {
    const params = { w: tensor([1, 2, 3], [3]) }
    const grads = { w: tensor([0.1, 0.2, 0.3], [3]) }
    const opt = sgd({ lr: 0.1, momentum: 0.9 })
    const s1 = orThrow(opt.update(grads, opt.init(params), params)).state
    const before = snapshot({ params, grads, s1 })
    const r = orThrow(opt.update(grads, s1, params))
    expect(unchangedSince({ params, grads, s1 }, before)).toBe(true)
    expect(r.params.w.data).not.toBe(params.w.data)
    expect(r.state.momentumBuffer!.w!.data).not.toBe(s1.momentumBuffer!.w!.data)
    expect(s1.step).toBe(1)
  })

  it('takes strided views and structured clones of params, grads and state', () => {
    const opt = sgd({ lr: 0.1, momentum: 0.9 })
    const square = tensor([1, 2, 3, 4], [2, 2])
    const grads = { w: tensor([1, 0, 0, 2], [2, 2]) }
    const s1 = orThrow(opt.update(grads, opt.init({ w: square }), { w: square }))
    const plain = orThrow(opt.update(grads, s1.state, s1.params))
    const cloned = orThrow(opt.update(structuredClone(grads), structuredClone(s1.state), structuredClone(s1.params)))
    expect(toNested(cloned.params.w)).toEqual(toNested(plain.params.w))
    // a transposed view of the grads: the update reads it in row-major order of its shape
    const t = tensor([1, 0, 0, 2], [2, 2]).transpose(1, 0)
    const viewed = orThrow(opt.update({ w: t }, s1.state, s1.params))
    expect(toNested(viewed.params.w)).toEqual(toNested(plain.params.w))
  })
})

describe('SGD rejects', () => {
  it('bad configurations when built', () => {
    expectConfigError(() => sgd(undefined as never), { layer: 'SGD', argument: 'config' })
    expectConfigError(() => sgd({} as never), { layer: 'SGD', argument: 'config.lr' })
    expectConfigError(() => sgd({ lr: -1 }), { layer: 'SGD', argument: 'config.lr', got: '-1' })
    expectConfigError(() => sgd({ lr: NaN }), { layer: 'SGD', argument: 'config.lr' })
    expectConfigError(() => sgd({ lr: 0.1, momentum: -0.5 }), { layer: 'SGD', argument: 'config.momentum' })
    expectConfigError(() => sgd({ lr: 0.1, weightDecay: -1 }), { layer: 'SGD', argument: 'config.weightDecay' })
    expectConfigError(() => sgd({ lr: 0.1, nesterov: true }), {
      layer: 'SGD',
      argument: 'config.nesterov',
      expected: 'momentum > 0 and dampening 0',
    })
    expectConfigError(() => sgd({ lr: 0.1, momentum: 0.9, dampening: 0.1, nesterov: true }), {
      layer: 'SGD',
      argument: 'config.nesterov',
      got: 'dampening: 0.1',
    })
    expectConfigError(() => sgd({ lr: 0.1, weight_decay: 0.1 } as never), {
      layer: 'SGD',
      argument: 'config.weight_decay',
      expected: 'weightDecay',
    })
    expectConfigError(() => sgd({ lr: 0.1, trainable: 'mask' } as never), { layer: 'SGD', argument: 'config.trainable' })
  })

  it('missing, misshapen and mistyped gradients, naming the path', () => {
    const opt = sgd({ lr: 0.1 })
    const params = [{ weight: tensor([1, 2], [2]) }, { weight: tensor([1, 2, 3], [3]) }]
    const state = opt.init(params)
    expectLayerError(opt.update([{ weight: tensor([1, 1], [2]) }] as never, state, params), {
      layer: 'SGD',
      argument: 'grads[1].weight',
      expected: 'a gradient: a float32 tensor [3]',
      got: 'nothing',
    })
    expectLayerError(opt.update([{ weight: tensor([1, 1], [2]) }, { weight: tensor([1, 1], [2]) }], state, params), {
      layer: 'SGD',
      argument: 'grads[1].weight',
      got: 'a float32 tensor [2]',
    })
    expectLayerError(
      opt.update([{ weight: tensor([1, 1], [2], 'float64') }, { weight: tensor([1, 1, 1], [3]) }], state, params),
      { layer: 'SGD', argument: 'grads[0].weight', got: 'a float64 tensor [2]' },
    )
    expectLayerError(opt.update([{ weight: [1, 1] }, { weight: tensor([1, 1, 1], [3]) }] as never, state, params), {
      layer: 'SGD',
      argument: 'grads[0].weight',
      got: '[1, 1]',
    })
  })

  it("states that are not this optimizer's", () => {
    const params = { w: tensor([1], [1]) }
    const grads = { w: tensor([1], [1]) }
    const plain = sgd({ lr: 0.1 })
    const momentum = sgd({ lr: 0.1, momentum: 0.9 })
    expectLayerError(plain.update(grads, null as never, params), { layer: 'SGD', argument: 'state' })
    expectLayerError(plain.update(grads, { step: 1.5, momentumBuffer: null }, params), {
      layer: 'SGD',
      argument: 'state.step',
      got: '1.5',
    })
    expectLayerError(plain.update(grads, { step: -1, momentumBuffer: null }, params), { layer: 'SGD', argument: 'state.step' })
    expectLayerError(momentum.update(grads, plain.init(params), params), {
      layer: 'SGD',
      argument: 'state.momentumBuffer',
      got: 'null',
    })
    expectLayerError(plain.update(grads, momentum.init(params), params), {
      layer: 'SGD',
      argument: 'state.momentumBuffer',
      expected: 'null',
    })
    expectLayerError(plain.update(grads, { step: 0, momentumBuffer: null, expAvg: null } as never, params), {
      layer: 'SGD',
      argument: 'state',
      got: '"expAvg"',
    })
    expectLayerError(momentum.update(grads, { step: 1, momentumBuffer: { w: tensor([1, 2], [2]) } }, params), {
      layer: 'SGD',
      argument: 'state.momentumBuffer.w',
      expected: 'a buffer: a float32 tensor [1]',
    })
  })

  it('schedules that give no usable rate, naming the step', () => {
    const params = { w: tensor([1], [1]) }
    const opt = sgd({ lr: (step) => (step < 1 ? 0.1 : NaN) })
    const r = orThrow(opt.update({ w: tensor([1], [1]) }, opt.init(params), params))
    expectLayerError(opt.update({ w: tensor([1], [1]) }, r.state, r.params), {
      layer: 'SGD',
      argument: 'config.lr(1)',
      got: 'NaN',
    })
  })
})
