/**
 * How each kernel runs in WebAssembly: one row per ported kernel, saying which export to call
 * with which pointers, how much scratch it needs, and how a call splits into independent slices.
 * Kernels without a row are listed in {@link unported} and run the JavaScript reference; the
 * types make the two lists cover every kernel exactly once, so a new kernel is a compile error
 * here until it has a row or is listed.
 *
 * Every row is float32-only (the wrapper runs float64 data on the reference); a row's `when`
 * narrows it further (WTALayer's k > 1).
 *
 * Threads live inside the rows: on a module loaded with a pool (`k.threads`, see threads.ts),
 * the compute-bound rows (matmul, conv2d and its gradients) cut a big enough call into parts
 * (split.ts) and run them on every thread; their `scratch` then covers one slice per thread.
 * So whoever calls a row with pointers into the module's (shared) memory, the copying wrapper
 * of backend.ts or a device whose buffers live in that memory, gets the threads.
 *
 * @module
 */
import type { ChannelView, ConvAttrs, KernelName, NeuronAttrs, PoolAttrs } from '../../kernel/kernels.js'
import { pooledSize } from '../../kernel/kernels.js'
import type { AttrsOf } from '../../kernel/spec.js'
import type { KernelExports } from './exports.js'
import {
  conv2dGradInputSplit,
  conv2dGradWeightSplit,
  conv2dSplit,
  convGeometry,
  elementwiseSplit,
  matmulSplit,
  minNeuronPartElements,
  planeSplit,
  runSplit,
  type Split,
  splitScratch,
} from './split.js'
import { float32Bits, float64Halves } from './threads.js'

/** An element range `[start, start + count)` of one buffer, or `undefined` for the whole buffer. */
export type Range = readonly [number, number] | undefined

/** One slice of a call: the ranges of the buffer arguments then of the outputs, and the slice's attributes. */
export interface Slice<A> {
  readonly ranges: readonly Range[]
  readonly attrs: A
}

/** How a call splits into independent slices (planes, rows, blocks), for bandwidth-bound kernels. */
export interface Slicing<A> {
  /** Number of independent items. */
  readonly items: number
  /** Bytes of input and output per item. */
  readonly bytesPerItem: number
  /** The slice of items `[start, start + count)`. */
  part(start: number, count: number): Slice<A>
}

/** How kernel `K` runs in WebAssembly. */
export interface WasmRow<K extends KernelName> {
  /** Besides float32 data, when the row applies (default: always). */
  readonly when?: (attrs: AttrsOf<K>) => boolean
  /** Scratch bytes for one (slice's) call, every thread's share of it included. */
  readonly scratch?: (k: KernelExports, attrs: AttrsOf<K>) => number
  /** Slicing, for kernels whose items are independent (`length`: the first output's elements). */
  readonly slices?: (attrs: AttrsOf<K>, length: number) => Slicing<AttrsOf<K>>
  /** Calls the export for one (slice's) call. */
  readonly call: (k: KernelExports, at: Pointers, attrs: AttrsOf<K>) => void
}

/** Where one call's data lies in the module's memory. */
export interface Pointers {
  /** The outputs, in the order of the kernel's spec. */
  readonly outs: readonly number[]
  /** The buffer arguments (0 for a null one). */
  readonly ins: readonly number[]
  /** Elements of the first output in this call (or slice). */
  readonly length: number
  /** The scratch block. */
  readonly scratch: number
  /** Shared by the slices of one call, and written by them (the generator state of `uniform`). */
  // eslint-disable-next-line no-restricted-syntax
  readonly carry: { words?: Uint32Array }
}

/**
 * Kernels that run the JavaScript reference on every input: per-channel vectors (a few dozen
 * values: the copy in and out would cost more than the loop), memcpy-like kernels the
 * reference already runs as `TypedArray.set`/`fill`, and the loss (one row of logits per
 * image, `Math.exp`/`Math.log` per logit).
 */
export const unported = [
  // [channels]-sized
  'channelScaleShift',
  'channelScaleShiftGrad',
  'runningStats',
  // fill, set, subarray
  'bernoulliMask',
  'fill',
  'concat',
  'slice',
  // [n, classes] logits, transcendental per element
  'crossEntropy',
  'crossEntropyGrad',
  'relu',
  'reluGrad',
  'split',
] as const satisfies readonly KernelName[]

/** Slices of whole items: each buffer either has `per[i]` elements per item or is whole (0). */
const byItem = <A>(items: number, per: readonly number[], attrs: (count: number) => A): Slicing<A> => ({
  items,
  bytesPerItem: 4 * per.reduce((a, b) => a + b, 0),
  part: (s, c) => ({ ranges: per.map((p) => (p === 0 ? undefined : ([s * p, c * p] as const))), attrs: attrs(c) }),
})

/**
 * Slices of an elementwise call over `arrays` buffer arguments and outputs, one element of each
 * per item (a null argument's range is never read).
 */
const elementwise =
  <A>(arrays: number) =>
  (attrs: A, length: number): Slicing<A> => ({
    items: length,
    bytesPerItem: 4 * arrays,
    part: (s, c) => ({ ranges: Array.from({ length: arrays }, () => [s, c] as const), attrs }),
  })

/** A pooling call's window, in the order the pool exports take it. */
const poolGeometry = ({ planes, height, width, window: w }: Omit<PoolAttrs, 'mode'>) =>
  [planes, height, width, w.kernelH, w.kernelW, w.strideH, w.strideW, w.padH, w.padW] as const

/** pool2d's and pool2dGrad's trailing arguments: the geometry, then 1 for max (0: average). */
const poolArgs = (a: PoolAttrs) => [...poolGeometry(a), a.mode === 'max' ? 1 : 0] as const

/** Slices of whole planes: per plane, `cells` (the image) or `pooled` (the pooled image) elements of each buffer. */
const byPlane = <A extends Omit<PoolAttrs, 'mode'>>(a: A, kinds: readonly ('cells' | 'pooled')[]): Slicing<A> => {
  const [oh, ow] = pooledSize(a.height, a.width, a.window)
  const per = kinds.map((k) => (k === 'cells' ? a.height * a.width : oh * ow))
  return byItem(a.planes, per, (planes) => ({ ...a, planes }))
}

/** The neuron exports' flags: LIF, strict threshold, soft reset. */
const neuronFlags = (a: NeuronAttrs) =>
  [a.model === 'lif' ? 1 : 0, a.tau, a.threshold, a.fireAt === '>' ? 1 : 0, a.reset === 'soft' ? 1 : 0] as const

/** {@link neuronFlags} as a pool carries them to the `…Part` exports: the float32s as their bits. */
const neuronFlagBits = (a: NeuronAttrs) => {
  const [lif, tau, threshold, strict, soft] = neuronFlags(a)
  return [lif, float32Bits(tau), float32Bits(threshold), strict, soft] as const
}

/** asm/neuron.ts's surrogate codes ('none' and any other: 4, no gradient through the spike). */
const surrogateCode = { atan: 0, qgate: 1, sigmoid: 2, gate: 3, none: 4 } as const satisfies Record<
  NeuronAttrs['surrogate'],
  number
>

/** A momentsPerChannelGrad slice: its rows, and the count of the whole call's (outer, inner) cells. */
type PerChannelSlice = ChannelView & { readonly count?: number }

/**
 * A convolution row (`kind` 0 forward, 1 input gradient, 2 weight gradient): the whole-call
 * export `whole(k)` takes `(out, ...ins, ...geometry, scratch)`, and where `split` cuts the
 * call, the pool runs its parts on `(out, ...ins, ...geometry)`, with a scratch slice for each
 * thread.
 */
const convRow = <K extends 'conv2d' | 'conv2dGradInput' | 'conv2dGradWeight'>(
  kind: 0 | 1 | 2,
  split: (k: KernelExports, a: ConvAttrs) => Split | undefined,
  whole: (k: KernelExports) => (...args: number[]) => void,
): WasmRow<K> => ({
    scratch: (k, a) => {
      const s = split(k, a as ConvAttrs)
      return s === undefined ? k.conv2dScratchBytes(kind, ...convGeometry(a as ConvAttrs)) : splitScratch(s)
    },
    call: (k, { outs: [out], ins, scratch }, a) => {
      const args = [out, ...ins, ...convGeometry(a as ConvAttrs)]
      const s = split(k, a as ConvAttrs)
      if (s === undefined) whole(k)(...args, scratch)
      else runSplit(k, s, scratch, args)
    },
  })

/** The rows. */
export const wasmRows: { readonly [K in Exclude<KernelName, (typeof unported)[number]>]: WasmRow<K> } = {
  // the compute-bound rows: spread over the module's threads where a call is big enough (split.ts)
  matmul: {
    scratch: (k, a) => {
      const s = matmulSplit(k, a)
      return s === undefined ? k.matmulScratchBytes(a.m, a.k, a.n) : splitScratch(s)
    },
    call: (k, { outs: [out], ins: [a, b, bias], scratch }, attrs) => {
      const { m, k: kk, n, transA, transB } = attrs
      const args = [out, a, b, m, kk, n, bias, transA === true ? 1 : 0, transB === true ? 1 : 0] as const
      const s = matmulSplit(k, attrs)
      if (s === undefined) k.matmul(out, a, b, m, kk, n, bias, scratch, args[7], args[8])
      else runSplit(k, s, scratch, args)
    },
  },
  conv2d: convRow(0, conv2dSplit, (k) => k.conv2d),
  conv2dGradInput: convRow(1, conv2dGradInputSplit, (k) => k.conv2dGradInput),
  conv2dGradWeight: convRow(2, conv2dGradWeightSplit, (k) => k.conv2dGradWeight),
  momentsAlongAxis: {
    slices: (a) =>
      byItem(a.outer, [a.axis * a.inner, a.inner, a.inner], (outer) => ({ ...a, outer })),
    call: (k, { outs: [mean, variance], ins: [x] }, a) =>
      k.momentsAlongAxis(mean, variance, x, a.outer, a.axis, a.inner),
  },
  momentsPerChannel: {
    call: (k, { outs: [mean, variance], ins: [x] }, a) =>
      k.momentsPerChannel(mean, variance, x, a.outer, a.channels, a.inner),
  },
  normalizeAlongAxis: {
    // the float32 two-float means and inverse deviations, three float32s a statistic
    scratch: (_, a) => 12 * a.outer * a.inner,
    slices: (a) =>
      byItem(
        a.outer,
        [a.axis * a.inner, a.inner, a.inner, 0, 0, a.axis * a.inner],
        (outer) => ({ ...a, outer }),
      ),
    call: (k, { outs: [out], ins: [x, mean, variance, weight, bias], scratch }, a) =>
      k.normalizeAlongAxis(out, x, a.outer, a.axis, a.inner, mean, variance, a.eps, weight, bias, scratch),
  },
  channelAffine: {
    // rows of one time step's block share a row of scale and shift: slice by rows within one
    // step (steps = 1), else by whole blocks
    slices: (a) => {
      const block = a.outer / a.steps
      return a.steps === 1
        ? byItem(a.outer, [a.channels * a.inner, 0, 0, a.channels * a.inner], (outer) => ({ ...a, outer }))
        : {
          items: a.steps,
          bytesPerItem: 8 * block * a.channels * a.inner,
          part: (s, c) => ({
            ranges: [
              [s * block * a.channels * a.inner, c * block * a.channels * a.inner],
              [s * a.channels, c * a.channels],
              [s * a.channels, c * a.channels],
              [s * block * a.channels * a.inner, c * block * a.channels * a.inner],
            ],
            attrs: { ...a, outer: c * block, steps: c },
          }),
        }
    },
    call: (k, { outs: [out], ins: [x, scale, shift] }, a) =>
      k.channelAffine(out, x, a.outer, a.channels, a.inner, a.steps, scale, shift),
  },
  pool2d: {
    slices: (a) => {
      const [oh, ow] = pooledSize(a.height, a.width, a.window)
      return byItem(a.planes, [a.height * a.width, oh * ow], (planes) => ({ ...a, planes }))
    },
    call: (k, { outs: [out], ins: [x] }, a) => {
      const s = planeSplit(k, 'pool2dPart', a.planes, a.height * a.width)
      if (s === undefined) k.pool2d(out, x, ...poolArgs(a))
      else runSplit(k, s, 0, [out, x, ...poolArgs(a)])
    },
  },
  upsampleNearest: {
    slices: (a) =>
      byItem(a.planes, [a.height * a.width, a.height * a.width * a.factor * a.factor], (planes) => ({ ...a, planes })),
    call: (k, { outs: [out], ins: [x] }, a) => k.upsampleNearest(out, x, a.planes, a.height, a.width, a.factor),
  },
  liPoolStep: {
    slices: (a) => {
      const plane = a.height * a.width
      return byItem(a.planes, [plane, plane, plane / (a.k * a.k), plane], (planes) => ({ ...a, planes }))
    },
    // a zero pointer tells the kernel there is no sum (the arena never starts at 0)
    call: (k, { outs: [out, next], ins: [sum, x] }, a) =>
      k.liPoolStep(out, next, sum, x, a.planes, a.height, a.width, a.k, a.mode === 'max' ? 1 : 0),
  },
  winnerTakeAll: {
    when: (a) => a.k === 1 && !a.exact,
    scratch: (_, a) => 4 * a.inner,
    slices: (a) =>
      byItem(a.outer, [a.axis * a.inner, a.axis * a.inner, a.axis * a.inner], (outer) => ({ ...a, outer })),
    call: (k, { outs: [out], ins: [x, noise], scratch }, a) =>
      k.keepMaxAlongAxis(out, x, x, noise, a.outer, a.axis, a.inner, scratch),
  },
  groupMean: {
    slices: (a) =>
      byItem(a.rows, [a.length, Math.floor(a.length / a.size)], (rows) => ({ ...a, rows })),
    call: (k, { outs: [out], ins: [x] }, a) => k.groupMean(out, x, a.rows, a.length, a.size),
  },
  mul: {
    slices: elementwise(3),
    // bandwidth-bound: big products over the threads too (split.ts), on the resident device
    // (the copy backend's slices are too small to cut)
    call: (k, { outs: [out], ins: [a, b], length }) => {
      const s = elementwiseSplit(k, 'mulPart', length)
      if (s === undefined) k.mul(out, a, b, length)
      else runSplit(k, s, 0, [out, a, b])
    },
  },
  axpy: {
    slices: elementwise(3),
    call: (k, { outs: [out], ins: [a, b], length }, { alpha }) => k.axpy(out, a, alpha, b, length),
  },
  uniform: {
    // the generator state lives in the call's scratch and is carried from slice to slice
    scratch: () => 16,
    slices: (a) => ({
      items: a.length,
      bytesPerItem: 4,
      part: (s, c) => ({ ranges: [[s, c]], attrs: { ...a, length: c } }),
    }),
    call: (k, { outs: [out], length, scratch, carry }, a) => {
      const words = (carry.words ??= Uint32Array.from(a.key))
      const view = new Uint32Array(k.memory.buffer, scratch, 4)
      view.set(words)
      k.uniformFill(out, length, scratch)
      words.set(view)
    },
  },
  sumAlongAxis: {
    scratch: () => 8 * 512,
    slices: (a) => byItem(a.outer, [a.axis * a.inner, a.inner], (outer) => ({ ...a, outer })),
    call: (k, { outs: [out], ins: [x], scratch }, a) => k.sumAlongAxis(out, x, a.outer, a.axis, a.inner, scratch),
  },
  broadcastAlongAxis: {
    slices: (a) => byItem(a.outer, [a.inner, a.axis * a.inner], (outer) => ({ ...a, outer })),
    call: (k, { outs: [out], ins: [x] }, a) => k.broadcastAlongAxis(out, x, a.outer, a.axis, a.inner),
  },
  momentsAlongAxisGrad: {
    slices: (a) =>
      byItem(a.outer, [a.inner, a.inner, a.axis * a.inner, a.inner, a.axis * a.inner], (outer) => ({ ...a, outer })),
    call: (k, { outs: [out], ins: [dMean, dVariance, x, mean] }, a) =>
      k.momentsAlongAxisGrad(out, dMean, dVariance, x, mean, a.outer, a.axis, a.inner),
  },
  momentsPerChannelGrad: {
    // the divisor is the whole call's count of (outer, inner) cells, whichever rows a slice has
    slices: (a) =>
      byItem(a.outer, [0, 0, a.channels * a.inner, 0, a.channels * a.inner], (outer) => {
        const part: PerChannelSlice = { ...a, outer, count: a.outer * a.inner }
        return part
      }),
    call: (k, { outs: [out], ins: [dMean, dVariance, x, mean] }, a) =>
      k.momentsPerChannelGrad(
        out, dMean, dVariance, x, mean, a.outer, a.channels, a.inner, (a as PerChannelSlice).count ?? a.outer * a.inner,
      ),
  },
  normalizeAlongAxisGrad: {
    scratch: (_, a) => 8 * (2 * a.axis + 3 * a.inner),
    call: (k, { outs: [dx, dMean, dVariance, dWeight, dBias], ins: [cot, x, mean, variance, weight], scratch }, a) =>
      k.normalizeAlongAxisGrad(
        dx, dMean, dVariance, dWeight, dBias, cot, x, mean, variance, weight, a.outer, a.axis, a.inner, a.eps, scratch,
      ),
  },
  channelAffineGrad: {
    call: (k, { outs: [dx, dScale, dShift], ins: [cot, x, scale] }, a) =>
      k.channelAffineGrad(dx, dScale, dShift, cot, x, scale, a.outer, a.channels, a.inner, a.steps),
  },
  maxPool2dBy: {
    slices: (a) => byPlane(a, ['cells', 'cells', 'pooled']),
    call: (k, { outs: [out], ins: [key, value] }, a) => k.maxPool2dBy(out, key, value, ...poolGeometry(a)),
  },
  pool2dGrad: {
    slices: (a) => byPlane(a, ['pooled', 'cells', 'cells']),
    call: (k, { outs: [out], ins: [cot, x] }, a) => {
      const s = planeSplit(k, 'pool2dGradPart', a.planes, a.height * a.width)
      if (s === undefined) k.pool2dGrad(out, cot, x, ...poolArgs(a))
      else runSplit(k, s, 0, [out, cot, x, ...poolArgs(a)])
    },
  },
  maxPool2dByGrad: {
    slices: (a) => byPlane(a, ['pooled', 'cells', 'cells', 'cells']),
    call: (k, { outs: [out], ins: [cot, key, value] }, a) =>
      k.maxPool2dByGrad(out, cot, key, value, ...poolGeometry(a)),
  },
  upsampleNearestGrad: {
    slices: (a) =>
      byItem(a.planes, [a.height * a.width * a.factor * a.factor, a.height * a.width], (planes) => ({ ...a, planes })),
    call: (k, { outs: [out], ins: [cot] }, a) => k.upsampleNearestGrad(out, cot, a.planes, a.height, a.width, a.factor),
  },
  winnerTakeAllGrad: {
    when: (a) => a.k === 1 && !a.exact,
    scratch: (_, a) => 4 * a.inner,
    slices: (a) =>
      byItem(a.outer, [1, 1, 1, 1].map(() => a.axis * a.inner), (outer) => ({ ...a, outer })),
    call: (k, { outs: [out], ins: [cot, x, noise], scratch }, a) =>
      k.keepMaxAlongAxis(out, cot, x, noise, a.outer, a.axis, a.inner, scratch),
  },
  groupMeanGrad: {
    slices: (a) => byItem(a.rows, [Math.floor(a.length / a.size), a.length], (rows) => ({ ...a, rows })),
    call: (k, { outs: [out], ins: [cot] }, a) => k.groupMeanGrad(out, cot, a.rows, a.length, a.size),
  },
  scale: {
    slices: elementwise(2),
    call: (k, { outs: [out], ins: [x], length }, { alpha }) => k.scale(out, x, alpha, length),
  },
  // both cut across threads where big (split.ts), as mul is
  neuron: {
    slices: elementwise(4),
    call: (k, { outs: [spikes, next], ins: [v, x], length }, a) => {
      const s = elementwiseSplit(k, 'neuronPart', length, minNeuronPartElements)
      if (s === undefined) k.neuron(spikes, next, v, x, length, ...neuronFlags(a), a.vReset)
      else runSplit(k, s, 0, [spikes, next, v, x, ...neuronFlagBits(a), float32Bits(a.vReset)])
    },
  },
  adam: {
    // the last one to three elements go through scratch lanes
    scratch: () => 128,
    // the inputs' ranges, then the outputs'; the running maximum's only with amsgrad
    slices: (a, length) => byItem(length, [1, 1, 1, 1, a.amsgrad ? 1 : 0, 1, 1, 1, a.amsgrad ? 1 : 0], () => a),
    call: (k, { outs: [p1, m1, v1, vmax1], ins: [p, g, m, v, vmax], length, scratch }, a) => {
      const f = Math.fround
      k.adam(p1, m1, v1, vmax1, p, g, m, v, a.amsgrad ? vmax : 0, length,
        f(a.beta1), f(a.beta2), f(1 - a.beta1), f(1 - a.beta2), f(a.eps), f(a.l2), f(a.shrink), f(a.step), f(a.bc2Sqrt),
        (a.l2 !== 0 ? 1 : 0) | (a.shrink !== 1 ? 2 : 0), scratch)
    },
  },
  neuronGrad: {
    slices: elementwise(6),
    call: (k, { outs: [dx, dv], ins: [cotSpikes, cotV, v, x], length }, a) => {
      const s = elementwiseSplit(k, 'neuronGradPart', length, minNeuronPartElements)
      const code = surrogateCode[a.surrogate]
      if (s === undefined) k.neuronGrad(dx, dv, cotSpikes, cotV, v, x, length, ...neuronFlags(a), code, a.alpha)
      else runSplit(k, s, 0, [dx, dv, cotSpikes, cotV, v, x, ...neuronFlagBits(a), code, ...float64Halves(a.alpha)])
    },
  },
}
