/**
 * Pooling ops on `[N, C, H, W]`: max and average pooling with PyTorch's semantics (floor mode;
 * the average counts padding cells, `count_include_pad=True`) and nearest upsampling. They are
 * what BrainCog's LIPool and SMaxPool wrap (their `child`), and public ops in their own right.
 *
 * Max and average pooling share one windowing kernel, `backend.pool2d`; the ops validate their
 * arguments (naming the op and the argument) and then call it, so any backend slots in.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import type { Backend, PoolWindow } from '../backend/backend.js'
import { pooledSize } from '../backend/backend.js'
import { cpu } from '../backend/cpu/index.js'
import { ConfigError, describe, fail, type LayerError } from '../errors.js'
import { showShape } from '../layer/check.js'
import type { Rank4, Shape, Tensor } from '../tensor/tensor.js'
import { alloc, dtypeOf, flatData, sizeOf, wrap } from '../tensor/tensor.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** The pooling operations a {@link PoolSpec} can name (BrainCog's `child` modules). */
export type PoolOp = 'maxPool2d' | 'avgPool2d'

/** A square pooling window: PyTorch's `kernel_size`, `stride`, `padding` as single integers. */
export interface PoolOptions {
  /** Window side, an integer >= 1. */
  readonly kernelSize: number
  /** Step between windows, an integer >= 1 (default `kernelSize`, as in PyTorch). */
  readonly stride?: number
  /** Implicit padding on every side, an integer in [0, kernelSize / 2] (default 0). */
  readonly padding?: number
}

/**
 * A pooling operation, exactly the fixtures' `child` format:
 * `{ op: 'maxPool2d' | 'avgPool2d', kernelSize, stride?, padding? }`.
 */
export interface PoolSpec extends PoolOptions {
  /** Max or average pooling. */
  readonly op: PoolOp
}

/** A validated {@link PoolSpec} with its defaults filled in. */
export interface ResolvedPoolSpec {
  /** Max or average pooling. */
  readonly op: PoolOp
  /** Window size on both axes. */
  readonly kernelSize: number
  /** Step between windows on both axes. */
  readonly stride: number
  /** Cells of padding on each side. */
  readonly padding: number
}

// ---------------------------------------------------------------------------------------------
// validation
// ---------------------------------------------------------------------------------------------

const isInt = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min

/**
 * Checks a pool spec and fills in its defaults; errors name `layer` and `argument` (e.g.
 * `LIPool`, `config.child`). PyTorch's rule applies: padding at most half the window, which
 * also guarantees that every window holds at least one real cell.
 */
export const checkPoolSpec = (
  layer: string,
  argument: string,
  spec: unknown,
): E.Either<LayerError, ResolvedPoolSpec> => {
  if (typeof spec !== 'object' || spec === null) {
    return fail(layer, argument, '{ op, kernelSize, stride?, padding? }', describe(spec))
  }
  const s = spec as Record<string, unknown>
  if (s.op !== 'maxPool2d' && s.op !== 'avgPool2d') {
    return fail(layer, `${argument}.op`, 'one of "maxPool2d", "avgPool2d"', describe(s.op))
  }
  if (!isInt(s.kernelSize, 1)) return fail(layer, `${argument}.kernelSize`, 'an integer >= 1', describe(s.kernelSize))
  const kernelSize = s.kernelSize
  const stride = s.stride ?? kernelSize
  if (!isInt(stride, 1)) return fail(layer, `${argument}.stride`, 'an integer >= 1', describe(s.stride))
  const padding = s.padding ?? 0
  if (!isInt(padding, 0)) return fail(layer, `${argument}.padding`, 'an integer >= 0', describe(s.padding))
  if (padding > kernelSize / 2) {
    return fail(
      layer,
      `${argument}.padding`,
      `at most half the window (kernelSize ${kernelSize} allows <= ${Math.floor(kernelSize / 2)})`,
      String(padding),
    )
  }
  return E.right({ op: s.op, kernelSize, stride, padding })
}

/**
 * A validated pool spec for a layer constructor: throws a `ConfigError` on a bad spec, so a
 * layer is never built with a window it can never run.
 *
 * @example
 * import { poolSpec } from 'braincog-fn'
 * poolSpec({ op: 'maxPool2d', kernelSize: 2 }) // { op: 'maxPool2d', kernelSize: 2, stride: 2, padding: 0 }
 * // poolSpec({ op: 'maxPool2d', kernelSize: 2, padding: 2 }) throws ConfigError (padding over half the window)
 */
export const poolSpec = (spec: PoolSpec, layer = 'poolSpec', argument = 'spec'): ResolvedPoolSpec => {
  const r = checkPoolSpec(layer, argument, spec)
  if (E.isLeft(r)) throw new ConfigError(r.left)
  return r.right
}

/** The kernel's window for a resolved spec (square window, same stride and padding on both axes). */
export const poolWindow = (spec: ResolvedPoolSpec): PoolWindow => ({
  kernelH: spec.kernelSize,
  kernelW: spec.kernelSize,
  strideH: spec.stride,
  strideW: spec.stride,
  padH: spec.padding,
  padW: spec.padding,
})

/**
 * The output shape of pooling `[N, C, H, W]` with a resolved spec, or why that input cannot be
 * pooled: wrong rank, empty image, or a window larger than the padded image.
 */
export const pooledShape = (
  layer: string,
  argument: string,
  shape: Shape,
  spec: ResolvedPoolSpec,
): E.Either<LayerError, Shape> => {
  if (shape.length !== 4) return fail(layer, argument, 'rank 4 [N, C, H, W]', showShape(shape))
  const [n, c, h, w] = shape
  if (h < 1 || w < 1) return fail(layer, argument, 'H >= 1 and W >= 1', showShape(shape))
  const padded = (d: number): number => d + 2 * spec.padding
  if (padded(h) < spec.kernelSize || padded(w) < spec.kernelSize) {
    return fail(
      layer,
      argument,
      `H + 2*padding and W + 2*padding >= kernelSize ${spec.kernelSize} (padding ${spec.padding})`,
      showShape(shape),
    )
  }
  const [oh, ow] = pooledSize(h, w, poolWindow(spec))
  return E.right([n, c, oh, ow])
}

// ---------------------------------------------------------------------------------------------
// operations
// ---------------------------------------------------------------------------------------------

/**
 * Pools `[N, C, H, W]` with the operation a {@link PoolSpec} names; the output keeps the input's
 * dtype. Strided views are read as their contiguous copies; the input is never modified.
 *
 * @example
 * import { orThrow, pool2d, tensor, toNested } from 'braincog-fn'
 * const x = tensor([1, 2, 3, 4], [1, 1, 2, 2])
 * toNested(orThrow(pool2d(x, { op: 'avgPool2d', kernelSize: 2 }))) // [[[[2.5]]]]
 */
export const pool2d = (x: Tensor, spec: PoolSpec, backend: Backend = cpu): E.Either<LayerError, Tensor<Rank4>> => {
  // errors name the op the caller asked for, or `pool2d` when that is not a pooling op
  const op = spec?.op === 'maxPool2d' || spec?.op === 'avgPool2d' ? spec.op : 'pool2d'
  const resolved = checkPoolSpec(op, 'options', spec)
  if (E.isLeft(resolved)) return resolved
  const outShape = pooledShape(op, 'input', x.shape, resolved.right)
  if (E.isLeft(outShape)) return outShape
  const [n, c, h, w] = x.shape
  const out = alloc(sizeOf(outShape.right), dtypeOf(x))
  const mode = resolved.right.op === 'maxPool2d' ? 'max' : 'avg'
  backend.pool2d(out, flatData(x), n * c, h, w, poolWindow(resolved.right), mode)
  return E.right(wrap(out, outShape.right) as Tensor<Rank4>)
}

/**
 * Max pooling of `[N, C, H, W]`, PyTorch's `F.max_pool2d` (floor mode, padding never wins).
 * NaN propagates.
 *
 * @example
 * import { maxPool2d, orThrow, tensor, toNested } from 'braincog-fn'
 * const x = tensor([1, 5, 3, 4], [1, 1, 2, 2])
 * toNested(orThrow(maxPool2d(x, { kernelSize: 2 }))) // [[[[5]]]]
 */
export const maxPool2d = (
  x: Tensor,
  options: PoolOptions,
  backend: Backend = cpu,
): E.Either<LayerError, Tensor<Rank4>> => pool2d(x, { ...options, op: 'maxPool2d' }, backend)

/**
 * Average pooling of `[N, C, H, W]`, PyTorch's `F.avg_pool2d` with its defaults: floor mode,
 * and padding cells count in the divisor (`count_include_pad=True`), so the divisor is always
 * `kernelSize * kernelSize`.
 *
 * @example
 * import { avgPool2d, orThrow, tensor, toNested } from 'braincog-fn'
 * const x = tensor([4], [1, 1, 1, 1])
 * toNested(orThrow(avgPool2d(x, { kernelSize: 2, stride: 1, padding: 1 }))) // [[[[1, 1], [1, 1]]]]
 */
export const avgPool2d = (
  x: Tensor,
  options: PoolOptions,
  backend: Backend = cpu,
): E.Either<LayerError, Tensor<Rank4>> => pool2d(x, { ...options, op: 'avgPool2d' }, backend)

/**
 * Nearest upsampling of `[N, C, H, W]` by an integer `factor` on both spatial axes, giving
 * `[N, C, H * factor, W * factor]`: PyTorch's `F.interpolate(x, scale_factor=factor,
 * mode='nearest')` for integer factors (each cell becomes a `factor x factor` block).
 *
 * @example
 * import { orThrow, tensor, toNested, upsampleNearest } from 'braincog-fn'
 * toNested(orThrow(upsampleNearest(tensor([1, 2], [1, 1, 1, 2]), 2))) // [[[[1, 1, 2, 2], [1, 1, 2, 2]]]]
 */
export const upsampleNearest = (
  x: Tensor,
  factor: number,
  backend: Backend = cpu,
): E.Either<LayerError, Tensor<Rank4>> => {
  const op = 'upsampleNearest'
  if (!isInt(factor, 1)) return fail(op, 'factor', 'an integer >= 1', describe(factor))
  if (x.shape.length !== 4) return fail(op, 'input', 'rank 4 [N, C, H, W]', showShape(x.shape))
  const [n, c, h, w] = x.shape
  const outShape = [n, c, h * factor, w * factor] as const
  const out = alloc(sizeOf(outShape), dtypeOf(x))
  backend.upsampleNearest(out, flatData(x), n * c, h, w, factor)
  return E.right(wrap(out, outShape))
}
