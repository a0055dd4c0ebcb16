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
import { describeValue } from '../errors.js'
import { typedArrayLength, typedArrayName } from '../typedArray.js'
import {
  allocate,
  ArgumentError,
  dtypeOfData,
  MAX_RANK,
  orRange,
  readData,
  readDtype,
  readShape,
  readSizedShape,
  readTensor,
} from './view.js'

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
// checks
// ---------------------------------------------------------------------------------------------

export { MAX_ELEMENTS, MAX_RANK } from './view.js'

/**
 * The tensor argument `argument` of `fn`: a live ndarray of float32 or float64 data, or the
 * plain record a structured clone makes of one (revived). Throws a `RangeError` naming `fn`.
 */
const tensorArg = (fn: string, argument: string, t: unknown): Tensor => orRange(fn, argument, readTensor(t)) as Tensor

const dtypeArg = (fn: string, dtype: unknown): DType => orRange(fn, 'dtype', readDtype(dtype))

/** A shape that can be allocated (at most 2^32 elements). */
const sizedShapeArg = (fn: string, shape: unknown): number[] => orRange(fn, 'shape', readSizedShape(shape))

const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1)

const showDims = (shape: readonly number[]): string => `[${shape.join(', ')}]`

/** Rethrows the library's own errors; anything else (a getter, a Proxy trap) as `fn`'s. */
const rethrow = (fn: string, argument: string, expected: string, e: unknown): never => {
  if (e instanceof ArgumentError) throw e
  throw new ArgumentError(fn, argument, expected, `a value whose property access threw (${describeValue(e)})`)
}

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/**
 * Number of elements of a shape. Throws a `RangeError` (`sizeOf: shape: …`) unless `shape` is
 * an array of at most {@link MAX_RANK} integers >= 0 whose product is a safe integer.
 */
export const sizeOf = (shape: Shape): number => product(orRange('sizeOf', 'shape', readShape(shape)))

/** Row-major (C-order) strides of a shape (a `RangeError` for a shape as {@link sizeOf}'s). */
export const rowMajorStrides = (shape: Shape): number[] => {
  const s = orRange('rowMajorStrides', 'shape', readShape(shape))
  const stride = new Array<number>(s.length)
  let step = 1
  for (let i = s.length - 1; i >= 0; i--) {
    stride[i] = step
    step *= s[i]
  }
  return stride
}

/**
 * Wraps flat row-major data (copied into a fresh float32 or float64 array) as a tensor. `data`
 * is an array of numbers or any numeric typed array (integer ones are converted) with exactly
 * as many elements as the shape. Throws a `RangeError` (`tensor: …`) for anything else: a
 * string, an element that is not a number, a shape that is not integers >= 0 (at most
 * {@link MAX_ELEMENTS} elements), a dtype other than float32 and float64.
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
  const fn = 'tensor'
  const d = dtypeArg(fn, dtype)
  const s = sizedShapeArg(fn, shape)
  const size = product(s)
  const expected = `${size} numbers for shape ${showDims(s)} (an array or a numeric typed array)`
  let out: Data | undefined
  try {
    if (typeof data !== 'object' || data === null) throw new ArgumentError(fn, 'data', expected, describeValue(data))
    const tag = typedArrayName(data)
    if (tag === 'BigInt64Array' || tag === 'BigUint64Array') throw new ArgumentError(fn, 'data', expected, tag)
    const length = tag === undefined ? (data as { readonly length?: unknown }).length : typedArrayLength(data as never)
    if (length !== size) {
      const got = typeof length === 'number' ? String(length) : `${describeValue(data)} (no length)`
      throw new ArgumentError(fn, 'data', `${size} values for shape ${showDims(s)}`, got)
    }
    out = allocate(fn, 'shape', size, d)
    for (let i = 0; i < size; i++) {
      const v = data[i] as unknown
      if (typeof v !== 'number') throw new ArgumentError(fn, `data[${i}]`, 'a number', describeValue(v))
      out[i] = v
    }
  } catch (e) {
    rethrow(fn, 'data', expected, e)
  }
  return ndarray(out as Data, s) as Tensor<AxesOf<S>>
}

/**
 * Wraps an existing `Float32Array` or `Float64Array` without copying. The caller hands over
 * `data`: layers never write to their inputs, but whoever else holds `data` may. Throws a
 * `RangeError` (`wrap: …`) for other data (integer arrays: use {@link tensor}, which converts),
 * a bad shape, or a length other than the shape's size.
 */
export const wrap = <const S extends Shape>(data: Data, shape: S): Tensor<AxesOf<S>> => {
  const fn = 'wrap'
  const storage = orRange(fn, 'data', readData(data))
  const s = sizedShapeArg(fn, shape)
  const length = storage.length
  if (length !== product(s)) {
    throw new ArgumentError(fn, 'data', `${product(s)} values for shape ${showDims(s)}`, String(length))
  }
  return ndarray(storage, s) as Tensor<AxesOf<S>>
}

/**
 * A tensor of zeros. Throws a `RangeError` (`zeros: …`) for a bad shape or dtype, or a size
 * this machine cannot allocate.
 *
 * @example
 * import { zeros } from 'braincog-fn'
 * zeros([2, 3]).size // 6
 */
export const zeros = <const S extends Shape>(shape: S, dtype: DType = 'float32'): Tensor<AxesOf<S>> => {
  const d = dtypeArg('zeros', dtype)
  const s = sizedShapeArg('zeros', shape)
  return ndarray(allocate('zeros', 'shape', product(s), d), s) as Tensor<AxesOf<S>>
}

/**
 * A tensor filled with `value` (any number, NaN included). Throws a `RangeError` (`full: …`) as
 * {@link zeros} does, or when `value` is not a number.
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
  const fn = 'full'
  const d = dtypeArg(fn, dtype)
  const s = sizedShapeArg(fn, shape)
  if (typeof value !== 'number') throw new ArgumentError(fn, 'value', 'a number', describeValue(value))
  const data = allocate(fn, 'shape', product(s), d)
  data.fill(value)
  return ndarray(data, s) as Tensor<AxesOf<S>>
}

/** Zeros with the shape and dtype of `like` (a tensor or its structured clone). */
export const zerosLike = <A extends Axes>(like: Tensor<A>): Tensor<A> => {
  const t = tensorArg('zerosLike', 'like', like)
  return ndarray(allocate('zerosLike', 'like', t.size, dtypeOfData(t.data)), t.shape.slice()) as Tensor<A>
}

/** The shape of a nested array, from its first elements (at most MAX_RANK levels). */
const nestedShape = (fn: string, nested: unknown): number[] => {
  const shape: number[] = []
  let level = nested
  while (Array.isArray(level)) {
    if (shape.length === MAX_RANK) {
      throw new ArgumentError(fn, 'nested', `at most ${MAX_RANK} levels of arrays`, 'more (a cycle?)')
    }
    shape.push(level.length)
    if (level.length === 0) break
    level = (level as readonly unknown[])[0]
  }
  return shape
}

/**
 * A tensor from nested arrays; every row at one depth must have the same length, and every
 * leaf must be a number. Throws a `RangeError` (`fromNested: …`) naming the first place that
 * is not so.
 *
 * @example
 * import { fromNested } from 'braincog-fn'
 * fromNested([[1, 2], [3, 4]]).shape // [2, 2]
 */
export const fromNested = (nested: Nested, dtype: DType = 'float32'): Tensor => {
  const fn = 'fromNested'
  const d = dtypeArg(fn, dtype)
  const expected = 'nested arrays of numbers'
  try {
    const shape = nestedShape(fn, nested)
    // one pass to check (nothing allocated for a bad argument), one to copy
    const walk = (node: unknown, depth: number, at: string, leaf: (v: number) => void): void => {
      if (depth === shape.length) {
        if (typeof node !== 'number') {
          throw new ArgumentError(fn, `nested${at}`, `a number at depth ${depth}`, Array.isArray(node) ? 'an array' : describeValue(node))
        }
        leaf(node)
        return
      }
      if (!Array.isArray(node) || node.length !== shape[depth]) {
        const got = Array.isArray(node) ? `length ${node.length}` : describeValue(node)
        throw new ArgumentError(fn, `nested${at}`, `an array of length ${shape[depth]} at depth ${depth}`, got)
      }
      for (let i = 0; i < node.length; i++) walk((node as readonly unknown[])[i], depth + 1, `${at}[${i}]`, leaf)
    }
    walk(nested, 0, '', () => undefined)
    const out = allocate(fn, 'nested', product(shape), d)
    let at = 0
    walk(nested, 0, '', (v) => {
      out[at++] = v
    })
    return ndarray(out, shape) as Tensor
  } catch (e) {
    return rethrow(fn, 'nested', expected, e)
  }
}

/**
 * A live tensor from the plain `{data, shape, stride, offset}` record that `structuredClone`,
 * `postMessage` or IndexedDB make of one (they keep the fields and drop the prototype), over
 * the same data; a live tensor comes back as itself. Every function of the library that takes a
 * tensor also takes such a record; `revive` is for code of your own that needs the ndarray's
 * methods. Throws a `RangeError` (`revive: record: …`) for anything that is not a tensor of
 * float32 or float64 data whose every element lies in its data.
 *
 * @example
 * import { revive, tensor, toNested } from 'braincog-fn'
 * const clone = structuredClone(tensor([1, 2, 3, 4], [2, 2]).transpose(1, 0))
 * revive(clone).get(0, 1) // 3
 * toNested(revive(clone)) // [[1, 3], [2, 4]]
 */
export const revive = <A extends Axes = Axes>(record: unknown): Tensor<A> => tensorArg('revive', 'record', record) as Tensor<A>

// ---------------------------------------------------------------------------------------------
// inspection
// ---------------------------------------------------------------------------------------------

/**
 * `float64` for Float64Array storage, `float32` for Float32Array storage; a `RangeError`
 * (`dtypeOf: …`) for anything else. Only `t.data` is read.
 */
export const dtypeOf = (t: NdArray<Data>): DType => {
  const fn = 'dtypeOf'
  let data: unknown
  try {
    if (typeof t !== 'object' || t === null) throw new ArgumentError(fn, 't', 'a tensor', describeValue(t))
    data = (t as { readonly data?: unknown }).data
  } catch (e) {
    rethrow(fn, 't', 'a tensor', e)
  }
  if (data instanceof Float64Array) return 'float64'
  if (data instanceof Float32Array) return 'float32'
  throw new ArgumentError(fn, 't.data', 'Float32Array or Float64Array data', typedArrayName(data) ?? describeValue(data))
}

/**
 * True when the view walks its data in row-major order without gaps (offset may be non-zero).
 * Like every helper below, it takes a tensor or its structured clone and throws a `RangeError`
 * naming itself for anything else.
 */
export const isContiguous = (t: NdArray<Data>): boolean => contiguous(tensorArg('isContiguous', 't', t))

const contiguous = (t: NdArray<Data>): boolean => {
  let expected = 1
  for (let i = t.shape.length - 1; i >= 0; i--) {
    if (t.shape[i] !== 1 && t.stride[i] !== expected) return false
    expected *= t.shape[i]
  }
  return true
}

/** The elements of a checked tensor, flat (a view of its data when contiguous). */
const flat = (fn: string, t: NdArray<Data>): Data => {
  if (contiguous(t)) return t.data.subarray(t.offset, t.offset + t.size) as Data
  const out = allocate(fn, 't', t.size, dtypeOfData(t.data))
  ops.assign(ndarray(out, t.shape.slice()), t)
  return out
}

/**
 * The elements of `t` as flat row-major data. Returns a view of `t.data` when `t` is already
 * contiguous (no copy: callers must only read it), else a packed copy.
 */
export const flatData = (t: NdArray<Data>): Data => flat('flatData', tensorArg('flatData', 't', t))

/** A fresh contiguous copy of `t` (same dtype unless `dtype` is given). */
export const copy = <A extends Axes>(t: Tensor<A>, dtype?: DType): Tensor<A> => {
  const fn = 'copy'
  const v = tensorArg(fn, 't', t)
  const d = dtype === undefined ? dtypeOfData(v.data) : dtypeArg(fn, dtype)
  const out = allocate(fn, 't', v.size, d)
  out.set(flat(fn, v))
  return ndarray(out, v.shape.slice()) as Tensor<A>
}

/** A new flat `number[]` of the elements of `t` in row-major order. */
export const toArray = (t: NdArray<Data>): number[] => Array.from(flat('toArray', tensorArg('toArray', 't', t)))

/** The most arrays {@link toNested} builds beyond the tensor's own size (an empty tensor of huge axes). */
const NESTED_SLACK = 2 ** 20

/**
 * Nested arrays of the elements of `t`, the inverse of {@link fromNested}. Throws a
 * `RangeError` (`toNested: …`) for an empty tensor whose nested form would need more than 2^20
 * arrays beyond its elements (`[2^40, 3, 0]` is `2^40` arrays of three empty ones).
 *
 * @example
 * import { tensor, toNested } from 'braincog-fn'
 * toNested(tensor([1, 2, 3, 4], [2, 2])) // [[1, 2], [3, 4]]
 */
export const toNested = (t: NdArray<Data>): Nested => {
  const fn = 'toNested'
  const v = tensorArg(fn, 't', t)
  const shape = v.shape
  let arrays = 0
  let level = 1
  for (let d = 0; d < shape.length; d++) {
    arrays += level
    level *= shape[d]
  }
  if (arrays > v.size * shape.length + NESTED_SLACK) {
    throw new ArgumentError(fn, 't', 'a tensor whose nested form fits in memory', `shape ${showDims(shape)} (${arrays} arrays)`)
  }
  const data = flat(fn, v)
  if (shape.length === 0) return data[0]
  let at = 0
  const build = (depth: number): Nested[] => {
    const n = shape[depth]
    const row = new Array<Nested>(n)
    for (let i = 0; i < n; i++) row[i] = depth === shape.length - 1 ? data[at++] : build(depth + 1)
    return row
  }
  return build(0)
}

/**
 * A contiguous view of `t` with a new shape of the same size (copies only when `t` is strided).
 * Throws a `RangeError` (`reshape: …`) when the sizes differ.
 */
export const reshape = <const S extends Shape>(t: NdArray<Data>, shape: S): Tensor<AxesOf<S>> => {
  const fn = 'reshape'
  const v = tensorArg(fn, 't', t)
  const s = orRange(fn, 'shape', readShape(shape))
  if (product(s) !== v.size) {
    throw new ArgumentError(fn, 'shape', `a shape of ${v.size} elements (the tensor's, ${showDims(v.shape)})`, describeValue(shape))
  }
  return ndarray(flat(fn, v), s) as Tensor<AxesOf<S>>
}

/**
 * Gives a tensor named axes after checking its rank at run time (a structured clone comes back
 * revived). Throws a `RangeError` (`named: …`) when `axes` is not an array of strings of the
 * tensor's rank.
 *
 * @example
 * import { named, zeros } from 'braincog-fn'
 * const x = named(zeros([2, 3, 4, 4]), ['N', 'C', 'H', 'W'] as const) // Tensor<readonly ['N','C','H','W']>
 */
export const named = <const A extends Axes>(t: NdArray<Data>, axes: A): Tensor<A> => {
  const fn = 'named'
  const v = tensorArg(fn, 't', t)
  let names: readonly string[] | undefined
  try {
    names = Array.isArray(axes) && axes.length <= MAX_RANK && axes.every((a) => typeof a === 'string') ? axes.slice() : undefined
  } catch {
    names = undefined
  }
  if (names === undefined) throw new ArgumentError(fn, 'axes', 'an array of axis names (strings)', describeValue(axes))
  if (v.shape.length !== names.length) {
    throw new ArgumentError(fn, 't', `rank ${names.length} [${names.join(', ')}]`, `rank ${v.shape.length}`)
  }
  return v as Tensor<A>
}

/** Both tensors checked, and whether their shapes are equal. */
const pair = (fn: string, names: readonly [string, string], a: unknown, b: unknown) => {
  const x = tensorArg(fn, names[0], a)
  const y = tensorArg(fn, names[1], b)
  const same = x.shape.length === y.shape.length && x.shape.every((d, i) => d === y.shape[i])
  return { x, y, same }
}

/** Exact equality of shape and every element (views and copies compare equal; NaN equals NaN). */
export const equals = (a: NdArray<Data>, b: NdArray<Data>): boolean => {
  const fn = 'equals'
  const { x, y, same } = pair(fn, ['a', 'b'], a, b)
  if (!same) return false
  const fa = flat(fn, x)
  const fb = flat(fn, y)
  for (let i = 0; i < fa.length; i++) if (!Object.is(fa[i], fb[i]) && fa[i] !== fb[i]) return false
  return true
}

/** Largest `|a - b|` over all elements; `Infinity` when the shapes differ. */
export const maxAbsDiff = (a: NdArray<Data>, b: NdArray<Data>): number => {
  const fn = 'maxAbsDiff'
  const { x, y, same } = pair(fn, ['a', 'b'], a, b)
  if (!same) return Infinity
  const fa = flat(fn, x)
  const fb = flat(fn, y)
  let worst = 0
  for (let i = 0; i < fa.length; i++) {
    const d = Math.abs(fa[i] - fb[i])
    if (!(d <= worst)) worst = d
  }
  return worst
}

const tolerance = (fn: string, argument: string, v: unknown): number => {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v
  throw new ArgumentError(fn, argument, 'a finite number >= 0', describeValue(v))
}

/**
 * `|a - e| <= atol + rtol * |e|` elementwise, with equal shapes. Throws a `RangeError`
 * (`allClose: …`) when a tolerance is not a finite number >= 0.
 */
export const allClose = (actual: NdArray<Data>, expected: NdArray<Data>, atol = 1e-6, rtol = 1e-5): boolean => {
  const fn = 'allClose'
  const { x, y, same } = pair(fn, ['actual', 'expected'], actual, expected)
  const a = tolerance(fn, 'atol', atol)
  const r = tolerance(fn, 'rtol', rtol)
  if (!same) return false
  const fa = flat(fn, x)
  const fe = flat(fn, y)
  for (let i = 0; i < fa.length; i++) {
    if (!(Math.abs(fa[i] - fe[i]) <= a + r * Math.abs(fe[i]))) return false
  }
  return true
}

/** The same data as `t`, as a new tensor of the given dtype (a copy; `dtype` is required). */
export const astype = <A extends Axes>(t: Tensor<A>, dtype: DType): Tensor<A> => {
  const fn = 'astype'
  const v = tensorArg(fn, 't', t)
  if (dtype !== 'float32' && dtype !== 'float64') throw new ArgumentError(fn, 'dtype', "'float32' or 'float64'", describeValue(dtype))
  const out = allocate(fn, 't', v.size, dtype)
  out.set(flat(fn, v))
  return ndarray(out, v.shape.slice()) as Tensor<A>
}

/**
 * A new tensor of `shape`/`dtype` whose flat elements are `f(i)`. Throws a `RangeError`
 * (`generate: …`) when `f` is not a function or returns something other than a number (what
 * `f` itself throws propagates).
 */
export const generate = <const S extends Shape>(
  shape: S,
  f: (i: number) => number,
  dtype: DType = 'float32',
): Tensor<AxesOf<S>> => {
  const fn = 'generate'
  const d = dtypeArg(fn, dtype)
  const s = sizedShapeArg(fn, shape)
  if (typeof f !== 'function') throw new ArgumentError(fn, 'f', 'a function from a flat index to a number', describeValue(f))
  const data = allocate(fn, 'shape', product(s), d)
  for (let i = 0; i < data.length; i++) {
    const v = f(i) as unknown
    if (typeof v !== 'number') throw new ArgumentError(fn, 'f', 'a function returning numbers', `${describeValue(v)} for index ${i}`)
    data[i] = v
  }
  return ndarray(data, s) as Tensor<AxesOf<S>>
}

/**
 * Fresh zeroed storage of `size` elements of `dtype` (for kernels and layers building
 * outputs). Throws a `RangeError` (`alloc: …`) for a size that is not an integer in
 * [0, 2^32] or cannot be allocated, or another dtype.
 */
export const alloc = (size: number, dtype: DType): Data => {
  const fn = 'alloc'
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new ArgumentError(fn, 'size', 'an integer >= 0', describeValue(size))
  }
  if (dtype !== 'float32' && dtype !== 'float64') throw new ArgumentError(fn, 'dtype', "'float32' or 'float64'", describeValue(dtype))
  return allocate(fn, 'size', size, dtype)
}
