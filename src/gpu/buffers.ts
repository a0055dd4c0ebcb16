/**
 * The GPU device's buffers: where their values are (a gpu.js texture, a gpu.js pipeline array,
 * or the host), how they are made, read and freed, and how a compiled kernel is launched on
 * them.
 *
 * Every kernel is compiled with gpu.js's `pipeline: true, immutable: true`: a call returns a
 * new gpu.js `Texture` (in the GL modes: `webgl2`, `webgl`, `headlessgl`), which goes straight
 * into the next kernel as an argument. `read` is the only readback (`texture.toArray()`),
 * `free` deletes the texture. `upload` runs an identity kernel, so every buffer argument of a
 * compiled kernel is a texture (gpu.js compiles a kernel for the argument types of its first
 * call, so they must never change). In gpu.js's 'cpu' and 'webasm' modes a pipeline result is a
 * plain `Float32Array`, and the same code passes those along instead.
 *
 * A texture belongs to the kernel that made it (gpu.js frees a kernel's textures with it), so
 * each one holds its kernel in the cache ({@link KernelCache.retain}) until it is freed.
 *
 * @module
 */
import type { Data, DType } from '../tensor/tensor.js'
import { type GpuJsKernel, type KernelCache, copyOut, f32 } from './kernelCache.js'
import { type GpuSource, MAX_RESIDENT_LENGTH, upload as uploadSource } from './sources.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/**
 * A buffer of the GPU device: `length` values, opaque to everything but the device. Pass it to
 * the device's kernels, read it with `device.read`, free it with `device.free`.
 */
export interface GpuBuffer {
  /** The number of values. */
  readonly length: number
  /**
   * Where the values are: `'texture'`, a gpu.js texture on the GPU (GL modes); `'array'`, a
   * gpu.js pipeline result that is a host array ('cpu' and 'webasm' modes, which have no GPU
   * memory); `'host'`, held on the host: empty, past the size limit, or float64 data kept exact
   * (see the `float64` option).
   */
  readonly kind: 'texture' | 'array' | 'host'
  /**
   * What holds the values: a gpu.js `Texture` (kind `'texture'`), else a `Float32Array` (a
   * `Float64Array` for float64 data kept exact). For inspection only: never delete or change it
   * (the device does both).
   */
  readonly value: unknown
}

/** Argument of a kernel launch: a buffer, a scalar, or a host array (the upload kernel's). */
export type Arg = GpuBuffer | number | Float32Array

/** Launches compiled kernels within one kernel call of the device, and frees its intermediates. */
export interface Launcher {
  /**
   * Runs `src` with output `[length]` on `args` (by parameter name), `constants` (the sizes it
   * is compiled for) and `loop` (the longest loop in it): a new buffer.
   */
  readonly call: (
    src: GpuSource,
    length: number,
    args: Readonly<Record<string, Arg>>,
    constants?: Readonly<Record<string, number>>,
    loop?: number,
  ) => GpuBuffer
  /** Frees an intermediate buffer made by `call`. */
  readonly free: (b: GpuBuffer) => void
}

/** The buffers of one device; see the module doc. */
export interface GpuBuffers {
  /** How many buffers are made and not freed. */
  readonly count: () => number
  /** Whether a buffer is made and not freed. */
  readonly has: (b: GpuBuffer) => boolean
  /** Throws, naming `what`, unless every buffer given is live. */
  readonly check: (what: string, bs: readonly (GpuBuffer | null)[]) => void
  /** The buffer's dtype: float64 for float64 data kept exact on the host, else float32. */
  readonly dtypeOf: (b: GpuBuffer) => DType
  /**
   * A buffer holding `data`: on the GPU when its length is within limits, else on the host;
   * with `exact`, float64 data stays float64 on the host.
   */
  readonly upload: (data: Data, exact: boolean) => GpuBuffer
  /** A copy of the buffer's values on the host. */
  readonly read: (b: GpuBuffer) => Data
  /** Frees a live buffer (and its texture). */
  readonly free: (b: GpuBuffer) => void
  /** A launcher for one kernel call; every buffer it makes goes into `made`. */
  readonly launcher: (made: GpuBuffer[]) => Launcher
}

// ---------------------------------------------------------------------------------------------
// utils
// ---------------------------------------------------------------------------------------------

/** The gpu.js modes whose pipeline results are textures in GPU memory. */
const TEXTURE_MODES: ReadonlySet<string> = new Set(['webgl2', 'webgl', 'headlessgl'])

/** What a gpu.js texture offers. */
interface TextureLike {
  readonly type?: string
  toArray(): unknown
  delete(): void
}

const isTexture = (v: unknown): v is TextureLike =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as TextureLike).toArray === 'function' &&
  typeof (v as TextureLike).delete === 'function'

const isBuffer = (a: Arg): a is GpuBuffer => typeof a === 'object' && !ArrayBuffer.isView(a)

// ---------------------------------------------------------------------------------------------
// constructor
// ---------------------------------------------------------------------------------------------

/** The buffers of a device in gpu.js `mode`, with kernels compiled into `cache`. */
export const gpuBuffers = (cache: KernelCache, mode: string): GpuBuffers => {
  const textures = TEXTURE_MODES.has(mode)
  const live = new Set<GpuBuffer>()
  const makers = new WeakMap<GpuBuffer, GpuJsKernel>()

  const make = (kind: GpuBuffer['kind'], value: unknown, length: number, maker?: GpuJsKernel): GpuBuffer => {
    const b: GpuBuffer = { length, kind, value }
    live.add(b)
    if (maker) {
      makers.set(b, maker)
      cache.retain(maker)
    }
    return b
  }

  const check = (what: string, bs: readonly (GpuBuffer | null)[]): void => {
    for (const b of bs) {
      if (b !== null && !live.has(b)) {
        throw new Error(`braincog-fn/gpu: device.${what}: a buffer already freed, or not made by this device`)
      }
    }
  }

  const free = (b: GpuBuffer): void => {
    check('free', [b])
    live.delete(b)
    if (isTexture(b.value)) {
      try {
        b.value.delete()
      } catch {
        // a texture whose context is gone holds nothing left to free
      }
    }
    const maker = makers.get(b)
    if (maker) {
      makers.delete(b)
      cache.release(maker)
    }
  }

  /** A buffer's values on the host: the array itself (never to be changed), or a readback. */
  const hostData = (b: GpuBuffer): Data => {
    if (!isTexture(b.value)) return b.value as Data
    const out = new Float32Array(b.length)
    copyOut('read', out, b.value.toArray())
    return out
  }

  /** Wraps what a pipeline kernel returned for an output of `n` values. */
  const wrap = (result: unknown, n: number, k: GpuJsKernel): GpuBuffer => {
    if (isTexture(result)) return make('texture', result, n, k)
    const out = result instanceof Float32Array && result.length === n ? result : new Float32Array(n)
    if (out !== result) copyOut('device', out, result)
    return make('array', out, n)
  }

  /**
   * Launches `src` with output [n]; the buffer it makes goes into `made`. A buffer argument goes
   * in as it is (texture in GL modes, array otherwise); a host buffer in a GL mode is uploaded
   * for the call and freed after it.
   */
  const launch = (
    made: GpuBuffer[],
    src: GpuSource,
    n: number,
    args: Readonly<Record<string, Arg>>,
    constants: Readonly<Record<string, number>> = {},
    loop = 1,
  ): GpuBuffer => {
    const temps: GpuBuffer[] = []
    try {
      const values = src.params.map(([param]): unknown => {
        const a = args[param]
        if (a === undefined) throw new Error(`braincog-fn/gpu: kernel ${src.name}: no argument ${param}`)
        if (!isBuffer(a)) return a
        if (!textures) return f32(hostData(a), a.length)
        if (isTexture(a.value)) return a.value
        const t = launch(temps, uploadSource, a.length, { x: f32(hostData(a), a.length) })
        return t.value
      })
      const argumentTypes = Object.fromEntries(
        src.params.map(([param, kind], j) => {
          const v = values[j]
          return [param, kind === 'float' ? 'Float' : isTexture(v) ? (v.type ?? 'NumberTexture') : 'Array']
        }),
      )
      const lengths = src.params.flatMap(([param]) => {
        const a = args[param]
        return a !== undefined && typeof a === 'object' ? [a.length] : []
      })
      const key = `${src.name}(${lengths.join(',')})`
      const k = cache.kernel(key, { source: src.source, argumentTypes }, [n], constants, loop, true)
      const b = wrap(k(...values), n, k)
      made.push(b)
      return b
    } finally {
      temps.forEach(free)
    }
  }

  const onHost = (data: Data, exact: boolean): GpuBuffer =>
    make('host', data instanceof Float32Array || exact ? data : Float32Array.from(data), data.length)

  const upload = (data: Data, exact: boolean): GpuBuffer => {
    const n = data.length
    if (n === 0 || n > MAX_RESIDENT_LENGTH || (exact && data instanceof Float64Array)) return onHost(data, exact)
    if (!textures) return make('array', Float32Array.from(data), n)
    const x = f32(data, n)
    return cache.guarded(
      () => launch([], uploadSource, n, { x }),
      () => onHost(data, false),
    )
  }

  return {
    count: () => live.size,
    has: (b) => live.has(b),
    check,
    dtypeOf: (b) => (b.value instanceof Float64Array ? 'float64' : 'float32'),
    upload,
    read: (b) => {
      check('read', [b])
      const d = hostData(b)
      return isTexture(b.value) ? d : d.slice()
    },
    free,
    launcher: (made) => ({
      call: (src, length, args, constants, loop) => launch(made, src, length, args, constants, loop),
      free,
    }),
  }
}
