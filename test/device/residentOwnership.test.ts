/**
 * Buffer ownership on the resident WebAssembly device, the default device, whose `free` matters:
 * every buffer `apply`, `scan`, `vjp` (with `dispose`), `lossAndGrad` and `valueAndGrad` make is
 * freed exactly once, on success and when a step fails, checked with the traced wrapper (which
 * throws on a double free or on a freed buffer used) and with the device's own count and heap.
 * Also: results are the copy backend's bits, a vjp dropped without `dispose` is freed by the
 * garbage collector, BPTT's memory grows linearly with T, and a training loop's heap is flat.
 */
import * as E from 'fp-ts/lib/Either.js'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import type { AnyLayer, Ctx, Device, Layer, NoParams, OnDevice, ResidentDevice, Tensor } from '../../src/index.js'
import {
  adam,
  conv2d,
  copy,
  crossEntropyLoss,
  customLinear,
  DeviceTensor,
  layerFailure,
  flatten,
  ifNeuron,
  key,
  layerNorm,
  lifNode,
  lossAndGrad,
  maxPool,
  meanOverTime,
  nDropout,
  empty as none,
  orThrow,
  repeatSteps,
  residentBackend,
  scan,
  scanOnDevice,
  sequential,
  tensor,
  thresholdDependentBatchNorm2d,
  timeMerged,
  train,
  uniform,
  valueAndGrad,
  vjp,
  votingLayer,
  wasmBackend,
} from '../../src/index.js'
import { sameBits } from '../../props/support.js'
import { traced } from '../support/tracedDevice.js'

const resident = residentBackend() as ResidentDevice

/** `shape` values in [-1, 1) from `seed`, on a 1/1024 grid. */
const values = (shape: readonly number[], seed: number): Tensor => {
  const size = shape.reduce((a, b) => a * b, 1)
  return tensor(Array.from(uniform(key(seed), size, 'float64'), (u) => Math.round((2 * u - 1) * 1024) / 1024), shape)
}

/** A host-only layer that copies its input and fails at step `at` (its state counts steps). */
const failAt = (at: number): Layer<NoParams, { readonly n: number }> => ({
  name: 'FailAt',
  outputShape: (shape) => E.right(shape),
  init: (_key, shape) => E.right({ params: none, state: { n: 0 }, outputShape: shape }),
  apply: (_params, state, input) =>
    state.n === at
      ? layerFailure('FailAt', 'input', `at most ${at} steps`, `step ${state.n}`)
      : E.right({ output: copy(input), state: { n: state.n + 1 } }),
  reset: () => ({ n: 0 }),
})

/** A small spiking CNN, as the demo's (conv, tdBN, LIF over T, pooling, linear, mean over time). */
const cnn = (steps: number) =>
  sequential(
    conv2d({ inChannels: 1, outChannels: 4, kernelSize: 3, padding: 1, bias: false }),
    thresholdDependentBatchNorm2d({ numFeatures: 4, alpha: 1 }),
    repeatSteps({ steps }),
    scan(lifNode()),
    timeMerged(maxPool({ kernelSize: 2 })),
    flatten({ startDim: 2 }),
    customLinear({ inFeatures: 4 * 4 * 4, outFeatures: 3, bias: true }),
    meanOverTime(),
  )

const pipeline = () =>
  sequential(customLinear({ inFeatures: 6, outFeatures: 8, bias: true }), ifNeuron({ threshold: 0.3 }), votingLayer({ voterNum: 2 }))

/** `body` on a traced resident device: it must leave nothing live, on the wrapper and on the device. */
const owns = <T>(body: (d: Device<unknown>, ctx: (training: boolean) => Ctx) => T): T => {
  const t = traced(resident as Device<unknown>)
  const live = resident.liveBuffers()
  const result = body(t.device, (training) => ({ training, key: key(3), backend: t.device }))
  expect(t.trace().live, 'buffers the wrapper saw made and not freed').toBe(0)
  expect(resident.liveBuffers(), 'buffers left on the device').toBe(live)
  return result
}

describe('the resident device owns nothing after a runner returns', () => {
  it('apply: single layers and a pipeline, training and eval; the copy backend bits', () => {
    const layers: readonly (readonly [AnyLayer, readonly number[]])[] = [
      [nDropout({ p: 0.5 }), [4, 6]],
      [layerNorm({ normalizedShape: 6 }), [4, 6]],
      [thresholdDependentBatchNorm2d({ numFeatures: 2, alpha: 1 }), [3, 2, 4, 4]],
      [pipeline(), [4, 6]],
    ]
    for (const [layer, shape] of layers) {
      const init = orThrow(layer.init(key(1), shape))
      const x = values(shape, 2)
      for (const training of [true, false]) {
        const got = owns((_d, ctx) => orThrow(layer.apply(init.params, init.state, x, ctx(training))))
        const want = orThrow(layer.apply(init.params, init.state, x, { ...train(key(3), wasmBackend()), training }))
        expect(sameBits(got.output, want.output), layer.name).toBe(true)
        expect(sameBits(got.state, want.state), layer.name).toBe(true)
      }
    }
  })

  it('scan and scanOnDevice, every read, and a state reset', () => {
    const net = pipeline()
    const init = orThrow(net.init(key(1), [4, 6]))
    const xs = values([5, 4, 6], 4)
    for (const read of ['all', 'last', 'sum'] as const) {
      owns((d, ctx) => orThrow(scanOnDevice(net, d, { read }).apply(init.params, init.state, xs, ctx(true))))
      owns((d, ctx) => orThrow(scanOnDevice(net, d, { read, state: 'reset' }).apply(init.params, init.state, xs, ctx(false))))
    }
    owns((_d, ctx) => orThrow(scan(net).apply(init.params, init.state, xs, ctx(true))))
  })

  it('a step that fails midway: a LayerError, and what the earlier steps made is freed', () => {
    const net = sequential(customLinear({ inFeatures: 6, outFeatures: 4 }), failAt(2), ifNeuron())
    const init = orThrow(net.init(key(1), [4, 6]))
    const r = owns((_d, ctx) => scan(net).apply(init.params, init.state, values([5, 4, 6], 5), ctx(true)))
    expect(E.isLeft(r) && r.left.message).toMatch(/FailAt/)
  })

  it('vjp: the pullback (twice, then last), dispose; nothing after; no use after dispose', () => {
    const net = scan(pipeline())
    const init = orThrow(net.init(key(1), [4, 6]))
    const xs = values([3, 4, 6], 6)
    owns((_d, ctx) => {
      const r = orThrow(vjp(net, init.params, init.state, xs, ctx(true)))
      expect(resident.liveBuffers(), 'residuals held').toBeGreaterThan(0)
      const g1 = orThrow(r.pullback(values(r.output.shape, 7)))
      const g2 = orThrow(r.pullback(values(r.output.shape, 7), undefined, { last: true }))
      expect(sameBits(g1, g2)).toBe(true)
      const again = r.pullback(values(r.output.shape, 7))
      expect(E.isLeft(again) && again.left.message).toMatch(/pullback/)
      r.dispose()
      r.dispose()
    })
    // the same gradient as on the copy backend
    const want = orThrow(vjp(net, init.params, init.state, xs, train(key(3), wasmBackend())))
    const got = owns((_d, ctx) => {
      const r = orThrow(vjp(net, init.params, init.state, xs, ctx(true)))
      const g = orThrow(r.pullback(values(r.output.shape, 7)))
      r.dispose()
      return g
    })
    expect(sameBits(got, orThrow(want.pullback(values(want.output.shape, 7))))).toBe(true)
  })

  it('vjp of a step that fails, or that reads a traced value back: a LayerError, nothing left', () => {
    const net = sequential(customLinear({ inFeatures: 6, outFeatures: 4 }), failAt(0))
    const init = orThrow(net.init(key(1), [4, 6]))
    const r = owns((_d, ctx) => vjp(net, init.params, init.state, values([4, 6], 5), ctx(true)))
    expect(E.isLeft(r)).toBe(true)
    const reads = sequential(customLinear({ inFeatures: 6, outFeatures: 4 }), failAt(99))
    const init2 = orThrow(reads.init(key(1), [4, 6]))
    const r2 = owns((_d, ctx) => vjp(reads, init2.params, init2.state, values([4, 6], 5), ctx(true)))
    expect(E.isLeft(r2) && r2.left.message).toMatch(/reads one back/)
  })

  it('lossAndGrad on a spiking CNN (BPTT), and valueAndGrad: everything freed; the copy backend bits', () => {
    const net = cnn(3)
    const init = orThrow(net.init(key(1), [2, 1, 8, 8]))
    const x = values([2, 1, 8, 8], 8)
    const y = tensor([0, 2], [2])
    const step = lossAndGrad(net, crossEntropyLoss())
    const got = owns((_d, ctx) => orThrow(step(init.params, init.state, x, y, ctx(true))))
    const want = orThrow(step(init.params, init.state, x, y, train(key(3), wasmBackend())))
    expect(got.loss).toBe(want.loss)
    expect(sameBits(got.grads, want.grads)).toBe(true)
    owns((d) => {
      // f(w) = sum(w * w), as the valueAndGrad example
      const f = valueAndGrad<{ readonly w: Tensor }>(
        <B>(dev: Device<B>, p: OnDevice<{ readonly w: Tensor }, B>) =>
          new DeviceTensor(dev.matmul(p.w.buffer, p.w.buffer, null, { m: 1, k: 2, n: 1 }), [1]),
        d,
      )
      const r = orThrow(f({ w: tensor([3, 4], [2]) }))
      expect(r.value).toBe(25)
      expect(Array.from(r.grad.w.data)).toEqual([6, 8])
    })
  })

  it('BPTT: what the forward pass keeps grows linearly with T', () => {
    const net = scan(pipeline())
    const init = orThrow(net.init(key(1), [4, 6]))
    const held = (steps: number): number => {
      const before = resident.heapStats().liveBytes
      const r = orThrow(vjp(net, init.params, init.state, values([steps, 4, 6], 9), train(key(3), resident)))
      const bytes = resident.heapStats().liveBytes - before
      r.dispose()
      return bytes
    }
    const [h2, h4, h8] = [held(2), held(4), held(8)]
    expect(h8 - h4).toBe(2 * (h4 - h2))
    // per step: the linear layer's input and output, the neuron's potential and spikes, the vote
    expect((h4 - h2) / 2).toBeLessThanOrEqual(16 * (4 * 6 + 4 * 8 * 4 + 4 * 4) * 4)
  })
})

describe('the garbage collector frees a vjp nobody disposed', () => {
  it('after its result is unreachable', async () => {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const net = scan(pipeline())
    const init = orThrow(net.init(key(1), [4, 6]))
    const live = resident.liveBuffers()
    ;(() => {
      orThrow(vjp(net, init.params, init.state, values([3, 4, 6], 6), train(key(3), resident)))
    })()
    expect(resident.liveBuffers()).toBeGreaterThan(live)
    for (let i = 0; i < 20 && resident.liveBuffers() > live; i++) {
      gc()
      await new Promise((r) => setTimeout(r, 10))
    }
    expect(resident.liveBuffers()).toBe(live)
  })
})

describe('a training loop keeps a flat heap on the resident device', () => {
  it('lossAndGrad + adam, 60 steps: the memory stops growing after the first steps', () => {
    const net = cnn(2)
    const init = orThrow(net.init(key(1), [2, 1, 8, 8]))
    const opt = adam({ lr: 1e-3 })
    let params = init.params
    let state = init.state
    let o = opt.init(params)
    const step = lossAndGrad(net, crossEntropyLoss())
    const sizes: number[] = []
    const live = resident.liveBuffers()
    for (let s = 0; s < 60; s++) {
      const r = orThrow(step(params, state, values([2, 1, 8, 8], 100 + s), tensor([s % 3, (s + 1) % 3], [2]), train(key(s), resident)))
      const u = orThrow(opt.update(r.grads, o, params))
      params = u.params
      o = u.state
      state = net.reset(r.state)
      sizes.push(resident.heapStats().topBytes)
      expect(resident.liveBuffers()).toBe(live)
    }
    expect(Math.max(...sizes.slice(10))).toBeLessThanOrEqual(Math.max(...sizes.slice(0, 10)))
  })
})
