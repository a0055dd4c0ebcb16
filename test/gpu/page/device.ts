/**
 * The browser check of the GPU device (`gpu.device`): every device kernel against the host
 * device on the CPU kernels, the buffers it makes being gpu.js textures, sizes up to the limit
 * where index arithmetic stays exact (and one past it, kept on the host), and resident scans of
 * small pipelines against the CPU scan, with their readbacks and GL textures counted.
 */
import type { PoolMode, PoolWindow } from '../../../src/backend/backend.js'
import { cpu } from '../../../src/backend/cpu/index.js'
import { hostDevice } from '../../../src/device/host.js'
import type { GpuBackend, GpuBuffer } from '../../../src/gpu/index.js'
import { compareScan, pipelines, type ScanComparison } from './pipelines.js'

/** One device kernel call against the host device. */
export interface DeviceComparison {
  readonly kernel: string
  readonly size: number
  /** Largest |gpu - cpu| / (1 + scale), scale the magnitude of what was summed. */
  readonly error: number
  /** The kinds of the buffers the call made ('texture' expected, 'host' past the size limit). */
  readonly kinds: readonly string[]
}

/** The device part of the page's outcome. */
export interface DeviceCheck {
  readonly comparisons: readonly DeviceComparison[]
  /** Buffers made by kernels that are not gpu.js `Texture` instances although their kind says texture. */
  readonly notTextures: number
  readonly scans: readonly ScanComparison[]
  /** Live GL textures after a warm-up scan and after a scan twice as long (must be equal). */
  readonly glTextures: readonly [number, number]
  /** `gpu.device.liveBuffers()` at the end (0: all freed). */
  readonly liveBuffers: number
  /** The gpu.js texture types of the kernels' outputs compared (e.g. `ArrayTexture(1)`). */
  readonly textureTypes: readonly string[]
}

/** Deterministic inputs in [-1, 1). */
const data = (n: number, seed: number): Float32Array => {
  let s = seed >>> 0 || 1
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = s / 2 ** 31 - 1
  }
  return out
}

const worst = (a: ArrayLike<number>, b: ArrayLike<number>, scale: number): number => {
  if (a.length !== b.length) return Infinity
  let d = 0
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]) / (1 + scale))
  return Number.isNaN(d) ? Infinity : d
}

/** Counts GL textures created and not deleted, on every context made after the call. */
export const countGlTextures = (): (() => number) => {
  let live = 0
  for (const proto of [WebGL2RenderingContext.prototype, WebGLRenderingContext.prototype]) {
    // eslint-disable-next-line @typescript-eslint/unbound-method -- called below with each context as `this`
    const create = proto.createTexture
    // eslint-disable-next-line @typescript-eslint/unbound-method -- likewise
    const remove = proto.deleteTexture
    proto.createTexture = function (this: WebGLRenderingContext) {
      live++
      return create.call(this)
    }
    proto.deleteTexture = function (this: WebGLRenderingContext, t: WebGLTexture | null) {
      if (t !== null) live--
      return remove.call(this, t)
    }
  }
  return () => live
}

/**
 * Runs the device checks on `gpu.device`; `evicting` is a second backend with room for one
 * compiled kernel (its outputs must outlive their kernel's eviction); `textureClass` is gpu.js's
 * `Texture`.
 */
export const checkDevice = (
  gpu: GpuBackend,
  evicting: GpuBackend,
  textureClass: unknown,
  glTextures: () => number,
): DeviceCheck => {
  const d = gpu.device
  const host = hostDevice(cpu)
  const comparisons: DeviceComparison[] = []
  let notTextures = 0
  const textureTypes = new Set<string>()
  const isTexture = (b: GpuBuffer): boolean => typeof textureClass === 'function' && b.value instanceof textureClass
  /** Reads and frees the outputs, counting the texture check; gives the values. */
  const take = (...bs: readonly GpuBuffer[]): Float32Array[] =>
    bs.map((b) => {
      if (b.kind === 'texture' && !isTexture(b)) notTextures++
      if (b.kind === 'texture') textureTypes.add(String((b.value as { readonly type?: unknown }).type))
      const v = d.read(b) as Float32Array
      d.free(b)
      return v
    })
  const compare = (kernel: string, got: readonly GpuBuffer[], want: readonly ArrayLike<number>[], scale = 1): void => {
    const kinds = got.map((b) => b.kind)
    const values = take(...got)
    const error = Math.max(...values.map((v, i) => worst(v, want[i], scale)))
    comparisons.push({ kernel, size: values.reduce((n, v) => n + v.length, 0), error, kinds })
  }
  const up = (x: Float32Array): GpuBuffer => d.upload(x)

  // matmul with and without bias, odd sizes, and a reduction past gpu.js's default loop limit
  for (const [m, k, n] of [
    [7, 33, 5],
    [3, 1500, 4],
  ] as const) {
    const a = data(m * k, m)
    const b = data(k * n, n)
    const bias = data(n, k)
    const [ga, gb, gbias] = [up(a), up(b), up(bias)]
    compare(`matmul ${m}x${k}x${n}`, [d.matmul(ga, gb, m, k, n)], [host.matmul(a, b, m, k, n)], k)
    compare(`matmul+bias ${m}x${k}x${n}`, [d.matmul(ga, gb, m, k, n, gbias)], [host.matmul(a, b, m, k, n, bias)], k)
    take(ga, gb, gbias)
  }
  // fire: soft and hard, with and without a potential
  {
    const n = 1001
    const v = data(n, 3)
    const x = data(n, 5)
    const [gv, gx] = [up(v), up(x)]
    for (const reset of ['soft', 'hard'] as const) {
      for (const withV of [true, false]) {
        const r = d.fire(withV ? gv : null, gx, 0.3, reset, -0.2)
        const w = host.fire(withV ? v : null, x, 0.3, reset, -0.2)
        compare(`fire ${reset}${withV ? '' : ' (no v)'}`, [r.spikes, r.v], [w.spikes, w.v])
      }
    }
    take(gv, gx)
  }
  // pooling: both modes, padding and strides, on odd image sizes
  const [planes, height, width] = [5, 13, 11]
  const x = data(planes * height * width, 7)
  const key = data(planes * height * width, 11)
  const [gx, gkey] = [up(x), up(key)]
  const windows: readonly PoolWindow[] = [
    { kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0 },
    { kernelH: 3, kernelW: 2, strideH: 2, strideW: 1, padH: 1, padW: 1 },
  ]
  for (const w of windows) {
    for (const mode of ['max', 'avg'] as const) {
      const tag = `k${w.kernelH}x${w.kernelW} s${w.strideH}x${w.strideW} p${w.padH}`
      const want = host.pool2d(x, planes, height, width, w, mode)
      compare(`pool2d ${mode} ${tag}`, [d.pool2d(gx, planes, height, width, w, mode)], [want])
    }
    const want = host.maxPool2dBy(key, x, planes, height, width, w)
    compare(`maxPool2dBy`, [d.maxPool2dBy(gkey, gx, planes, height, width, w)], [want])
  }
  take(gx, gkey)
  // LIPool step: with and without a sum, both modes
  {
    const [p, h, w, k] = [3, 12, 9, 3]
    const sum = data(p * h * w, 13)
    const xs = data(p * h * w, 17)
    const [gsum, gxs] = [up(sum), up(xs)]
    for (const mode of ['max', 'avg'] as PoolMode[]) {
      for (const withSum of [true, false]) {
        const r = d.liPoolStep(withSum ? gsum : null, gxs, p, h, w, k, mode)
        const want = host.liPoolStep(withSum ? sum : null, xs, p, h, w, k, mode)
        compare(`liPoolStep ${mode}${withSum ? '' : ' (no sum)'}`, [r.out, r.nextSum], [want.out, want.nextSum], 2)
      }
    }
    take(gsum, gxs)
  }
  // elementwise, channel affine and group means
  {
    const n = 4 * 7 * 33
    const a = data(n, 19)
    const b = data(n, 23)
    const [ga, gb] = [up(a), up(b)]
    compare('axpy', [d.axpy(ga, -0.375, gb)], [host.axpy(a, -0.375, b)])
    compare('mul', [d.mul(ga, gb)], [host.mul(a, b)])
    const scale = Float64Array.from(data(7, 29))
    const shift = Float64Array.from(data(7, 31))
    const affine = host.channelAffine(a, 4, 7, 33, scale, shift)
    compare('channelAffine', [d.channelAffine(ga, 4, 7, 33, scale, shift)], [affine])
    compare('groupMean', [d.groupMean(ga, 28, 33, 5)], [host.groupMean(a, 28, 33, 5)])
    take(ga, gb)
  }
  // the size limit: 2^23 values stay on the GPU (flat indices up to 2^23 - 1, coordinates
  // split exactly), one more is kept on the host
  {
    const n = d.maxResidentLength
    const a = data(n, 37)
    const b = data(n, 41)
    const [ga, gb] = [up(a), up(b)]
    compare(`axpy (${n} values)`, [d.axpy(ga, 0.5, gb)], [host.axpy(a, 0.5, b)])
    const [p, h, w] = [n / (1024 * 512), 1024, 512]
    const window: PoolWindow = { kernelH: 3, kernelW: 3, strideH: 3, strideW: 3, padH: 1, padW: 1 }
    const pooled = host.pool2d(a, p, h, w, window, 'max')
    compare(`pool2d max (${n} values in)`, [d.pool2d(ga, p, h, w, window, 'max')], [pooled])
    const liWant = host.liPoolStep(a, b, p, h, w, 2, 'avg')
    const li = d.liPoolStep(ga, gb, p, h, w, 2, 'avg')
    compare(`liPoolStep avg (${n} values)`, [li.out, li.nextSum], [liWant.out, liWant.nextSum], 2)
    take(ga, gb)
    const big = data(n + 1, 43)
    const gbig = up(big)
    compare(`mul (${n + 1} values, on the host)`, [d.mul(gbig, gbig)], [host.mul(big, big)])
    take(gbig)
  }

  // textures outlive the eviction of the kernel that made them (gpu.js would free them with it)
  {
    const e = evicting.device
    const a = data(999, 61)
    const b = data(999, 67)
    const [ga, gb] = [e.upload(a), e.upload(b)]
    const product = e.mul(ga, gb) // evicts the upload kernel, whose outputs are alive
    const sum = e.axpy(ga, 2, gb) // evicts mul, whose output is alive
    const got = [product, sum].map((r) => {
      if (r.kind === 'texture' && !isTexture(r)) notTextures++
      return e.read(r)
    })
    ;[ga, gb, product, sum].forEach((r) => e.free(r))
    // an error of Infinity where a buffer was left alive
    const worstOf = Math.max(worst(got[0], host.mul(a, b), 1), worst(got[1], host.axpy(a, 2, b), 1))
    const error = e.liveBuffers() === 0 ? worstOf : Infinity
    const kernel = 'mul and axpy outputs after their kernels left the cache'
    comparisons.push({ kernel, size: 1998, error, kinds: [product.kind, sum.kind] })
  }

  // resident scans of small pipelines against the CPU scan
  const scans: ScanComparison[] = []
  const kindOf = (b: GpuBuffer): string => (isTexture(b) ? 'texture' : `not a texture (${b.kind})`)
  for (const p of pipelines()) {
    for (const read of ['all', 'last', 'sum'] as const) scans.push(compareScan(p, d, kindOf, 4, read))
  }
  const first = pipelines()[0]
  scans.push(compareScan(first, d, kindOf, 3, 'sum'))
  const before = glTextures()
  scans.push(compareScan(first, d, kindOf, 6, 'sum'))
  const after = glTextures()
  return {
    comparisons,
    notTextures,
    scans,
    glTextures: [before, after],
    liveBuffers: d.liveBuffers(),
    textureTypes: [...textureTypes],
  }
}
