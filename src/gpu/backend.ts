/**
 * The GPU backend: the {@link Backend} kernels as gpu.js kernels, compiled once per shape and
 * cached, with the CPU reference kernels for the rest.
 *
 * This module never imports gpu.js: it receives a gpu.js `GPU` instance (structurally typed as
 * {@link GpuJs}), so it type-checks and loads without the package. The entry point
 * (`braincog-fn/gpu`) loads gpu.js on demand.
 *
 * What runs where:
 *
 * - on the GPU: `matmul` (bias added in the same kernel), `pool2d` (max and average),
 *   `liPoolStep` (as its four kernels: axpy, pool2d, upsampleNearest, axpy),
 *   `maxPool2dBy`, `upsampleNearest`, `mul`, `axpy`, `channelAffine`, `normalizeAlongAxis`,
 *   `momentsAlongAxis` (one thread per reduced column, both passes in the thread, mean and
 *   variance from one kernel), and `momentsPerChannel` (one kernel gives each (outer, channel)
 *   row's sum and squared deviations; the host merges the rows in float64);
 * - on the CPU reference kernels: `kthLargestAlongAxis` (a per-column sort; WTALayer),
 *   `keepMaxAlongAxis` and `uniformFill` (WTALayer's k = 1 selection and noise), `groupMean`
 *   (VotingLayer; a single cheap pass), every call with an empty size, every call smaller
 *   than `minElements`, and, unless `float64: 'gpu'`, every call whose data is float64
 *   (gpu.js computes in float32 only).
 *
 * What stays on the GPU: nothing between Backend calls. The Backend interface is flat arrays
 * in, flat arrays out, so every kernel call uploads its inputs and reads its output back. What
 * is fused instead, so that one call is one upload and one readback: matmul and its bias, and
 * both moments (mean and variance come from one kernel, for either moments kernel). To keep
 * tensors on the GPU between kernels, use the backend's {@link GpuBackend.device} (gpu.js
 * pipeline textures) with `scanOnDevice`.
 *
 * @module
 */
import type { Backend, PoolMode, PoolWindow } from '../backend/backend.js'
import { pooledSize } from '../backend/backend.js'
import { cpu } from '../backend/cpu/index.js'
import type { Data } from '../tensor/tensor.js'
import { alloc } from '../tensor/tensor.js'
import { type GpuDevice, makeGpuDevice } from './device.js'
import { type GpuFallback, type GpuJs, type GpuJsKernel, copyOut, f32, kernelCache } from './kernelCache.js'
import * as K from './kernels.js'

export type { GpuFallback, GpuJs, GpuJsKernel } from './kernelCache.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** Where one compiled kernel runs. */
export interface KernelMode {
  /** The cache key: kernel name and sizes. */
  readonly kernel: string
  /** The gpu.js mode it was compiled for, e.g. `webgl2`, `webasm`, `cpu`. */
  readonly mode: string
}

/** How the GPU backend is built. */
export interface GpuBackendOptions {
  /**
   * Where float64 data runs: `'cpu'` (default) keeps float64 exact by running those calls on
   * the CPU reference kernels; `'gpu'` runs them on the GPU in float32 and writes the rounded
   * results into the float64 outputs.
   */
  readonly float64?: 'cpu' | 'gpu'
  /**
   * How many compiled kernels (one per kernel and shape, the device's included) to keep; the
   * least recently used goes first. Default 64.
   */
  readonly maxKernels?: number
  /**
   * Calls whose largest array holds fewer values than this run on the CPU kernels: for small
   * tensors the upload and readback cost more than the kernel saves. Default 0 (every call of a
   * GPU kernel goes to gpu.js).
   */
  readonly minElements?: number
  /**
   * Whether the device's buffers (`device`, resident scans) are gpu.js memory-optimized
   * textures, four float32 values per texel, rather than one value per texel. Default `false`.
   * Measured on an NVIDIA H200 (WebGL2 through ANGLE): packed, a bandwidth-bound kernel runs
   * 2.4-2.9x faster (an `axpy` over 1M values: 0.31 against 0.90 ms on Vulkan) and a pooling
   * scan 1.2-1.8x faster, but a matmul-heavy scan 1.45-1.65x slower (a fragment then computes
   * four outputs, each a long dot product, with a quarter of the parallelism). Pack for
   * pooling and elementwise pipelines; leave it off for wide CustomLinear layers.
   */
  readonly packTextures?: boolean
}

/** A {@link Backend} whose heavy kernels run on gpu.js. */
export interface GpuBackend extends Backend {
  /** The gpu.js mode the kernels compile for: `'webgl2'`, `'webgl'`, `'headlessgl'`, `'webasm'`, `'cpu'`, ... */
  readonly mode: string
  /** The number of compiled kernels held in the cache now. */
  readonly cachedKernels: () => number
  /**
   * The kernels (name and sizes) gpu.js failed to compile or run, with its message. Such a
   * call runs on the CPU kernel instead, and so does every later call of that kernel and shape;
   * empty when everything ran on gpu.js.
   */
  readonly fallbacks: () => readonly GpuFallback[]
  /**
   * Each cached kernel (name and sizes) with the gpu.js mode it actually runs in, to check that
   * nothing degraded: gpu.js may replace a kernel that cannot build in its mode by its CPU
   * kernel, with no more than a console warning.
   */
  readonly kernelModes: () => readonly KernelMode[]
  /**
   * Frees every compiled kernel (one whose device textures are still alive goes when the last
   * of them is freed); the backend stays usable and compiles again on demand.
   */
  readonly clearCache: () => void
  /**
   * The GPU device on the same gpu.js instance and kernel cache: buffers that stay on the GPU
   * between kernels, for `scanOnDevice(net, backend.device)` (see {@link GpuDevice}).
   */
  readonly device: GpuDevice
  /**
   * Frees the kernels (the device's buffers die with them) and, when the backend created the
   * gpu.js instance, that instance too.
   */
  readonly destroy: () => void
}

// ---------------------------------------------------------------------------------------------
// utils
// ---------------------------------------------------------------------------------------------

const GL_KERNELS: readonly (readonly [string, string])[] = [
  ['WebGL2Kernel', 'webgl2'],
  ['HeadlessGLKernel', 'headlessgl'],
  ['WebGLKernel', 'webgl'],
]

/**
 * The gpu.js mode an instance compiles for. gpu.js's kernel classes name their mode, except
 * that the three GL ones all say `'gpu'`; those are told apart by identity with the classes of
 * the gpu.js module (`gpuModule`, when known), else by class name, else by the `mode` setting.
 */
export const modeOf = (gpu: GpuJs, gpuModule?: Readonly<Record<string, unknown>>): string =>
  classMode(gpu.Kernel, gpuModule) ?? gpu.mode ?? 'unknown'

/** The mode of a gpu.js kernel class, GL classes told apart; `undefined` if it does not say. */
const classMode = (kernelClass: unknown, gpuModule?: Readonly<Record<string, unknown>>): string | undefined => {
  const k = kernelClass as { readonly mode?: unknown; readonly name?: unknown } | null | undefined
  const mode = k && typeof k.mode === 'string' ? k.mode : undefined
  if (mode !== undefined && mode !== 'gpu') return mode
  for (const [name, glMode] of GL_KERNELS) if (gpuModule && gpuModule[name] === kernelClass) return glMode
  const className = k && typeof k.name === 'string' ? k.name : ''
  for (const [name, glMode] of GL_KERNELS) if (className === name) return glMode
  return mode
}

/**
 * The mode a compiled kernel actually runs in: gpu.js replaces a kernel that cannot build in
 * its mode by a fallback (the WebAssembly backend by its 'cpu' kernel, say), silently but for a
 * console warning. `'not built'` before its first call.
 */
const kernelMode = (k: GpuJsKernel, gpuModule?: Readonly<Record<string, unknown>>): string => {
  const inner = (k as { readonly kernel?: unknown }).kernel
  if (inner === null || typeof inner !== 'object') return 'not built'
  return classMode(inner.constructor, gpuModule) ?? 'unknown'
}

// ---------------------------------------------------------------------------------------------
// constructor
// ---------------------------------------------------------------------------------------------

/**
 * Builds the GPU backend over a gpu.js instance you created (`new GPU({ mode })`). Kernels
 * compile on first use for each shape (the first call of a shape pays the compile, later
 * calls reuse it). Prefer `loadGpuBackend` from `braincog-fn/gpu`, which loads gpu.js for you.
 *
 * @param ownsGpu whether {@link GpuBackend.destroy} also destroys `gpu`.
 * @param gpuModule the gpu.js module `gpu` came from, to name its GL mode exactly.
 * @throws TypeError for gpu.js's asynchronous modes (`'webgpu'`, `'async'`): kernels here are synchronous.
 */
export const makeGpuBackend = (
  gpu: GpuJs,
  options: GpuBackendOptions = {},
  ownsGpu = false,
  gpuModule?: Readonly<Record<string, unknown>>,
): GpuBackend => {
  const mode = modeOf(gpu, gpuModule)
  if (mode === 'webgpu' || gpu.mode === 'async' || gpu.mode === 'webgpu') {
    throw new TypeError(
      `braincog-fn/gpu: gpu.js mode '${gpu.mode ?? mode}' returns Promises, and the kernel interface is synchronous; ` +
        "use 'gpu' (default), 'webgl2', 'webgl', 'headlessgl', 'webasm' or 'cpu'",
    )
  }
  const maxKernels = Math.max(1, options.maxKernels ?? 64)
  const float64OnGpu = options.float64 === 'gpu'
  const minElements = Math.max(0, options.minElements ?? 0)
  const cache = kernelCache(gpu, maxKernels, options.packTextures === true)
  const { kernel, guarded } = cache

  /** Whether a call goes to the GPU: no empty size, float64 data only where allowed, not too small. */
  const onGpu = (sizes: readonly number[], ...data: readonly Data[]): boolean =>
    sizes.every((s) => s > 0) &&
    (float64OnGpu || data.every((d) => d instanceof Float32Array)) &&
    (minElements === 0 || data.some((d) => d.length >= minElements))

  const backend: GpuBackend = {
    name: 'gpu',
    mode,

    matmul: (out, a, b, m, k, n, bias) => {
      const onCpu = (): void => cpu.matmul(out, a, b, m, k, n, bias)
      if (!onGpu([m, k, n], out, a, b, ...(bias ? [bias] : []))) return onCpu()
      guarded(() => {
        const run = bias
          ? kernel('matmulBias', K.matmulBias, [n, m], { k, n }, k)(f32(a, m * k), f32(b, k * n), f32(bias, n))
          : kernel('matmul', K.matmul, [n, m], { k, n }, k)(f32(a, m * k), f32(b, k * n))
        copyOut('matmul', out, run)
      }, onCpu)
    },

    momentsAlongAxis: (mean, variance, x, outer, axis, inner) => {
      const onCpu = (): void => cpu.momentsAlongAxis(mean, variance, x, outer, axis, inner)
      if (!onGpu([outer, axis, inner], x)) return onCpu()
      guarded(() => {
        const cells = outer * inner
        const both = new Float64Array(2 * cells) // [means | variances]
        const run = kernel('momentsAlongAxis', K.momentsAlongAxis, [inner, outer, 2], { axis, inner }, axis)
        copyOut('momentsAlongAxis', both, run(f32(x, outer * axis * inner)))
        mean.set(both.subarray(0, cells))
        variance.set(both.subarray(cells))
      }, onCpu)
    },

    momentsPerChannel: (mean, variance, x, outer, channels, inner) => {
      const onCpu = (): void => cpu.momentsPerChannel(mean, variance, x, outer, channels, inner)
      if (!onGpu([outer, channels, inner], x)) return onCpu()
      guarded(() => {
        const rows = outer * channels
        const partial = new Float64Array(2 * rows) // [sums (o, c) | squared deviations (o, c)]
        const constants = { channels, inner }
        const run = kernel('channelPartialMoments', K.channelPartialMoments, [channels, outer, 2], constants, inner)
        copyOut('momentsPerChannel', partial, run(f32(x, outer * channels * inner)))
        // merge the rows of each channel: equal counts, so the spread of the row means adds
        // inner * sum_o (mean_o - mean)^2 to the rows' own squared deviations
        const count = outer * inner
        for (let c = 0; c < channels; c++) {
          let sum = 0
          for (let o = 0; o < outer; o++) sum += partial[o * channels + c]
          const mu = sum / count
          let squares = 0
          for (let o = 0; o < outer; o++) {
            const d = partial[o * channels + c] / inner - mu
            squares += partial[rows + o * channels + c] + inner * d * d
          }
          mean[c] = mu
          variance[c] = squares / count
        }
      }, onCpu)
    },

    normalizeAlongAxis: (out, x, outer, axis, inner, mean, invStd, weight, bias) => {
      const onCpu = (): void => cpu.normalizeAlongAxis(out, x, outer, axis, inner, mean, invStd, weight, bias)
      if (!onGpu([outer, axis, inner], out, x, weight, bias)) return onCpu()
      guarded(() => {
        const run = kernel('normalizeAlongAxis', K.normalizeAlongAxis, [inner, axis, outer], { axis, inner })
        copyOut('normalizeAlongAxis', out, run(
          f32(x, outer * axis * inner),
          f32(mean, outer * inner),
          f32(invStd, outer * inner),
          f32(weight, axis),
          f32(bias, axis),
        ))
      }, onCpu)
    },

    channelAffine: (out, x, outer, channels, inner, scale, shift) => {
      const onCpu = (): void => cpu.channelAffine(out, x, outer, channels, inner, scale, shift)
      if (!onGpu([outer, channels, inner], out, x)) return onCpu()
      guarded(() => {
        const run = kernel('channelAffine', K.channelAffine, [inner, channels, outer], { channels, inner })
        copyOut('channelAffine', out, run(f32(x, outer * channels * inner), f32(scale, channels), f32(shift, channels)))
      }, onCpu)
    },

    pool2d: (out, x, planes, height, width, w, mode: PoolMode) => {
      const onCpu = (): void => cpu.pool2d(out, x, planes, height, width, w, mode)
      const [outH, outW] = pooledSize(height, width, w)
      if (!onGpu([planes, height, width, outH, outW], out, x)) return onCpu()
      guarded(() => {
        const loop = Math.max(w.kernelH, w.kernelW)
        const constants = K.windowConstants(height, width, w)
        const run =
          mode === 'max'
            ? kernel('poolMax', K.poolMax, [outW, outH, planes], constants, loop)
            : kernel('poolAvg', K.poolAvg, [outW, outH, planes], { ...constants, divisor: w.kernelH * w.kernelW }, loop)
        copyOut('pool2d', out, run(f32(x, planes * height * width)))
      }, onCpu)
    },

    maxPool2dBy: (out, key, value, planes, height, width, w) => {
      const onCpu = (): void => cpu.maxPool2dBy(out, key, value, planes, height, width, w)
      const [outH, outW] = pooledSize(height, width, w)
      if (!onGpu([planes, height, width, outH, outW], out, key, value)) return onCpu()
      guarded(() => {
        const loop = Math.max(w.kernelH, w.kernelW)
        const run = kernel('maxPoolBy', K.maxPoolBy, [outW, outH, planes], K.windowConstants(height, width, w), loop)
        copyOut('maxPool2dBy', out, run(f32(key, planes * height * width), f32(value, planes * height * width)))
      }, onCpu)
    },

    upsampleNearest: (out, x, planes, height, width, factor) => {
      const onCpu = (): void => cpu.upsampleNearest(out, x, planes, height, width, factor)
      if (!onGpu([planes, height, width, factor], out, x)) return onCpu()
      guarded(() => {
        const constants = { h: height, w: width, f: factor }
        const run = kernel('upsample', K.upsample, [width * factor, height * factor, planes], constants)
        copyOut('upsampleNearest', out, run(f32(x, planes * height * width)))
      }, onCpu)
    },

    kthLargestAlongAxis: (out, x, outer, axis, inner, k) => cpu.kthLargestAlongAxis(out, x, outer, axis, inner, k),

    keepMaxAlongAxis: (out, x, noise, outer, axis, inner) => cpu.keepMaxAlongAxis(out, x, noise, outer, axis, inner),

    // not fused here: the four GPU kernels it replaces, each one upload and one readback
    liPoolStep: (out, nextSum, sum, x, planes, height, width, k, mode) => {
      // intermediates in the data's precision, so each step rounds as the unfused layer did
      const like = (): Data => alloc(x.length, x instanceof Float32Array ? 'float32' : 'float64')
      const total = sum === undefined ? x : like()
      if (sum !== undefined) backend.axpy(total, sum, 1, x)
      const window: PoolWindow = { kernelH: k, kernelW: k, strideH: k, strideW: k, padH: 0, padW: 0 }
      backend.pool2d(out, total, planes, height, width, window, mode)
      const up = like()
      backend.upsampleNearest(up, out, planes, height / k, width / k, k)
      backend.axpy(nextSum, total, -1, up)
    },

    uniformFill: (out, state) => cpu.uniformFill(out, state),

    // a single pass over a buffer the caller already holds: uploading it would cost more
    fire: (spikes, v, threshold, reset, vReset) => cpu.fire(spikes, v, threshold, reset, vReset),

    groupMean: (out, x, rows, length, size) => cpu.groupMean(out, x, rows, length, size),

    mul: (out, a, b) => {
      const onCpu = (): void => cpu.mul(out, a, b)
      if (!onGpu([out.length], out, a, b)) return onCpu()
      const n = out.length
      guarded(() => copyOut('mul', out, kernel('mul', K.mul, [n], {})(f32(a, n), f32(b, n))), onCpu)
    },

    axpy: (out, a, alpha, b) => {
      const onCpu = (): void => cpu.axpy(out, a, alpha, b)
      if (!onGpu([out.length], out, a, b)) return onCpu()
      const n = out.length
      guarded(() => copyOut('axpy', out, kernel('axpy', K.axpy, [n], {})(f32(a, n), alpha, f32(b, n))), onCpu)
    },

    device: makeGpuDevice(cache, mode),

    cachedKernels: () => cache.entries().length,

    fallbacks: cache.fallbacks,

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
  return backend
}
