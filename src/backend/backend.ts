/**
 * The kernel interface. Layers name kernels; backends implement them. Every kernel works on
 * flat, contiguous, row-major storage (layers pack strided views once before calling), writes
 * only into the `out` arguments it is given, and never allocates an output behind the caller's
 * back. The CPU backend (`cpu`) is the readable reference; faster backends implement the same
 * interface, so a missing kernel is a compile error.
 *
 * Shapes are given as sizes: "x viewed as [outer, axis, inner]" means x is row-major with those
 * three dimensions, which covers "normalize over axis 1" and "over the last axis" alike.
 *
 * @module
 */
import type { Data } from '../tensor/tensor.js'

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
  /** Rows of padding on the top and on the bottom (max pooling pads with -Infinity, average with 0). */
  readonly padH: number
  /** Columns of padding on the left and on the right. */
  readonly padW: number
}

/** Max or average pooling. */
export type PoolMode = 'max' | 'avg'

/** Statistics storage: float64 so float32 inputs lose nothing in the reduction. */
export type Stats = Float64Array

/** The kernels every backend provides. */
export interface Backend {
  /** The backend's name, e.g. `cpu`. */
  readonly name: string

  /** `out[m, n] = sum_k a[m, k] * b[k, n] + (bias ? bias[n] : 0)`. */
  matmul(out: Data, a: Data, b: Data, m: number, k: number, n: number, bias?: Data): void

  /**
   * For x viewed as [outer, axis, inner]: mean and biased variance over `axis` for each
   * (outer, inner) pair, written to `mean[o * inner + i]`, `variance[...]`. Two-pass, so a
   * large common offset does not cancel.
   */
  momentsAlongAxis(mean: Stats, variance: Stats, x: Data, outer: number, axis: number, inner: number): void

  /**
   * For x viewed as [outer, channels, inner]: mean and biased variance of each channel over
   * all (outer, inner), written to `mean[c]`, `variance[c]`. Two-pass.
   */
  momentsPerChannel(mean: Stats, variance: Stats, x: Data, outer: number, channels: number, inner: number): void

  /**
   * For x viewed as [outer, axis, inner]:
   * `out[o, c, i] = (x[o, c, i] - mean[o, i]) * invStd[o, i] * weight[c] + bias[c]`.
   */
  normalizeAlongAxis(
    out: Data,
    x: Data,
    outer: number,
    axis: number,
    inner: number,
    mean: Stats,
    invStd: Stats,
    weight: Data,
    bias: Data,
  ): void

  /** For x viewed as [outer, channels, inner]: `out[o, c, i] = x[o, c, i] * scale[c] + shift[c]`. */
  channelAffine(out: Data, x: Data, outer: number, channels: number, inner: number, scale: Stats, shift: Stats): void

  /**
   * Pools each of `planes` images [height, width] of x into out
   * [planes, outHeight, outWidth], sizes as PyTorch's floor mode gives them.
   */
  pool2d(out: Data, x: Data, planes: number, height: number, width: number, window: PoolWindow, mode: PoolMode): void

  /**
   * Max pooling ranked by a second image: for each window of each of `planes` images
   * [height, width], the largest `value` among the window's cells whose `key` is the window's
   * largest key (ties in `key` pass the largest `value`); windows as in `pool2d`, padding never
   * counts. SMaxPool's exact mode: key = accumulated spike count, value = this step's input.
   */
  maxPool2dBy(
    out: Data,
    key: Data,
    value: Data,
    planes: number,
    height: number,
    width: number,
    window: PoolWindow,
  ): void

  /** Nearest upsampling of [planes, height, width] by an integer `factor` on both axes. */
  upsampleNearest(out: Data, x: Data, planes: number, height: number, width: number, factor: number): void

  /**
   * For x viewed as [outer, axis, inner]: the k-th largest value (k >= 1) along `axis` for each
   * (outer, inner), into `out[o * inner + i]`. NaN counts as larger than every number, as in
   * PyTorch's `topk`.
   */
  kthLargestAlongAxis(out: Data, x: Data, outer: number, axis: number, inner: number, k: number): void

  /**
   * WTALayer's k = 1 selection, fused: for x and noise viewed as [outer, axis, inner],
   * `out[o, c, i] = x[o, c, i]` where the score `x * noise` (rounded to out's precision) is the
   * largest along `axis` for (o, i) (ties all win), else 0. A NaN score makes its whole column 0,
   * as `kthLargestAlongAxis` followed by `score >= max` does.
   */
  keepMaxAlongAxis(out: Data, x: Data, noise: Data, outer: number, axis: number, inner: number): void

  /**
   * One LIPool step over non-overlapping `k` x `k` windows of `planes` images [height, width]
   * (both multiples of k): `total = sum + x` (`x` alone when `sum` is undefined), `out` =
   * max or average pooling of total (as `pool2d`), `nextSum = total - upsample(out, k)`.
   * The same roundings as those three steps made by separate kernels, in one pass.
   */
  liPoolStep(
    out: Data,
    nextSum: Data,
    sum: Data | undefined,
    x: Data,
    planes: number,
    height: number,
    width: number,
    k: number,
    mode: PoolMode,
  ): void

  /**
   * `out.length` uniform draws in [0, 1) from a xoroshiro128+ state (four uint32 words, a Key):
   * `out[i] = (low 24 bits of the i-th output) * 2^-24`, exactly what `uniform(key, n)` draws.
   */
  uniformFill(out: Data, state: readonly number[]): void

  /** For x viewed as [rows, groups * size + rest]: `out[r, g]` = mean of group g of row r. */
  groupMean(out: Data, x: Data, rows: number, length: number, size: number): void

  /** `out[i] = a[i] * b[i]`. */
  mul(out: Data, a: Data, b: Data): void

  /**
   * Integrate-and-fire threshold, in place on the integrated potential `v`: where
   * `v[i] >= threshold`, `spikes[i] = 1` and `v[i]` becomes `v[i] - threshold` (`reset` 'soft')
   * or `vReset` ('hard'); elsewhere `spikes[i] = 0` and `v[i]` stays.
   */
  fire(spikes: Data, v: Data, threshold: number, reset: 'soft' | 'hard', vReset: number): void

  /** `out[i] = a[i] + alpha * b[i]`. */
  axpy(out: Data, a: Data, alpha: number, b: Data): void
}

/** Output height and width of a pooling window, PyTorch floor mode. */
export const pooledSize = (height: number, width: number, w: PoolWindow): readonly [number, number] => [
  Math.floor((height + 2 * w.padH - w.kernelH) / w.strideH) + 1,
  Math.floor((width + 2 * w.padW - w.kernelW) / w.strideW) + 1,
]
