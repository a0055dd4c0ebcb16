/**
 * The GPU device: a {@link Device} on gpu.js whose buffers stay on the GPU, so that
 * `scanOnDevice(net, gpu.device)` hands tensors from layer to layer and from step to step
 * without reading them back.
 *
 * Buffers. Every device kernel is compiled with gpu.js's `pipeline: true, immutable: true`:
 * a call returns a new gpu.js `Texture` (in the GL modes: `webgl2`, `webgl`, `headlessgl`),
 * which goes straight into the next kernel as an argument. `read` is the only readback
 * (`texture.toArray()`), `free` deletes the texture. `upload` runs an identity kernel, so every
 * buffer argument of a compiled kernel is a texture (gpu.js compiles a kernel for the argument
 * types of its first call, so they must never change). In gpu.js's 'cpu' and 'webasm' modes a
 * pipeline result is a plain `Float32Array`, and the same code passes those along instead.
 *
 * Layout. Every device kernel has a 1-D output `[n]`, so every buffer is a 1-D texture of its
 * length and indexes like a flat array in any kernel (see `deviceKernels.ts` for how a thread
 * splits its flat index into coordinates exactly).
 *
 * Limits and fallbacks. Index arithmetic is exact in float32 while a buffer holds at most
 * `2^23` values ({@link GpuDevice.maxResidentLength}); a kernel call with a larger (or an
 * empty) argument or output runs on the host instead, on the CPU reference kernels in float32,
 * and its output is a host buffer (`kind: 'host'`); a kernel gpu.js fails to compile or run
 * does the same (and is listed by the backend's `fallbacks()`). A host buffer given to a GPU
 * kernel is uploaded for that call. So every call works, and `kind` says where a buffer is.
 *
 * Precision. Buffers hold float32 (`dtypeOf` is always `'float32'`): uploading float64 data
 * rounds it. Sums (matmul, average pooling, group means) accumulate in float32, where the CPU
 * kernels accumulate in float64 and round once: results agree within float32 rounding of the
 * summed magnitudes. Integrate-and-fire compares with the threshold rounded up to float32 (the
 * same decision as the host's float64 comparison of a float32 potential) and subtracts it as
 * two float32 parts.
 *
 * Compiled kernels share the backend's cache (one per kernel, shape and argument lengths; the
 * least recently used freed past `maxKernels`), except that a kernel whose output textures are
 * still alive is freed only when the last of them is (gpu.js frees a kernel's textures with it).
 * The backend's `minElements` and `float64` options do not apply here: every call within the
 * size limit runs on gpu.js (a small tensor on the host would cost a readback and an upload),
 * and data is float32 on the device.
 *
 * @module
 */
import type { PoolMode, PoolWindow, Stats } from '../backend/backend.js'
import { pooledSize } from '../backend/backend.js'
import { cpu } from '../backend/cpu/index.js'
import type { Device } from '../device/device.js'
import { hostDevice } from '../device/host.js'
import type { Data } from '../tensor/tensor.js'
import * as D from './deviceKernels.js'
import { type GpuJsKernel, type KernelCache, copyOut, f32 } from './kernelCache.js'
import { windowConstants } from './kernels.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/**
 * A buffer of the GPU device: `length` float32 values, opaque to everything but the device.
 * Pass it to the device's kernels, read it with `device.read`, free it with `device.free`.
 */
export interface GpuBuffer {
  /** The number of values. */
  readonly length: number
  /**
   * Where the values are: `'texture'`, a gpu.js texture on the GPU (GL modes); `'array'`, a
   * gpu.js pipeline result that is a host array ('cpu' and 'webasm' modes, which have no GPU
   * memory); `'host'`, held on the host because it is past the size limit or came from a call
   * that fell back to the CPU kernels.
   */
  readonly kind: 'texture' | 'array' | 'host'
  /**
   * What holds the values: a gpu.js `Texture` (kind `'texture'`), else a `Float32Array`. For
   * inspection only: never delete or change it (the device does both).
   */
  readonly value: unknown
}

/** The GPU device: a {@link Device} over {@link GpuBuffer}s; see the module doc. */
export interface GpuDevice extends Device<GpuBuffer> {
  /** The gpu.js mode the kernels compile for (the backend's `mode`). */
  readonly mode: string
  /** The most values a buffer holds on the GPU (`2^23`); larger ones are kept on the host. */
  readonly maxResidentLength: number
  /** How many buffers this device made that are not freed yet: 0 after a scan that freed all it made. */
  readonly liveBuffers: () => number
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

/** The smallest float32 at least `x`: `u >= up(x)` decides as `u >= x` for every float32 `u`. */
const roundUpF32 = (x: number): number => {
  const f = Math.fround(x)
  if (!(f < x)) return f
  const bits = new Int32Array(Float32Array.of(f).buffer)
  bits[0] += f > 0 || Object.is(f, 0) ? 1 : -1
  return new Float32Array(bits.buffer)[0]
}

/** Argument of a device kernel call: a buffer, a scalar, or a small host array. */
type Arg = GpuBuffer | number | Float32Array

const isBuffer = (a: Arg): a is GpuBuffer => typeof a === 'object' && !ArrayBuffer.isView(a)

const DEVICE_SOURCES = {
  fireSpikes: { withV: D.fireSpikes(true), fresh: D.fireSpikes(false) },
  fireV: {
    soft: { withV: D.fireV(true, 'soft'), fresh: D.fireV(false, 'soft') },
    hard: { withV: D.fireV(true, 'hard'), fresh: D.fireV(false, 'hard') },
  },
  pool2d: { max: D.pool2d('max'), avg: D.pool2d('avg') },
  liPoolOut: {
    max: { withSum: D.liPoolOut(true, 'max'), fresh: D.liPoolOut(false, 'max') },
    avg: { withSum: D.liPoolOut(true, 'avg'), fresh: D.liPoolOut(false, 'avg') },
  },
  liPoolNext: { withSum: D.liPoolNext(true), fresh: D.liPoolNext(false) },
  place: { into: D.place(true), fresh: D.place(false) },
} as const

// ---------------------------------------------------------------------------------------------
// constructor
// ---------------------------------------------------------------------------------------------

/**
 * The GPU device over a kernel cache of a gpu.js instance in `mode`; the GPU backend builds it
 * as its `device`, sharing its cache.
 */
export const makeGpuDevice = (cache: KernelCache, mode: string): GpuDevice => {
  const textures = TEXTURE_MODES.has(mode)
  const max = D.MAX_RESIDENT_LENGTH
  const host = hostDevice(cpu)
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

  const check = (what: string, ...bs: readonly (GpuBuffer | null | undefined)[]): void => {
    for (const b of bs) {
      if (b != null && !live.has(b)) {
        throw new Error(`braincog-fn/gpu: device.${what}: a buffer already freed, or not made by this device`)
      }
    }
  }

  const free = (b: GpuBuffer): void => {
    check('free', b)
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

  /** A buffer's values on the host: the array itself (never changed), or a readback. */
  const hostData = (b: GpuBuffer): Float32Array => {
    if (!isTexture(b.value)) return b.value as Float32Array
    const out = new Float32Array(b.length)
    copyOut('read', out, b.value.toArray())
    return out
  }

  const onHost = (data: Data): GpuBuffer =>
    make('host', data instanceof Float32Array ? data : Float32Array.from(data), data.length)

  /** Wraps what a pipeline kernel returned for an output of `n` values. */
  const wrap = (result: unknown, n: number, k: GpuJsKernel): GpuBuffer => {
    if (isTexture(result)) return make('texture', result, n, k)
    const out = result instanceof Float32Array && result.length === n ? result : new Float32Array(n)
    if (out !== result) copyOut('device', out, result)
    return make('array', out, n)
  }

  /**
   * Calls a pipeline kernel with output [n]; buffers it makes go into `made`. A buffer argument
   * goes in as it is (texture in GL modes, array otherwise); a host buffer in a GL mode is
   * uploaded for the call and freed after it.
   */
  const call = (
    name: string,
    src: D.DeviceSource,
    n: number,
    constants: Readonly<Record<string, number>>,
    loopMax: number,
    args: readonly Arg[],
    made: GpuBuffer[],
  ): GpuBuffer => {
    const temps: GpuBuffer[] = []
    try {
      const values = args.map((a): unknown => {
        if (!isBuffer(a)) return a
        if (!textures) return hostData(a)
        if (isTexture(a.value)) return a.value
        const t = uploadTexture(hostData(a))
        temps.push(t)
        return t.value
      })
      const argumentTypes = Object.fromEntries(
        src.params.map(([param, kind], j) => {
          const v = values[j]
          const type = kind === 'float' ? 'Float' : isTexture(v) ? (v.type ?? 'NumberTexture') : 'Array'
          return [param, type]
        }),
      )
      const lengths = args.filter(isBuffer).map((b) => b.length)
      const key = `device.${name}(${lengths.join(',')})`
      const k = cache.kernel(key, { source: src.source, argumentTypes }, [n], constants, loopMax, true)
      const b = wrap(k(...values), n, k)
      made.push(b)
      return b
    } finally {
      temps.forEach(free)
    }
  }

  /** A texture holding `data` (GL modes), by the identity kernel. */
  const uploadTexture = (data: Float32Array): GpuBuffer => call('upload', D.upload, data.length, {}, 1, [data], [])

  /**
   * Runs a device operation on gpu.js when every size is a whole number within limits, else
   * (or when gpu.js fails) on the host; a failed gpu.js attempt frees what it made first.
   */
  const run = <R>(sizes: readonly number[], onGpu: (made: GpuBuffer[]) => R, onCpu: () => R): R => {
    if (!sizes.every((s) => Number.isInteger(s) && s >= 1 && s <= max)) return onCpu()
    return cache.guarded(() => {
      const made: GpuBuffer[] = []
      try {
        return onGpu(made)
      } catch (e) {
        made.forEach((b) => live.has(b) && free(b))
        throw e
      }
    }, onCpu)
  }

  const lengths = (...bs: readonly (GpuBuffer | null | undefined)[]): number[] =>
    bs.flatMap((b) => (b == null ? [] : [b.length]))

  const poolConstants = (
    height: number,
    width: number,
    w: PoolWindow,
    oh: number,
    ow: number,
    mode: PoolMode,
  ): Record<string, number> => ({
    ...windowConstants(height, width, w),
    oh,
    ow,
    invOh: 1 / oh,
    invOw: 1 / ow,
    ...(mode === 'avg' ? { divisor: w.kernelH * w.kernelW } : {}),
  })

  const device: GpuDevice = {
    name: `gpu(${mode})`,
    mode,
    maxResidentLength: max,
    liveBuffers: () => live.size,
    dtypeOf: () => 'float32',
    lengthOf: (b) => b.length,

    upload: (data) => {
      const n = data.length
      if (n === 0 || n > max) return onHost(data)
      if (!textures) return make('array', Float32Array.from(data), n)
      const x = f32(data, n)
      return cache.guarded(
        () => uploadTexture(x),
        () => onHost(data),
      )
    },

    read: (b) => {
      check('read', b)
      const d = hostData(b)
      return isTexture(b.value) ? d : d.slice()
    },

    free,

    // each readback waits for the GPU (milliseconds on a real one, whatever the size), so
    // textures that fit one buffer are gathered into it on the GPU and read back once
    readAll: (bs) => {
      check('readAll', ...bs)
      const total = bs.reduce((n, b) => n + b.length, 0)
      const out = new Float32Array(total)
      const gather = textures && bs.length > 1 && total <= max && bs.every((b) => isTexture(b.value))
      const gathered = gather
        ? cache.guarded(
            () => {
              let acc: GpuBuffer | undefined
              let offset = 0
              try {
                for (const b of bs) {
                  const args = acc ? [acc, b, offset] : [b, offset]
                  const src = DEVICE_SOURCES.place[acc ? 'into' : 'fresh']
                  const next = call(acc ? 'place.into' : 'place.fresh', src, total, { len: b.length }, 1, args, [])
                  if (acc) free(acc)
                  acc = next
                  offset += b.length
                }
                out.set(hostData(acc as GpuBuffer))
                return true
              } finally {
                if (acc) free(acc)
              }
            },
            () => false,
          )
        : false
      if (!gathered) {
        let offset = 0
        for (const b of bs) {
          out.set(hostData(b), offset)
          offset += b.length
        }
      }
      return out
    },

    matmul: (a, b, m, k, n, bias) => {
      check('matmul', a, b, bias)
      return run(
        [m, k, n, m * n, ...lengths(a, b, bias)],
        (made) =>
          call(
            bias ? 'matmulBias' : 'matmul',
            bias ? D.matmulBias : D.matmul,
            m * n,
            { k, n, invN: 1 / n },
            k,
            bias ? [a, b, bias] : [a, b],
            made,
          ),
        () => onHost(host.matmul(hostData(a), hostData(b), m, k, n, bias && hostData(bias))),
      )
    },

    fire: (v, x, threshold, reset, vReset) => {
      check('fire', v, x)
      const thrUp = roundUpF32(threshold)
      const thrHi = Math.fround(threshold)
      const thrLo = Math.fround(threshold - thrHi)
      const n = x.length
      const inputs = v ? [v, x] : [x]
      const which = v ? 'withV' : 'fresh'
      return run(
        [n, ...lengths(v)],
        (made) => ({
          spikes: call(`fireSpikes.${which}`, DEVICE_SOURCES.fireSpikes[which], n, {}, 1, [...inputs, thrUp], made),
          v: call(
            `fireV.${reset}.${which}`,
            DEVICE_SOURCES.fireV[reset][which],
            n,
            {},
            1,
            [...inputs, thrUp, ...(reset === 'soft' ? [thrHi, thrLo] : [vReset])],
            made,
          ),
        }),
        () => {
          const r = host.fire(v && hostData(v), hostData(x), threshold, reset, vReset)
          return { spikes: onHost(r.spikes), v: onHost(r.v) }
        },
      )
    },

    liPoolStep: (sum, x, planes, height, width, k, mode) => {
      check('liPoolStep', sum, x)
      const [oh, ow] = [height / k, width / k]
      const n = planes * height * width
      const window: PoolWindow = { kernelH: k, kernelW: k, strideH: k, strideW: k, padH: 0, padW: 0 }
      const inputs = sum ? [sum, x] : [x]
      const which = sum ? 'withSum' : 'fresh'
      return run(
        [n, planes * oh * ow, ...lengths(sum, x)],
        (made) => {
          const out = call(
            `liPoolOut.${mode}.${which}`,
            DEVICE_SOURCES.liPoolOut[mode][which],
            planes * oh * ow,
            poolConstants(height, width, window, oh, ow, mode),
            k,
            inputs,
            made,
          )
          const nextConstants = { h: height, w: width, k, oh, ow, invH: 1 / height, invW: 1 / width, invK: 1 / k }
          const next = DEVICE_SOURCES.liPoolNext[which]
          const nextSum = call(`liPoolNext.${which}`, next, n, nextConstants, 1, [...inputs, out], made)
          return { out, nextSum }
        },
        () => {
          const r = host.liPoolStep(sum && hostData(sum), hostData(x), planes, height, width, k, mode)
          return { out: onHost(r.out), nextSum: onHost(r.nextSum) }
        },
      )
    },

    pool2d: (x, planes, height, width, window, mode) => {
      check('pool2d', x)
      const [oh, ow] = pooledSize(height, width, window)
      return run(
        [planes, oh, ow, planes * oh * ow, x.length],
        (made) =>
          call(
            `pool2d.${mode}`,
            DEVICE_SOURCES.pool2d[mode],
            planes * oh * ow,
            poolConstants(height, width, window, oh, ow, mode),
            Math.max(window.kernelH, window.kernelW),
            [x],
            made,
          ),
        () => onHost(host.pool2d(hostData(x), planes, height, width, window, mode)),
      )
    },

    maxPool2dBy: (key, value, planes, height, width, window) => {
      check('maxPool2dBy', key, value)
      const [oh, ow] = pooledSize(height, width, window)
      return run(
        [planes, oh, ow, planes * oh * ow, key.length, value.length],
        (made) =>
          call(
            'maxPool2dBy',
            D.maxPool2dBy,
            planes * oh * ow,
            poolConstants(height, width, window, oh, ow, 'max'),
            Math.max(window.kernelH, window.kernelW),
            [key, value],
            made,
          ),
        () => onHost(host.maxPool2dBy(hostData(key), hostData(value), planes, height, width, window)),
      )
    },

    axpy: (a, alpha, b) => {
      check('axpy', a, b)
      return run(
        lengths(a, b),
        (made) => call('axpy', D.axpy, a.length, {}, 1, [a, alpha, b], made),
        () => onHost(host.axpy(hostData(a), alpha, hostData(b))),
      )
    },

    mul: (a, b) => {
      check('mul', a, b)
      return run(
        lengths(a, b),
        (made) => call('mul', D.mul, a.length, {}, 1, [a, b], made),
        () => onHost(host.mul(hostData(a), hostData(b))),
      )
    },

    channelAffine: (x, outer, channels, inner, scale: Stats, shift: Stats) => {
      check('channelAffine', x)
      const n = outer * channels * inner
      return run(
        [outer, channels, inner, n, x.length],
        (made) =>
          call(
            'channelAffine',
            D.channelAffine,
            n,
            { channels, inner, invChannels: 1 / channels, invInner: 1 / inner },
            1,
            [x, f32(scale, channels), f32(shift, channels)],
            made,
          ),
        () => onHost(host.channelAffine(hostData(x), outer, channels, inner, scale, shift)),
      )
    },

    groupMean: (x, rows, length, size) => {
      check('groupMean', x)
      const groups = Math.floor(length / size)
      return run(
        [rows, groups, size, rows * groups, x.length],
        (made) =>
          call(
            'groupMean',
            D.groupMean,
            rows * groups,
            { rowLength: length, size, groups, invGroups: 1 / groups },
            size,
            [x],
            made,
          ),
        () => onHost(host.groupMean(hostData(x), rows, length, size)),
      )
    },
  }
  return device
}
