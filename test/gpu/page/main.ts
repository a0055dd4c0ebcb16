/**
 * The browser check's page: loads gpu.js (its browser build, through the package's `browser`
 * field) and the GPU backend, runs matmul and pool2d on it and on the CPU reference kernels,
 * then checks the GPU device (./device.ts: its kernels, its buffers being textures, resident
 * scans), and publishes the outcome on `window.__gpuCheck` for the test (test/gpu/browser.test.ts).
 */
import { Texture } from 'gpu.js'
import type { PoolWindow } from '../../../src/backend/backend.js'
import { pooledSize } from '../../../src/backend/backend.js'
import { cpu } from '../../../src/backend/cpu/index.js'
import { type GpuMode, loadGpuBackend } from '../../../src/gpu/index.js'
import { checkDevice, countGlTextures, type DeviceCheck } from './device.js'

interface Comparison {
  readonly kernel: string
  readonly size: number
  /** Largest |gpu - cpu| / (1 + scale), scale the magnitude of what was summed. */
  readonly error: number
}

export interface GpuCheck {
  readonly mode: string
  readonly webgl2: boolean
  readonly comparisons: readonly Comparison[]
  /** Kernels gpu.js failed on (they ran on the CPU kernels instead). */
  readonly fallbacks: readonly string[]
  /** Kernels that ran in another mode than `mode` (gpu.js's own silent fallback). */
  readonly degraded: readonly string[]
  /** The GPU device's check (absent when the page failed before it). */
  readonly device?: DeviceCheck
  readonly error?: string
}

declare global {
  interface Window {
    __gpuCheck?: GpuCheck
  }
}

/** Deterministic inputs in [-1, 1). */
const data = (n: number, seed: number): Float32Array => {
  let s = seed >>> 0
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = s / 2 ** 31 - 1
  }
  return out
}

const f32 = (a: Float64Array): Float32Array => Float32Array.from(a)

const worst = (a: Float32Array, b: Float32Array, scale: number): number => {
  let d = 0
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]) / (1 + scale))
  return Number.isNaN(d) ? Infinity : d
}

const run = async (): Promise<GpuCheck> => {
  const glTextures = countGlTextures()
  const canvas = document.createElement('canvas')
  const webgl2 = canvas.getContext('webgl2') !== null
  const query = new URLSearchParams(location.search)
  const asked = query.get('mode') as GpuMode | null
  const packTextures = query.has('pack')
  const gpu = await loadGpuBackend({ ...(asked ? { mode: asked } : {}), packTextures })
  const comparisons: Comparison[] = []

  for (const [m, k, n] of [
    [16, 64, 24],
    [33, 200, 10],
    [3, 1500, 4], // longer than gpu.js's default loop limit (1000)
  ] as const) {
    const a = data(m * k, m)
    const b = data(k * n, n)
    const bias = data(n, k)
    const want = new Float32Array(m * n)
    const got = new Float32Array(m * n)
    cpu.matmul(want, a, b, m, k, n, bias)
    gpu.matmul(got, a, b, m, k, n, bias)
    comparisons.push({ kernel: `matmul ${m}x${k}x${n}`, size: got.length, error: worst(got, want, k) })
  }

  const planes = 6
  const [height, width] = [28, 30]
  const x = data(planes * height * width, 7)
  const windows: readonly PoolWindow[] = [
    { kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0 },
    { kernelH: 3, kernelW: 3, strideH: 2, strideW: 2, padH: 1, padW: 1 },
  ]
  for (const w of windows) {
    for (const mode of ['max', 'avg'] as const) {
      const [oh, ow] = pooledSize(height, width, w)
      const want = new Float32Array(planes * oh * ow)
      const got = new Float32Array(planes * oh * ow)
      cpu.pool2d(want, x, planes, height, width, w, mode)
      gpu.pool2d(got, x, planes, height, width, w, mode)
      const kernel = `pool2d ${mode} k${w.kernelH} s${w.strideH} p${w.padH}`
      comparisons.push({ kernel, size: got.length, error: worst(got, want, 1) })
    }
  }
  // the other GPU kernels, once each, on sizes that exercise the index arithmetic
  const key = data(x.length, 11)
  {
    const w = windows[1]
    const [oh, ow] = pooledSize(height, width, w)
    const want = new Float32Array(planes * oh * ow)
    const got = new Float32Array(planes * oh * ow)
    cpu.maxPool2dBy(want, key, x, planes, height, width, w)
    gpu.maxPool2dBy(got, key, x, planes, height, width, w)
    comparisons.push({ kernel: 'maxPool2dBy k3 s2 p1', size: got.length, error: worst(got, want, 1) })
  }
  for (const factor of [2, 3]) {
    const want = new Float32Array(x.length * factor * factor)
    const got = new Float32Array(want.length)
    cpu.upsampleNearest(want, x, planes, height, width, factor)
    gpu.upsampleNearest(got, x, planes, height, width, factor)
    comparisons.push({ kernel: `upsampleNearest x${factor}`, size: got.length, error: worst(got, want, 1) })
  }
  {
    const big = 4_194_307 // past 2^22: index arithmetic in float32 must still be exact
    const a = data(big, 3)
    const b = data(big, 5)
    const want = new Float32Array(big)
    const got = new Float32Array(big)
    cpu.mul(want, a, b)
    gpu.mul(got, a, b)
    comparisons.push({ kernel: 'mul', size: big, error: worst(got, want, 1) })
    cpu.axpy(want, a, -0.375, b)
    gpu.axpy(got, a, -0.375, b)
    comparisons.push({ kernel: 'axpy', size: big, error: worst(got, want, 1) })
  }
  {
    const [outer, channels, inner] = [4, 6, height * width]
    const xs = data(outer * channels * inner, 19)
    const want = new Float32Array(xs.length)
    const got = new Float32Array(xs.length)
    const scale = Float64Array.from(data(channels, 13))
    const shift = Float64Array.from(data(channels, 17))
    cpu.channelAffine(want, xs, outer, channels, inner, scale, shift)
    gpu.channelAffine(got, xs, outer, channels, inner, scale, shift)
    comparisons.push({ kernel: 'channelAffine', size: got.length, error: worst(got, want, 1) })

    const stats = (n: number): Float64Array[] => [0, 1, 2, 3].map(() => new Float64Array(n))
    const [m1, v1, m2, v2] = stats(outer * inner)
    cpu.momentsAlongAxis(m1, v1, xs, outer, channels, inner)
    gpu.momentsAlongAxis(m2, v2, xs, outer, channels, inner)
    const momentsError = Math.max(worst(f32(m2), f32(m1), 1), worst(f32(v2), f32(v1), 1))
    comparisons.push({ kernel: 'momentsAlongAxis', size: m2.length * 2, error: momentsError })

    const invStd = Float64Array.from(v1, (v) => 1 / Math.sqrt(v + 1e-5))
    const weight = data(channels, 23)
    const bias = data(channels, 29)
    cpu.normalizeAlongAxis(want, xs, outer, channels, inner, m1, invStd, weight, bias)
    gpu.normalizeAlongAxis(got, xs, outer, channels, inner, m1, invStd, weight, bias)
    comparisons.push({ kernel: 'normalizeAlongAxis', size: got.length, error: worst(got, want, 10) })

    const [mc1, vc1, mc2, vc2] = stats(channels)
    cpu.momentsPerChannel(mc1, vc1, xs, outer, channels, inner)
    gpu.momentsPerChannel(mc2, vc2, xs, outer, channels, inner)
    const channelError = Math.max(worst(f32(mc2), f32(mc1), 1), worst(f32(vc2), f32(vc1), 1))
    comparisons.push({ kernel: 'momentsPerChannel', size: channels * 2, error: channelError })
  }
  const evicting = await loadGpuBackend({ ...(asked ? { mode: asked } : {}), maxKernels: 1, packTextures })
  const device = checkDevice(gpu, evicting, Texture, glTextures)
  evicting.destroy()
  const mode = gpu.mode
  const fallbacks = gpu.fallbacks().map((f) => `${f.kernel}: ${f.reason}`)
  const degraded = gpu.kernelModes().filter((k) => k.mode !== mode).map((k) => `${k.kernel}: ${k.mode}`)
  gpu.destroy()
  return { mode, webgl2, comparisons, fallbacks, degraded, device }
}

run().then(
  (r) => {
    window.__gpuCheck = r
  },
  (e: unknown) => {
    const error = e instanceof Error ? (e.stack ?? e.message) : String(e)
    window.__gpuCheck = { mode: 'none', webgl2: false, comparisons: [], fallbacks: [], degraded: [], error }
  },
)
