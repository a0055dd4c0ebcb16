/**
 * Which gpu.js mode a `GPU` instance and its compiled kernels run in. gpu.js's kernel classes
 * name their mode, except that the three GL ones all say `'gpu'`; those are told apart by
 * identity with the classes of the gpu.js module (when known), else by class name.
 *
 * @module
 */
import type { GpuJs, GpuJsKernel } from './kernelCache.js'

/** Where one compiled kernel runs. */
export interface KernelMode {
  /** The cache key: kernel name and sizes. */
  readonly kernel: string
  /** The gpu.js mode it was compiled for, e.g. `webgl2`, `webasm`, `cpu`. */
  readonly mode: string
}

const GL_KERNELS: readonly (readonly [string, string])[] = [
  ['WebGL2Kernel', 'webgl2'],
  ['HeadlessGLKernel', 'headlessgl'],
  ['WebGLKernel', 'webgl'],
]

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
 * The gpu.js mode an instance compiles for: its kernel class's, else its `mode` setting, else
 * `'unknown'`. `gpuModule` is the gpu.js module the instance came from, to name a GL mode exactly.
 */
export const modeOf = (gpu: GpuJs, gpuModule?: Readonly<Record<string, unknown>>): string =>
  classMode(gpu.Kernel, gpuModule) ?? gpu.mode ?? 'unknown'

/**
 * The mode a compiled kernel actually runs in: gpu.js replaces a kernel that cannot build in
 * its mode by a fallback (the WebAssembly backend by its 'cpu' kernel, say), silently but for a
 * console warning. `'not built'` before its first call.
 */
export const kernelMode = (k: GpuJsKernel, gpuModule?: Readonly<Record<string, unknown>>): string => {
  const inner = (k as { readonly kernel?: unknown }).kernel
  if (inner === null || typeof inner !== 'object') return 'not built'
  return classMode(inner.constructor, gpuModule) ?? 'unknown'
}
