/**
 * Backend selection: the WebAssembly SIMD kernels where they are built and the engine runs
 * them, else the JavaScript reference. The default device is the resident one (tensors stay in
 * the module's memory between kernels); `BRAINCOG_BACKEND=cpu|wasm|wasm-copy` in the environment
 * forces a choice (conformance and benchmarks run each).
 *
 * @module
 */
import type { Device } from '../../kernel/device.js'
import type { Data } from '../../tensor/tensor.js'
import { cpu } from '../cpu/index.js'
import { nodeProcess } from './host.js'
import { loadWasmSync, type WasmDevices } from './load.js'
import type { ResidentDevice } from './resident.js'

export { kernelsUrl, loadResidentBackend, loadWasmBackend, type WasmOptions, wasmThreads } from './load.js'

let cached: { readonly devices: WasmDevices | undefined } | undefined
const devices = (): WasmDevices | undefined => (cached ??= { devices: loadWasmSync() }).devices

/**
 * The WebAssembly SIMD kernels as a backend over host arrays (each call copies its inputs into
 * the module's memory and its outputs back), compiled once on first use; `undefined` when the
 * binary was not built (`npm run build:wasm`), the engine lacks SIMD, or this is not Node
 * (browsers: `loadWasmBackend`). For calling kernels on host arrays directly; runners are
 * faster on {@link residentBackend}, the default.
 *
 * @example
 * import { evaluate, wasmBackend } from 'braincog-fn'
 * const ctx = evaluate(wasmBackend()) // the default device if it is undefined
 */
export const wasmBackend = (): Device<Data> | undefined => devices()?.copy

/**
 * The WebAssembly SIMD kernels as a device whose buffers stay in the module's memory (the same
 * instance and memory as {@link wasmBackend}): the default device where the module loads.
 * `undefined` where {@link wasmBackend} is. Its buffers live until freed; runners (`apply`,
 * `scan`, `vjp`, `lossAndGrad`) free everything they make.
 *
 * @example
 * import { evaluate, residentBackend } from 'braincog-fn'
 * const ctx = evaluate(residentBackend())
 */
export const residentBackend = (): ResidentDevice | undefined => devices()?.resident

const requested = (): string | undefined => nodeProcess()?.env?.BRAINCOG_BACKEND?.trim().toLowerCase() || undefined

/** Says why a forced choice was not honoured (layers never throw, so the run goes on). */
const warn = (message: string): void => console.warn(`braincog-fn: ${message}; using the cpu kernels`)

/** Reads `BRAINCOG_BACKEND` and what loads; says why when a forced choice cannot be honoured. */
const choose = (): Device<unknown> => {
  const choice = requested()
  if (choice === 'cpu') return cpu as Device<unknown>
  if (choice !== undefined && choice !== 'wasm' && choice !== 'wasm-copy') {
    warn(`BRAINCOG_BACKEND: expected 'cpu', 'wasm' or 'wasm-copy', got ${JSON.stringify(choice)}`)
    return cpu as Device<unknown>
  }
  const loaded = devices()
  if (choice !== undefined && loaded === undefined) {
    warn(`BRAINCOG_BACKEND=${choice}: the WebAssembly kernels did not load (run \`npm run build:wasm\`)`)
  }
  if (loaded === undefined) return cpu as Device<unknown>
  return (choice === 'wasm-copy' ? loaded.copy : loaded.resident) as Device<unknown>
}

/** Decided once per process: layers ask on every step, and the environment does not change. */
let chosen: Device<unknown> | undefined

/**
 * The device used when a context names none: the resident WebAssembly device when available,
 * else `cpu`, unless `BRAINCOG_BACKEND` says otherwise (`cpu`; `wasm`, the resident device;
 * `wasm-copy`, the copy backend; an unknown value, or a WebAssembly choice where it cannot
 * load, warns once and uses `cpu`).
 */
export const bestBackend = (): Device<unknown> => (chosen ??= choose())
