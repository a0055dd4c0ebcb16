/**
 * Pooling ops on `[N, C, H, W]`: max and average pooling with PyTorch's semantics (floor mode;
 * the average counts padding cells, `count_include_pad=True`) and nearest upsampling. They are
 * what BrainCog's LIPool and SMaxPool wrap (their `child`), and public ops in their own right.
 *
 * Max and average pooling share one windowing kernel, `pool2d`; the ops validate their
 * arguments (naming the op and the argument) and then call it on the chosen device.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { chain } from '../either.js'
import { ConfigError, describeValue, layerFailure, type LayerError } from '../errors.js'
import type { Device } from '../kernel/device.js'
import { DeviceTensor } from '../kernel/device.js'
import { type PoolMode, type PoolWindow, pooledSize } from '../kernel/kernels.js'
import { expectBackend, expectShape, expectTensor, guardAllocation, showShape } from '../layer/check.js'
import { Session } from '../layer/run.js'
import type { Rank4, Shape, Tensor } from '../tensor/tensor.js'
import { textOf } from '../text.js'
import { ArgumentError } from '../tensor/view.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** The pooling operations a {@link PoolSpec} can name (BrainCog's `child` modules). */
export type PoolOp = 'maxPool2d' | 'avgPool2d'

/** A size for both spatial axes, or `[height, width]` (PyTorch's int or pair). */
export type Size2 = number | readonly [number, number]

/** A pooling window: PyTorch's `kernel_size`, `stride`, `padding`, each one integer or `[h, w]`. */
export interface PoolOptions {
  /** Window size, integers in [1, 32768]. */
  readonly kernelSize: Size2
  /** Step between windows, integers in [1, 32768] (default `kernelSize`, as in PyTorch). */
  readonly stride?: Size2
  /** Implicit padding on each side, integers in [0, kernelSize / 2] (default 0). */
  readonly padding?: Size2
}

/**
 * A pooling operation, exactly the fixtures' `child` format:
 * `{ op: 'maxPool2d' | 'avgPool2d', kernelSize, stride?, padding? }`.
 */
export interface PoolSpec extends PoolOptions {
  /** Max or average pooling. */
  readonly op: PoolOp
}

/** A validated {@link PoolSpec}: the operation and its window. */
export interface ResolvedPoolSpec {
  /** Max or average pooling. */
  readonly op: PoolOp
  /** The window, defaults filled in. */
  readonly window: PoolWindow
}

// ---------------------------------------------------------------------------------------------
// validation
// ---------------------------------------------------------------------------------------------

/**
 * The largest window size, stride or padding: the kernels' window arithmetic is 32-bit (the
 * WebAssembly kernels' sizes are i32), and a window of `kernelH * kernelW` cells must count in it.
 */
const MAX_WINDOW = 2 ** 15

const isInt = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min

/** A window size, stride or padding: an integer in [min, MAX_WINDOW]. */
const isSize = (v: unknown, min: number): v is number => isInt(v, min) && v <= MAX_WINDOW

/** A `Size2` as `[h, w]`, or undefined when it is not integers >= min. */
const pair = (v: unknown, min: number): readonly [number, number] | undefined => {
  if (isSize(v, min)) return [v, v]
  if (Array.isArray(v) && v.length === 2 && isSize(v[0], min) && isSize(v[1], min)) return [v[0], v[1]]
  return undefined
}

/**
 * Checks a pool spec and fills in its defaults; errors name `layer` and `argument` (e.g.
 * `LIPool`, `config.child`). PyTorch's rule applies: padding at most half the window, which
 * also guarantees that every window holds at least one real cell.
 */
export const checkPoolSpec = (
  layer: string,
  argument: string,
  spec: unknown,
): E.Either<LayerError, ResolvedPoolSpec> => resolvePool(layer, textOf(argument), spec, undefined)

/** {@link checkPoolSpec}, with the op fixed (`maxPool2d`'s options have none) or read from the spec. */
const resolvePool = (
  layer: string,
  argument: string,
  spec: unknown,
  op: PoolOp | undefined,
): E.Either<LayerError, ResolvedPoolSpec> => {
  const expected = op === undefined ? '{ op, kernelSize, stride?, padding? }' : '{ kernelSize, stride?, padding? }'
  let s: Readonly<Record<string, unknown>>
  try {
    if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) return layerFailure(layer, argument, expected, describeValue(spec))
    // each field read once; a Size2 pair's entries too
    const o = spec as Readonly<Record<string, unknown>>
    const copyPair = (v: unknown): unknown => (Array.isArray(v) ? Array.from(v as readonly unknown[]) : v)
    s = { op: op ?? o.op, kernelSize: copyPair(o.kernelSize), stride: copyPair(o.stride), padding: copyPair(o.padding) }
  } catch (e) {
    return layerFailure(layer, argument, expected, `a value whose property access threw (${describeValue(e)})`)
  }
  if (s.op !== 'maxPool2d' && s.op !== 'avgPool2d') {
    return layerFailure(layer, `${argument}.op`, 'one of "maxPool2d", "avgPool2d"', describeValue(s.op))
  }
  const kernel = pair(s.kernelSize, 1)
  if (kernel === undefined) return layerFailure(layer, `${argument}.kernelSize`, `an integer in [1, ${MAX_WINDOW}] or [h, w]`, describeValue(s.kernelSize))
  const stride = s.stride === undefined ? kernel : pair(s.stride, 1)
  if (stride === undefined) return layerFailure(layer, `${argument}.stride`, `an integer in [1, ${MAX_WINDOW}] or [h, w]`, describeValue(s.stride))
  const padding = s.padding === undefined ? ([0, 0] as const) : pair(s.padding, 0)
  if (padding === undefined) return layerFailure(layer, `${argument}.padding`, `an integer in [0, ${MAX_WINDOW}] or [h, w]`, describeValue(s.padding))
  if (padding[0] > kernel[0] / 2 || padding[1] > kernel[1] / 2) {
    return layerFailure(layer, `${argument}.padding`, `at most half the window ([${kernel.join(', ')}])`, describeValue(s.padding))
  }
  const window = {
    kernelH: kernel[0],
    kernelW: kernel[1],
    strideH: stride[0],
    strideW: stride[1],
    padH: padding[0],
    padW: padding[1],
  }
  return E.right({ op: s.op, window })
}

/**
 * A validated pool spec for a layer constructor: throws a `ConfigError` on a bad spec, so a
 * layer is never built with a window it can never run.
 *
 * @example
 * import { poolSpec } from 'braincog-fn'
 * poolSpec({ op: 'maxPool2d', kernelSize: 2 }).window // { kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0 }
 * // poolSpec({ op: 'maxPool2d', kernelSize: 2, padding: 2 }) throws ConfigError (padding over half the window)
 */
export const poolSpec = (spec: PoolSpec, layer = 'poolSpec', argument = 'spec'): ResolvedPoolSpec => {
  const r = checkPoolSpec(layer, argument, spec)
  if (E.isLeft(r)) throw new ConfigError(r.left)
  return r.right
}

/** The kernel's mode for an operation; a `RangeError` (`poolMode: op: …`) for anything but the two ops. */
export const poolMode = (op: PoolOp): PoolMode => {
  if (op === 'maxPool2d') return 'max'
  if (op === 'avgPool2d') return 'avg'
  throw new ArgumentError('poolMode', 'op', 'one of "maxPool2d", "avgPool2d"', describeValue(op))
}

/** The window fields, in order. */
const windowFields = ['kernelH', 'kernelW', 'strideH', 'strideW', 'padH', 'padW'] as const

/** A {@link PoolWindow} as a caller may pass it: kernel and stride integers >= 1, padding >= 0. */
const readWindow = (layer: string, w: unknown): E.Either<LayerError, PoolWindow> => {
  const expected = `{ kernelH, kernelW, strideH, strideW >= 1; padH, padW >= 0 } (integers <= ${MAX_WINDOW})`
  try {
    if (typeof w !== 'object' || w === null) return layerFailure(layer, 'window', expected, describeValue(w))
    const o = w as Readonly<Record<string, unknown>>
    const v = windowFields.map((k) => o[k])
    const ok = v.every((x, i) => isSize(x, i < 4 ? 1 : 0))
    return ok
      ? E.right(Object.fromEntries(windowFields.map((k, i) => [k, v[i]])) as unknown as PoolWindow)
      : layerFailure(layer, 'window', expected, describeValue(w))
  } catch (e) {
    return layerFailure(layer, 'window', expected, `a value whose property access threw (${describeValue(e)})`)
  }
}

/**
 * The output shape of pooling `[N, C, H, W]` with a window, or why that input cannot be
 * pooled: wrong rank, empty image, or a window larger than the padded image.
 */
export const pooledShape = (
  layer: string,
  argument: string,
  shape: Shape,
  window: PoolWindow,
): E.Either<LayerError, Shape> => {
  const s = expectShape(layer, argument, shape)
  if (E.isLeft(s)) return s
  const checked = readWindow(layer, window)
  if (E.isLeft(checked)) return checked
  return windowedShape(layer, argument, s.right, checked.right)
}

const windowedShape = (layer: string, argument: string, shape: Shape, w: PoolWindow): E.Either<LayerError, Shape> => {
  if (shape.length !== 4) return layerFailure(layer, argument, 'rank 4 [N, C, H, W]', showShape(shape))
  const [n, c, h, wd] = shape
  if (h < 1 || wd < 1) return layerFailure(layer, argument, 'H >= 1 and W >= 1', showShape(shape))
  if (h + 2 * w.padH < w.kernelH || wd + 2 * w.padW < w.kernelW) {
    return layerFailure(
      layer,
      argument,
      `H + 2*padding >= ${w.kernelH} and W + 2*padding >= ${w.kernelW} (the window)`,
      showShape(shape),
    )
  }
  const [oh, ow] = pooledSize(h, wd, w)
  return E.right([n, c, oh, ow])
}

// ---------------------------------------------------------------------------------------------
// operations
// ---------------------------------------------------------------------------------------------

/** One kernel call from a host tensor on `device`: uploaded, run, read back, freed. */
const runOp = <B>(device: Device<B>, x: Tensor, shape: Shape, body: (d: Device<B>, xb: B) => B): Tensor => {
  const session = new Session(device)
  try {
    return session.output(new DeviceTensor(body(session.device, session.upload(x)), shape), true)
  } finally {
    session.close()
  }
}

/**
 * Pools `[N, C, H, W]` with the operation a {@link PoolSpec} names, on `backend` (default: as
 * `apply`'s); the output keeps the input's dtype. Strided views are read as their contiguous
 * copies; the input is never modified.
 *
 * @example
 * import { orThrow, pool2d, tensor, toNested } from 'braincog-fn'
 * const x = tensor([1, 2, 3, 4], [1, 1, 2, 2])
 * toNested(orThrow(pool2d(x, { op: 'avgPool2d', kernelSize: 2 }))) // [[[[2.5]]]]
 */
export const pool2d = (x: Tensor, spec: PoolSpec, backend?: Device<unknown>): E.Either<LayerError, Tensor<Rank4>> => {
  // errors name the op the caller asked for, or `pool2d` when that is not a pooling op
  let asked: unknown
  try {
    asked = typeof spec === 'object' && spec !== null ? spec.op : undefined
  } catch {
    asked = undefined
  }
  const op = asked === 'maxPool2d' || asked === 'avgPool2d' ? asked : 'pool2d'
  return poolWith(op, x, resolvePool(op, 'options', spec, undefined), backend)
}

/** Pools `x` with a checked spec (or its error), on `backend`; errors name `op`. */
const poolWith = (
  op: string,
  x: unknown,
  resolved: E.Either<LayerError, ResolvedPoolSpec>,
  backend: unknown,
): E.Either<LayerError, Tensor<Rank4>> => {
  if (E.isLeft(resolved)) return resolved
  const input = expectTensor(op, 'input', x)
  if (E.isLeft(input)) return input
  const device = expectBackend(op, 'backend', backend)
  if (E.isLeft(device)) return device
  const d = device.right
  const { window } = resolved.right
  return chain((out: Shape) =>
    guardAllocation(op, 'input', () => {
      const [n, c, height, width] = input.right.shape
      const attrs = { planes: n * c, height, width, window, mode: poolMode(resolved.right.op) }
      return E.right(runOp(d, input.right, out, (dev, xb) => dev.pool2d(xb, attrs)) as Tensor<Rank4>)
    }),
  )(windowedShape(op, 'input', input.right.shape, window))
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
export const maxPool2d = (x: Tensor, options: PoolOptions, backend?: Device<unknown>): E.Either<LayerError, Tensor<Rank4>> =>
  poolWith('maxPool2d', x, resolvePool('maxPool2d', 'options', options, 'maxPool2d'), backend)

/**
 * Average pooling of `[N, C, H, W]`, PyTorch's `F.avg_pool2d` with its defaults: floor mode,
 * and padding cells count in the divisor (`count_include_pad=True`), so the divisor is always
 * the window's area.
 *
 * @example
 * import { avgPool2d, orThrow, tensor, toNested } from 'braincog-fn'
 * const x = tensor([4], [1, 1, 1, 1])
 * toNested(orThrow(avgPool2d(x, { kernelSize: 2, stride: 1, padding: 1 }))) // [[[[1, 1], [1, 1]]]]
 */
export const avgPool2d = (x: Tensor, options: PoolOptions, backend?: Device<unknown>): E.Either<LayerError, Tensor<Rank4>> =>
  poolWith('avgPool2d', x, resolvePool('avgPool2d', 'options', options, 'avgPool2d'), backend)

/**
 * Nearest upsampling of `[N, C, H, W]` by an integer `factor` on both spatial axes, giving
 * `[N, C, H * factor, W * factor]`: PyTorch's `F.interpolate(x, scale_factor=factor,
 * mode='nearest')` for integer factors (each cell becomes a `factor x factor` block).
 *
 * @example
 * import { orThrow, tensor, toNested, upsampleNearest } from 'braincog-fn'
 * toNested(orThrow(upsampleNearest(tensor([1, 2], [1, 1, 1, 2]), 2))) // [[[[1, 1, 2, 2], [1, 1, 2, 2]]]]
 */
export const upsampleNearest = (x: Tensor, factor: number, backend?: Device<unknown>): E.Either<LayerError, Tensor<Rank4>> => {
  const op = 'upsampleNearest'
  if (!isInt(factor, 1) || factor > 65536) return layerFailure(op, 'factor', 'an integer in [1, 65536]', describeValue(factor))
  const input = expectTensor(op, 'input', x)
  if (E.isLeft(input)) return input
  const device = expectBackend(op, 'backend', backend)
  if (E.isLeft(device)) return device
  const d = device.right
  if (input.right.shape.length !== 4) return layerFailure(op, 'input', 'rank 4 [N, C, H, W]', showShape(input.right.shape))
  const [n, c, height, width] = input.right.shape
  const outShape = [n, c, height * factor, width * factor] as const
  if (!Number.isSafeInteger(n * c * height * width * factor * factor)) {
    return layerFailure(op, 'factor', 'an output size below 2^53', `${factor} for ${showShape(input.right.shape)}`)
  }
  return guardAllocation(op, 'factor', () => {
    return E.right(
      runOp(d, input.right, outShape, (dev, xb) => dev.upsampleNearest(xb, { planes: n * c, height, width, factor })) as Tensor<Rank4>,
    )
  })
}
