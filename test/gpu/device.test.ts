/**
 * The GPU device in Node (gpu.js's 'cpu' mode, and the mode it picks by default here:
 * WebAssembly): its buffers' ownership rules, precision policy, size limit and host fallbacks,
 * its kernel cache, and every layer on it: `scanOnDevice(pipeline, gpu)` against
 * `scan(pipeline)` on the `cpu` device for pipelines that together hold every layer, with every
 * buffer accounted for, and `scan(pipeline)` with the GPU device in the context (each call
 * uploading and reading back). The kernels themselves are parity.test.ts's; the browser test
 * runs the same pipelines on WebGL2 and WebGL textures.
 */
import * as E from 'fp-ts/lib/Either.js'
import { GPU } from 'gpu.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cpu } from '../../src/backend/cpu/index.js'
import type { GpuBuffer, GpuDevice, GpuJs } from '../../src/gpu/index.js'
import { gpuBackend, loadGpuBackend } from '../../src/gpu/index.js'
import { kernelCache } from '../../src/gpu/kernelCache.js'
import type { NeuronAttrs } from '../../src/kernel/kernels.js'
import { evaluate, train } from '../../src/layer/context.js'
import { scan, scanOnDevice } from '../../src/layer/scan.js'
import { sequential } from '../../src/layer/sequential.js'
import { key, uniform } from '../../src/random/key.js'
import { wrap } from '../../src/tensor/tensor.js'
import { traced } from '../support/tracedDevice.js'
import { compareScan, pipelines, tensorsOf } from './page/pipelines.js'
import { data, expectClose, expectExact } from './tolerance.js'

const soft: NeuronAttrs = {
  model: 'if',
  tau: 1,
  threshold: 0.2,
  fireAt: '>=',
  reset: 'soft',
  vReset: 0,
  surrogate: 'none',
  alpha: 1,
}

/** Largest |a - b| / (1 + |b|). */
const scaledError = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) return Infinity
  let d = 0
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])))
  return Number.isNaN(d) ? Infinity : d
}

describe.each(['cpu', 'gpu'] as const)('the GPU device (gpu.js mode %s)', (mode) => {
  let gpu: GpuDevice
  beforeAll(async () => {
    gpu = await loadGpuBackend({ mode })
  })
  afterAll(() => {
    expect(gpu.liveBuffers(), 'device buffers left').toBe(0)
    expect(gpu.fallbacks(), 'kernels gpu.js failed on').toEqual([])
    gpu.destroy()
  })

  it('names its mode; float32 buffers on the device, float64 data kept exact on the host', () => {
    expect(gpu.mode).toBe(mode === 'cpu' ? 'cpu' : 'webasm')
    expect(gpu.name).toBe(`gpu(${gpu.mode})`)
    const f32 = gpu.upload(new Float32Array([0.5, 2]))
    expect([f32.kind, gpu.dtypeOf(f32), gpu.lengthOf(f32)]).toEqual(['array', 'float32', 2])
    const f64 = gpu.upload(new Float64Array([0.1, 1 / 3, 2]))
    expect([f64.kind, gpu.dtypeOf(f64)]).toEqual(['host', 'float64'])
    const sum = gpu.axpy(f64, f64, { alpha: 1 })
    expect(gpu.read(sum)).toEqual(new Float64Array([0.2, 2 / 3, 4])) // the reference, in float64
    ;[f32, f64, sum].forEach((b) => gpu.free(b))
  })

  it('reads copies; refuses freed buffers; kernels never free or change their arguments', () => {
    const live = gpu.liveBuffers()
    const a = gpu.upload(new Float32Array([1, 2, 3]))
    const r = gpu.read(a)
    r[0] = 99
    expect(Array.from(gpu.read(a))).toEqual([1, 2, 3])
    const s = gpu.axpy(a, a, { alpha: 1 })
    expect(Array.from(gpu.read(s))).toEqual([2, 4, 6])
    expect(Array.from(gpu.read(a))).toEqual([1, 2, 3])
    expect(gpu.liveBuffers()).toBe(live + 2)
    gpu.free(s)
    gpu.free(a)
    expect(gpu.liveBuffers()).toBe(live)
    expect(() => gpu.read(a)).toThrow(/freed/)
    expect(() => gpu.axpy(a, a, { alpha: 1 })).toThrow(/freed/)
    expect(() => gpu.concat([a])).toThrow(/freed/)
    expect(() => gpu.free(a)).toThrow(/freed/)
  })

  it('every pipeline of every layer: scanOnDevice(net, gpu) equals scan(net) on cpu; all freed; reads only at the end', () => {
    for (const p of pipelines()) {
      const before = gpu.hostCalls()
      for (const read of ['all', 'last', 'sum'] as const) {
        for (const steps of [1, 4]) {
          const r = compareScan(p, gpu, (b) => b.kind, steps, read)
          const what = `${p.name} T=${steps} read ${read}`
          expect(r.outputError, what).toBeLessThanOrEqual(p.tolerance)
          expect(r.stateError, what).toBeLessThanOrEqual(p.tolerance)
          expect(r.trace.live, `${what}: buffers left`).toBe(0)
          expect(gpu.liveBuffers(), `${what}: device buffers left`).toBe(0)
          expect(Object.keys(r.trace.kinds), what).toEqual(['array'])
          expect(r.trace.reads, `${what}: readbacks`).toBe(r.expectedReads)
        }
      }
      // only the pipeline's unported kernels ran on the host
      const after = gpu.hostCalls()
      const onHost = (Object.keys(after) as (keyof typeof after)[]).filter((k) => after[k] !== before[k])
      expect(onHost.sort(), p.name).toEqual([...p.hostKernels].sort())
    }
  })

  it('nested: scanOnDevice(scan(net), gpu) equals scan(scan(net)) on cpu (the inner loop slicing on the device)', () => {
    for (const p of pipelines()) {
      const net = scan(sequential(...p.layers))
      const shape = [2, 3, ...p.stepShape]
      const { params, state } = E.getOrElseW(() => expect.fail('init'))(net.init(key(1), shape.slice(1)))
      const x = wrap(uniform(key(7), shape.reduce((a, b) => a * b, 1)), shape)
      const ctx = (d: typeof cpu | GpuDevice) => (p.training ? train(key(3), d) : evaluate(d, key(3)))
      for (const read of ['all', 'last', 'sum'] as const) {
        const want = scanOnDevice(net, cpu, { read }).apply(params, state, x, ctx(cpu))
        const t = traced(gpu, (b) => b.kind)
        const got = scanOnDevice(net, t.device, { read }).apply(params, state, x, ctx(cpu))
        if (E.isLeft(want) || E.isLeft(got)) expect.fail(`${p.name}: a left`)
        const what = `${p.name} read ${read}`
        expect(scaledError(got.right.output.data, want.right.output.data), what).toBeLessThanOrEqual(p.tolerance)
        expect(t.trace().live, what).toBe(0)
        expect(gpu.liveBuffers(), what).toBe(0)
      }
    }
  })

  it('a scan of no steps gives zeros of the step shape (read last, sum) or an empty output (read all), on the host', () => {
    const p = pipelines()[0]
    for (const read of ['all', 'last', 'sum'] as const) {
      const r = compareScan(p, gpu, (b) => b.kind, 0, read)
      expect(r.outputError, read).toBe(0)
      expect(r.trace.live, read).toBe(0)
      expect(gpu.liveBuffers(), read).toBe(0)
      expect(r.trace.kernels, read).toBe(0)
      expect(r.trace.uploads, read).toBe(0)
    }
  })

  it('as the apply context\'s device: scan(net) uploads and reads back per call, equals cpu, frees all', () => {
    for (const p of pipelines()) {
      const net = sequential(...p.layers)
      const { params, state } = E.getOrElseW(() => expect.fail('init'))(net.init(key(1), p.stepShape))
      const shape = [3, ...p.stepShape]
      const x = wrap(uniform(key(7), shape.reduce((a, b) => a * b, 1)), shape)
      const ctx = (d: typeof cpu | GpuDevice) => (p.training ? train(key(3), d) : evaluate(d, key(3)))
      const want = scan(net).apply(params, state, x, ctx(cpu))
      const got = scan(net).apply(params, state, x, ctx(gpu))
      if (E.isLeft(want) || E.isLeft(got)) expect.fail(`${p.name}: a left`)
      expect(scaledError(got.right.output.data, want.right.output.data), p.name).toBeLessThanOrEqual(p.tolerance)
      const [g, w] = [tensorsOf(got.right.state), tensorsOf(want.right.state)]
      expect(g.length, p.name).toBe(w.length)
      g.forEach((t, i) => expect(scaledError(t.data, w[i].data), p.name).toBeLessThanOrEqual(p.tolerance))
      expect(gpu.liveBuffers(), p.name).toBe(0)
    }
  })
})

describe('GPU device limits, policies and fallbacks (gpu.js cpu mode)', () => {
  it('keeps an empty buffer and one past 2^23 values on the host, and computes with them there', () => {
    const gpu = gpuBackend({ gpu: new GPU({ mode: 'cpu' }) })
    expect(gpu.maxResidentLength).toBe(2 ** 23)
    const empty = gpu.upload(new Float32Array(0))
    expect(empty.kind).toBe('host')
    expect(gpu.read(empty).length).toBe(0)
    const e2 = gpu.axpy(empty, empty, { alpha: 1 })
    expect(e2.kind).toBe('host')
    const n = gpu.maxResidentLength + 1
    const a = data(n, 3)
    const big = gpu.upload(a)
    expect(big.kind).toBe('host')
    const sq = gpu.mul(big, big)
    expect(sq.kind).toBe('host')
    expectExact('mul on the host', gpu.read(sq), cpu.mul(a, a))
    // its argument past the limit, a slice runs on the host, and its result goes onto the device
    const head = gpu.slice(big, { offset: 1, length: 4 })
    expect(head.kind).toBe('array')
    expectExact('slice on the host', gpu.read(head), a.subarray(1, 5))
    expect(gpu.hostCalls()).toEqual({ axpy: 1, mul: 1, slice: 1 })
    const atLimit = gpu.upload(a.subarray(0, n - 1))
    expect(atLimit.kind).toBe('array')
    ;[empty, e2, big, sq, head, atLimit].forEach((b) => gpu.free(b))
    expect(gpu.liveBuffers()).toBe(0)
    expect(gpu.cachedKernels()).toBe(0) // nothing went to gpu.js
    gpu.destroy()
  })

  it("float64: 'gpu' rounds float64 data to float32 and runs it on the GPU", () => {
    const gpu = gpuBackend({ gpu: new GPU({ mode: 'cpu' }), float64: 'gpu' })
    const b = gpu.upload(new Float64Array([0.1, 1 / 3, 2]))
    expect([b.kind, gpu.dtypeOf(b)]).toEqual(['array', 'float32'])
    expect(Array.from(gpu.read(b))).toEqual([Math.fround(0.1), Math.fround(1 / 3), 2])
    const [m, k, n] = [4, 9, 5]
    const [a64, b64] = [Float64Array.from(data(m * k, 1)), Float64Array.from(data(k * n, 2))]
    const [ga, gb] = [gpu.upload(a64), gpu.upload(b64)]
    const got = gpu.matmul(ga, gb, null, { m, k, n })
    expect(got.kind).toBe('array')
    expectClose('matmul float64 (gpu policy)', gpu.read(got), cpu.matmul(a64, b64, null, { m, k, n }), () => k)
    expect(gpu.hostCalls()).toEqual({})
    ;[b, ga, gb, got].forEach((x) => gpu.free(x))
    gpu.destroy()
  })

  it('a float64 model on the GPU device gives the reference bits (float64 kept exact on the host)', () => {
    const p = pipelines()[0]
    const net = sequential(...p.layers)
    const { params, state } = E.getOrElseW(() => expect.fail('init'))(net.init(key(1), p.stepShape, 'float64'))
    const shape = [2, ...p.stepShape]
    const x = wrap(Float64Array.from(uniform(key(7), shape.reduce((a, b) => a * b, 1))), shape)
    const gpu = gpuBackend({ gpu: new GPU({ mode: 'cpu' }) })
    const want = scan(net).apply(params, state, x, evaluate(cpu))
    const got = scan(net).apply(params, state, x, evaluate(gpu))
    if (E.isLeft(want) || E.isLeft(got)) expect.fail('a left')
    expect(got.right.output.data).toBeInstanceOf(Float64Array)
    expectExact('float64 output', got.right.output.data, want.right.output.data)
    expect(gpu.cachedKernels()).toBe(0)
    expect(gpu.liveBuffers()).toBe(0)
    gpu.destroy()
  })

  it('a kernel gpu.js fails on runs on the host, what it made first is freed, and the failure is reported', () => {
    const real = new GPU({ mode: 'cpu' })
    // the second kernel of the neuron step (the next potential, soft reset) fails to build
    const failing: GpuJs = {
      mode: 'cpu',
      Kernel: real.Kernel,
      createKernel: (source, settings) =>
        source.includes('u - threshold')
          ? () => {
            throw new Error('simulated shader compile error')
          }
          : real.createKernel(source, settings),
    }
    const gpu = gpuBackend({ gpu: failing })
    const x = data(64, 9)
    const gx = gpu.upload(x)
    for (let round = 0; round < 2; round++) {
      const r = gpu.neuron(null, gx, soft)
      // the host's outputs are uploaded back to the device
      expect([r.spikes.kind, r.v.kind]).toEqual(['array', 'array'])
      const want = cpu.neuron(null, x, soft)
      expectExact('spikes', gpu.read(r.spikes), want.spikes)
      expectExact('v', gpu.read(r.v), want.v)
      gpu.free(r.spikes)
      gpu.free(r.v)
      expect(gpu.liveBuffers()).toBe(1) // the spikes the failed attempt made were freed
    }
    expect(gpu.fallbacks().map((f) => f.kernel)).toEqual(['neuron.v.if.ge.soft(64)|64|'])
    expect(gpu.fallbacks()[0].reason).toMatch(/simulated/)
    expect(gpu.hostCalls()).toEqual({ neuron: 2 })
    // another variant of the kernel still runs on gpu.js
    const hard = gpu.neuron(null, gx, { ...soft, reset: 'hard' })
    expect(gpu.hostCalls()).toEqual({ neuron: 2 })
    ;[gx, hard.spikes, hard.v].forEach((b) => gpu.free(b))
    expect(gpu.liveBuffers()).toBe(0)
    gpu.destroy()
    void real.destroy()
  })

  it('a kernel gpu.js fails on is not retried; a malformed gpu.js result is a failure too', () => {
    let calls = 0
    // no mode, no kernel class: an array mode, where upload needs no kernel
    const failing: GpuJs = {
      createKernel: () => () => {
        calls++
        throw new Error('shader did not compile')
      },
    }
    const b = gpuBackend({ gpu: failing })
    const x = data(10, 4)
    const gx = b.upload(x)
    const m1 = b.mul(gx, gx)
    const m2 = b.mul(gx, gx)
    expect(calls).toBe(1) // not retried
    expect(b.fallbacks()).toEqual([{ kernel: 'mul(10,10)|10|', reason: 'shader did not compile' }])
    ;[gx, m1, m2].forEach((v) => b.free(v))

    const short = gpuBackend({ gpu: { createKernel: () => () => new Float32Array(3) } })
    const a = short.upload(data(8, 5))
    expect(a.kind).toBe('array')
    const s = short.axpy(a, a, { alpha: 0.5 })
    expectExact('axpy after a malformed result', short.read(s), cpu.axpy(data(8, 5), data(8, 5), { alpha: 0.5 }))
    expect(short.fallbacks()[0].reason).toMatch(/returned 3 values, expected 8/)
    ;[a, s].forEach((v) => short.free(v))
    expect(short.liveBuffers()).toBe(0)
  })

  it('compiles once per kernel and shape, and evicts the least recently used past maxKernels', async () => {
    const gpu = await loadGpuBackend({ mode: 'cpu', maxKernels: 3 })
    const x = gpu.upload(data(12, 3))
    const take = (b: GpuBuffer) => gpu.free(b)
    take(gpu.mul(x, x))
    take(gpu.mul(x, x))
    expect(gpu.cachedKernels()).toBe(1)
    take(gpu.axpy(x, x, { alpha: 2 }))
    take(gpu.axpy(x, x, { alpha: -3 })) // alpha is an argument: same kernel
    expect(gpu.cachedKernels()).toBe(2)
    take(gpu.slice(x, { offset: 1, length: 5 }))
    take(gpu.slice(x, { offset: 6, length: 5 })) // and so is the offset
    expect(gpu.cachedKernels()).toBe(3)
    take(gpu.scale(x, { alpha: 2 }))
    expect(gpu.cachedKernels()).toBe(3)
    expect(gpu.kernelModes().map((k) => k.kernel.replace(/\(.*/, ''))).toEqual(['axpy', 'slice', 'scale'])
    gpu.clearCache()
    expect(gpu.cachedKernels()).toBe(0)
    take(x)
    gpu.destroy()
  })

  it('empty calls go to the host (nothing compiled)', () => {
    const gpu = gpuBackend({ gpu: new GPU({ mode: 'cpu' }) })
    const e = gpu.upload(new Float32Array(0))
    const outs = [
      gpu.matmul(e, e, null, { m: 0, k: 3, n: 0 }),
      gpu.mul(e, e),
      gpu.fill({ length: 0, value: 1, dtype: 'float32' }),
      gpu.concat([e, e]),
    ]
    expect(outs.map((b) => b.length)).toEqual([0, 0, 0, 0])
    expect(gpu.cachedKernels()).toBe(0)
    ;[e, ...outs].forEach((b) => gpu.free(b))
    gpu.destroy()
  })
})

describe('the kernel cache', () => {
  /** A fake gpu.js instance whose kernels record their destruction. */
  const fake = () => {
    const destroyed: string[] = []
    const gpu: GpuJs = {
      createKernel: (source) => Object.assign(() => source, { destroy: () => void destroyed.push(source) }),
    }
    return { gpu, destroyed }
  }

  it('evicts the least recently used kernel, but frees one with live outputs only with its last output', () => {
    const { gpu, destroyed } = fake()
    const cache = kernelCache(gpu, 1)
    const src = (s: string) => ({ source: s, argumentTypes: {} })
    const a = cache.kernel('a', src('a'), [1], {}, 1, true)
    cache.retain(a)
    cache.retain(a)
    cache.kernel('b', src('b'), [1], {}, 1, true) // evicts a: retired, not freed
    expect(destroyed).toEqual([])
    expect(cache.entries().map(([k]) => k)).toEqual(['b|1|'])
    cache.release(a)
    expect(destroyed).toEqual([])
    cache.release(a)
    expect(destroyed).toEqual(['a'])
    cache.kernel('c', src('c'), [1], {}, 1) // evicts b (no live outputs): freed now
    expect(destroyed).toEqual(['a', 'b'])
    const c = cache.entries()[0][1]
    cache.retain(c)
    cache.clear()
    expect(destroyed).toEqual(['a', 'b'])
    cache.destroy() // frees retired kernels too
    expect(destroyed).toEqual(['a', 'b', 'c'])
  })
})
