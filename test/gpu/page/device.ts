/**
 * The browser check of the GPU device: a sample of the parity table (./cases.ts) on GL
 * textures, the buffers it makes being gpu.js textures, sizes up to the limit where index
 * arithmetic stays exact (and one past it, kept on the host), textures outliving their kernel's
 * eviction, and resident scans of the pipelines of every layer (./pipelines.ts) against the CPU
 * scan, with their readbacks and GL textures counted.
 */
import { cpu } from '../../../src/backend/cpu/index.js'
import type { GpuBuffer, GpuDevice } from '../../../src/gpu/index.js'
import type { KernelName, PoolWindow } from '../../../src/kernel/kernels.js'
import { type Call, checkCall, data, sampleCases } from './cases.js'
import { compareScan, pipelines, type ScanComparison } from './pipelines.js'

/** One kernel call against the `cpu` device. */
export interface KernelComparison {
  readonly kernel: string
  readonly what: string
  /** What did not match (empty: it passed). */
  readonly problems: readonly string[]
  /** Largest |gpu - cpu| over its tolerance (at most 1 where it passed). */
  readonly worst: number
  /** The kinds of the buffers the call made ('texture' expected). */
  readonly kinds: readonly string[]
}

/** The device part of the page's outcome. */
export interface DeviceCheck {
  readonly kernels: readonly KernelComparison[]
  /** Buffers of kind texture that are not gpu.js `Texture` instances. */
  readonly notTextures: number
  /** The gpu.js texture types of the outputs (e.g. `NumberTexture`). */
  readonly textureTypes: readonly string[]
  /** Past the limit: the kind of a buffer of 2^23 + 1 values, and of a product of two of them. */
  readonly pastLimit: readonly string[]
  readonly scans: readonly ScanComparison[]
  /** Live GL textures after a warm-up scan and after a scan twice as long (must be equal). */
  readonly glTextures: readonly [number, number]
  /** `gpu.liveBuffers()` at the end (0: all freed). */
  readonly liveBuffers: number
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

/** Calls near the limit of 2^23 values: flat indices up to 2^23 - 1, coordinates split exactly. */
const nearLimit = (n: number): readonly (readonly [KernelName, Call])[] => {
  const [p, h, w] = [n / (1024 * 512), 1024, 512]
  const window: PoolWindow = { kernelH: 3, kernelW: 3, strideH: 3, strideW: 3, padH: 1, padW: 1 }
  const [a, b] = [data(n, 37), data(n, 41)]
  return [
    ['axpy', { args: [a, b, { alpha: 0.5 }], outs: [{ scale: () => 2 }], what: `${n} values` }],
    ['pool2d', { args: [a, { planes: p, height: h, width: w, window, mode: 'max' }], outs: [{ exact: true }], what: `${n} values in` }],
    [
      'liPoolStep',
      { args: [a, b, { planes: p, height: h, width: w, k: 2, mode: 'avg' }], outs: [{ scale: () => 2 }, { scale: () => 4 }], what: `${n} values` },
    ],
  ]
}

/**
 * Runs the device checks on `gpu`; `evicting` is a second device with room for one compiled
 * kernel (its outputs must outlive their kernel's eviction); `textureClass` is gpu.js's
 * `Texture`; `runs` calls of each kernel from the parity table.
 */
export const checkDevice = (
  gpu: GpuDevice,
  evicting: GpuDevice,
  textureClass: unknown,
  glTextures: () => number,
  runs: number,
): DeviceCheck => {
  let notTextures = 0
  const textureTypes = new Set<string>()
  const isTexture = (b: GpuBuffer): boolean => typeof textureClass === 'function' && b.value instanceof textureClass
  const inspect = (b: GpuBuffer): void => {
    if (b.kind === 'texture' && !isTexture(b)) notTextures++
    if (b.kind === 'texture') textureTypes.add(String((b.value as { readonly type?: unknown }).type))
  }
  const kernels: KernelComparison[] = []
  const run = (name: KernelName, call: Call, d: GpuDevice = gpu): void => {
    const r = checkCall(d, name, call, inspect)
    kernels.push({ kernel: name, what: call.what, problems: r.problems, worst: r.worst, kinds: r.kinds })
  }

  for (const [name, call] of sampleCases(runs)) run(name, call)
  for (const [name, call] of nearLimit(gpu.maxResidentLength)) run(name, call)

  // one more value than the limit: kept on the host, and computed there
  const big = data(gpu.maxResidentLength + 1, 43)
  const gbig = gpu.upload(big)
  const product = gpu.mul(gbig, gbig)
  const pastLimit = [gbig.kind, product.kind]
  const want = cpu.mul(big, big)
  const got = gpu.read(product)
  const equal = got.length === want.length && got.every((v, i) => Object.is(v, want[i]))
  kernels.push({ kernel: 'mul', what: 'past the limit, on the host', problems: equal ? [] : ['differs'], worst: 0, kinds: [] })
  ;[gbig, product].forEach((b) => gpu.free(b))

  // textures outlive the eviction of the kernel that made them (gpu.js would free them with it)
  {
    const [a, b] = [data(999, 61), data(999, 67)]
    const [ga, gb] = [evicting.upload(a), evicting.upload(b)]
    const made = [evicting.mul(ga, gb), evicting.axpy(ga, gb, { alpha: 2 })] // each evicts the last kernel
    made.forEach(inspect)
    const [p, s] = made.map((r) => evicting.read(r))
    ;[ga, gb, ...made].forEach((r) => evicting.free(r))
    const problems = [
      ...(p.every((v, i) => Math.abs(v - a[i] * b[i]) <= 1e-6) ? [] : ['mul differs']),
      ...(s.every((v, i) => Math.abs(v - (a[i] + 2 * b[i])) <= 1e-5) ? [] : ['axpy differs']),
      ...(evicting.liveBuffers() === 0 ? [] : ['buffers left']),
    ]
    kernels.push({ kernel: 'mul, axpy', what: 'outputs after their kernels left the cache', problems, worst: 0, kinds: made.map((m) => m.kind) })
  }

  // resident scans of the pipelines against the CPU scan
  const scans: ScanComparison[] = []
  const kindOf = (b: GpuBuffer): string => (isTexture(b) ? 'texture' : `not a texture (${b.kind})`)
  for (const p of pipelines()) {
    for (const read of ['all', 'last', 'sum'] as const) scans.push(compareScan(p, gpu, kindOf, 3, read))
  }
  const first = pipelines()[0]
  scans.push(compareScan(first, gpu, kindOf, 3, 'sum'))
  const before = glTextures()
  scans.push(compareScan(first, gpu, kindOf, 6, 'sum'))
  const after = glTextures()
  return {
    kernels,
    notTextures,
    textureTypes: [...textureTypes],
    pastLimit,
    scans,
    glTextures: [before, after],
    liveBuffers: gpu.liveBuffers(),
  }
}
