/** Adam and AdamW: worked examples against the formulas evaluated by hand, amsgrad, the decoupled decay, errors. */
import { describe, expect, it } from 'vitest'
import type { AdamConfig, Tensor } from '../../src/index.js'
import { adam, adamW, orThrow, tensor, toArray } from '../../src/index.js'
import { snapshot, unchangedSince } from '../../props/support.js'
import { expectConfigError, expectLayerError } from '../layers/layerError.js'

const f64 = (data: number[]) => tensor(data, [data.length], 'float64')

/** The formulas of FORMAT.md for one element, in float64: the reference the examples are worked with. */
const reference = (
  c: Required<Omit<AdamConfig, 'trainable' | 'lr'>> & { readonly lr: number },
  decoupled: boolean,
  p0: number,
  grads: readonly number[],
) => {
  const [b1, b2] = c.betas
  let p = p0
  let m = 0
  let v = 0
  let vmax = 0
  grads.forEach((g0, i) => {
    const t = i + 1
    let g = g0
    if (decoupled) p = p * (1 - c.lr * c.weightDecay)
    else if (c.weightDecay !== 0) g = g + c.weightDecay * p
    m = b1 * m + (1 - b1) * g
    v = b2 * v + (1 - b2) * g * g
    vmax = Math.max(vmax, v)
    const denom = Math.sqrt(c.amsgrad ? vmax : v) / Math.sqrt(1 - b2 ** t) + c.eps
    p = p - (c.lr / (1 - b1 ** t)) * (m / denom)
  })
  return { p, m, v, vmax }
}

const run = (opt: ReturnType<typeof adam>, p0: Tensor, grads: readonly Tensor[]) => {
  let params = { w: p0 }
  let state = opt.init(params)
  for (const g of grads) {
    const r = orThrow(opt.update({ w: g }, state, params))
    params = r.params
    state = r.state
  }
  return { params, state }
}

const defaults = { lr: 1e-3, betas: [0.9, 0.999] as const, eps: 1e-8, weightDecay: 0, amsgrad: false }

describe('Adam', () => {
  it('takes a first step of lr * sign(g) (up to eps), whatever the gradient scale', () => {
    const r = run(adam({ lr: 0.1 }), f64([1, 1, 1]), [f64([1e-3, -50, 2])])
    toArray(r.params.w).forEach((v, i) => expect(v).toBeCloseTo([0.9, 1.1, 0.9][i], 5))
    expect(r.state.step).toBe(1)
    expect(toArray(r.state.expAvg.w!)).toEqual([1e-3, -50, 2].map((g) => 0.9 * 0 + (1 - 0.9) * g))
  })

  it('follows the formulas over several steps (L2 weight decay, eps outside the square root)', () => {
    const c = { ...defaults, lr: 0.05, betas: [0.8, 0.95] as const, eps: 1e-3, weightDecay: 0.1 }
    const grads = [0.5, -0.25, 2, 0]
    const r = run(adam(c), f64([1.5]), grads.map((g) => f64([g])))
    const want = reference(c, false, 1.5, grads)
    expect(toArray(r.params.w)[0]).toBeCloseTo(want.p, 14)
    expect(toArray(r.state.expAvg.w!)[0]).toBeCloseTo(want.m, 14)
    expect(toArray(r.state.expAvgSq.w!)[0]).toBeCloseTo(want.v, 14)
    expect(r.state.maxExpAvgSq).toBeNull()
  })

  it('amsgrad keeps the running maximum of the raw second moment and bias-corrects it with the current bc2', () => {
    const c = { ...defaults, lr: 0.1, betas: [0.9, 0.9] as const, amsgrad: true }
    // a large gradient, then small ones: v falls, vmax keeps its peak
    const grads = [3, 0.1, 0.1, 0.1]
    const r = run(adam(c), f64([0]), grads.map((g) => f64([g])))
    const want = reference(c, false, 0, grads)
    expect(toArray(r.params.w)[0]).toBeCloseTo(want.p, 14)
    expect(toArray(r.state.maxExpAvgSq!.w!)[0]).toBeCloseTo(want.vmax, 14)
    expect(want.vmax).toBeGreaterThan(want.v)
    // the docstring's variant (the max of the bias-corrected v / bc2) gives another value
    let m = 0
    let v = 0
    let vhatMax = 0
    let p = 0
    grads.forEach((g, i) => {
      const t = i + 1
      m = 0.9 * m + 0.1 * g
      v = 0.9 * v + 0.1 * g * g
      vhatMax = Math.max(vhatMax, v / (1 - 0.9 ** t))
      p -= (0.1 * (m / (1 - 0.9 ** t))) / (Math.sqrt(vhatMax) + 1e-8)
    })
    expect(Math.abs(p - want.p)).toBeGreaterThan(1e-3)
  })

  it('never modifies its arguments', () => {
    const opt = adam({ lr: 0.1, amsgrad: true })
    const params = { w: tensor([1, 2], [2]) }
    const grads = { w: tensor([1, -1], [2]) }
    const state = orThrow(opt.update(grads, opt.init(params), params)).state
    const before = snapshot({ params, grads, state })
    const r = orThrow(opt.update(grads, state, params))
    expect(unchangedSince({ params, grads, state }, before)).toBe(true)
    expect(r.state.expAvg.w).not.toBe(state.expAvg.w)
  })

  it('leaves an element with zero gradients from the start where it is (no weight decay)', () => {
    const r = run(adam({ lr: 0.1 }), f64([0.25, 1]), [f64([0, 1]), f64([0, -1])])
    expect(toArray(r.params.w)[0]).toBe(0.25)
  })
})

describe('AdamW', () => {
  it('decays the params first (decoupled), then steps with the gradient as given', () => {
    const c = { ...defaults, lr: 0.05, weightDecay: 0.2 }
    const grads = [1, 0.5, -2]
    const r = run(adamW(c), f64([2]), grads.map((g) => f64([g])))
    const want = reference(c, true, 2, grads)
    expect(toArray(r.params.w)[0]).toBeCloseTo(want.p, 14)
    // not Adam's L2 decay
    expect(Math.abs(want.p - reference(c, false, 2, grads).p)).toBeGreaterThan(1e-4)
  })

  it("defaults to PyTorch's weightDecay 1e-2", () => {
    const r = run(adamW({ lr: 0.1 }), f64([1]), [f64([0])])
    expect(toArray(r.params.w)[0]).toBeCloseTo(1 - 0.1 * 1e-2, 15)
    const plain = run(adam({ lr: 0.1 }), f64([1]), [f64([0])])
    expect(toArray(plain.params.w)[0]).toBe(1)
  })

  it('amsgrad as Adam', () => {
    const c = { ...defaults, lr: 0.03, weightDecay: 0.1, amsgrad: true }
    const grads = [2, -0.1, 0.05]
    const r = run(adamW(c), f64([0.5]), grads.map((g) => f64([g])))
    expect(toArray(r.params.w)[0]).toBeCloseTo(reference(c, true, 0.5, grads).p, 14)
  })
})

describe('Adam and AdamW reject', () => {
  it.each([
    ['Adam', adam],
    ['AdamW', adamW],
  ] as const)('bad %s configurations when built', (name, make) => {
    expectConfigError(() => make({ lr: -1e-3 }), { layer: name, argument: 'config.lr' })
    expectConfigError(() => make({ betas: [1, 0.9] }), { layer: name, argument: 'config.betas[0]', got: '1' })
    expectConfigError(() => make({ betas: [0.9, -0.1] }), { layer: name, argument: 'config.betas[1]' })
    expectConfigError(() => make({ betas: [0.9] as never }), { layer: name, argument: 'config.betas' })
    expectConfigError(() => make({ eps: -1 }), { layer: name, argument: 'config.eps' })
    expectConfigError(() => make({ weightDecay: Infinity }), { layer: name, argument: 'config.weightDecay' })
    expectConfigError(() => make({ amsgrad: 1 } as never), { layer: name, argument: 'config.amsgrad' })
    expectConfigError(() => make({ maximize: true } as never), { layer: name, argument: 'config.maximize' })
    expectConfigError(() => make(7 as never), { layer: name, argument: 'config' })
  })

  it('state buffers of the wrong shape or dtype, and a state of the other amsgrad setting', () => {
    const params = { w: tensor([1, 2], [2]) }
    const grads = { w: tensor([1, 1], [2]) }
    const opt = adam()
    const state = opt.init(params)
    expectLayerError(opt.update(grads, { ...state, expAvgSq: { w: tensor([0, 0], [2], 'float64') } }, params), {
      layer: 'Adam',
      argument: 'state.expAvgSq.w',
      got: 'a float64 tensor [2]',
    })
    expectLayerError(adam({ amsgrad: true }).update(grads, state, params), {
      layer: 'Adam',
      argument: 'state.maxExpAvgSq',
    })
    expectLayerError(adamW().update({ v: tensor([1, 1], [2]) } as never, state, params), {
      layer: 'AdamW',
      argument: 'grads.w',
      got: 'nothing',
    })
  })
})
