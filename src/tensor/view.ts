/**
 * What a caller may pass as a tensor or a shape, checked once: the one reader behind the tensor
 * helpers (which throw `RangeError`s naming themselves) and the layers' checks (which return
 * `LayerError`s). Arguments are read exactly once, inside a guard, and what comes back is the
 * library's own: a copied shape, a live ndarray (the caller's, when it is a genuine ndarray
 * with plain fields, else one rebuilt from the fields read), so later code never runs a caller's
 * getter again.
 *
 * Internal: the public face is the functions of `tensor.ts` and `layer/check.ts`.
 *
 * @module
 */
import ndarray, { type NdArray } from 'ndarray'
import { describeValue, layerError } from '../errors.js'
import { typedArrayLength, typedArrayName } from '../typedArray.js'

/** Float storage (as `tensor.ts`'s `Data`, restated to keep this module a leaf). */
type Data = Float32Array | Float64Array

/** The most axes a tensor may have (ndarray compiles a constructor per rank). */
export const MAX_RANK = 32

/** The most elements a tensor may have: a typed array's limit, well inside 2^53. */
export const MAX_ELEMENTS = 2 ** 32

/** ndarray keeps a view's offset as an int32 (`offset | 0`). */
const MAX_OFFSET = 2 ** 31 - 1

/** A value as read, or what is wrong with it: `at` extends the argument's name (`.data`). */
export type Checked<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly at: string; readonly expected: string; readonly got: string }

/** A good value. */
export const good = <T>(value: T): Checked<T> => ({ ok: true, value })

/** A problem. */
export const bad = <T = never>(at: string, expected: string, got: string): Checked<T> => ({
  ok: false,
  at,
  expected,
  got,
})

/** What a read that threw (a getter, a Proxy trap) reports. */
const threw = (e: unknown): string => `a value whose property access threw (${describeValue(e)})`

/** Runs `read`, turning anything it throws into a problem with the whole argument. */
export const guarded = <T>(expected: string, read: () => Checked<T>): Checked<T> => {
  try {
    return read()
  } catch (e) {
    return bad('', expected, threw(e))
  }
}

/**
 * A `RangeError` thrown by a tensor function: its message is `fn: argument: expected …, got …`,
 * the format of every error of the library.
 */
export class ArgumentError extends RangeError {
  constructor(fn: string, argument: string, expected: string, got: string) {
    super(layerError(fn, argument, expected, got).message)
    this.name = 'RangeError'
  }
}

/** An {@link ArgumentError} for a size that is valid but cannot be allocated (here, or at all). */
export class AllocationError extends ArgumentError {}

/** Unwraps a checked value or throws its problem as an {@link ArgumentError} of `fn`. */
export const orRange = <T>(fn: string, argument: string, c: Checked<T>): T => {
  if (c.ok) return c.value
  throw new ArgumentError(fn, `${argument}${c.at}`, c.expected, c.got)
}

// ---------------------------------------------------------------------------------------------
// shapes
// ---------------------------------------------------------------------------------------------

const shapeExpected = `a shape: an array of at most ${MAX_RANK} integers >= 0`

/**
 * A shape as a caller may pass it: an array of at most {@link MAX_RANK} non-negative safe
 * integers whose product is a safe integer, copied.
 */
export const readShape = (shape: unknown): Checked<number[]> =>
  guarded(shapeExpected, () => {
    if (!Array.isArray(shape) || shape.length > MAX_RANK) return bad('', shapeExpected, describeValue(shape))
    const out = new Array<number>(shape.length)
    let size = 1
    for (let i = 0; i < shape.length; i++) {
      const d = (shape as readonly unknown[])[i]
      if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return bad('', shapeExpected, describeValue(shape))
      out[i] = d
      size *= d
    }
    return Number.isSafeInteger(size) ? good(out) : bad('', 'a shape whose size is a safe integer (< 2^53)', describeValue(shape))
  })

/** A shape of at most {@link MAX_ELEMENTS} elements (one that can be allocated). */
export const readSizedShape = (shape: unknown): Checked<number[]> => {
  const s = readShape(shape)
  if (!s.ok) return s
  const size = s.value.reduce((a, b) => a * b, 1)
  return size <= MAX_ELEMENTS ? s : bad('', `a shape of at most 2^32 elements`, `${describeValue(shape)} (${size} elements)`)
}

/** `'float32'` (also for `undefined`) or `'float64'`. */
export const readDtype = (dtype: unknown): Checked<'float32' | 'float64'> =>
  dtype === undefined || dtype === 'float32' || dtype === 'float64'
    ? good(dtype ?? 'float32')
    : bad('', "'float32' or 'float64'", describeValue(dtype))

// ---------------------------------------------------------------------------------------------
// storage
// ---------------------------------------------------------------------------------------------

/**
 * Plain float32 or float64 storage: a `Float32Array` or `Float64Array` of this realm, not a
 * subclass (whose methods could differ) and without an own `length` (which would lie).
 */
export const readData = (data: unknown): Checked<Data> => {
  const expected = 'Float32Array or Float64Array data'
  const name = typedArrayName(data)
  if (name === undefined) return bad('', expected, describeValue(data))
  if (name !== 'Float32Array' && name !== 'Float64Array') return bad('', expected, name)
  const proto = Object.getPrototypeOf(data) as unknown
  if (proto !== Float32Array.prototype && proto !== Float64Array.prototype) {
    const why = data instanceof Float32Array || data instanceof Float64Array ? 'a subclass' : 'one of another realm'
    return bad('', `a plain ${name} (copy ${why} into new ${name}(data))`, `${why} of ${name}`)
  }
  if (Object.getOwnPropertyDescriptor(data, 'length') !== undefined) return bad('', expected, `a ${name} with an own length`)
  return good(data as Data)
}

// ---------------------------------------------------------------------------------------------
// views
// ---------------------------------------------------------------------------------------------

const tensorExpected = 'a tensor (an ndarray of float32 or float64 data)'

/** An array of safe integers, read once and copied (undefined when it is not one). */
const indexArray = (v: unknown): number[] | undefined => {
  if (!Array.isArray(v) || v.length > MAX_RANK) return undefined
  const out = new Array<number>(v.length)
  for (let i = 0; i < v.length; i++) {
    const d = Object.getOwnPropertyDescriptor(v, i)
    const x = d === undefined ? undefined : (d.value as unknown)
    if (typeof x !== 'number' || !Number.isSafeInteger(x)) return undefined
    out[i] = x
  }
  return out
}

/** Why a view's fields cannot address its data, or undefined when they can. */
const viewProblem = (
  length: number,
  shape: readonly number[],
  stride: readonly number[],
  offset: number,
): string | undefined => {
  if (shape.some((d) => d < 0)) return 'negative sizes'
  if (stride.length !== shape.length) return `${stride.length} strides for rank ${shape.length}`
  const size = shape.reduce((a, b) => a * b, 1)
  if (!Number.isSafeInteger(size) || size > MAX_ELEMENTS) return `${size} elements (at most 2^32)`
  if (size === 0) return undefined
  if (offset < 0 || offset > MAX_OFFSET) return `offset ${offset} (ndarray keeps offsets in [0, 2^31))`
  let lo = offset
  let hi = offset
  for (let i = 0; i < shape.length; i++) {
    const reach = (shape[i] - 1) * stride[i]
    if (reach < 0) lo += reach
    else hi += reach
  }
  return lo >= 0 && hi < length ? undefined : `elements [${lo}, ${hi}] of ${length}`
}

/** The prototype of genuine ndarrays of a dtype and rank (each is its own compiled class). */
const prototypes = { float32: [] as object[], float64: [] as object[] }
const prototypeOf = (dtype: 'float32' | 'float64', rank: number): object => {
  const known = prototypes[dtype][rank]
  if (known !== undefined) return known
  const empty = dtype === 'float64' ? new Float64Array(1) : new Float32Array(1)
  const proto = Object.getPrototypeOf(ndarray(empty, new Array<number>(rank).fill(1))) as object
  prototypes[dtype][rank] = proto
  return proto
}

/** The own fields of a genuine ndarray (a 0-d one keeps its shape and stride on its prototype). */
const ownFields = ['data', 'shape', 'stride', 'offset']

/**
 * True when `x` is an ndarray the library may use as it is: made by `ndarray` (its class's
 * prototype), with its own fields plain values and its shape and stride plain arrays, so that
 * reading it again gives what was checked.
 */
const genuine = (x: object, dtype: 'float32' | 'float64', rank: number): boolean => {
  if (Object.getPrototypeOf(x) !== prototypeOf(dtype, rank)) return false
  if (seenGenuine.has(x)) return true
  for (const k of Reflect.ownKeys(x)) {
    const d = Object.getOwnPropertyDescriptor(x, k)
    if (typeof k !== 'string' || !ownFields.includes(k) || d === undefined || !('value' in d)) return false
  }
  const t = x as { readonly shape: readonly number[]; readonly stride: readonly number[] }
  const plain =
    rank === 0 ||
    [t.shape, t.stride].every((a) => Object.getPrototypeOf(a) === Array.prototype && Reflect.ownKeys(a).length === rank + 1)
  if (plain) seenGenuine.add(x)
  return plain
}

/**
 * The ndarrays {@link genuine} has passed, so that a tensor passed again (a layer's weight on
 * every call) skips the walk over its own keys. Only that its fields are plain values is
 * remembered; the fields themselves are read and checked again on every call.
 */
const seenGenuine = new WeakSet<object>()

const readView = (x: unknown): Checked<NdArray<Data>> => {
  if (typeof x !== 'object' || x === null || Array.isArray(x) || typedArrayName(x) !== undefined) {
    return bad('', tensorExpected, describeValue(x))
  }
  const t = x as Readonly<Record<'data' | 'shape' | 'stride' | 'offset', unknown>>
  const data = readData(t.data)
  if (!data.ok) return bad('.data', data.expected, data.got)
  // read through the prototype: a 0-d ndarray keeps its shape and stride there, so its
  // structured clone has neither (`{ data, offset }`): that is rank 0
  const { shape, stride, offset } = t
  const scalar = shape === undefined && stride === undefined
  const s = scalar ? [] : indexArray(shape)
  const st = scalar ? [] : indexArray(stride)
  if (s === undefined || st === undefined || typeof offset !== 'number' || !Number.isSafeInteger(offset)) {
    return bad('', `${tensorExpected} with integer shape, stride and offset (rank <= ${MAX_RANK})`, describeValue({ shape, stride, offset }))
  }
  const problem = viewProblem(typedArrayLength(data.value), s, st, offset)
  if (problem !== undefined) return bad('', 'a view inside its data', `shape [${s.join(', ')}] addressing ${problem}`)
  const dtype = data.value instanceof Float64Array ? 'float64' : 'float32'
  // a genuine ndarray keeps its identity; a record (a structured clone), or an object whose
  // fields are not plain, is rebuilt from what was read
  return good(genuine(x, dtype, s.length) ? (x as NdArray<Data>) : ndarray(data.value, s, st, offset))
}

/**
 * A tensor as a caller may pass it: an ndarray over float32 or float64 data whose every element
 * lies in its data, or the plain `{data, shape, stride, offset}` record that `structuredClone`
 * and `postMessage` make of one (revived into an ndarray over the same data). Integer typed
 * arrays, plain arrays and views that run past their data are rejected.
 */
export const readTensor = (x: unknown): Checked<NdArray<Data>> => guarded(tensorExpected, () => readView(x))

/** The dtype of checked storage. */
export const dtypeOfData = (data: Data): 'float32' | 'float64' => (data instanceof Float64Array ? 'float64' : 'float32')

// ---------------------------------------------------------------------------------------------
// allocation
// ---------------------------------------------------------------------------------------------

/** Node's `Buffer.allocUnsafeSlow`, where there is one: an unpooled ArrayBuffer, not zeroed. */
type NodeBuffer = { readonly allocUnsafeSlow?: (bytes: number) => Uint8Array }
const unzeroedBytes = (globalThis as { readonly Buffer?: NodeBuffer }).Buffer?.allocUnsafeSlow

/**
 * Fresh storage of `size` elements whose values are unspecified, for a caller that writes every
 * element before anything reads one (a destination-first kernel's outputs): in Node, memory the
 * engine does not zero first (zeroing a big output costs a pass over it), elsewhere zeroed.
 * Errors as {@link allocate}'s.
 */
export const allocateUnfilled = (fn: string, argument: string, size: number, dtype: 'float32' | 'float64'): Data => {
  const per = dtype === 'float64' ? 8 : 4
  // small arrays gain nothing; Buffer's size limit is the typed arrays'
  if (unzeroedBytes === undefined || size < 4096 || !(size <= MAX_ELEMENTS)) return allocate(fn, argument, size, dtype)
  let bytes: Uint8Array
  try {
    bytes = unzeroedBytes(size * per)
  } catch {
    return allocate(fn, argument, size, dtype)
  }
  // a polyfill may hand out a view into a pool: only a whole buffer of its own will do
  if (bytes.byteOffset !== 0 || bytes.buffer.byteLength !== size * per) return allocate(fn, argument, size, dtype)
  return dtype === 'float64' ? new Float64Array(bytes.buffer, 0, size) : new Float32Array(bytes.buffer, 0, size)
}

/**
 * Fresh zeroed storage of `size` elements; an {@link AllocationError} of `fn` naming `argument`
 * when `size` is over {@link MAX_ELEMENTS} or the engine cannot allocate it.
 */
export const allocate = (fn: string, argument: string, size: number, dtype: 'float32' | 'float64'): Data => {
  if (!(size <= MAX_ELEMENTS)) {
    throw new AllocationError(fn, argument, 'sizes of at most 2^32 elements', `${size} elements`)
  }
  try {
    return dtype === 'float64' ? new Float64Array(size) : new Float32Array(size)
  } catch (e) {
    throw new AllocationError(fn, argument, 'sizes that fit in memory', `${size} elements (${describeValue(e)})`)
  }
}
