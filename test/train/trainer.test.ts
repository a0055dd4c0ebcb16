/**
 * `trainer`: the same bits as `lossAndGrad` then `optimizer.update` step after step (on the
 * resident device, whose optimizer kernels both use, and on `cpu` through the host update),
 * frozen tensors left alone, the resident device's buffers flat over a run and all freed by
 * `dispose`, and typed errors that leave the given state usable.
 */
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import type { AnyLayer, Device, Optimizer, Tensor } from '../../src/index.js'
import {
  adam,
  cpu,
  crossEntropyLoss,
  customLinear,
  key,
  lifNode,
  lossAndGrad,
  meanOverTime,
  mseLoss,
  orThrow,
  repeatSteps,
  residentBackend,
  scan,
  sequential,
  sgd,
  tensor,
  timeMerged,
  toArray,
  train,
  trainableExcept,
  trainer,
} from '../../src/index.js'
import { sameBits } from '../../props/support.js'
import { expectConfigError, expectLayerError } from '../layers/layerError.js'
import { rng } from '../support/seeded.js'
import { countingDevice } from '../device/countingDevice.js'

const resident = residentBackend()
const [batch, inF, hidden, classes, steps] = [6, 12, 16, 4, 3]

/** A small spiking MLP, TR1's shape: repeat over T, linear, LIF scanned, linear, mean over time. */
const net = sequential(
  repeatSteps({ steps }),
  timeMerged(customLinear({ inFeatures: inF, outFeatures: hidden, bias: true })),
  scan(lifNode()),
  timeMerged(customLinear({ inFeatures: hidden, outFeatures: classes, bias: true })),
  meanOverTime(),
)

const x = tensor(Array.from({ length: batch * inF }, (_, i) => ((i * 7) % 11) / 5), [batch, inF])
const y = tensor([0, 1, 2, 3, 1, 0], [batch])

/** `lossAndGrad` then `update`, n steps: the reference the trainer must match. */
const reference = (model: AnyLayer, optimizer: Optimizer, n: number, backend?: Device<unknown>) => {
  const init = orThrow(model.init(key(0), [batch, inF]))
  const step = lossAndGrad(model, crossEntropyLoss())
  let params = init.params as unknown
  let opt = optimizer.init(params) as unknown
  const losses: number[] = []
  for (let i = 0; i < n; i++) {
    const r = orThrow(step(params as never, init.state as never, x, y, train(key(i + 1), backend)))
    losses.push(r.loss)
    const u = orThrow(optimizer.update(r.grads as never, opt as never, params as never))
    params = u.params
    opt = u.state
  }
  return { params, opt, losses }
}

/** The trainer over the same n steps. */
const trained = (model: AnyLayer, optimizer: Optimizer, n: number, backend?: Device<unknown>) => {
  const init = orThrow(model.init(key(0), [batch, inF]))
  const loop = trainer(model, crossEntropyLoss(), optimizer)
  let t = orThrow(loop.start(init.params as never, { backend }))
  const losses: number[] = []
  for (let i = 0; i < n; i++) {
    const r = orThrow(loop.step(t, init.state as never, x, y, train(key(i + 1))))
    losses.push(r.loss)
    t = r.next
  }
  const out = orThrow(loop.read(t))
  loop.dispose(t)
  return { params: out.params as unknown, opt: out.optimizerState as unknown, losses, step: t.step }
}

describe('trainer', () => {
  it.runIf(resident !== undefined)('gives lossAndGrad + Adam bit for bit on the resident device, 5 steps', () => {
    const want = reference(net, adam({ lr: 0.05 }), 5)
    const got = trained(net, adam({ lr: 0.05 }), 5)
    expect(got.losses).toEqual(want.losses)
    expect(sameBits(got.params, want.params)).toBe(true)
    expect(sameBits(got.opt, want.opt)).toBe(true)
    expect(got.step).toBe(5)
    // the run learns: the loss falls
    expect(got.losses[4]).toBeLessThan(got.losses[0])
  })

  it.runIf(resident !== undefined)('matches with amsgrad, weight decay and a frozen bias (AdamW)', () => {
    const frozen = { lr: 0.05, amsgrad: true, weightDecay: 0.1, trainable: trainableExcept('bias') }
    const want = reference(net, adam(frozen), 4)
    const got = trained(net, adam(frozen), 4)
    expect(got.losses).toEqual(want.losses)
    expect(sameBits(got.params, want.params)).toBe(true)
    expect(sameBits(got.opt, want.opt)).toBe(true)
    // the frozen biases come back as the very tensors start was given
    const init = orThrow(net.init(key(0), [batch, inF])).params as readonly { bias?: Tensor }[]
    const params = got.params as readonly { bias?: Tensor }[]
    expect(toArray(params[1].bias!)).toEqual(toArray(init[1].bias!))
  })

  it('gives lossAndGrad + SGD (momentum) bit for bit on cpu, through the host update', () => {
    const opt = () => sgd({ lr: 0.1, momentum: 0.9, nesterov: true })
    const want = reference(net, opt(), 4, cpu)
    const got = trained(net, opt(), 4, cpu)
    expect(got.losses).toEqual(want.losses)
    expect(sameBits(got.params, want.params)).toBe(true)
    expect(sameBits(got.opt, want.opt)).toBe(true)
  })

  it("a scan with state 'reset': the same bits as resetting after each step, the membrane never read back", () => {
    const resetting = sequential(
      repeatSteps({ steps }),
      timeMerged(customLinear({ inFeatures: inF, outFeatures: hidden, bias: true })),
      scan(lifNode(), { state: 'reset' }),
      timeMerged(customLinear({ inFeatures: hidden, outFeatures: classes, bias: true })),
      meanOverTime(),
    )
    const run = (model: AnyLayer, next: (state: unknown) => unknown) => {
      const { device, books } = countingDevice(cpu)
      const init = orThrow(model.init(key(0), [batch, inF]))
      const loop = trainer(model, crossEntropyLoss(), sgd({ lr: 0.1 }))
      let t = orThrow(loop.start(init.params as never, { backend: device }))
      let state = init.state as unknown
      const losses: number[] = []
      for (let i = 0; i < 3; i++) {
        const r = orThrow(loop.step(t, state as never, x, y, train(key(i + 1))))
        losses.push(r.loss)
        state = next(r.state)
        t = r.next
      }
      const params = orThrow(loop.read(t)).params as unknown
      loop.dispose(t)
      return { losses, params, state, reads: books.reads, live: books.live.size }
    }
    const want = run(net, (s) => net.reset(s as never))
    const got = run(resetting, (s) => s)
    expect(got.losses).toEqual(want.losses)
    expect(sameBits(got.params, want.params)).toBe(true)
    expect(got.state).toEqual(want.state)
    expect((got.state as readonly unknown[])[2]).toEqual({ v: null })
    // per step: the output and the loss, and without the reset the membrane too
    expect(want.reads - got.reads).toBe(3)
    expect(got.live).toBe(0)
  })

  it('runs Adam on cpu with its own kernel, within float32 rounding of the default device', () => {
    const want = reference(net, adam({ lr: 0.05 }), 3, cpu)
    const got = trained(net, adam({ lr: 0.05 }), 3, cpu)
    expect(got.losses[0]).toBe(want.losses[0])
    const a = (got.params as readonly { weight?: Tensor }[])[1].weight!
    const b = (want.params as readonly { weight?: Tensor }[])[1].weight!
    const fb = toArray(b)
    toArray(a).forEach((v, i) => expect(v).toBeCloseTo(fb[i], 5))
  })

  it('resumes from read(): the optimizer state and params go on to the same bits', () => {
    const init = orThrow(net.init(key(0), [batch, inF]))
    const loop = trainer(net, crossEntropyLoss(), adam({ lr: 0.05 }))
    let t = orThrow(loop.start(init.params))
    for (let i = 0; i < 2; i++) t = orThrow(loop.step(t, init.state, x, y, train(key(i + 1)))).next
    const mid = orThrow(loop.read(t))
    let resumed = orThrow(loop.start(mid.params, { optimizerState: mid.optimizerState }))
    expect(resumed.step).toBe(2)
    for (let i = 2; i < 4; i++) {
      t = orThrow(loop.step(t, init.state, x, y, train(key(i + 1)))).next
      resumed = orThrow(loop.step(resumed, init.state, x, y, train(key(i + 1)))).next
    }
    expect(sameBits(orThrow(loop.read(resumed)), orThrow(loop.read(t)))).toBe(true)
    loop.dispose(t)
    loop.dispose(resumed)
  })

  it('copies in and out: the caller changing its arrays changes nothing held', () => {
    const fc = customLinear({ inFeatures: 2, outFeatures: 1 })
    const params = { weight: tensor([1, 2], [2, 1]), mask: null, bias: null }
    const loop = trainer(fc, mseLoss(), sgd({ lr: 0.5 }))
    const t = orThrow(loop.start(params, { backend: cpu }))
    ;(params.weight.data as Float32Array)[0] = 100
    const first = orThrow(loop.read(t)).params
    expect(toArray(first.weight)).toEqual([1, 2])
    ;(first.weight.data as Float32Array)[1] = -7
    expect(toArray(orThrow(loop.read(t)).params.weight)).toEqual([1, 2])
    // one step of SGD on (x w - y)^2: w - lr * 2 x (x w - y) = [1, 2] - 0.5 * 2 * [1, 1] * 2
    const r = orThrow(loop.step(t, {}, tensor([1, 1], [1, 2]), tensor([1], [1, 1]), train(key(0))))
    expect(r.loss).toBe(4)
    expect(toArray(orThrow(loop.read(r.next)).params.weight)).toEqual([-1, 0])
    // and on the default device, whose reads are fresh arrays already
    const held = orThrow(loop.start(params))
    const out = orThrow(loop.read(held)).params
    ;(out.weight.data as Float32Array)[0] = 5
    expect(toArray(orThrow(loop.read(held)).params.weight)).toEqual([100, 2])
    loop.dispose(held)
  })

  it.runIf(resident !== undefined)('keeps the resident device flat over 40 steps and frees everything on dispose', () => {
    const d = resident!
    const init = orThrow(net.init(key(0), [batch, inF]))
    const loop = trainer(net, crossEntropyLoss(), adam({ lr: 0.01, amsgrad: true }))
    const before = d.liveBuffers()
    let t = orThrow(loop.start(init.params))
    const held = d.liveBuffers() - before
    // four tensors, each with its param and three Adam buffers
    expect(held).toBe(16)
    const live: number[] = []
    const bytes: number[] = []
    for (let i = 0; i < 40; i++) {
      t = orThrow(loop.step(t, init.state, x, y, train(key(i)))).next
      live.push(d.liveBuffers() - before)
      bytes.push(d.heapStats().liveBytes)
    }
    expect(new Set(live)).toEqual(new Set([held]))
    expect(new Set(bytes.slice(1)).size).toBe(1)
    loop.dispose(t)
    expect(d.liveBuffers()).toBe(before)
  })

  it('leaves the state usable after a rejected step, and spends it after a step', () => {
    const init = orThrow(net.init(key(0), [batch, inF]))
    const loop = trainer(net, crossEntropyLoss(), adam())
    const t = orThrow(loop.start(init.params))
    expectLayerError(loop.step(t, init.state, x, tensor([0, 1], [2]), train(key(0))), { layer: 'CrossEntropyLoss', argument: 'target' })
    expectLayerError(loop.step(t, init.state, tensor([1, 2], [1, 2]), y, train(key(0))), { layer: 'CustomLinear', argument: 'input' })
    const other = (resident === undefined ? undefined : cpu) as Device<unknown> | undefined
    if (other !== undefined) {
      expectLayerError(loop.step(t, init.state, x, y, train(key(0), other)), { layer: 'trainer', argument: 'ctx.backend', got: 'cpu' })
    }
    expectLayerError(loop.step(t, init.state, x, y, undefined as never), { layer: net.name, argument: 'ctx' })
    const r = orThrow(loop.step(t, init.state, x, y, train(key(0))))
    expect(r.next.step).toBe(1)
    expectLayerError(loop.step(t, init.state, x, y, train(key(0))), {
      layer: 'trainer',
      argument: 'training',
      got: 'already stepped from or disposed',
    })
    expectLayerError(loop.read(t), { layer: 'trainer', argument: 'training' })
    loop.dispose(t) // a spent state: nothing to do
    loop.dispose(r.next)
    expectLayerError(loop.read(r.next), { layer: 'trainer', argument: 'training', got: 'already stepped from or disposed' })
    // a state from another trainer, and values that are not states at all
    const second = trainer(net, crossEntropyLoss(), adam())
    const s = orThrow(second.start(init.params))
    expectLayerError(loop.read(s), { layer: 'trainer', argument: 'training' })
    second.dispose(s)
    for (const v of [undefined, null, {}, JSON.parse('{"step":0,"device":"cpu"}') as unknown]) {
      expectLayerError(loop.step(v as never, init.state, x, y, train(key(0))), { layer: 'trainer', argument: 'training' })
    }
  })

  it('rejects bad params, optimizer states and options at start', () => {
    const init = orThrow(net.init(key(0), [batch, inF]))
    const loop = trainer(net, crossEntropyLoss(), adam())
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expectLayerError(loop.start(cyclic as never), { layer: 'Adam', argument: 'params.self' })
    expectLayerError(loop.start(init.params, { optimizerState: { step: 'one' } as never }), { layer: 'Adam', argument: 'state.step' })
    const wrong = sgd({ lr: 0.1 }).init(init.params)
    expectLayerError(loop.start(init.params, { optimizerState: wrong as never }), { layer: 'Adam', argument: 'state' })
    expectLayerError(loop.start(init.params, { backend: {} as never }), { layer: 'trainer', argument: 'options.backend' })
    expectLayerError(loop.start(init.params, { lr: 1 } as never), { layer: 'trainer', argument: 'options.lr' })
    expectLayerError(loop.start(init.params, 5 as never), { layer: 'trainer', argument: 'options' })
    // a schedule gone bad is the optimizer's error at the step, the state left usable
    const bad = trainer(net, crossEntropyLoss(), sgd({ lr: () => Number.NaN }))
    const t = orThrow(bad.start(init.params))
    expectLayerError(bad.step(t, init.state, x, y, train(key(0))), { layer: 'SGD', argument: 'config.lr(0)' })
    expect(E.isRight(bad.read(t))).toBe(true)
    bad.dispose(t)
  })

  it('rejects a model, a loss or an optimizer that is not one, when built', () => {
    expectConfigError(() => trainer({} as never, crossEntropyLoss(), adam()), { layer: 'trainer', argument: 'model' })
    expectConfigError(() => trainer(net, { name: 'L' } as never, adam()), { layer: 'trainer', argument: 'loss' })
    const handMade = { name: 'Mine', init: () => ({ step: 0 }), update: () => E.left(undefined) }
    expectConfigError(() => trainer(net, crossEntropyLoss(), handMade as never), { layer: 'trainer', argument: 'optimizer' })
  })

  it('trains a float64 model on seeded data the same as lossAndGrad + SGD', () => {
    const fc = customLinear({ inFeatures: 3, outFeatures: 2, bias: true })
    const init = orThrow(fc.init(key(3), [5, 3], 'float64'))
    const draw = rng(7)
    const xs = tensor(Array.from({ length: 15 }, draw), [5, 3], 'float64')
    const ys = tensor(Array.from({ length: 10 }, draw), [5, 2], 'float64')
    const opt = () => sgd({ lr: 0.2, momentum: 0.5 })
    const step = lossAndGrad(fc, mseLoss())
    const o = opt()
    let p = init.params
    let s = o.init(p)
    const loop = trainer(fc, mseLoss(), opt())
    let t = orThrow(loop.start(init.params))
    for (let i = 0; i < 3; i++) {
      const r = orThrow(step(p, init.state, xs, ys, train(key(i))))
      ;({ params: p, state: s } = orThrow(o.update(r.grads, s, p)))
      const q = orThrow(loop.step(t, init.state, xs, ys, train(key(i))))
      expect(q.loss).toBe(r.loss)
      t = q.next
    }
    const out = orThrow(loop.read(t))
    expect(sameBits(out.params, p)).toBe(true)
    expect(sameBits(out.optimizerState, s)).toBe(true)
    loop.dispose(t)
  })
})
