/**
 * The GPU device's cache of compiled kernels: one gpu.js kernel per kernel name and shape, the
 * least recently used freed past a bound, the kernels gpu.js failed on remembered (their calls
 * take the host path from then on), and the helpers that move data out of gpu.js.
 *
 * Pipeline kernels hand out textures that still belong to the kernel that made
 * them: gpu.js frees a kernel's textures with the kernel. So a kernel with outputs still alive
 * (counted by {@link KernelCache.retain} and {@link KernelCache.release}) is not freed when it
 * leaves the cache: it is retired, and freed when its last output is.
 *
 * @module
 */
import type { Data } from '../tensor/tensor.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/**
 * The part of a gpu.js kernel that the device calls. A kernel returned by gpu.js's
 * `createKernel` fits.
 */
export interface GpuJsKernel {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- gpu.js types its arguments loosely
  (...args: any[]): unknown
  /** Frees the kernel's GPU resources. */
  readonly destroy?: (removeCanvasReferences?: boolean) => void
}

/**
 * The part of a gpu.js `GPU` instance that the device uses; `new GPU(...)` from gpu.js fits.
 * Structural, so that neither this module nor its declarations import gpu.js.
 */
export interface GpuJs {
  /** Compiles (on first call) a kernel from its source text with gpu.js kernel settings. */
  createKernel(source: string, settings?: object): GpuJsKernel
  /** Frees the instance and its kernels. */
  readonly destroy?: () => unknown
  /** The mode the instance was created with (`'gpu'`, `'webgl2'`, ...). */
  readonly mode?: string
  /** The kernel class gpu.js chose for that mode. */
  readonly Kernel?: unknown
}

/** A kernel of a given shape that gpu.js could not run, and why. */
export interface GpuFallback {
  /** The kernel and its sizes, e.g. `matmul|24x16|k=64,n=24`. */
  readonly kernel: string
  /** gpu.js's error message. */
  readonly reason: string
}

/** What a cached kernel is compiled from: its source and the gpu.js types of its arguments. */
export interface CachedSource {
  /** The kernel function's source text. */
  readonly source: string
  /** gpu.js argument types by parameter name ('Array', 'Float', or a texture's own type). */
  readonly argumentTypes: Readonly<Record<string, string>>
}

/** The cache of compiled kernels; see the module doc. */
export interface KernelCache {
  /**
   * The compiled kernel for `name` at these sizes, compiling (and caching) it on first use;
   * `pipeline` kernels return gpu.js textures (immutable: a new one per call). Throws
   * {@link KnownBroken} for a kernel gpu.js already failed on.
   */
  readonly kernel: (
    name: string,
    src: CachedSource,
    output: readonly number[],
    constants: Readonly<Record<string, number>>,
    loopMax?: number,
    pipeline?: boolean,
  ) => GpuJsKernel
  /**
   * Runs the gpu.js path; if gpu.js fails, records the kernel last asked for as broken (freeing
   * it) and runs the host path instead.
   */
  readonly guarded: <T>(gpuPath: () => T, cpuPath: () => T) => T
  /** Counts one more live output of a kernel. */
  readonly retain: (k: GpuJsKernel) => void
  /** Counts one output of a kernel freed; frees a retired kernel with its last output. */
  readonly release: (k: GpuJsKernel) => void
  /** The cached kernels by key, least recently used first. */
  readonly entries: () => readonly (readonly [string, GpuJsKernel])[]
  /** The kernels gpu.js failed on, with its message. */
  readonly fallbacks: () => readonly GpuFallback[]
  /** Empties the cache; kernels with live outputs are retired (freed with their last output). */
  readonly clear: () => void
  /** Frees every kernel, retired ones and those with live outputs too (their outputs die with them). */
  readonly destroy: () => void
}

/** Thrown inside the device for a kernel already known to fail on gpu.js; never escapes. */
export class KnownBroken extends Error {}

// ---------------------------------------------------------------------------------------------
// utils
// ---------------------------------------------------------------------------------------------

/**
 * The first `n` values as float32 (a view where they are float32 already, else a copy): gpu.js
 * computes in float32, a compiled kernel must always see one type, and its argument sizes are
 * fixed by the shape (an array longer than the shape needs is cut to size).
 */
export const f32 = (d: Data, n: number): Float32Array => {
  const head = d.length === n ? d : d.subarray(0, n)
  return head instanceof Float32Array ? head : Float32Array.from(head)
}

/**
 * Copies a gpu.js result (a typed array, or nested arrays of rows) into `out`, row-major. The
 * shape is checked before anything is written, so a malformed result leaves `out` untouched.
 */
export const copyOut = (name: string, out: Data, result: unknown): void => {
  const rows: Float32Array[] = []
  const walk = (v: unknown): void => {
    if (ArrayBuffer.isView(v)) rows.push(v as Float32Array)
    else if (Array.isArray(v)) for (const e of v) walk(e)
    else throw new Error(`braincog-fn/gpu: ${name}: gpu.js returned ${typeof v}, expected arrays of numbers`)
  }
  walk(result)
  const total = rows.reduce((n, r) => n + r.length, 0)
  if (total !== out.length) {
    throw new Error(`braincog-fn/gpu: ${name}: gpu.js returned ${total} values, expected ${out.length}`)
  }
  let offset = 0
  for (const r of rows) {
    out.set(r, offset)
    offset += r.length
  }
}

const drop = (k: GpuJsKernel): void => {
  try {
    k.destroy?.()
  } catch {
    // a kernel that fails to free itself holds nothing we can free either
  }
}

// ---------------------------------------------------------------------------------------------
// constructor
// ---------------------------------------------------------------------------------------------

/**
 * A cache of at most `maxKernels` compiled kernels of `gpu`. With `packTextures`, pipeline
 * kernels write gpu.js's memory-optimized textures (four values per texel).
 */
export const kernelCache = (gpu: GpuJs, maxKernels: number, packTextures = false): KernelCache => {
  const cache = new Map<string, GpuJsKernel>()
  /** Kernels (by cache key) gpu.js failed on, with the reason; they run on the host from then on. */
  const broken = new Map<string, string>()
  /** Live outputs per pipeline kernel. */
  const live = new Map<GpuJsKernel, number>()
  /** Kernels out of the cache that still have live outputs. */
  const retired = new Set<GpuJsKernel>()
  let lastKey = ''

  const retire = (k: GpuJsKernel): void => {
    if ((live.get(k) ?? 0) > 0) retired.add(k)
    else drop(k)
  }

  const kernel: KernelCache['kernel'] = (name, src, output, constants, loopMax = 1, pipeline = false) => {
    const key = `${name}|${output.join('x')}|${Object.entries(constants)
      .map(([k, v]) => `${k}=${v}`)
      .join(',')}`
    lastKey = key
    if (broken.has(key)) throw new KnownBroken()
    const hit = cache.get(key)
    if (hit) {
      cache.delete(key)
      cache.set(key, hit)
      return hit
    }
    const k = gpu.createKernel(src.source, {
      output: [...output],
      constants: { ...constants },
      argumentTypes: { ...src.argumentTypes },
      loopMaxIterations: Math.max(loopMax + 1, 2),
      tactic: 'precision',
      pipeline,
      immutable: pipeline,
      optimizeFloatMemory: pipeline && packTextures,
      dynamicOutput: false,
      dynamicArguments: false,
    })
    cache.set(key, k)
    while (cache.size > maxKernels) {
      const [oldest, evicted] = cache.entries().next().value as [string, GpuJsKernel]
      cache.delete(oldest)
      retire(evicted)
    }
    return k
  }

  const guarded = <T>(gpuPath: () => T, cpuPath: () => T): T => {
    lastKey = ''
    try {
      return gpuPath()
    } catch (e) {
      if (!(e instanceof KnownBroken)) {
        const key = lastKey || 'unknown'
        broken.set(key, e instanceof Error ? e.message : String(e))
        const k = cache.get(key)
        if (k) {
          cache.delete(key)
          retire(k)
        }
      }
      return cpuPath()
    }
  }

  return {
    kernel,
    guarded,
    retain: (k) => {
      live.set(k, (live.get(k) ?? 0) + 1)
    },
    release: (k) => {
      const n = (live.get(k) ?? 0) - 1
      if (n > 0) {
        live.set(k, n)
        return
      }
      live.delete(k)
      if (retired.delete(k)) drop(k)
    },
    entries: () => [...cache],
    fallbacks: () => [...broken].map(([kernel, reason]) => ({ kernel, reason })),
    clear: () => {
      for (const k of cache.values()) retire(k)
      cache.clear()
    },
    destroy: () => {
      for (const k of cache.values()) drop(k)
      for (const k of retired) drop(k)
      cache.clear()
      retired.clear()
      live.clear()
    },
  }
}
