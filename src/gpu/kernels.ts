/**
 * How each kernel runs on gpu.js: one row per ported kernel, written like the kernel's own
 * signature with a {@link Launcher} in front, launching one or more compiled sources
 * (`sources.ts`). Kernels without a row are listed in {@link gpuUnported} and run on the host
 * (the `cpu` reference, through `fallbackTo`); the types make the two lists cover every kernel
 * exactly once, so a new kernel is a compile error here until it has a row or is listed.
 *
 * A row's `when` narrows it further (LIPool's windows must tile the image, say); the device
 * checks the sizes every row needs (every buffer and output within `[1, 2^23]` values) itself.
 *
 * @module
 */
import type { KernelName, KernelOutputs, Kernels } from '../kernel/kernels.js'
import { pooledSize } from '../kernel/kernels.js'
import type { AttrsOf } from '../kernel/spec.js'
import type { Arg, GpuBuffer, Launcher } from './buffers.js'
import * as S from './sources.js'
import { divisor, poolConstants } from './sources.js'

/**
 * Kernels that always run on the host: the random draws (`uniform`, `bernoulliMask`: their bits
 * must be the host generator's, which needs 32-bit integer arithmetic that gpu.js lacks),
 * WTALayer's selection (`winnerTakeAll`: a per-column top-k with NaN ranking first), and, not
 * ported yet, the training kernels (convolution, cross-entropy) and the backward kernels the
 * gradient rules call.
 */
export const gpuUnported = [
  'uniform',
  'bernoulliMask',
  'winnerTakeAll',
  'conv2d',
  'conv2dGradInput',
  'conv2dGradWeight',
  'crossEntropy',
  'crossEntropyGrad',
  'relu',
  'reluGrad',
  'split',
  'momentsAlongAxisGrad',
  'momentsPerChannelGrad',
  'normalizeAlongAxisGrad',
  'channelScaleShiftGrad',
  'channelAffineGrad',
  'pool2dGrad',
  'maxPool2dByGrad',
  'upsampleNearestGrad',
  'winnerTakeAllGrad',
  'groupMeanGrad',
  'neuronGrad',
  'adam',
] as const satisfies readonly KernelName[]

/** A kernel that runs on the host. */
export type GpuUnported = (typeof gpuUnported)[number]

/** How kernel `K` runs on gpu.js. */
export interface GpuRow<K extends KernelName> {
  /** Besides the sizes, when the row applies (default: always); else the call runs on the host. */
  readonly when?: (attrs: AttrsOf<K>) => boolean
  /** The call, on the launcher's compiled kernels: new buffers, the intermediates freed. */
  readonly run: (g: Launcher, ...args: Parameters<Kernels<GpuBuffer>[K]>) => KernelOutputs<K, GpuBuffer>
}

const poolFits = (a: { readonly height: number; readonly width: number; readonly window: AttrsOf<'pool2d'>['window'] }) =>
  pooledSize(a.height, a.width, a.window).every((n) => n >= 1)

/** The rows. */
export const gpuKernels: { readonly [K in Exclude<KernelName, GpuUnported>]: GpuRow<K> } = {
  matmul: {
    run: (g, a, b, bias, { m, k, n, transA, transB }) =>
      g.call(
        S.matmul(bias !== null, transA === true, transB === true),
        m * n,
        bias === null ? { a, b } : { a, b, bias },
        { m, k, ...divisor('n', n) },
        k,
      ),
  },
  sumAlongAxis: {
    run: (g, x, { outer, axis, inner }) =>
      g.call(S.sumAlongAxis, outer * inner, { x }, { axis, ...divisor('inner', inner) }, axis),
  },
  broadcastAlongAxis: {
    run: (g, x, { outer, axis, inner }) =>
      g.call(S.broadcastAlongAxis, outer * axis * inner, { x }, { ...divisor('inner', inner), ...divisor('axis', axis) }),
  },
  momentsAlongAxis: {
    run: (g, x, { outer, axis, inner }) => {
      const constants = { axis, ...divisor('inner', inner) }
      return {
        mean: g.call(S.momentAlongAxis('mean'), outer * inner, { x }, constants, axis),
        variance: g.call(S.momentAlongAxis('variance'), outer * inner, { x }, constants, axis),
      }
    },
  },
  momentsPerChannel: {
    // each (outer, channel) row's sum and squared deviations, then merged per channel: the
    // float32 chains stay `inner` and `outer` long instead of `outer * inner`
    run: (g, x, { outer, channels, inner }) => {
      const rows = outer * channels
      const sums = g.call(S.rowMoment('sum'), rows, { x }, { inner }, inner)
      const squares = g.call(S.rowMoment('squares'), rows, { x }, { inner }, inner)
      const constants = { outer, channels, inner, count: outer * inner }
      const mean = g.call(S.channelMoment('mean'), channels, { sums }, constants, outer)
      const variance = g.call(S.channelMoment('variance'), channels, { sums, squares }, constants, outer)
      g.free(sums)
      g.free(squares)
      return { mean, variance }
    },
  },
  normalizeAlongAxis: {
    run: (g, x, mean, variance, weight, bias, { outer, axis, inner, eps }) =>
      g.call(
        S.normalizeAlongAxis,
        outer * axis * inner,
        { x, mean, variance, weight, bias, eps },
        { ...divisor('axis', axis), ...divisor('inner', inner) },
      ),
  },
  channelScaleShift: {
    run: (g, mean, variance, weight, bias, gains, { channels, steps, eps }) => {
      const args = { mean, variance, weight, bias, eps, ...(gains === null ? {} : { gains }) }
      const constants = divisor('channels', channels)
      return {
        scale: g.call(S.channelFold('scale', gains !== null), steps * channels, args, constants),
        shift: g.call(S.channelFold('shift', gains !== null), steps * channels, args, constants),
      }
    },
  },
  channelAffine: {
    when: (a) => a.steps >= 1 && Number.isInteger(a.outer / a.steps),
    run: (g, x, scale, shift, { outer, channels, inner, steps }) =>
      g.call(S.channelAffine, outer * channels * inner, { x, scale, shift }, {
        ...divisor('inner', inner),
        ...divisor('channels', channels),
        ...divisor('block', outer / steps),
      }),
  },
  runningStats: {
    // the unbiased variance needs count > 1 (the reference gives NaN, which GLSL cannot spell)
    when: (a) => a.count > 1,
    run: (g, runningMean, runningVar, mean, variance, { momentum, count }) => ({
      mean: g.call(S.runningBlend, runningMean.length, {
        running: runningMean,
        batch: mean,
        keep: 1 - momentum,
        rate: momentum,
      }),
      variance: g.call(S.runningBlend, runningVar.length, {
        running: runningVar,
        batch: variance,
        keep: 1 - momentum,
        rate: (momentum * count) / (count - 1),
      }),
    }),
  },
  pool2d: {
    when: poolFits,
    run: (g, x, { planes, height, width, window, mode }) => {
      const [oh, ow] = pooledSize(height, width, window)
      const constants = poolConstants(height, width, window, oh, ow, mode)
      return g.call(S.pool2d(mode), planes * oh * ow, { x }, constants, Math.max(window.kernelH, window.kernelW))
    },
  },
  maxPool2dBy: {
    when: poolFits,
    run: (g, key, value, { planes, height, width, window }) => {
      const [oh, ow] = pooledSize(height, width, window)
      const constants = poolConstants(height, width, window, oh, ow, 'max')
      const loop = Math.max(window.kernelH, window.kernelW)
      return g.call(S.maxPool2dBy, planes * oh * ow, { key, value }, constants, loop)
    },
  },
  upsampleNearest: {
    run: (g, x, { planes, height, width, factor }) =>
      g.call(S.upsampleNearest, planes * height * factor * width * factor, { x }, {
        h: height,
        w: width,
        ...divisor('outH', height * factor),
        ...divisor('outW', width * factor),
        ...divisor('f', factor),
      }),
  },
  liPoolStep: {
    when: (a) => a.height % a.k === 0 && a.width % a.k === 0,
    // the output straight from sum + x, then the next sum from sum + x and the output: two
    // kernels, no intermediate buffer
    run: (g, sum, x, { planes, height, width, k, mode }) => {
      const [oh, ow] = [height / k, width / k]
      const window = { kernelH: k, kernelW: k, strideH: k, strideW: k, padH: 0, padW: 0 }
      const args: Readonly<Record<string, GpuBuffer>> = sum === null ? { x } : { sum, x }
      const constants = poolConstants(height, width, window, oh, ow, mode)
      const out = g.call(S.liPoolOut(sum !== null, mode), planes * oh * ow, args, constants, k)
      const nextSum = g.call(S.liPoolNext(sum !== null), planes * height * width, { ...args, out }, {
        ...divisor('h', height),
        ...divisor('w', width),
        ...divisor('k', k),
        oh,
        ow,
      })
      return { out, nextSum }
    },
  },
  groupMean: {
    run: (g, x, { rows, length, size }) => {
      const groups = Math.floor(length / size)
      return g.call(S.groupMean, rows * groups, { x }, { rowLength: length, size, ...divisor('groups', groups) }, size)
    },
  },
  mul: { run: (g, a, b) => g.call(S.mul, a.length, { a, b }) },
  axpy: { run: (g, a, b, { alpha }) => g.call(S.axpy, a.length, { a, b, alpha }) },
  scale: { run: (g, x, { alpha }) => g.call(S.scale, x.length, { x, alpha }) },
  neuron: {
    // the threshold and tau in float32, as the reference rounds them for float32 data
    run: (g, v, x, { model, tau, threshold, fireAt, reset, vReset }) => {
      const variant = { withV: v !== null, model, fireAt, reset }
      const args = {
        ...(v === null ? {} : { v }),
        x,
        threshold: Math.fround(threshold),
        tau: Math.fround(tau),
        vReset,
      }
      return {
        spikes: g.call(S.neuron('spikes', variant), x.length, args),
        v: g.call(S.neuron('v', variant), x.length, args),
      }
    },
  },
  fill: { run: (g, { length, value }) => g.call(S.fill, length, { value }) },
  concat: {
    // each part placed into the growing result (one compiled kernel per part length)
    run: (g, xs) => {
      const total = xs.reduce((n, x) => n + x.length, 0)
      let acc: GpuBuffer | undefined
      let offset = 0
      for (const x of xs) {
        const args: Readonly<Record<string, Arg>> = acc === undefined ? { x, offset } : { into: acc, x, offset }
        const next = g.call(S.place(acc !== undefined), total, args, { len: x.length })
        if (acc !== undefined) g.free(acc)
        acc = next
        offset += x.length
      }
      return acc as GpuBuffer
    },
  },
  slice: { run: (g, x, { offset, length }) => g.call(S.slice, length, { x, offset }) },
}
