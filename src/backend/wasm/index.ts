/**
 * Backend selection: the WebAssembly SIMD kernels where they are built and the engine runs
 * them, else the JavaScript reference. `BRAINCOG_BACKEND=cpu|wasm` in the environment forces a
 * choice (conformance and benchmarks run both).
 *
 * @module
 */
import type { Device } from '../../kernel/device.js'
import type { Data } from '../../tensor/tensor.js'
import { cpu } from '../cpu/index.js'
import { nodeProcess } from './host.js'
import { loadWasmSync } from './load.js'

export { kernelsUrl, loadWasmBackend, type WasmOptions, wasmThreads } from './load.js'

let cached: { readonly wasm: Device<Data> | undefined } | undefined

/**
 * The WebAssembly SIMD backend, compiled once on first use; `undefined` when the binary was
 * not built (`npm run build:wasm`), the engine lacks SIMD, or this is not Node (browsers:
 * `loadWasmBackend`).
 *
 * @example
 * import { evaluate, wasmBackend } from 'braincog-fn'
 * const ctx = evaluate(wasmBackend()) // the CPU kernels if it is undefined
 */
export const wasmBackend = (): Device<Data> | undefined => {
  cached ??= { wasm: loadWasmSync() }
  return cached.wasm
}

const requested = (): string | undefined => nodeProcess()?.env?.BRAINCOG_BACKEND?.trim().toLowerCase() || undefined

/** Says why a forced choice was not honoured (layers never throw, so the run goes on). */
const warn = (message: string): void => console.warn(`braincog-fn: ${message}; using the cpu kernels`)

/** Reads `BRAINCOG_BACKEND` and what loads; says why when a forced choice cannot be honoured. */
const choose = (): Device<Data> => {
  const choice = requested()
  if (choice === 'cpu') return cpu
  if (choice !== undefined && choice !== 'wasm') {
    warn(`BRAINCOG_BACKEND: expected 'cpu' or 'wasm', got ${JSON.stringify(choice)}`)
    return cpu
  }
  const wasm = wasmBackend()
  if (choice === 'wasm' && wasm === undefined) {
    warn('BRAINCOG_BACKEND=wasm: the WebAssembly kernels did not load (run `npm run build:wasm`)')
  }
  return wasm ?? cpu
}

/** Decided once per process: layers ask on every step, and the environment does not change. */
let chosen: Device<Data> | undefined

/**
 * The backend used when a context names none: `wasm` when available, else `cpu`, unless
 * `BRAINCOG_BACKEND` says otherwise (an unknown value, or `wasm` where it cannot load, warns
 * once and uses `cpu`).
 */
export const bestBackend = (): Device<Data> => (chosen ??= choose())
