/**
 * Typed tensors over `ndarray`.
 *
 * A {@link Tensor} is an ordinary `ndarray` view (data, shape, stride, offset) of float32 or
 * float64 data whose type also carries its axes, e.g. `Tensor<readonly ['N', 'C', 'H', 'W']>`.
 * Passing a rank-2 tensor where a layer wants rank 4 is therefore a compile error, while any
 * strided view (transpose, `lo`/`hi`, `step`, `pick`) is still accepted and gives the same
 * result as its contiguous copy. Sizes, which types cannot prove, are checked at run time.
 *
 * @module
 */
import ndarray, { type NdArray } from 'ndarray'
import ops from 'ndarray-ops'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** Element storage: float32 by default, float64 where asked. */
export type Data = Float32Array | Float64Array

/** The element type of a tensor. */
export type DType = 'float32' | 'float64'

/** Axis names of a tensor; only their number (the rank) and literal names are checked. */
export type Axes = readonly string[]

/** A run-time shape. */
export type Shape = readonly number[]

declare const axesBrand: unique symbol

/**
 * An `ndarray` view of float data whose type carries its axes.
 *
 * The brand is optional, so a raw `ndarray` (or a view made by `transpose`, `lo`, `hi`, `step`,
 * `pick`) is accepted anywhere, checked at run time. The brand is a method signature on
 * purpose: method parameters compare bivariantly, so a tensor of unknown rank (`Tensor`) is
 * accepted where a rank is required, while two tensors of known, different ranks or axis names
 * (`Tensor<Rank2>` where `Tensor<Rank4>` is wanted) are a compile error.
 */
export type Tensor<A extends Axes = Axes> = NdArray<Data> & {
  /** @internal Type-level axes brand; never present at run time. */
  [axesBrand]?(axes: A): void
}

/** Tensors of a given rank with anonymous axes. */
export type Rank1 = readonly [string]
/** @see Rank1 */
export type Rank2 = readonly [string, string]
/** @see Rank1 */
export type Rank3 = readonly [string, string, string]
/** @see Rank1 */
export type Rank4 = readonly [string, string, string, string]
/** @see Rank1 */
export type Rank5 = readonly [string, string, string, string, string]

/** Anonymous axes with the rank of a literal shape: `[2, 3]` gives `readonly [string, string]`. */
export type AxesOf<S extends Shape> = { readonly [K in keyof S]: string }

/** A shape with one entry per axis of `A`. */
export type DimsOf<A extends Axes> = { readonly [K in keyof A]: number }

/** A nested array of numbers, as produced by {@link toNested}. */
export type Nested = number | readonly Nested[]

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

const allocate = (size: number, dtype: DType): Data =>
  dtype === 'float64' ? new Float64Array(size) : new Float32Array(size)

/** Number of elements of a shape. */
export const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1)

/** Row-major (C-order) strides of a shape. */
export const rowMajorStrides = (shape: Shape): number[] => {
  const stride = new Array<number>(shape.length)
  let s = 1
  for (let i = shape.length - 1; i >= 0; i--) {
    stride[i] = s
    s *= shape[i]
  }
  return stride
}

const checkShape = (shape: Shape): void => {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`tensor: shape: expected non-negative integers, got [${shape.join(', ')}]`)
    }
  }
}

/**
 * Wraps flat row-major data (copied into a fresh float32 or float64 array) as a tensor.
 *
 * @example
 * import { tensor } from 'braincog-fn'
 * const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]) // Tensor<readonly [string, string]>
 * x.get(1, 0) // 4
 */
export const tensor = <const S extends Shape>(
  data: ArrayLike<number>,
  shape: S,
  dtype: DType = 'float32',
): Tensor<AxesOf<S>> => {
  checkShape(shape)
  const size = sizeOf(shape)
  if (data.length !== size) {
    throw new RangeError(
      `tensor: data: expected ${size} values for shape [${shape.join(', ')}], got ${data.length}`,
    )
  }
  const out = allocate(size, dtype)
  for (let i = 0; i < size; i++) out[i] = data[i]
  return ndarray(out, [...shape]) as Tensor<AxesOf<S>>
}

/**
 * Wraps an existing typed array without copying. The caller hands over `data`: layers never
 * write to their inputs, but whoever else holds `data` may.
 */
export const wrap = <const S extends Shape>(data: Data, shape: S): Tensor<AxesOf<S>> => {
  checkShape(shape)
  if (data.length !== sizeOf(shape)) {
    throw new RangeError(
      `tensor: data: expected ${sizeOf(shape)} values for shape [${shape.join(', ')}], got ${data.length}`,
    )
  }
  return ndarray(data, [...shape]) as Tensor<AxesOf<S>>
}

/**
 * A tensor of zeros.
 *
 * @example
 * import { zeros } from 'braincog-fn'
 * zeros([2, 3]).size // 6
 */
export const zeros = <const S extends Shape>(shape: S, dtype: DType = 'float32'): Tensor<AxesOf<S>> => {
  checkShape(shape)
  return ndarray(allocate(sizeOf(shape), dtype), [...shape]) as Tensor<AxesOf<S>>
}

/**
 * A tensor filled with `value`.
 *
 * @example
 * import { full } from 'braincog-fn'
 * full([2], 0.5).get(1) // 0.5
 */
export const full = <const S extends Shape>(
  shape: S,
  value: number,
  dtype: DType = 'float32',
): Tensor<AxesOf<S>> => {
  const t = zeros(shape, dtype)
  t.data.fill(value)
  return t
}

/** Zeros with the shape and dtype of `like`. */
export const zerosLike = <A extends Axes>(like: Tensor<A>): Tensor<A> =>
  zeros(like.shape, dtypeOf(like)) as Tensor<A>

const nestedShape = (nested: Nested): number[] => {
  const shape: number[] = []
  let level: Nested = nested
  while (Array.isArray(level)) {
    shape.push(level.length)
    if (level.length === 0) break
    level = (level as readonly Nested[])[0]
  }
  return shape
}

/**
 * A tensor from nested arrays; every row at one depth must have the same length.
 *
 * @example
 * import { fromNested } from 'braincog-fn'
 * fromNested([[1, 2], [3, 4]]).shape // [2, 2]
 */
export const fromNested = (nested: Nested, dtype: DType = 'float32'): Tensor => {
  const shape = nestedShape(nested)
  const out = allocate(sizeOf(shape), dtype)
  let at = 0
  const walk = (node: Nested, depth: number): void => {
    if (depth === shape.length) {
      if (typeof node !== 'number') {
        throw new RangeError(`fromNested: expected a number at depth ${depth}, got an array`)
      }
      out[at++] = node
      return
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw new RangeError(
        `fromNested: expected an array of length ${shape[depth]} at depth ${depth}, got ${
          Array.isArray(node) ? `length ${node.length}` : typeof node
        }`,
      )
    }
    for (const child of node as readonly Nested[]) walk(child, depth + 1)
  }
  walk(nested, 0)
  return ndarray(out, shape) as Tensor
}

// ---------------------------------------------------------------------------------------------
// inspection
// ---------------------------------------------------------------------------------------------

/** `float64` for Float64Array storage, `float32` otherwise. */
export const dtypeOf = (t: NdArray<Data>): DType => (t.data instanceof Float64Array ? 'float64' : 'float32')

/** True when the view walks its data in row-major order without gaps (offset may be non-zero). */
export const isContiguous = (t: NdArray<Data>): boolean => {
  let expected = 1
  for (let i = t.shape.length - 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && t.stride[i] !== expected) return false
    expected *= t.shape[i]
  }
  return true
}

/**
 * The elements of `t` as flat row-major data. Returns a view of `t.data` when `t` is already
 * contiguous (no copy: callers must only read it), else a packed copy.
 */
export const flatData = (t: NdArray<Data>): Data => {
  if (isContiguous(t)) return t.data.subarray(t.offset, t.offset + t.size) as Data
  const out = allocate(t.size, dtypeOf(t))
  ops.assign(ndarray(out, t.shape.slice()), t)
  return out
}

/** A fresh contiguous copy of `t` (same dtype unless `dtype` is given). */
export const copy = <A extends Axes>(t: Tensor<A>, dtype: DType = dtypeOf(t)): Tensor<A> => {
  const out = allocate(t.size, dtype)
  out.set(flatData(t))
  return ndarray(out, t.shape.slice()) as Tensor<A>
}

/** A new flat `number[]` of the elements of `t` in row-major order. */
export const toArray = (t: NdArray<Data>): number[] => Array.from(flatData(t))

/**
 * Nested arrays of the elements of `t`, the inverse of {@link fromNested}.
 *
 * @example
 * import { tensor, toNested } from 'braincog-fn'
 * toNested(tensor([1, 2, 3, 4], [2, 2])) // [[1, 2], [3, 4]]
 */
export const toNested = (t: NdArray<Data>): Nested => {
  const flat = flatData(t)
  if (t.shape.length === 0) return flat[0]
  let at = 0
  const build = (depth: number): Nested[] => {
    const n = t.shape[depth]
    const row = new Array<Nested>(n)
    for (let i = 0; i < n; i++) row[i] = depth === t.shape.length - 1 ? flat[at++] : build(depth + 1)
    return row
  }
  return build(0)
}

/**
 * A contiguous view of `t` with a new shape of the same size (copies only when `t` is strided).
 */
export const reshape = <const S extends Shape>(t: NdArray<Data>, shape: S): Tensor<AxesOf<S>> =>
  wrap(flatData(t), shape)

/**
 * Gives a tensor named axes after checking its rank at run time.
 *
 * @example
 * import { named, zeros } from 'braincog-fn'
 * const x = named(zeros([2, 3, 4, 4]), ['N', 'C', 'H', 'W'] as const) // Tensor<readonly ['N','C','H','W']>
 */
export const named = <const A extends Axes>(t: NdArray<Data>, axes: A): Tensor<A> => {
  if (t.shape.length !== axes.length) {
    throw new RangeError(`named: expected rank ${axes.length} [${axes.join(', ')}], got rank ${t.shape.length}`)
  }
  return t as Tensor<A>
}

/** Exact equality of shape and every element (views and copies compare equal). */
export const equals = (a: NdArray<Data>, b: NdArray<Data>): boolean => {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false
  const fa = flatData(a)
  const fb = flatData(b)
  for (let i = 0; i < fa.length; i++) if (!Object.is(fa[i], fb[i]) && fa[i] !== fb[i]) return false
  return true
}

/** Largest `|a - b|` over all elements; `Infinity` when the shapes differ. */
export const maxAbsDiff = (a: NdArray<Data>, b: NdArray<Data>): number => {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return Infinity
  const fa = flatData(a)
  const fb = flatData(b)
  let worst = 0
  for (let i = 0; i < fa.length; i++) {
    const d = Math.abs(fa[i] - fb[i])
    if (!(d <= worst)) worst = d
  }
  return worst
}

/** `|a - e| <= atol + rtol * |e|` elementwise, with equal shapes. */
export const allClose = (actual: NdArray<Data>, expected: NdArray<Data>, atol = 1e-6, rtol = 1e-5): boolean => {
  if (actual.shape.length !== expected.shape.length || actual.shape.some((d, i) => d !== expected.shape[i])) {
    return false
  }
  const fa = flatData(actual)
  const fe = flatData(expected)
  for (let i = 0; i < fa.length; i++) {
    if (!(Math.abs(fa[i] - fe[i]) <= atol + rtol * Math.abs(fe[i]))) return false
  }
  return true
}

/** The same data as `t`, as a new tensor of the given dtype (a copy). */
export const astype = <A extends Axes>(t: Tensor<A>, dtype: DType): Tensor<A> => copy(t, dtype)

/** A new tensor of `shape`/`dtype` whose flat elements are `f(i)`. */
export const generate = <const S extends Shape>(
  shape: S,
  f: (i: number) => number,
  dtype: DType = 'float32',
): Tensor<AxesOf<S>> => {
  const t = zeros(shape, dtype)
  for (let i = 0; i < t.data.length; i++) t.data[i] = f(i)
  return t
}

/** Allocates storage of the given dtype (for kernels and layers building outputs). */
export const alloc = allocate
