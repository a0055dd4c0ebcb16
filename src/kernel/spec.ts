/**
 * What every kernel's signature means at run time, for code that handles kernels generically
 * (allocating host devices, the gradient tracer, fallbacks, counting wrappers): how many of its
 * leading arguments are buffers, the names of its outputs, and each output's length and dtype.
 * One entry per kernel of {@link Kernels}; a kernel missing here is a compile error.
 *
 * @module
 */
import type { DType } from '../tensor/tensor.js'
import type {
  AdamAttrs,
  AxisView,
  ChannelView,
  ConvAttrs,
  DrawAttrs,
  KernelName,
  Kernels,
  LiPoolAttrs,
  MatmulAttrs,
  PoolAttrs,
  UpsampleAttrs,
} from './kernels.js'
import { convOutputSize, pooledSize } from './kernels.js'

/**
 * How an output's dtype is chosen: like the first buffer argument, like buffer argument `i`,
 * statistics precision, or `attrs.dtype`.
 */
export type OutputDtype =
  | 'like'
  | {
      /** The buffer argument whose dtype the output has. */
      readonly like: number
    }
  | 'stats'
  | 'attr'

/** The run-time signature of one kernel. */
export interface KernelSpec {
  /**
   * The leading arguments that are buffers (each may be `null` where the signature allows);
   * `'list'`: the first argument is an array of buffers. The argument after them is the
   * attributes object (absent for kernels without attributes).
   */
  readonly inputs: number | 'list'
  /**
   * Output names; a kernel with one output returns the buffer itself. `'list'`: the kernel
   * returns an array of buffers, as many as `lengths` gives.
   */
  readonly outputs: readonly string[] | 'list'
  /** Each output's length, from the attributes and the buffer arguments' lengths (`null` for a null argument). */
  readonly lengths: (attrs: never, inputLengths: readonly (number | null)[]) => readonly number[]
  /** The outputs' dtype rule (one for all, or one per output). */
  readonly dtype: OutputDtype | readonly OutputDtype[]
  /** The buffer arguments held in statistics precision (float64 on host devices); the others hold data. */
  readonly stats?: readonly number[]
}

const same = (lengths: readonly (number | null)[]): number => lengths.find((n) => n !== null) ?? 0
const planesOut = (a: PoolAttrs | Omit<PoolAttrs, 'mode'>): number => {
  const [h, w] = pooledSize(a.height, a.width, a.window)
  return a.planes * h * w
}

/** The run-time signature of every kernel. */
export const kernelSpecs: { readonly [K in KernelName]: KernelSpec } = {
  matmul: { inputs: 3, outputs: ['out'], dtype: 'like', lengths: (a: MatmulAttrs) => [a.m * a.n] },
  sumAlongAxis: { inputs: 1, outputs: ['out'], dtype: 'like', lengths: (a: AxisView) => [a.outer * a.inner] },
  momentsAlongAxis: {
    inputs: 1,
    outputs: ['mean', 'variance'],
    dtype: 'stats',
    lengths: (a: AxisView) => [a.outer * a.inner, a.outer * a.inner],
  },
  momentsPerChannel: {
    inputs: 1,
    outputs: ['mean', 'variance'],
    dtype: 'stats',
    lengths: (a: ChannelView) => [a.channels, a.channels],
  },
  normalizeAlongAxis: { inputs: 5, outputs: ['out'], dtype: 'like', stats: [1, 2], lengths: (_: AxisView, n) => [same(n)] },
  channelScaleShift: {
    inputs: 5,
    stats: [0, 1],
    outputs: ['scale', 'shift'],
    dtype: 'stats',
    lengths: (a: { readonly channels: number; readonly steps: number }) => [a.steps * a.channels, a.steps * a.channels],
  },
  channelAffine: { inputs: 3, outputs: ['out'], dtype: 'like', stats: [1, 2], lengths: (_: ChannelView, n) => [same(n)] },
  runningStats: { inputs: 4, outputs: ['mean', 'variance'], dtype: 'like', stats: [2, 3], lengths: (_: unknown, n) => [same(n), same(n)] },
  pool2d: { inputs: 1, outputs: ['out'], dtype: 'like', lengths: (a: PoolAttrs) => [planesOut(a)] },
  maxPool2dBy: { inputs: 2, outputs: ['out'], dtype: 'like', lengths: (a: Omit<PoolAttrs, 'mode'>) => [planesOut(a)] },
  upsampleNearest: {
    inputs: 1,
    outputs: ['out'],
    dtype: 'like',
    lengths: (a: UpsampleAttrs) => [a.planes * a.height * a.width * a.factor * a.factor],
  },
  liPoolStep: {
    inputs: 2,
    outputs: ['out', 'nextSum'],
    dtype: 'like',
    lengths: (a: LiPoolAttrs) => [(a.planes * a.height * a.width) / (a.k * a.k), a.planes * a.height * a.width],
  },
  winnerTakeAll: { inputs: 2, outputs: ['out'], dtype: 'like', lengths: (_: unknown, n) => [same(n)] },
  groupMean: {
    inputs: 1,
    outputs: ['out'],
    dtype: 'like',
    lengths: (a: { readonly rows: number; readonly length: number; readonly size: number }) => [
      a.rows * Math.floor(a.length / a.size),
    ],
  },
  mul: { inputs: 2, outputs: ['out'], dtype: 'like', lengths: (_: unknown, n) => [same(n)] },
  axpy: { inputs: 2, outputs: ['out'], dtype: 'like', lengths: (_: unknown, n) => [same(n)] },
  scale: { inputs: 1, outputs: ['out'], dtype: 'like', lengths: (_: unknown, n) => [same(n)] },
  relu: { inputs: 1, outputs: ['out'], dtype: 'like', lengths: (_: unknown, n) => [same(n)] },
  reluGrad: { inputs: 2, outputs: ['out'], dtype: 'like', lengths: (_: unknown, n) => [same(n)] },
  neuron: { inputs: 2, outputs: ['spikes', 'v'], dtype: 'like', lengths: (_: unknown, n) => [n[1] ?? 0, n[1] ?? 0] },
  adam: {
    inputs: 5,
    outputs: ['param', 'expAvg', 'expAvgSq', 'maxExpAvgSq'],
    dtype: 'like',
    lengths: (a: AdamAttrs, n) => [n[0] ?? 0, n[0] ?? 0, n[0] ?? 0, a.amsgrad ? (n[0] ?? 0) : 0],
  },
  broadcastAlongAxis: {
    inputs: 1,
    outputs: ['out'],
    dtype: 'like',
    lengths: (a: AxisView) => [a.outer * a.axis * a.inner],
  },
  momentsAlongAxisGrad: { inputs: 4, outputs: ['out'], dtype: { like: 2 }, stats: [0, 1, 3], lengths: (_: unknown, n) => [n[2] ?? 0] },
  momentsPerChannelGrad: { inputs: 4, outputs: ['out'], dtype: { like: 2 }, stats: [0, 1, 3], lengths: (_: unknown, n) => [n[2] ?? 0] },
  normalizeAlongAxisGrad: {
    inputs: 5,
    outputs: ['dx', 'dMean', 'dVariance', 'dWeight', 'dBias'],
    dtype: ['like', 'stats', 'stats', 'like', 'like'],
    stats: [2, 3],
    lengths: (a: AxisView, n) => [n[0] ?? 0, a.outer * a.inner, a.outer * a.inner, a.axis, a.axis],
  },
  channelScaleShiftGrad: {
    inputs: 7,
    outputs: ['dMean', 'dVariance', 'dWeight', 'dBias', 'dGains'],
    dtype: ['stats', 'stats', { like: 4 }, { like: 4 }, { like: 4 }],
    stats: [0, 1, 2, 3],
    lengths: (a: { readonly channels: number; readonly steps: number }, n) => [
      a.channels,
      a.channels,
      a.channels,
      a.channels,
      n[6] === null ? 0 : a.steps,
    ],
  },
  channelAffineGrad: {
    inputs: 3,
    outputs: ['dx', 'dScale', 'dShift'],
    dtype: ['like', 'stats', 'stats'],
    stats: [2],
    lengths: (a: ChannelView & { readonly steps: number }, n) => [n[0] ?? 0, a.steps * a.channels, a.steps * a.channels],
  },
  pool2dGrad: { inputs: 2, outputs: ['out'], dtype: 'like', lengths: (_: unknown, n) => [n[1] ?? 0] },
  maxPool2dByGrad: { inputs: 3, outputs: ['out'], dtype: 'like', lengths: (_: unknown, n) => [n[2] ?? 0] },
  upsampleNearestGrad: {
    inputs: 1,
    outputs: ['out'],
    dtype: 'like',
    lengths: (a: UpsampleAttrs) => [a.planes * a.height * a.width],
  },
  winnerTakeAllGrad: { inputs: 3, outputs: ['out'], dtype: 'like', lengths: (_: unknown, n) => [n[1] ?? 0] },
  groupMeanGrad: {
    inputs: 1,
    outputs: ['out'],
    dtype: 'like',
    lengths: (a: { readonly rows: number; readonly length: number }) => [a.rows * a.length],
  },
  neuronGrad: { inputs: 4, outputs: ['dx', 'dv'], dtype: { like: 3 }, lengths: (_: unknown, n) => [n[3] ?? 0, n[3] ?? 0] },
  conv2d: {
    inputs: 3,
    outputs: ['out'],
    dtype: 'like',
    lengths: (a: ConvAttrs) => {
      const [oh, ow] = convOutputSize(a)
      return [a.n * a.o * oh * ow]
    },
  },
  conv2dGradInput: { inputs: 2, outputs: ['out'], dtype: 'like', lengths: (a: ConvAttrs) => [a.n * a.c * a.h * a.w] },
  conv2dGradWeight: {
    inputs: 2,
    outputs: ['out'],
    dtype: 'like',
    lengths: (a: ConvAttrs) => [a.o * (a.c / a.groups) * a.kh * a.kw],
  },
  crossEntropy: { inputs: 2, outputs: ['out'], dtype: 'like', lengths: () => [1] },
  crossEntropyGrad: { inputs: 3, outputs: ['out'], dtype: { like: 1 }, lengths: (_: unknown, n) => [n[1] ?? 0] },
  uniform: { inputs: 0, outputs: ['out'], dtype: 'attr', lengths: (a: DrawAttrs) => [a.length] },
  bernoulliMask: { inputs: 0, outputs: ['out'], dtype: 'attr', lengths: (a: DrawAttrs) => [a.length] },
  fill: { inputs: 0, outputs: ['out'], dtype: 'attr', lengths: (a: { readonly length: number }) => [a.length] },
  concat: {
    inputs: 'list',
    outputs: ['out'],
    dtype: 'like',
    lengths: (_: unknown, n) => [n.reduce<number>((s, x) => s + (x ?? 0), 0)],
  },
  slice: {
    inputs: 1,
    outputs: ['out'],
    dtype: 'like',
    // a range past x's end is not a size (on a device whose blocks are not zeroed it read garbage)
    lengths: (a: { readonly offset: number; readonly length: number }, n) =>
      [a.offset >= 0 && a.offset + a.length <= (n[0] ?? 0) ? a.length : Number.NaN],
  },
  split: {
    inputs: 1,
    outputs: 'list',
    dtype: 'like',
    lengths: (a: { readonly count: number }, n) => Array.from({ length: a.count }, () => (n[0] ?? 0) / a.count),
  },
}

/** Every kernel's name, in the order of {@link kernelSpecs}. */
export const kernelNames = Object.keys(kernelSpecs) as readonly KernelName[]

/**
 * The buffer arguments of a call of kernel `name` with `args` (its positional arguments):
 * the leading buffers, or the list's entries.
 */
export const bufferArgs = <B>(name: KernelName, args: readonly unknown[]): readonly (B | null)[] => {
  const inputs = kernelSpecs[name].inputs
  return (inputs === 'list' ? (args[0] as readonly B[]) : args.slice(0, inputs)) as readonly (B | null)[]
}

/** The attributes argument of a call of kernel `name` (`{}` for kernels without attributes). */
export const attrsArg = (name: KernelName, args: readonly unknown[]): object => {
  const inputs = kernelSpecs[name].inputs
  return (args[inputs === 'list' ? 1 : inputs] ?? {}) as object
}

/**
 * The lengths of the outputs of a call of kernel `name`, from its attributes and its buffers'
 * lengths. The device level checks nothing else, but a call whose attributes are not the
 * kernel's (a field missing or misnamed, a size that is not one) stops here with a
 * `RangeError` naming the kernel, before anything is allocated.
 */
export const outputLengths = (
  name: KernelName,
  attrs: object,
  lengths: readonly (number | null)[],
): readonly number[] => {
  const out = kernelSpecs[name].lengths(attrs as never, lengths)
  for (const n of out) {
    if (!Number.isSafeInteger(n) || n < 0) {
      const fields = Object.keys(attrs).join(', ')
      throw new RangeError(`${name}: attributes { ${fields} } give an output of ${n} elements: not ${name}'s attributes`)
    }
  }
  return out
}

/** The rule of output `index` of kernel `name`. */
export const outputRule = (name: KernelName, index: number): OutputDtype => {
  const rule = kernelSpecs[name].dtype
  return Array.isArray(rule) ? (rule as readonly OutputDtype[])[index] : (rule as OutputDtype)
}

/**
 * The dtype of output `index` of a call on a host device (statistics in float64), given the
 * buffer arguments' dtypes (`undefined` for null arguments).
 */
export const outputDtype = (
  name: KernelName,
  index: number,
  attrs: object,
  inputs: readonly (DType | undefined)[],
): DType => {
  const rule = outputRule(name, index)
  if (rule === 'stats') return 'float64'
  if (rule === 'attr') return (attrs as { readonly dtype: DType }).dtype
  if (rule === 'like') return inputs.find((d) => d !== undefined) ?? 'float32'
  return inputs[rule.like] ?? 'float32'
}

declare const bufferBrand: unique symbol
/** A stand-in buffer type, to read attribute types off the kernel signatures. */
export interface AnyBuffer {
  /** The brand. */
  readonly [bufferBrand]: true
}
/** The last element type of a tuple. */
export type LastOf<T extends readonly unknown[]> = T extends readonly [...unknown[], infer L] ? L : never

/** The attributes argument of kernel `K` (an empty record for kernels without one). */
export type AttrsOf<K extends KernelName> = [LastOf<Parameters<Kernels<AnyBuffer>[K]>>] extends [infer A]
  ? [A] extends [AnyBuffer | null | readonly AnyBuffer[]]
    ? Readonly<Record<string, never>>
    : A
  : never
