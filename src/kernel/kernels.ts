/**
 * The kernel interface: every kernel a layer, an op or a gradient rule may call, with its
 * attributes. This is the one contract between the layers and the devices that run them: the
 * JavaScript reference (`cpu`), the WebAssembly SIMD kernels (`wasm`), the optional GPU device
 * and the gradient tracer all implement {@link Kernels}, so a layer's arithmetic is written once,
 * against this interface, and a kernel missing on a device is a compile error there.
 *
 * Kernels take buffers (opaque handles of the device, flat row-major data) and plain attributes,
 * return new buffers and never change their arguments. Sizes are given as attributes: "x viewed
 * as [outer, axis, inner]" means x is row-major with those three dimensions, which covers
 * "normalize over axis 1" and "over the last axis" alike.
 *
 * @module
 */
import type { Key } from '../random/key.js'
import type { DType } from '../tensor/tensor.js'

// ---------------------------------------------------------------------------------------------
// attributes
// ---------------------------------------------------------------------------------------------

/** A 2-D pooling window with PyTorch semantics (floor mode; average counts padding). */
export interface PoolWindow {
  /** Window height. */
  readonly kernelH: number
  /** Window width. */
  readonly kernelW: number
  /** Vertical step between windows. */
  readonly strideH: number
  /** Horizontal step between windows. */
  readonly strideW: number
  /** Rows of padding on the top and on the bottom (max pooling never picks padding, average counts it as 0). */
  readonly padH: number
  /** Columns of padding on the left and on the right. */
  readonly padW: number
}

/** Max or average pooling. */
export type PoolMode = 'max' | 'avg'

/** x viewed as `[outer, axis, inner]`, reduced or normalized along `axis`. */
export interface AxisView {
  /** Product of the sizes before the axis. */
  readonly outer: number
  /** Size of the axis. */
  readonly axis: number
  /** Product of the sizes after the axis. */
  readonly inner: number
}

/** x viewed as `[outer, channels, inner]`, with statistics per channel. */
export interface ChannelView {
  /** Product of the sizes before the channel axis. */
  readonly outer: number
  /** Number of channels. */
  readonly channels: number
  /** Product of the sizes after the channel axis. */
  readonly inner: number
}

/** `out[m, n] = A @ B (+ bias)`, A = a `[m, k]` (or `a^T`, a `[k, m]`), B = b `[k, n]` (or `b^T`, b `[n, k]`). */
export interface MatmulAttrs {
  /** Rows of the product. */
  readonly m: number
  /** The summed dimension. */
  readonly k: number
  /** Columns of the product. */
  readonly n: number
  /** Read `a` as stored `[k, m]` and transposed in place (no copy). */
  readonly transA?: boolean
  /** Read `b` as stored `[n, k]` and transposed in place (no copy). */
  readonly transB?: boolean
}

/** `planes` images `[height, width]`, pooled with `window`. */
export interface PoolAttrs {
  /** Number of images (N * C). */
  readonly planes: number
  /** Image height. */
  readonly height: number
  /** Image width. */
  readonly width: number
  /** The window. */
  readonly window: PoolWindow
  /** Max or average. */
  readonly mode: PoolMode
}

/** `planes` images `[height, width]` upsampled by an integer factor on both axes. */
export interface UpsampleAttrs {
  /** Number of images. */
  readonly planes: number
  /** Height of the small image. */
  readonly height: number
  /** Width of the small image. */
  readonly width: number
  /** The factor, an integer >= 1. */
  readonly factor: number
}

/** One LIPool step over non-overlapping `k x k` windows of `planes` images (height, width multiples of k). */
export interface LiPoolAttrs {
  /** Number of images. */
  readonly planes: number
  /** Image height. */
  readonly height: number
  /** Image width. */
  readonly width: number
  /** Window size and stride. */
  readonly k: number
  /** Max or average. */
  readonly mode: PoolMode
}

/** WTALayer's selection along the channel axis of x viewed as `[outer, axis, inner]`. */
export interface WinnerAttrs extends AxisView {
  /** Winners per position, >= 1. */
  readonly k: number
  /** At most k winners (ties at the k-th value to the lowest channels), else every tie at the k-th value wins. */
  readonly exact: boolean
}

/**
 * A 2-D convolution (PyTorch's `Conv2d`: cross-correlation, zero padding) of x `[n, c, h, w]`
 * with a weight `[o, c / groups, kh, kw]`, giving `[n, o, outH, outW]`.
 */
export interface ConvAttrs {
  /** Batch size. */
  readonly n: number
  /** Input channels. */
  readonly c: number
  /** Input height. */
  readonly h: number
  /** Input width. */
  readonly w: number
  /** Output channels. */
  readonly o: number
  /** Kernel height. */
  readonly kh: number
  /** Kernel width. */
  readonly kw: number
  /** Vertical stride. */
  readonly sh: number
  /** Horizontal stride. */
  readonly sw: number
  /** Rows of zero padding on the top and the bottom. */
  readonly ph: number
  /** Columns of zero padding on the left and the right. */
  readonly pw: number
  /** Vertical dilation. */
  readonly dh: number
  /** Horizontal dilation. */
  readonly dw: number
  /** Channel groups (c and o are multiples of it). */
  readonly groups: number
}

/** Output height and width of a convolution: `floor((h + 2 ph - dh (kh - 1) - 1) / sh) + 1`, likewise w. */
export const convOutputSize = (a: ConvAttrs): readonly [number, number] => [
  Math.floor((a.h + 2 * a.ph - a.dh * (a.kh - 1) - 1) / a.sh) + 1,
  Math.floor((a.w + 2 * a.pw - a.dw * (a.kw - 1) - 1) / a.sw) + 1,
]

/** Cross-entropy of `n` rows of `c` logits against class indices, with label smoothing `smoothing`. */
export interface CrossEntropyAttrs {
  /** Rows (the batch). */
  readonly n: number
  /** Classes. */
  readonly c: number
  /** Label smoothing in [0, 1]: the target is `(1 - s) onehot + s / c`. */
  readonly smoothing: number
}

/** Surrogate gradients of the spike function, as BrainCog's `braincog/base/strategy/surrogate.py` codes them. */
export type Surrogate = 'atan' | 'qgate' | 'sigmoid' | 'gate' | 'none'

/**
 * The scalars of one Adam or AdamW update (`torch.optim.Adam`/`AdamW`, 1.13), each as PyTorch
 * holds it: float64 Python numbers, rounded to float32 where the params are float32.
 */
export interface AdamAttrs {
  /** The first moment's decay rate. */
  readonly beta1: number
  /** The second moment's decay rate. */
  readonly beta2: number
  /** Added to the bias-corrected square root of the second moment. */
  readonly eps: number
  /** Adam's L2 weight decay, added to the gradient (0: none; AdamW: 0). */
  readonly l2: number
  /** AdamW's factor `1 - lr * weightDecay` on the params first (1: none). */
  readonly shrink: number
  /** `-lr / (1 - beta1^t)` at update t. */
  readonly step: number
  /** `sqrt(1 - beta2^t)` at update t. */
  readonly bc2Sqrt: number
  /** Keep the running maximum of the second moment: `maxExpAvgSq` is given (else null). */
  readonly amsgrad: boolean
}

/** One neuron step: integrate `x` into the potential `v`, fire, reset. */
export interface NeuronAttrs {
  /** `'if'`: `u = v + x`; `'lif'`: `u = v + (x - v) / tau` (BrainCog's LIFNode, each operation rounded). */
  readonly model: 'if' | 'lif'
  /** The LIF time constant (ignored by `'if'`). */
  readonly tau: number
  /** The firing threshold. */
  readonly threshold: number
  /** Fire where `u - threshold > 0` (BrainCog's AtanGrad, QGateGrad, GateGrad) or `>= 0` (SigmoidGrad, conversion). */
  readonly fireAt: '>' | '>='
  /** After a spike: `'soft'` subtracts the threshold, `'hard'` sets `vReset`. */
  readonly reset: 'soft' | 'hard'
  /** The potential after a hard reset. */
  readonly vReset: number
  /** The spike's surrogate gradient (backward only); `'none'`: the spike passes no gradient. */
  readonly surrogate: Surrogate
  /** The surrogate's shape parameter (BrainCog's `alpha`). */
  readonly alpha: number
}

/** A draw of `length` values from `key`. */
export interface DrawAttrs {
  /** Number of values. */
  readonly length: number
  /** The PRNG key. */
  readonly key: Key
  /** Element type. */
  readonly dtype: DType
}

// ---------------------------------------------------------------------------------------------
// the kernels
// ---------------------------------------------------------------------------------------------

/** Per-position or per-channel mean and biased variance (statistics precision: float64 on host devices). */
export interface Moments<B> {
  /** The means. */
  readonly mean: B
  /** The biased variances. */
  readonly variance: B
}

/**
 * Every kernel, over buffers of type `B`. Each returns new buffers and leaves its arguments as
 * they were. Outputs have the dtype of the first buffer argument unless the doc says
 * "statistics" (float64 on host devices) or the attributes name a dtype.
 */
export interface Kernels<B> {
  /**
   * `[m, n] = A @ B + bias[n]` (see {@link MatmulAttrs}). Float32 data accumulates in float32,
   * in order of the summed index, starting from the bias, as BLAS's sgemm (and PyTorch) does;
   * float64 in float64.
   */
  matmul(a: B, b: B, bias: B | null, attrs: MatmulAttrs): B
  /** The sum along `axis` of x viewed as `[outer, axis, inner]`: `[outer, inner]`, summed in float64, in order. */
  sumAlongAxis(x: B, attrs: AxisView): B
  /** Mean and biased variance along `axis` for each (outer, inner): statistics `[outer * inner]`, two-pass. */
  momentsAlongAxis(x: B, attrs: AxisView): Moments<B>
  /** Mean and biased variance of each channel over all (outer, inner): statistics `[channels]`, two-pass. */
  momentsPerChannel(x: B, attrs: ChannelView): Moments<B>
  /**
   * Layer-norm style, over x viewed as `[outer, axis, inner]`:
   * `(x - mean[o, i]) / sqrt(variance[o, i] + eps) * weight[c] + bias[c]` (the inverse square
   * root in float64).
   */
  normalizeAlongAxis(x: B, mean: B, variance: B, weight: B, bias: B, attrs: AxisView & { readonly eps: number }): B
  /**
   * Batch-norm folding, in statistics precision: for time step t and channel c,
   * `s = weight[c] / sqrt(variance[c] + eps)`, `scale[t, c] = s * gains[t]`,
   * `shift[t, c] = (bias[c] - mean[c] * s) * gains[t]` (`gains` null: one step, gain 1).
   * Outputs `[steps * channels]`.
   */
  channelScaleShift(
    mean: B,
    variance: B,
    weight: B,
    bias: B,
    gains: B | null,
    attrs: { readonly channels: number; readonly steps: number; readonly eps: number },
  ): {
    /** Per step and channel: the multiplier. */
    readonly scale: B
    /** Per step and channel: the offset. */
    readonly shift: B
  }
  /**
   * `x * scale[t, c] + shift[t, c]` (in float64, rounded once) for x viewed as
   * `[outer, channels, inner]`, whose `outer` rows form `steps` equal consecutive blocks
   * (block t uses row t of scale and shift, `[steps, channels]`).
   */
  channelAffine(x: B, scale: B, shift: B, attrs: ChannelView & { readonly steps: number }): B
  /**
   * PyTorch's running-statistics update: `(1 - momentum) * running + momentum * batch`, with
   * the unbiased batch variance (`variance * count / (count - 1)`). Outputs like `runningMean`.
   */
  runningStats(
    runningMean: B,
    runningVar: B,
    mean: B,
    variance: B,
    attrs: { readonly momentum: number; readonly count: number },
  ): Moments<B>

  /** Pools each of `planes` images into `[planes, outH, outW]` (PyTorch floor mode). NaN propagates through max. */
  pool2d(x: B, attrs: PoolAttrs): B
  /**
   * Max pooling ranked by a second image: each window passes the largest `value` among its
   * cells whose `key` is the window's largest key (padding never counts). SMaxPool's exact mode.
   */
  maxPool2dBy(key: B, value: B, attrs: Omit<PoolAttrs, 'mode'>): B
  /** Nearest upsampling of `[planes, height, width]` by `factor`: each cell becomes a `factor x factor` block. */
  upsampleNearest(x: B, attrs: UpsampleAttrs): B
  /**
   * One LIPool step: `total = sum + x` (`x` when `sum` is null), `out` = pooling of total over
   * non-overlapping `k x k` windows, `nextSum = total - upsample(out, k)`, each store rounded
   * as by separate kernels.
   */
  liPoolStep(sum: B | null, x: B, attrs: LiPoolAttrs): {
    /** The pooled output. */
    readonly out: B
    /** The accumulator for the next step. */
    readonly nextSum: B
  }
  /**
   * WTALayer: `x` where the score `x * noise` (rounded to x's precision) is at least the k-th
   * largest score along `axis` (NaN ranks above every number), else 0; with `exact`, ties at the
   * k-th score go to the lowest channels until k have won.
   */
  winnerTakeAll(x: B, noise: B, attrs: WinnerAttrs): B
  /** Means of consecutive groups of `size` along rows `[rows, length]`: `[rows, floor(length / size)]`; a remainder is dropped. */
  groupMean(x: B, attrs: { readonly rows: number; readonly length: number; readonly size: number }): B

  /** `a * b` elementwise. */
  mul(a: B, b: B): B
  /** `a + alpha * b` elementwise, computed in float64 and rounded once. */
  axpy(a: B, b: B, attrs: { readonly alpha: number }): B
  /** `alpha * x` elementwise, computed in float64 and rounded once. */
  scale(x: B, attrs: { readonly alpha: number }): B
  /** `max(x, 0)` elementwise (NaN stays NaN, -0 becomes +0), as PyTorch's `relu`. */
  relu(x: B): B
  /**
   * One neuron step (see {@link NeuronAttrs}), `v` null for a potential of 0: the spikes (0
   * or 1) and the potential after the reset.
   */
  neuron(v: B | null, x: B, attrs: NeuronAttrs): {
    /** The spikes, 0 or 1. */
    readonly spikes: B
    /** The potential after the reset. */
    readonly v: B
  }

  // -------------------------------------------------------------------------------------------
  // backward kernels: what the gradient rules (src/grad) call; none has a gradient of its own
  // -------------------------------------------------------------------------------------------

  /** x `[outer, inner]` repeated along a new middle axis: `[outer, axis, inner]` (the adjoint of `sumAlongAxis`). */
  broadcastAlongAxis(x: B, attrs: AxisView): B
  /**
   * The cotangent of x through `momentsAlongAxis`: `dMean / n + (x - mean) (2 dVariance / n)`
   * per (outer, inner), n the axis size (a null cotangent is zero), in float64. Like x.
   */
  momentsAlongAxisGrad(dMean: B | null, dVariance: B | null, x: B, mean: B, attrs: AxisView): B
  /** The cotangent of x through `momentsPerChannel`, as {@link Kernels.momentsAlongAxisGrad} per channel. */
  momentsPerChannelGrad(dMean: B | null, dVariance: B | null, x: B, mean: B, attrs: ChannelView): B
  /**
   * The cotangents of `normalizeAlongAxis`'s arguments from the output's: x (like x), mean and
   * variance (statistics), weight and bias (like weight), sums in float64.
   */
  normalizeAlongAxisGrad(
    cot: B,
    x: B,
    mean: B,
    variance: B,
    weight: B,
    attrs: AxisView & { readonly eps: number },
  ): {
    /** x's cotangent. */
    readonly dx: B
    /** The mean's cotangent. */
    readonly dMean: B
    /** The variance's cotangent. */
    readonly dVariance: B
    /** The weight's cotangent. */
    readonly dWeight: B
    /** The bias's cotangent. */
    readonly dBias: B
  }
  /**
   * The cotangents of `channelScaleShift`'s arguments from those of scale and shift:
   * mean and variance (statistics), weight and bias (like weight), gains (like gains; empty when
   * there are none).
   */
  channelScaleShiftGrad(
    dScale: B,
    dShift: B,
    mean: B,
    variance: B,
    weight: B,
    bias: B,
    gains: B | null,
    attrs: { readonly channels: number; readonly steps: number; readonly eps: number },
  ): {
    /** The mean's cotangent. */
    readonly dMean: B
    /** The variance's cotangent. */
    readonly dVariance: B
    /** The weight's cotangent. */
    readonly dWeight: B
    /** The bias's cotangent. */
    readonly dBias: B
    /** The gains' cotangent (empty without gains). */
    readonly dGains: B
  }
  /** The cotangents of `channelAffine`'s x (like x), scale and shift (statistics) from the output's. */
  channelAffineGrad(
    cot: B,
    x: B,
    scale: B,
    attrs: ChannelView & { readonly steps: number },
  ): {
    /** x's cotangent. */
    readonly dx: B
    /** The scale's cotangent. */
    readonly dScale: B
    /** The shift's cotangent. */
    readonly dShift: B
  }
  /**
   * The cotangent of x through `pool2d`: a max window's cotangent goes to its first maximal
   * cell in row-major order (the last NaN, if any; padding never), as PyTorch routes it; an
   * average window's is spread as `cot / (kh kw)` over its cells. Overlapping windows add up.
   */
  pool2dGrad(cot: B, x: B, attrs: PoolAttrs): B
  /** The cotangent of `value` through `maxPool2dBy`: each window's to the cell it passed. */
  maxPool2dByGrad(cot: B, key: B, value: B, attrs: Omit<PoolAttrs, 'mode'>): B
  /** The cotangent of x through `upsampleNearest`: each cell the sum of its block's cotangents. */
  upsampleNearestGrad(cot: B, attrs: UpsampleAttrs): B
  /** The cotangent of x through `winnerTakeAll`: the output's where the cell won, else 0 (noise is constant). */
  winnerTakeAllGrad(cot: B, x: B, noise: B, attrs: WinnerAttrs): B
  /** The cotangent of x through `relu`: `cot` where `x > 0`, else 0. */
  reluGrad(cot: B, x: B): B
  /** The cotangent of x through `groupMean`: `cot / size` to each member of a group, 0 to the remainder. */
  groupMeanGrad(cot: B, attrs: { readonly rows: number; readonly length: number; readonly size: number }): B
  /**
   * The cotangents of `neuron`'s x and v from those of its spikes and new potential (null:
   * zero), with the spike's derivative replaced by the surrogate and the reset detached
   * (BrainCog): `gu = cotSpikes * g(u - threshold) + cotV * (soft ? 1 : 1 - spike)`, then
   * `dx = gu / tau`, `dv = gu * (1 - 1 / tau)` for LIF (`dx = dv = gu` for IF).
   */
  neuronGrad(
    cotSpikes: B | null,
    cotV: B | null,
    v: B | null,
    x: B,
    attrs: NeuronAttrs,
  ): {
    /** x's cotangent. */
    readonly dx: B
    /** The old potential's cotangent. */
    readonly dv: B
  }

  /**
   * 2-D convolution, PyTorch's `Conv2d` (see {@link ConvAttrs}): `out[n, o, i, j] = bias[o] +
   * sum_{c, a, b} w[o, c, a, b] * xpad[n, g * c/groups + c, i sh + a dh, j sw + b dw]`, the
   * products accumulated as `matmul` accumulates them.
   */
  conv2d(x: B, weight: B, bias: B | null, attrs: ConvAttrs): B
  /** The cotangent of x through `conv2d` (the transposed convolution of the output's cotangent). */
  conv2dGradInput(cot: B, weight: B, attrs: ConvAttrs): B
  /** The cotangent of the weight through `conv2d`, `[o, c / groups, kh, kw]`. */
  conv2dGradWeight(cot: B, x: B, attrs: ConvAttrs): B
  /**
   * Mean cross-entropy of logits `[n, c]` against `target` `[n]` (class indices held as
   * floats): `(1/n) sum_n [(1 - s) (-logp[n, y]) + (s / c) sum_c (-logp[n, c])]`, `logp` a
   * stable log-softmax in float64. One value.
   */
  crossEntropy(logits: B, target: B, attrs: CrossEntropyAttrs): B
  /** The cotangent of the logits through `crossEntropy`: `cot * (softmax(x) - q) / n`, q the smoothed target. */
  crossEntropyGrad(cot: B, logits: B, target: B, attrs: CrossEntropyAttrs): B

  /** `length` uniform draws in [0, 1) from `key`: exactly what `uniform(key, length)` draws. */
  uniform(attrs: DrawAttrs): B
  /** `value` where the uniform draw (as {@link Kernels.uniform}) is below `keep`, else 0: a dropout mask. */
  bernoulliMask(attrs: DrawAttrs & { readonly keep: number; readonly value: number }): B
  /** `length` copies of `value`. */
  fill(attrs: { readonly length: number; readonly value: number; readonly dtype: DType }): B
  /** The buffers' values one after another (every buffer of one dtype). */
  concat(xs: readonly B[]): B
  /** Values `[offset, offset + length)` of x. */
  slice(x: B, attrs: { readonly offset: number; readonly length: number }): B
  /** x cut into `count` equal consecutive parts (a scan's time steps), the inverse of `concat`. */
  split(x: B, attrs: { readonly count: number }): readonly B[]

  /**
   * One Adam/AdamW update of a tensor, elementwise (see {@link AdamAttrs} and optim/adam.ts):
   * the new params and moments, and with amsgrad the new running maximum of the second moment
   * (empty without; `maxExpAvgSq` is given exactly when `attrs.amsgrad`). Float32 data is
   * rounded op by op as PyTorch's CPU kernels round it, float64 data computed in float64.
   */
  adam(
    param: B,
    grad: B,
    expAvg: B,
    expAvgSq: B,
    maxExpAvgSq: B | null,
    attrs: AdamAttrs,
  ): {
    /** The updated params. */
    readonly param: B
    /** The new first moment. */
    readonly expAvg: B
    /** The new second moment. */
    readonly expAvgSq: B
    /** The new running maximum of the second moment; empty without amsgrad. */
    readonly maxExpAvgSq: B
  }
}

/** A kernel's name. */
export type KernelName = keyof Kernels<unknown>

/** What kernel `K` returns on buffers `B`: one buffer, or a record of named buffers. */
export type KernelOutputs<K extends KernelName, B> = ReturnType<Kernels<B>[K]>

/** Output height and width of a pooling window, PyTorch floor mode. */
export const pooledSize = (height: number, width: number, w: PoolWindow): readonly [number, number] => [
  Math.floor((height + 2 * w.padH - w.kernelH) / w.strideH) + 1,
  Math.floor((width + 2 * w.padW - w.kernelW) / w.strideW) + 1,
]
