/**
 * `braincog-fn/gpu`: the optional GPU device, built on gpu.js.
 *
 * gpu.js is an optional peer dependency. The main entry (`braincog-fn`) never loads it; this
 * entry loads it only when {@link loadGpuBackend} is called, so importing `braincog-fn/gpu`
 * without gpu.js installed is fine, and asking for the device then fails with an error that
 * says to run `npm install gpu.js`.
 *
 * What you get is a {@link GpuDevice}: a `Device` like `cpu` and `wasm`, whose buffers are
 * gpu.js textures. It is a value, never selected globally; use it in either of two ways:
 *
 * - as the apply context's device (`train(key, gpu)`, `evaluate(gpu)`): each `apply` uploads
 *   its params, state and input, runs the layer's kernels on the GPU, reads back its output
 *   and new state, and frees the rest. Worth it for large matmuls and pooling, not for small
 *   tensors (use `cpu` or `wasm` for those);
 * - with `scanOnDevice(net, gpu)`: a time scan of a pipeline with each step's input uploaded
 *   once, the layers handing textures to each other and the state staying on the GPU from the
 *   first step to the last; only what the scan's `read` option names (every step, the last
 *   step, or the sum over steps) and the final state (unless its `state` option is `'reset'`)
 *   are read back.
 *
 * Every layer runs on it: the kernels gpu.js does not run ({@link gpuUnported}: the random
 * draws, WTALayer's selection and, not yet ported, the convolution, the cross-entropy and the
 * backward kernels of the gradients) and calls it cannot take (empty, past 2^23 values, a
 * compile failure) run on the host for that call, their arguments read back and their outputs
 * uploaded (`hostCalls()` counts them). `packTextures` stores buffers four values per texel.
 *
 * Costs: each kernel compiles on its first call for a given shape (a shader compile on WebGL,
 * a WebAssembly module in Node; milliseconds to tens of milliseconds), then comes from a cache.
 * Results are float32: they match the CPU kernels within float32 rounding (see the README's
 * "GPU backend" section); float64 data is kept exact on the host unless `float64: 'gpu'`.
 *
 * Changes from 0.1's per-call backend: the backend and its `device` are one value now (pass
 * `gpu` where `gpu.device` went); `minElements` is gone (on a device whose buffers are already
 * uploaded, sending a small call to the host costs a readback and an upload more, so small
 * work belongs on `cpu`); `float64` keeps its meaning; the device's name is `gpu(<mode>)`.
 *
 * @example
 * import { customLinear, key, orThrow, tensor, train } from 'braincog-fn'
 * import { loadGpuBackend } from 'braincog-fn/gpu'
 * const gpu = await loadGpuBackend()            // gpu.js picks WebGL2 in a browser
 * const fc = customLinear({ inFeatures: 784, outFeatures: 10 })
 * const { params, state } = orThrow(fc.init(key(0), [32, 784]))
 * const x = tensor(new Float32Array(32 * 784), [32, 784])
 * const y = orThrow(fc.apply(params, state, x, train(key(1), gpu))).output
 * y.shape // [32, 10]
 * gpu.liveBuffers() // 0
 *
 * @example
 * import { evaluate, ifNeuron, key, orThrow, scanOnDevice, tensor } from 'braincog-fn'
 * import { gpuBackend } from 'braincog-fn/gpu'
 * import { GPU } from 'gpu.js'
 * const gpu = gpuBackend({ gpu: new GPU({ mode: 'cpu' }) }) // in a browser: await loadGpuBackend()
 * const x = tensor([0.6, 1, 0.6, 1, 0.6, 1, 0.6, 1], [4, 2])  // [T = 4, 2]
 * const counts = scanOnDevice(ifNeuron(), gpu, { read: 'sum' }) // spike counts, summed on the device
 * const { params, state } = orThrow(counts.init(key(0), [4, 2]))
 * Array.from(orThrow(counts.apply(params, state, x, evaluate())).output.data) // [2, 4]
 * gpu.liveBuffers() // 0
 *
 * @module
 */
import { type GpuBackendOptions, type GpuDevice, makeGpuDevice } from './device.js'
import type { GpuJs } from './kernelCache.js'

export type { GpuBuffer } from './buffers.js'
export type { GpuBackend, GpuBackendOptions, GpuDevice } from './device.js'
export type { GpuFallback, GpuJs, GpuJsKernel } from './kernelCache.js'
export { type GpuUnported, gpuUnported } from './kernels.js'
export type { KernelMode } from './mode.js'

/** gpu.js modes a device can ask for; `'gpu'` (the default) lets gpu.js pick the best one available. */
export type GpuMode = 'gpu' | 'webgl' | 'webgl2' | 'headlessgl' | 'webasm' | 'cpu'

/** Options of {@link loadGpuBackend}. */
export interface LoadGpuBackendOptions extends GpuBackendOptions {
  /** The gpu.js mode, default `'gpu'` (gpu.js picks: WebGL2 in a browser, WebAssembly in Node without GL). */
  readonly mode?: GpuMode
  /** A gpu.js instance to use instead of creating one (then `mode` is ignored, and `destroy` leaves it alone). */
  readonly gpu?: GpuJs
}

/** gpu.js could not be loaded: it is not installed, or not resolvable from here. */
export class GpuUnavailableError extends Error {
  constructor(cause: unknown) {
    super(
      'braincog-fn/gpu: the GPU device needs the optional package gpu.js, which could not be loaded ' +
        `(${cause instanceof Error ? cause.message : String(cause)}). Install it: npm install gpu.js`,
      { cause },
    )
    this.name = 'GpuUnavailableError'
  }
}

/** What a gpu.js module gives us: its `GPU` constructor (ESM named export or CommonJS default). */
type GpuModule = { readonly GPU?: unknown; readonly default?: { readonly GPU?: unknown } }
type GpuConstructor = new (settings?: { readonly mode?: string }) => GpuJs

/**
 * {@link loadGpuBackend} with the import of gpu.js supplied (for tests and bundlers that
 * resolve gpu.js their own way).
 */
export const loadGpuBackendWith = async (
  importGpu: () => Promise<unknown>,
  options: LoadGpuBackendOptions = {},
): Promise<GpuDevice> => {
  if (options.gpu) return makeGpuDevice(options.gpu, options, false)
  let mod: GpuModule
  try {
    mod = (await importGpu()) as GpuModule
  } catch (e) {
    throw new GpuUnavailableError(e)
  }
  const namespace = (mod.GPU === undefined ? mod.default : mod) as Readonly<Record<string, unknown>> | undefined
  const GPU = namespace?.GPU as GpuConstructor | undefined
  if (typeof GPU !== 'function') throw new GpuUnavailableError(new Error('the module loaded has no GPU export'))
  return makeGpuDevice(new GPU({ mode: options.mode ?? 'gpu' }), options, true, namespace)
}

/**
 * Loads gpu.js and builds the GPU device. Rejects with a {@link GpuUnavailableError} (naming
 * `npm install gpu.js`) where gpu.js is not installed.
 *
 * @example
 * import { evaluate } from 'braincog-fn'
 * import { loadGpuBackend } from 'braincog-fn/gpu'
 * const gpu = await loadGpuBackend() // or { mode: 'webgl2' }; gpu.mode says what gpu.js chose
 * const ctx = evaluate(gpu) // layers applied with ctx run their kernels on gpu.js
 * ctx.backend === gpu // true
 * gpu.name // 'gpu(webasm)' in Node without GL, 'gpu(webgl2)' in a browser
 * gpu.destroy() // frees the compiled kernels and the gpu.js instance
 */
export const loadGpuBackend = (options: LoadGpuBackendOptions = {}): Promise<GpuDevice> =>
  loadGpuBackendWith(() => import('gpu.js'), options)

/**
 * Builds the GPU device over a gpu.js instance you already have (synchronous: no import).
 *
 * @example
 * import { GPU } from 'gpu.js'
 * import { gpuBackend } from 'braincog-fn/gpu'
 * const gpu = gpuBackend({ gpu: new GPU({ mode: 'cpu' }) })
 * gpu.mode // 'cpu'
 * gpu.destroy() // leaves the gpu.js instance alone: it is yours
 */
export const gpuBackend = (options: GpuBackendOptions & { readonly gpu: GpuJs }): GpuDevice => {
  if (!options?.gpu) {
    throw new TypeError(
      'braincog-fn/gpu: gpuBackend: expected { gpu: new GPU(...) } from gpu.js; ' +
        'to have gpu.js loaded for you, use `await loadGpuBackend()`',
    )
  }
  return makeGpuDevice(options.gpu, options, false)
}
