/**
 * Parity: every kernel of the GPU backend against the CPU reference kernel, on random shapes
 * and data (fast-check), in gpu.js's 'cpu' mode and in the mode gpu.js picks by default here
 * (WebAssembly in Node without GL; the browser test covers WebGL2).
 *
 * Tolerance (float32): selection kernels (max pooling, maxPool2dBy, upsampling) must be exact:
 * they move float32 values without arithmetic. Arithmetic kernels must satisfy
 * `|gpu - cpu| <= 1e-5 * scale + 1e-7`, where `scale` is the sum of the absolute values of the
 * terms behind that output (for matmul `sum_p |a[i,p] b[p,j]| + |bias[j]|`, for a mean the mean
 * of `|x|`, for a variance the mean of `x^2`, ...): float32 accumulation over the moderate
 * lengths generated here stays well below that (observed errors are around 1e-7 relative).
 *
 * gpu.js compiles a kernel per shape, so the runs per property are kept moderate.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PoolMode, Stats } from '../../src/backend/backend.js'
import { pooledSize } from '../../src/backend/backend.js'
import { cpu } from '../../src/backend/cpu/index.js'
import type { GpuBackend, GpuJs } from '../../src/gpu/index.js'
import { gpuBackend, loadGpuBackend } from '../../src/gpu/index.js'
import type { Data } from '../../src/tensor/tensor.js'
import { data, dim, expectClose, expectExact, poolCaseArb as poolCaseArbOf, seedArb } from './tolerance.js'

const RUNS = 30
const poolCaseArb = poolCaseArbOf(5, 12)

const axesArb = fc.record({ outer: dim(5), axis: dim(9), inner: dim(20), seed: seedArb })

/** A common offset, so the two-pass moments are tested where one pass would cancel. */
const offsetArb = fc.double({ min: -10, max: 10, noNaN: true })

describe.each(['cpu', 'gpu'] as const)('GPU kernels vs CPU kernels (gpu.js mode %s)', (mode) => {
  let gpu: GpuBackend
  beforeAll(async () => {
    gpu = await loadGpuBackend({ mode })
  })
  afterAll(() => gpu.destroy())

  it('reports the mode gpu.js compiles for', () => {
    expect(gpu.mode).toBe(mode === 'cpu' ? 'cpu' : 'webasm')
    console.log(`gpu.js mode '${mode}' compiles for: ${gpu.mode}`)
  })

  it('matmul, with and without bias', () => {
    fc.assert(
      fc.property(dim(9), dim(40), dim(9), fc.boolean(), seedArb, (m, k, n, withBias, seed) => {
        const a = data(m * k, seed)
        const b = data(k * n, seed + 1)
        const bias = withBias ? data(n, seed + 2) : undefined
        const want = new Float32Array(m * n)
        const got = new Float32Array(m * n)
        cpu.matmul(want, a, b, m, k, n, bias)
        gpu.matmul(got, a, b, m, k, n, bias)
        expectClose('matmul', got, want, (idx) => {
          const [i, j] = [Math.floor(idx / n), idx % n]
          let s = bias ? Math.abs(bias[j]) : 0
          for (let p = 0; p < k; p++) s += Math.abs(a[i * k + p] * b[p * n + j])
          return s
        })
      }),
      { numRuns: RUNS },
    )
  })

  it('matmul with a reduction longer than gpu.js loop limit (k = 1500)', () => {
    const [m, k, n] = [3, 1500, 4]
    const a = data(m * k, 5)
    const b = data(k * n, 6)
    const want = new Float32Array(m * n)
    const got = new Float32Array(m * n)
    cpu.matmul(want, a, b, m, k, n)
    gpu.matmul(got, a, b, m, k, n)
    expectClose('matmul k=1500', got, want, () => k)
  })

  it('pool2d max is exact and avg within tolerance', () => {
    fc.assert(
      fc.property(poolCaseArb, fc.constantFrom<PoolMode>('max', 'avg'), ({ planes, height, width, window, seed }, m) => {
        const x = data(planes * height * width, seed)
        const [oh, ow] = pooledSize(height, width, window)
        const want = new Float32Array(planes * oh * ow)
        const got = new Float32Array(planes * oh * ow)
        cpu.pool2d(want, x, planes, height, width, window, m)
        gpu.pool2d(got, x, planes, height, width, window, m)
        if (m === 'max') expectExact('pool2d max', got, want)
        else expectClose('pool2d avg', got, want, () => 1)
      }),
      { numRuns: RUNS * 2 },
    )
  })

  it('maxPool2dBy is exact, spike-count keys with ties included', () => {
    fc.assert(
      fc.property(poolCaseArb, ({ planes, height, width, window, seed }) => {
        const size = planes * height * width
        const key = Float32Array.from(data(size, seed), (v) => Math.floor((v + 1) * 2)) // 0..3, many ties
        const value = data(size, seed + 7)
        const [oh, ow] = pooledSize(height, width, window)
        const want = new Float32Array(planes * oh * ow)
        const got = new Float32Array(planes * oh * ow)
        cpu.maxPool2dBy(want, key, value, planes, height, width, window)
        gpu.maxPool2dBy(got, key, value, planes, height, width, window)
        expectExact('maxPool2dBy', got, want)
      }),
      { numRuns: RUNS },
    )
  })

  it('upsampleNearest is exact', () => {
    fc.assert(
      fc.property(dim(4), dim(9), dim(9), dim(4), seedArb, (planes, height, width, factor, seed) => {
        const x = data(planes * height * width, seed)
        const want = new Float32Array(x.length * factor * factor)
        const got = new Float32Array(want.length)
        cpu.upsampleNearest(want, x, planes, height, width, factor)
        gpu.upsampleNearest(got, x, planes, height, width, factor)
        expectExact('upsampleNearest', got, want)
      }),
      { numRuns: RUNS },
    )
  })

  it('mul and axpy, also with out aliasing an input', () => {
    fc.assert(
      fc.property(dim(3000), fc.double({ min: -4, max: 4, noNaN: true }), seedArb, (size, alpha, seed) => {
        const a = data(size, seed)
        const b = data(size, seed + 1)
        const want = new Float32Array(size)
        const got = new Float32Array(size)
        cpu.mul(want, a, b)
        gpu.mul(got, a, b)
        expectClose('mul', got, want, (i) => Math.abs(a[i] * b[i]))
        cpu.axpy(want, a, alpha, b)
        gpu.axpy(got, a, alpha, b)
        const scale = (i: number) => Math.abs(a[i]) + Math.abs(alpha * b[i])
        expectClose('axpy', got, want, scale)
        const aliased = a.slice()
        gpu.axpy(aliased, aliased, alpha, b)
        expectClose('axpy (out = a)', aliased, want, scale)
      }),
      { numRuns: RUNS },
    )
  })

  it('channelAffine', () => {
    fc.assert(
      fc.property(axesArb, ({ outer, axis: channels, inner, seed }) => {
        const x = data(outer * channels * inner, seed, 3)
        const scale = Float64Array.from(data(channels, seed + 1, 2))
        const shift = Float64Array.from(data(channels, seed + 2, 2))
        const want = new Float32Array(x.length)
        const got = new Float32Array(x.length)
        cpu.channelAffine(want, x, outer, channels, inner, scale, shift)
        gpu.channelAffine(got, x, outer, channels, inner, scale, shift)
        expectClose('channelAffine', got, want, (i) => {
          const c = Math.floor(i / inner) % channels
          return Math.abs(x[i] * scale[c]) + Math.abs(shift[c])
        })
      }),
      { numRuns: RUNS },
    )
  })

  it('momentsAlongAxis and normalizeAlongAxis', () => {
    fc.assert(
      fc.property(axesArb, offsetArb, ({ outer, axis, inner, seed }, offset) => {
        const x = Float32Array.from(data(outer * axis * inner, seed, 3), (v) => v + offset)
        const cells = outer * inner
        const [m1, v1, m2, v2] = [0, 1, 2, 3].map(() => new Float64Array(cells))
        cpu.momentsAlongAxis(m1, v1, x, outer, axis, inner)
        gpu.momentsAlongAxis(m2, v2, x, outer, axis, inner)
        const column = (s: number, f: (v: number) => number): number => {
          const [o, i] = [Math.floor(s / inner), s % inner]
          let t = 0
          for (let c = 0; c < axis; c++) t += f(x[(o * axis + c) * inner + i])
          return t / axis
        }
        expectClose('momentsAlongAxis mean', m2, m1, (s) => column(s, Math.abs))
        expectClose('momentsAlongAxis variance', v2, v1, (s) => column(s, (v) => v * v))

        const invStd: Stats = Float64Array.from(v1, (v) => 1 / Math.sqrt(v + 1e-5))
        const weight = data(axis, seed + 3, 2)
        const bias = data(axis, seed + 4, 2)
        const want = new Float32Array(x.length)
        const got = new Float32Array(x.length)
        cpu.normalizeAlongAxis(want, x, outer, axis, inner, m1, invStd, weight, bias)
        gpu.normalizeAlongAxis(got, x, outer, axis, inner, m1, invStd, weight, bias)
        expectClose('normalizeAlongAxis', got, want, (idx) => {
          const [o, c, i] = [Math.floor(idx / (axis * inner)), Math.floor(idx / inner) % axis, idx % inner]
          const s = o * inner + i
          return (Math.abs(x[idx]) + Math.abs(m1[s])) * invStd[s] * Math.abs(weight[c]) + Math.abs(bias[c])
        })
      }),
      { numRuns: RUNS },
    )
  })

  it('momentsPerChannel', () => {
    fc.assert(
      fc.property(axesArb, offsetArb, ({ outer, axis: channels, inner, seed }, offset) => {
        const x = Float32Array.from(data(outer * channels * inner, seed, 3), (v) => v + offset)
        const [m1, v1, m2, v2] = [0, 1, 2, 3].map(() => new Float64Array(channels))
        cpu.momentsPerChannel(m1, v1, x, outer, channels, inner)
        gpu.momentsPerChannel(m2, v2, x, outer, channels, inner)
        const channel = (c: number, f: (v: number) => number): number => {
          let t = 0
          for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) t += f(x[(o * channels + c) * inner + i])
          return t / (outer * inner)
        }
        expectClose('momentsPerChannel mean', m2, m1, (c) => channel(c, Math.abs))
        expectClose('momentsPerChannel variance', v2, v1, (c) => channel(c, (v) => v * v))
      }),
      { numRuns: RUNS },
    )
  })

  it('takes views with an offset, and arrays longer than the shape needs', () => {
    const backing = data(64, 12)
    const a = backing.subarray(5, 5 + 12) // byteOffset 20
    const b = backing.subarray(30, 30 + 12)
    const [want, got] = [new Float32Array(12), new Float32Array(12)]
    cpu.mul(want, a, b)
    gpu.mul(got, a, b)
    expectExact('mul on offset views', got, want)
    const [m, k, n] = [3, 4, 2]
    const bias = data(n + 5, 13) // longer than n
    const [w2, g2] = [new Float32Array(m * n), new Float32Array(m * n)]
    cpu.matmul(w2, backing.subarray(1, 1 + m * k), backing.subarray(20, 20 + k * n), m, k, n, bias)
    gpu.matmul(g2, backing.subarray(1, 1 + m * k), backing.subarray(20, 20 + k * n), m, k, n, bias)
    expectClose('matmul on offset views, long bias', g2, w2, () => k)
    const weight = data(9, 14)
    const cells = 2 * 3
    const mean = new Float64Array(cells + 4).fill(0.25)
    const invStd = new Float64Array(cells + 4).fill(2)
    const x = data(2 * 3 * 3, 15)
    const [w3, g3] = [new Float32Array(x.length), new Float32Array(x.length)]
    cpu.normalizeAlongAxis(w3, x, 2, 3, 3, mean, invStd, weight, weight)
    gpu.normalizeAlongAxis(g3, x, 2, 3, 3, mean, invStd, weight, weight)
    expectClose('normalizeAlongAxis with long stats', g3, w3, () => 4)
  })

  it('liPoolStep (its four GPU kernels): close to the fused CPU kernel, max and avg', () => {
    for (const [k, mode] of [[2, 'max'], [3, 'avg']] as const) {
      const [planes, h, w] = [2, 2 * k, 3 * k]
      const n = planes * h * w
      const [x, sum] = [data(n, 21 + k), data(n, 5 + k, 4)]
      const step = (be: typeof cpu) => {
        const out = new Float32Array(n / (k * k))
        const next = new Float32Array(n)
        be.liPoolStep(out, next, sum, x, planes, h, w, k, mode)
        return [out, next]
      }
      const [[wo, wn], [go, gn]] = [step(cpu), step(gpu)]
      // |total| <= 5, and next is total minus an output of the same size
      expectClose(`liPoolStep ${mode} out`, go, wo, () => 5)
      expectClose(`liPoolStep ${mode} nextSum`, gn, wn, () => 10)
    }
  })

  it('ran every kernel above on gpu.js in its mode (no CPU fallback, ours or gpu.js\'s)', () => {
    expect(gpu.fallbacks()).toEqual([])
    const modes = gpu.kernelModes()
    expect(modes.length).toBeGreaterThan(10)
    expect(modes.filter((k) => k.mode !== gpu.mode)).toEqual([])
  })

  it('delegates kthLargestAlongAxis, groupMean, keepMaxAlongAxis and uniformFill to the CPU kernels (bit-identical)', () => {
    const x = data(2 * 7 * 3, 9)
    const [want, got] = [new Float32Array(6), new Float32Array(6)]
    cpu.kthLargestAlongAxis(want, x, 2, 7, 3, 2)
    gpu.kthLargestAlongAxis(got, x, 2, 7, 3, 2)
    expectExact('kthLargestAlongAxis', got, want)
    const [w2, g2] = [new Float32Array(2 * 3), new Float32Array(2 * 3)]
    cpu.groupMean(w2, x, 2, 21, 7)
    gpu.groupMean(g2, x, 2, 21, 7)
    expectExact('groupMean', g2, w2)
    const u = data(x.length, 4).map(Math.abs)
    const [w3, g3] = [new Float32Array(x.length), new Float32Array(x.length)]
    cpu.keepMaxAlongAxis(w3, x, u, 2, 7, 3)
    gpu.keepMaxAlongAxis(g3, x, u, 2, 7, 3)
    expectExact('keepMaxAlongAxis', g3, w3)
    const words = [1, 2, 3, 4]
    const [w4, g4] = [new Float32Array(50), new Float32Array(50)]
    cpu.uniformFill(w4, words)
    gpu.uniformFill(g4, words)
    expectExact('uniformFill', g4, w4)
  })
})

describe('GPU backend policies', () => {
  let gpu: GpuBackend
  beforeAll(async () => {
    gpu = await loadGpuBackend({ mode: 'cpu', maxKernels: 3 })
  })
  afterAll(() => gpu.destroy())

  it('float64 data runs on the CPU kernels by default (exact), on gpu.js with float64: gpu (float32-close)', async () => {
    const [m, k, n] = [4, 9, 5]
    const a = Float64Array.from(data(m * k, 1))
    const b = Float64Array.from(data(k * n, 2))
    const want = new Float64Array(m * n)
    cpu.matmul(want, a, b, m, k, n)
    const before = gpu.cachedKernels()
    const got: Data = new Float64Array(m * n)
    gpu.matmul(got, a, b, m, k, n)
    expectExact('matmul float64 (cpu policy)', got, want)
    expect(gpu.cachedKernels()).toBe(before)

    const onGpu = await loadGpuBackend({ mode: 'cpu', float64: 'gpu' })
    const rounded = new Float64Array(m * n)
    onGpu.matmul(rounded, a, b, m, k, n)
    expect(onGpu.cachedKernels()).toBe(1)
    expectClose('matmul float64 (gpu policy)', rounded, want, () => k)
    onGpu.destroy()
  })

  it('compiles once per kernel and shape, and evicts the least recently used past maxKernels', () => {
    gpu.clearCache()
    const x = data(12, 3)
    const out = new Float32Array(12)
    gpu.mul(out, x, x)
    gpu.mul(out, x, x)
    expect(gpu.cachedKernels()).toBe(1)
    gpu.axpy(out, x, 2, x)
    gpu.axpy(out, x, -3, x) // alpha is an argument: same kernel
    expect(gpu.cachedKernels()).toBe(2)
    gpu.mul(new Float32Array(5), x.subarray(0, 5), x.subarray(0, 5))
    gpu.mul(new Float32Array(6), x.subarray(0, 6), x.subarray(0, 6))
    expect(gpu.cachedKernels()).toBe(3)
    gpu.clearCache()
    expect(gpu.cachedKernels()).toBe(0)
  })

  it('a kernel gpu.js fails on runs on the CPU kernel from then on, and is reported', () => {
    let calls = 0
    const failing: GpuJs = {
      createKernel: () => () => {
        calls++
        throw new Error('shader did not compile')
      },
    }
    const b = gpuBackend({ gpu: failing })
    const x = data(10, 4)
    const want = new Float32Array(10)
    const got = new Float32Array(10)
    cpu.mul(want, x, x)
    b.mul(got, x, x)
    b.mul(got, x, x)
    expectExact('mul after fallback', got, want)
    expect(calls).toBe(1) // not retried
    expect(b.fallbacks()).toEqual([{ kernel: 'mul|10|', reason: 'shader did not compile' }])
    expect(b.cachedKernels()).toBe(0)
  })

  it('a malformed gpu.js result leaves an aliased output untouched before the CPU kernel runs', () => {
    const short: GpuJs = { createKernel: () => () => new Float32Array(3) }
    const b = gpuBackend({ gpu: short })
    const a = data(8, 5)
    const x = data(8, 6)
    const want = new Float32Array(8)
    cpu.axpy(want, a, 0.5, x)
    b.axpy(a, a, 0.5, x)
    expectExact('axpy (out = a) after fallback', a, want)
    expect(b.fallbacks()[0].reason).toMatch(/returned 3 values, expected 8/)
  })

  it('minElements sends small calls to the CPU kernels', async () => {
    const b = await loadGpuBackend({ mode: 'cpu', minElements: 100 })
    const small = data(99, 7)
    const large = data(100, 8)
    b.mul(new Float32Array(99), small, small)
    expect(b.cachedKernels()).toBe(0)
    b.mul(new Float32Array(100), large, large)
    expect(b.cachedKernels()).toBe(1)
    b.destroy()
  })

  it('empty sizes go to the CPU kernels (nothing compiled)', () => {
    gpu.matmul(new Float32Array(0), new Float32Array(0), new Float32Array(0), 0, 3, 0)
    gpu.mul(new Float32Array(0), new Float32Array(0), new Float32Array(0))
    expect(gpu.cachedKernels()).toBe(0)
  })
})
