/**
 * The browser check's page: loads gpu.js (its browser build, through the package's `browser`
 * field) and the GPU device, runs the device checks (./device.ts: a sample of the parity
 * table, its buffers being textures, the size limit, resident scans of every layer), and
 * publishes the outcome on `window.__gpuCheck` for the test (test/gpu/browser.test.ts).
 * Query: `mode` (a gpu.js mode), `pack` (packTextures), `runs` (calls per kernel, default 3).
 */
import { Texture } from 'gpu.js'
import { type GpuMode, loadGpuBackend } from '../../../src/gpu/index.js'
import { checkDevice, countGlTextures, type DeviceCheck } from './device.js'

export interface GpuCheck {
  readonly mode: string
  readonly webgl2: boolean
  /** Kernels gpu.js failed on (they ran on the host instead). */
  readonly fallbacks: readonly string[]
  /** Kernels that ran in another mode than `mode` (gpu.js's own silent fallback). */
  readonly degraded: readonly string[]
  /** Calls that ran on the host, by kernel. */
  readonly hostCalls: Readonly<Record<string, number>>
  /** The device's check (absent when the page failed before it). */
  readonly device?: DeviceCheck
  readonly error?: string
}

declare global {
  interface Window {
    __gpuCheck?: GpuCheck
  }
}

const run = async (): Promise<GpuCheck> => {
  const glTextures = countGlTextures()
  const webgl2 = document.createElement('canvas').getContext('webgl2') !== null
  const query = new URLSearchParams(location.search)
  const asked = query.get('mode') as GpuMode | null
  const packTextures = query.has('pack')
  const runs = Number(query.get('runs') ?? 3)
  const options = { ...(asked ? { mode: asked } : {}), packTextures, maxKernels: 512 }
  const gpu = await loadGpuBackend(options)
  const evicting = await loadGpuBackend({ ...options, maxKernels: 1 })
  const device = checkDevice(gpu, evicting, Texture, glTextures, runs)
  evicting.destroy()
  const mode = gpu.mode
  const fallbacks = gpu.fallbacks().map((f) => `${f.kernel}: ${f.reason}`)
  const degraded = gpu.kernelModes().filter((k) => k.mode !== mode).map((k) => `${k.kernel}: ${k.mode}`)
  const hostCalls = gpu.hostCalls()
  gpu.destroy()
  return { mode, webgl2, fallbacks, degraded, hostCalls, device }
}

run().then(
  (r) => {
    window.__gpuCheck = r
  },
  (e: unknown) => {
    const error = e instanceof Error ? (e.stack ?? e.message) : String(e)
    window.__gpuCheck = { mode: 'none', webgl2: false, fallbacks: [], degraded: [], hostCalls: {}, error }
  },
)
