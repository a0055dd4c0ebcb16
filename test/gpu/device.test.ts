/**
 * The GPU device (`gpu.device`) in Node: every device kernel against the host device on the
 * CPU kernels (`hostDevice(cpu)`, the reference), on random shapes (fast-check), in gpu.js's
 * 'cpu' mode and in the mode it picks by default here (WebAssembly); then its buffers'
 * ownership rules, its size limit and fallbacks, and `scanOnDevice(pipeline, gpu.device)`
 * against `scan(pipeline)` with every buffer accounted for. The browser test runs the same
 * device on WebGL2 and WebGL textures.
 *
 * Tolerance (float32), as the backend parity test: selections (max pooling, maxPool2dBy, the
 * spikes of `fire`) must be exact; arithmetic must satisfy `|gpu - cpu| <= 1e-5 * scale + 1e-7`,
 * `scale` the sum of the absolute values of the terms behind that output.
 */
import fc from 'fast-check'
import { GPU } from 'gpu.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PoolMode, PoolWindow } from '../../src/backend/backend.js'
import { cpu } from '../../src/backend/cpu/index.js'
import { hostDevice } from '../../src/device/host.js'
import type { GpuBackend, GpuBuffer, GpuJs } from '../../src/gpu/index.js'
import { gpuBackend, loadGpuBackend } from '../../src/gpu/index.js'
import { kernelCache } from '../../src/gpu/kernelCache.js'
import { compareScan, pipelines } from './page/pipelines.js'
import { data, dim, expectClose, expectExact, poolCaseArb as poolCaseArbOf, seedArb } from './tolerance.js'

const RUNS = 25
const host = hostDevice(cpu)
const poolCaseArb = poolCaseArbOf(5, 13)

describe.each(['cpu', 'gpu'] as const)('GPU device kernels vs the host device (gpu.js mode %s)', (mode) => {
  let gpu: GpuBackend
  beforeAll(async () => {
    gpu = await loadGpuBackend({ mode })
  })
  afterAll(() => gpu.destroy())

  /** Reads a buffer, checks it is a gpu.js result (not a host fallback) and frees it. */
  const take = (b: GpuBuffer): Float32Array => {
    expect(b.kind).toBe(gpu.device.mode === 'cpu' || gpu.device.mode === 'webasm' ? 'array' : 'texture')
    const v = gpu.device.read(b) as Float32Array
    gpu.device.free(b)
    return v
  }

  /** Uploads each array, runs `f` on the buffers, checks the inputs are unchanged and frees them. */
  const withBuffers = <R>(arrays: readonly Float32Array[], f: (...bs: GpuBuffer[]) => R): R => {
    const bs = arrays.map((a) => gpu.device.upload(a))
    const r = f(...bs)
    bs.forEach((b, i) => {
      expectExact('input after the kernel', gpu.device.read(b), arrays[i])
      gpu.device.free(b)
    })
    return r
  }

  afterAll(() => {
    expect(gpu.device.liveBuffers(), 'device buffers left').toBe(0)
    expect(gpu.fallbacks(), 'kernels that fell back to the host').toEqual([])
    for (const k of gpu.kernelModes()) expect(k.mode, k.kernel).toBe(gpu.mode)
  })

  it('names its mode; buffers are float32', () => {
    expect(gpu.device.mode).toBe(mode === 'cpu' ? 'cpu' : 'webasm')
    expect(gpu.device.name).toBe(`gpu(${gpu.device.mode})`)
    const b = gpu.device.upload(new Float64Array([0.1, 1 / 3, 2]))
    expect(gpu.device.dtypeOf(b)).toBe('float32')
    expect(gpu.device.lengthOf(b)).toBe(3)
    expect(Array.from(gpu.device.read(b))).toEqual([Math.fround(0.1), Math.fround(1 / 3), 2]) // uploading rounds
    gpu.device.free(b)
  })

  it('matmul, with and without bias', () => {
    fc.assert(
      fc.property(dim(9), dim(40), dim(9), fc.boolean(), seedArb, (m, k, n, withBias, seed) => {
        const a = data(m * k, seed)
        const b = data(k * n, seed + 1)
        const bias = data(n, seed + 2)
        const want = host.matmul(a, b, m, k, n, withBias ? bias : undefined)
        const got = withBuffers([a, b, bias], (ga, gb, gbias) =>
          take(gpu.device.matmul(ga, gb, m, k, n, withBias ? gbias : undefined)),
        )
        expectClose('matmul', got, want, (idx) => {
          const [i, j] = [Math.floor(idx / n), idx % n]
          let s = withBias ? Math.abs(bias[j]) : 0
          for (let p = 0; p < k; p++) s += Math.abs(a[i * k + p] * b[p * n + j])
          return s
        })
      }),
      { numRuns: RUNS },
    )
  })

  it('fire: soft and hard reset, with a potential and without (null v); spikes exact', () => {
    fc.assert(
      fc.property(
        dim(500),
        fc.constantFrom<'soft' | 'hard'>('soft', 'hard'),
        fc.boolean(),
        fc.double({ min: -1, max: 1, noNaN: true }),
        fc.double({ min: -1, max: 1, noNaN: true }),
        seedArb,
        (n, reset, withV, threshold, vReset, seed) => {
          const v = data(n, seed)
          const x = data(n, seed + 1)
          const want = host.fire(withV ? v : null, x, threshold, reset, vReset)
          const got = withBuffers([v, x], (gv, gx) => {
            const r = gpu.device.fire(withV ? gv : null, gx, threshold, reset, vReset)
            return { spikes: take(r.spikes), v: take(r.v) }
          })
          expectExact('fire spikes', got.spikes, want.spikes)
          expectClose('fire v', got.v, want.v, (i) => Math.abs(v[i]) + Math.abs(x[i]) + Math.abs(threshold))
        },
      ),
      { numRuns: RUNS * 2 },
    )
  })

  it('fire decides at the threshold as the host does (threshold not a float32)', () => {
    const threshold = 0.3 // Math.fround(0.3) > 0.3: a potential of exactly fround(0.3) fires
    const below = new Float32Array([Math.fround(0.3), 0.29999998, 0.30000002, 1])
    const want = host.fire(null, below, threshold, 'soft', 0)
    const got = withBuffers([below], (gx) => {
      const r = gpu.device.fire(null, gx, threshold, 'soft', 0)
      return { spikes: take(r.spikes), v: take(r.v) }
    })
    expectExact('spikes', got.spikes, want.spikes)
    expectExact('v', got.v, want.v)
  })

  it('pool2d: max exact, avg within tolerance', () => {
    fc.assert(
      fc.property(poolCaseArb, fc.constantFrom<PoolMode>('max', 'avg'), ({ planes, height, width, window, seed }, m) => {
        const x = data(planes * height * width, seed)
        const want = host.pool2d(x, planes, height, width, window, m)
        const got = withBuffers([x], (gx) => take(gpu.device.pool2d(gx, planes, height, width, window, m)))
        if (m === 'max') expectExact('pool2d max', got, want)
        else expectClose('pool2d avg', got, want, () => 1)
      }),
      { numRuns: RUNS * 2 },
    )
  })

  it('maxPool2dBy is exact, ties in the key included', () => {
    fc.assert(
      fc.property(poolCaseArb, ({ planes, height, width, window, seed }) => {
        const size = planes * height * width
        const key = Float32Array.from(data(size, seed), (v) => Math.floor((v + 1) * 2))
        const value = data(size, seed + 7)
        const want = host.maxPool2dBy(key, value, planes, height, width, window)
        const got = withBuffers([key, value], (gk, gv) =>
          take(gpu.device.maxPool2dBy(gk, gv, planes, height, width, window)),
        )
        expectExact('maxPool2dBy', got, want)
      }),
      { numRuns: RUNS },
    )
  })

  it('liPoolStep: both modes, with a sum and without (null sum)', () => {
    fc.assert(
      fc.property(
        dim(4),
        dim(5),
        dim(5),
        dim(3),
        fc.constantFrom<PoolMode>('max', 'avg'),
        fc.boolean(),
        seedArb,
        (planes, oh, ow, k, m, withSum, seed) => {
          const [height, width] = [oh * k, ow * k]
          const sum = data(planes * height * width, seed, 3)
          const x = data(planes * height * width, seed + 1)
          const want = host.liPoolStep(withSum ? sum : null, x, planes, height, width, k, m)
          const got = withBuffers([sum, x], (gs, gx) => {
            const r = gpu.device.liPoolStep(withSum ? gs : null, gx, planes, height, width, k, m)
            return { out: take(r.out), nextSum: take(r.nextSum) }
          })
          expectClose('liPoolStep out', got.out, want.out, () => 4)
          expectClose('liPoolStep nextSum', got.nextSum, want.nextSum, () => 8)
        },
      ),
      { numRuns: RUNS * 2 },
    )
  })

  it('axpy and mul', () => {
    fc.assert(
      fc.property(dim(3000), fc.double({ min: -4, max: 4, noNaN: true }), seedArb, (n, alpha, seed) => {
        const a = data(n, seed)
        const b = data(n, seed + 1)
        const [sum, product] = withBuffers([a, b], (ga, gb) => [
          take(gpu.device.axpy(ga, alpha, gb)),
          take(gpu.device.mul(ga, gb)),
        ])
        expectClose('axpy', sum, host.axpy(a, alpha, b), (i) => Math.abs(a[i]) + Math.abs(alpha * b[i]))
        expectClose('mul', product, host.mul(a, b), (i) => Math.abs(a[i] * b[i]))
      }),
      { numRuns: RUNS },
    )
  })

  it('channelAffine (scale and shift float64 host arrays)', () => {
    fc.assert(
      fc.property(dim(4), dim(9), dim(20), seedArb, (outer, channels, inner, seed) => {
        const x = data(outer * channels * inner, seed)
        const scale = Float64Array.from(data(channels, seed + 1, 2))
        const shift = Float64Array.from(data(channels, seed + 2))
        const want = host.channelAffine(x, outer, channels, inner, scale, shift)
        const got = withBuffers([x], (gx) =>
          take(gpu.device.channelAffine(gx, outer, channels, inner, scale, shift)),
        )
        expectClose('channelAffine', got, want, (i) => {
          const c = Math.floor(i / inner) % channels
          return Math.abs(x[i] * scale[c]) + Math.abs(shift[c])
        })
      }),
      { numRuns: RUNS },
    )
  })

  it('groupMean, a remainder dropped', () => {
    fc.assert(
      fc.property(dim(6), dim(30), dim(7), seedArb, (rows, length, size, seed) => {
        fc.pre(size <= length)
        const x = data(rows * length, seed)
        const want = host.groupMean(x, rows, length, size)
        const got = withBuffers([x], (gx) => take(gpu.device.groupMean(gx, rows, length, size)))
        expectClose('groupMean', got, want, () => 1)
      }),
      { numRuns: RUNS },
    )
  })

  it('splits flat indices into coordinates exactly up to 2^23 values (odd and prime sizes)', () => {
    const d = gpu.device
    // a 1 x 1 window copies: every flat index split by (oh, ow) must land on its own cell;
    // 97 is a divisor where float32 floor(i * (1 / 97)) alone is off by one (at i = 97)
    for (const [planes, height, width] of [
      [3, 97, 97],
      [2, 1023, 4097],
    ] as const) {
      const x = data(planes * height * width, height)
      const w: PoolWindow = { kernelH: 1, kernelW: 1, strideH: 1, strideW: 1, padH: 0, padW: 0 }
      const got = withBuffers([x], (gx) => take(d.pool2d(gx, planes, height, width, w, 'max')))
      expectExact(`pool2d 1x1 over [${planes}, ${height}, ${width}]`, got, x)
    }
    // pool2d over [1, 2047, 4097]: output cells split by ow = 2049, oh = 1024
    {
      const [planes, height, width] = [1, 2047, 4097]
      const x = data(planes * height * width, 51)
      const w: PoolWindow = { kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 }
      const got = withBuffers([x], (gx) => take(d.pool2d(gx, planes, height, width, w, 'max')))
      expectExact('pool2d max near the limit', got, host.pool2d(x, planes, height, width, w, 'max'))
    }
    // liPoolStep over [1, 2046, 4098], k = 3: input cells split by w, h and k
    {
      const [planes, height, width, k] = [1, 2046, 4098, 3]
      expect(planes * height * width).toBeLessThanOrEqual(d.maxResidentLength)
      const sum = data(planes * height * width, 53)
      const x = data(planes * height * width, 57)
      const want = host.liPoolStep(sum, x, planes, height, width, k, 'max')
      const got = withBuffers([sum, x], (gs, gx) => {
        const r = d.liPoolStep(gs, gx, planes, height, width, k, 'max')
        return { out: take(r.out), nextSum: take(r.nextSum) }
      })
      expectExact('liPoolStep out near the limit', got.out, want.out)
      expectClose('liPoolStep nextSum near the limit', got.nextSum, want.nextSum, () => 4)
    }
  })

  it('readAll: the buffers one after another, as read gives them; the buffers stay valid', () => {
    const device = gpu.device
    const parts = [3, 1, 5].map((n, j) => Float32Array.from({ length: n }, (_, i) => j * 10 + i + 0.25))
    const bs = parts.map((p) => device.upload(p))
    expect(Array.from(device.readAll(bs))).toEqual(parts.flatMap((p) => Array.from(p)))
    expect(Array.from(device.readAll([bs[1]]))).toEqual(Array.from(parts[1]))
    expect(device.readAll([]).length).toBe(0)
    expect(Array.from(device.read(bs[0]))).toEqual(Array.from(parts[0]))
    bs.forEach((b) => device.free(b))
    expect(() => device.readAll(bs)).toThrow(/freed/)
  })

  it('reads copies; refuses freed buffers; kernels never free or change their arguments', () => {
    const d = gpu.device
    const live = d.liveBuffers()
    const a = d.upload(new Float32Array([1, 2, 3]))
    const r = d.read(a)
    r[0] = 99
    expect(Array.from(d.read(a))).toEqual([1, 2, 3])
    const s = d.axpy(a, 1, a)
    expect(Array.from(d.read(s))).toEqual([2, 4, 6])
    expect(d.liveBuffers()).toBe(live + 2)
    d.free(s)
    d.free(a)
    expect(d.liveBuffers()).toBe(live)
    expect(() => d.read(a)).toThrow(/freed/)
    expect(() => d.axpy(a, 1, a)).toThrow(/freed/)
    expect(() => d.free(a)).toThrow(/freed/)
  })
})

describe('GPU device limits and fallbacks (gpu.js cpu mode)', () => {
  it('keeps an empty buffer and one past 2^23 values on the host, and computes with them there', () => {
    const gpu = gpuBackend({ gpu: new GPU({ mode: 'cpu' }) })
    const d = gpu.device
    expect(d.maxResidentLength).toBe(2 ** 23)
    const empty = d.upload(new Float32Array(0))
    expect(empty.kind).toBe('host')
    expect(d.read(empty).length).toBe(0)
    const e2 = d.axpy(empty, 1, empty)
    expect(e2.kind).toBe('host')
    const n = d.maxResidentLength + 1
    const a = data(n, 3)
    const big = d.upload(a)
    expect(big.kind).toBe('host')
    const sq = d.mul(big, big)
    expect(sq.kind).toBe('host')
    expectExact('mul on the host', d.read(sq), host.mul(a, a))
    const atLimit = d.upload(a.subarray(0, n - 1))
    expect(atLimit.kind).toBe('array')
    ;[empty, e2, big, sq, atLimit].forEach((b) => d.free(b))
    expect(d.liveBuffers()).toBe(0)
    expect(gpu.cachedKernels()).toBe(0) // nothing went to gpu.js
    gpu.destroy()
  })

  it('a kernel gpu.js fails on runs on the host, what it made first is freed, and the failure is reported', () => {
    const real = new GPU({ mode: 'cpu' })
    // the second kernel of fire (the new potential) fails to build
    const failing: GpuJs = {
      mode: 'cpu',
      Kernel: real.Kernel,
      createKernel: (source, settings) =>
        source.includes('thrHi')
          ? () => {
              throw new Error('simulated shader compile error')
            }
          : real.createKernel(source, settings),
    }
    const gpu = gpuBackend({ gpu: failing })
    const d = gpu.device
    const x = data(64, 9)
    const gx = d.upload(x)
    for (let round = 0; round < 2; round++) {
      const r = d.fire(null, gx, 0.2, 'soft', 0)
      expect([r.spikes.kind, r.v.kind]).toEqual(['host', 'host'])
      const want = host.fire(null, x, 0.2, 'soft', 0)
      expectExact('spikes', d.read(r.spikes), want.spikes)
      expectExact('v', d.read(r.v), want.v)
      d.free(r.spikes)
      d.free(r.v)
      expect(d.liveBuffers()).toBe(1) // the spikes the failed attempt made were freed
    }
    expect(gpu.fallbacks().map((f) => f.kernel)).toEqual(['device.fireV.soft.fresh(64)|64|'])
    expect(gpu.fallbacks()[0].reason).toMatch(/simulated/)
    // a host buffer given to a GPU kernel: the kernel still runs on gpu.js
    const hard = d.fire(null, gx, 0.2, 'hard', 0)
    expect(hard.v.kind).toBe('array')
    ;[gx, hard.spikes, hard.v].forEach((b) => d.free(b))
    expect(d.liveBuffers()).toBe(0)
    gpu.destroy()
    void real.destroy()
  })
})

describe('the shared kernel cache', () => {
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

describe.each(['cpu', 'gpu'] as const)('scanOnDevice(pipeline, gpu.device) vs scan(pipeline) (gpu.js mode %s)', (mode) => {
  let gpu: GpuBackend
  beforeAll(async () => {
    gpu = await loadGpuBackend({ mode })
  })
  afterAll(() => gpu.destroy())

  for (const p of pipelines()) {
    it(`${p.name}: same output and final state; every buffer freed; readbacks only at the end`, () => {
      for (const read of ['all', 'last', 'sum'] as const) {
        for (const steps of [1, 5]) {
          const r = compareScan(p, gpu.device, (b) => b.kind, steps, read)
          const what = `${p.name} T=${steps} read ${read}`
          expect(r.outputError, what).toBeLessThanOrEqual(1e-5)
          expect(r.stateError, what).toBeLessThanOrEqual(1e-5)
          expect(r.trace.live, `${what}: buffers left`).toBe(0)
          expect(gpu.device.liveBuffers(), `${what}: device buffers left`).toBe(0)
          if (!r.resident) continue
          expect(Object.keys(r.trace.kinds), what).toEqual(['array'])
          expect(r.trace.reads, `${what}: readbacks`).toBe(1 + p.stateBuffers)
        }
      }
      expect(gpu.fallbacks()).toEqual([])
    })
  }
})
