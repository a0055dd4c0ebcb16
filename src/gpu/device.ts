/**
 * The GPU device: a {@link Device} on gpu.js whose buffers stay on the GPU between kernels.
 *
 * Every kernel goes through one `run`: a kernel with a row in `kernels.ts` runs there, on
 * compiled gpu.js kernels, when its sizes fit (every buffer argument and output holds between
 * 1 and {@link GpuDevice.maxResidentLength} values, so that float32 index arithmetic is exact)
 * and the row's `when` agrees; everything else (the kernels of `gpuUnported`, empty or larger
 * calls, a kernel gpu.js fails to compile or run) runs on the host, through `fallbackTo` and
 * the `cpu` reference: its arguments read back, its outputs uploaded. A gpu.js failure is
 * remembered (`fallbacks()`), and that kernel and shape runs on the host from then on; a
 * failed attempt frees what it made first. So every call works, and `hostCalls()` says which
 * ran on the host.
 *
 * Precision. GPU buffers hold float32 (`dtypeOf` says `'float32'`), statistics included; sums
 * (matmul, pooling averages, moments, group means) accumulate in float32, where the reference
 * accumulates statistics in float64: results agree within float32 rounding of the summed
 * magnitudes. Float64 data (the `float64` option): by default it is kept exact, on the host,
 * and every call with a float64 argument (or a float64 draw) runs on the `cpu` reference in
 * float64, so a float64 model gives exactly the reference's bits; with `float64: 'gpu'` it is
 * rounded to float32 on upload and runs on the GPU like float32 data (and reads back float32).
 *
 * @module
 */
import { cpu } from '../backend/cpu/index.js'
import { type BufferOps, type Device, deviceFrom, type RunKernel } from '../kernel/device.js'
import { fallbackTo } from '../kernel/fallback.js'
import type { KernelName } from '../kernel/kernels.js'
import { attrsArg, bufferArgs, kernelSpecs } from '../kernel/spec.js'
import type { DType } from '../tensor/tensor.js'
import { type GpuBuffer, type GpuBuffers, gpuBuffers, type Launcher } from './buffers.js'
import { type GpuFallback, type GpuJs, kernelCache } from './kernelCache.js'
import { type GpuRow, gpuKernels } from './kernels.js'
import { type KernelMode, kernelMode, modeOf } from './mode.js'
import { MAX_RESIDENT_LENGTH } from './sources.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** How the GPU device is built. */
export interface GpuBackendOptions {
  /**
   * Where float64 data runs: `'cpu'` (default) keeps it exact, on the host, running every call
   * with a float64 argument on the `cpu` reference; `'gpu'` rounds it to float32 on upload and
   * runs it on the GPU (results then read back as float32).
   */
  readonly float64?: 'cpu' | 'gpu'
  /**
   * How many compiled kernels (one per kernel and shape) to keep; the least recently used goes
   * first (one whose textures are still alive is freed with the last of them). Default 64.
   */
  readonly maxKernels?: number
  /**
   * Whether buffers are gpu.js memory-optimized textures, four float32 values per texel, rather
   * than one value per texel. Default `false`. Faster for bandwidth-bound (pooling, elementwise)
   * pipelines, slower for matmul-heavy ones, whose fragments then compute four dot products
   * each; README's GPU section has the measurements.
   */
  readonly packTextures?: boolean
}

/** The GPU device: a {@link Device} over {@link GpuBuffer}s on gpu.js; see the module doc. */
export interface GpuDevice extends Device<GpuBuffer> {
  /** The gpu.js mode the kernels compile for: `'webgl2'`, `'webgl'`, `'headlessgl'`, `'webasm'`, `'cpu'`, ... */
  readonly mode: string
  /** The most values a buffer holds on the GPU (`2^23`); larger ones are kept on the host. */
  readonly maxResidentLength: number
  /** How many buffers this device made that are not freed yet: 0 after a scan that freed all it made. */
  readonly liveBuffers: () => number
  /** The number of compiled kernels held in the cache now. */
  readonly cachedKernels: () => number
  /**
   * The kernels (name and sizes) gpu.js failed to compile or run, with its message. Such a
   * call runs on the host instead, and so does every later call of that kernel and shape;
   * empty when everything ran on gpu.js.
   */
  readonly fallbacks: () => readonly GpuFallback[]
  /**
   * How many calls of each kernel ran on the host since the device was made: the kernels of
   * `gpuUnported`, float64 data kept exact, empty calls and calls past the size limit, and the
   * kernels of `fallbacks()`.
   */
  readonly hostCalls: () => Readonly<Partial<Record<KernelName, number>>>
  /**
   * Each cached kernel (name and sizes) with the gpu.js mode it actually runs in, to check that
   * nothing degraded: gpu.js may replace a kernel that cannot build in its mode by its CPU
   * kernel, with no more than a console warning.
   */
  readonly kernelModes: () => readonly KernelMode[]
  /**
   * Frees every compiled kernel (one whose textures are still alive goes when the last of them
   * is freed); the device stays usable and compiles again on demand.
   */
  readonly clearCache: () => void
  /**
   * Frees the kernels (the device's textures die with them) and, when the device created the
   * gpu.js instance, that instance too.
   */
  readonly destroy: () => void
}

/** The same value as {@link GpuDevice}: the name the GPU entry had when it was a per-call backend. */
export type GpuBackend = GpuDevice

// ---------------------------------------------------------------------------------------------
// utils
// ---------------------------------------------------------------------------------------------

/** gpu.js modes whose kernels return Promises: the kernel interface is synchronous. */
const refuseAsync = (gpu: GpuJs, mode: string): void => {
  if (mode === 'webgpu' || gpu.mode === 'async' || gpu.mode === 'webgpu') {
    throw new TypeError(
      `braincog-fn/gpu: gpu.js mode '${gpu.mode ?? mode}' returns Promises, and the kernel interface is synchronous; ` +
        "use 'gpu' (default), 'webgl2', 'webgl', 'headlessgl', 'webasm' or 'cpu'",
    )
  }
}

const fitsResident = (n: number): boolean => Number.isInteger(n) && n >= 1 && n <= MAX_RESIDENT_LENGTH

type Buffers = readonly (GpuBuffer | null)[]

/** Whether a call of `row` fits the GPU: every buffer and output within limits, and the row's own condition. */
const fits = (name: KernelName, row: GpuRow<KernelName>, buffers: Buffers, attrs: object): boolean =>
  buffers.every((b) => b === null || fitsResident(b.length)) &&
  kernelSpecs[name].lengths(attrs as never, buffers.map((b) => (b === null ? null : b.length))).every(fitsResident) &&
  (row.when?.(attrs as never) ?? true)

/** Whether a call computes in float64: a float64 argument, or a float64 dtype asked for. */
const isFloat64Call = (store: GpuBuffers, name: KernelName, buffers: Buffers, attrs: object): boolean =>
  buffers.some((b) => b !== null && store.dtypeOf(b) === 'float64') ||
  (kernelSpecs[name].dtype === 'attr' && (attrs as { readonly dtype?: DType }).dtype === 'float64')

/**
 * Runs `row` on the launcher's kernels, its outputs in the spec's order; if anything throws,
 * frees every buffer the attempt made that is still alive before the error goes on.
 */
const attempt = (
  store: GpuBuffers,
  name: KernelName,
  row: GpuRow<KernelName>,
  args: readonly unknown[],
): readonly GpuBuffer[] => {
  const made: GpuBuffer[] = []
  try {
    const run = row.run as (g: Launcher, ...rest: readonly unknown[]) => unknown
    const out = run(store.launcher(made), ...args)
    const names = kernelSpecs[name].outputs
    if (names === 'list') return out as readonly GpuBuffer[]
    return names.length === 1 ? [out as GpuBuffer] : names.map((n) => (out as Readonly<Record<string, GpuBuffer>>)[n])
  } catch (e) {
    for (const b of made) if (store.has(b)) store.free(b)
    throw e
  }
}

// ---------------------------------------------------------------------------------------------
// constructor
// ---------------------------------------------------------------------------------------------

/**
 * The GPU device over a gpu.js instance you created (`new GPU({ mode })`). Kernels compile on
 * first use for each shape. Prefer `loadGpuBackend` from `braincog-fn/gpu`, which loads gpu.js
 * for you.
 *
 * @param ownsGpu whether {@link GpuDevice.destroy} also destroys `gpu`.
 * @param gpuModule the gpu.js module `gpu` came from, to name its GL mode exactly.
 * @throws TypeError for gpu.js's asynchronous modes (`'webgpu'`, `'async'`).
 */
export const makeGpuDevice = (
  gpu: GpuJs,
  options: GpuBackendOptions = {},
  ownsGpu = false,
  gpuModule?: Readonly<Record<string, unknown>>,
): GpuDevice => {
  const mode = modeOf(gpu, gpuModule)
  refuseAsync(gpu, mode)
  const cache = kernelCache(gpu, Math.max(1, options.maxKernels ?? 64), options.packTextures === true)
  const store = gpuBuffers(cache, mode)
  const exact = options.float64 !== 'gpu'
  const name = `gpu(${mode})`

  /** The buffer operations, uploading float64 data exactly (kept on the host) or rounded. */
  const ops = (keepFloat64: boolean): BufferOps<GpuBuffer> => ({
    name,
    dtypeOf: store.dtypeOf,
    lengthOf: (b) => b.length,
    upload: (data) => store.upload(data, keepFloat64),
    read: store.read,
    free: store.free,
  })
  // float32 calls give float32 outputs, on the GPU; float64 calls keep float64 outputs exact
  const onHostRounded = fallbackTo(cpu, ops(false))
  const onHostExact = fallbackTo(cpu, ops(true))
  const hostCalls = new Map<KernelName, number>()
  const onHost = (kernel: KernelName, args: readonly unknown[], float64: boolean): readonly GpuBuffer[] => {
    hostCalls.set(kernel, (hostCalls.get(kernel) ?? 0) + 1)
    return (float64 ? onHostExact : onHostRounded)(kernel, args)
  }
  const rows = gpuKernels as Readonly<Partial<Record<KernelName, GpuRow<KernelName>>>>

  const run: RunKernel<GpuBuffer> = (kernel, args) => {
    const buffers = bufferArgs<GpuBuffer>(kernel, args)
    store.check(kernel, buffers)
    const attrs = attrsArg(kernel, args)
    if (exact && isFloat64Call(store, kernel, buffers, attrs)) return onHost(kernel, args, true)
    const row = rows[kernel]
    if (row === undefined || !fits(kernel, row, buffers, attrs)) return onHost(kernel, args, false)
    return cache.guarded(
      () => attempt(store, kernel, row, args),
      () => onHost(kernel, args, false),
    )
  }

  return {
    ...deviceFrom(ops(exact), run),
    mode,
    maxResidentLength: MAX_RESIDENT_LENGTH,
    liveBuffers: store.count,
    cachedKernels: () => cache.entries().length,
    fallbacks: cache.fallbacks,
    hostCalls: () => Object.fromEntries(hostCalls),
    kernelModes: () => cache.entries().map(([kernel, k]) => ({ kernel, mode: kernelMode(k, gpuModule) })),
    clearCache: cache.clear,
    destroy: () => {
      cache.destroy()
      if (!ownsGpu) return
      try {
        void Promise.resolve(gpu.destroy?.()).catch(() => undefined)
      } catch {
        // nothing left to free
      }
    },
  }
}
