/**
 * The checks every public function shares: what a JavaScript caller may pass (anything) against
 * what a layer needs. Run-time checks return `Either<LayerError, _>` naming the layer, the
 * argument, what was expected and what came; build-time configuration checks throw a
 * `ConfigError`. Layers, ops and encoders all validate through these, so the same mistake gets
 * the same message everywhere.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import ndarray, { type NdArray } from 'ndarray'
import { describe, fail, type LayerError, rejectConfig } from '../errors.js'
import type { Data, DType, Shape, Tensor } from '../tensor/tensor.js'

/** `rank 2 [3, 4]`: how shapes appear in errors. */
export const showShape = (shape: Shape): string => `rank ${shape.length} [${shape.join(', ')}]`

// ---------------------------------------------------------------------------------------------
// shapes
// ---------------------------------------------------------------------------------------------

/** Checks that `shape` has exactly `rank` axes; `axes` names them in the message. */
export const expectRank = (
  layer: string,
  argument: string,
  shape: Shape,
  rank: number,
  axes?: string,
): E.Either<LayerError, Shape> =>
  shape.length === rank
    ? E.right(shape)
    : fail(layer, argument, `rank ${rank}${axes ? ` ${axes}` : ''}`, showShape(shape))

/** Checks that `shape` has at least `rank` axes. */
export const expectMinRank = (
  layer: string,
  argument: string,
  shape: Shape,
  rank: number,
  axes?: string,
): E.Either<LayerError, Shape> =>
  shape.length >= rank
    ? E.right(shape)
    : fail(layer, argument, `rank >= ${rank}${axes ? ` ${axes}` : ''}`, showShape(shape))

/** Checks the size of one axis (negative `axis` counts from the end). */
export const expectAxisSize = (
  layer: string,
  argument: string,
  shape: Shape,
  axis: number,
  size: number,
  what = 'size',
): E.Either<LayerError, Shape> => {
  const at = axis < 0 ? shape.length + axis : axis
  return shape[at] === size
    ? E.right(shape)
    : fail(layer, argument, `${what} ${size} on axis ${at}`, `${shape[at]} (${showShape(shape)})`)
}

/** Checks that two shapes are equal. */
export const expectSameShape = (
  layer: string,
  argument: string,
  shape: Shape,
  expected: Shape,
): E.Either<LayerError, Shape> =>
  shape.length === expected.length && shape.every((d, i) => d === expected[i])
    ? E.right(shape)
    : fail(layer, argument, `shape [${expected.join(', ')}]`, `[${shape.join(', ')}]`)

/** The largest number of elements a tensor may have: a typed array's limit, well inside 2^53. */
export const MAX_ELEMENTS = 2 ** 32

/**
 * Checks a shape as a caller may pass it (to `init`, `outputShape`): an array of non-negative
 * safe integers whose product is a safe integer.
 */
export const expectShape = (layer: string, argument: string, shape: unknown): E.Either<LayerError, Shape> => {
  const expected = 'a shape: an array of integers >= 0'
  if (!Array.isArray(shape)) return fail(layer, argument, expected, describe(shape))
  let size = 1
  for (const d of shape as readonly unknown[]) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return fail(layer, argument, expected, describe(shape))
    size *= d
  }
  return Number.isSafeInteger(size)
    ? E.right(shape as Shape)
    : fail(layer, argument, 'a shape whose size is a safe integer (< 2^53)', describe(shape))
}

// ---------------------------------------------------------------------------------------------
// tensors
// ---------------------------------------------------------------------------------------------

const isIndexArray = (v: unknown): v is readonly number[] =>
  Array.isArray(v) && v.every((d) => typeof d === 'number' && Number.isSafeInteger(d))

/** Why a view's fields cannot address its data, or undefined when they can. */
const viewProblem = (data: Data, shape: readonly number[], stride: readonly number[], offset: number): string | undefined => {
  if (shape.some((d) => d < 0)) return 'negative sizes'
  if (stride.length !== shape.length) return `${stride.length} strides for rank ${shape.length}`
  const size = shape.reduce((a, b) => a * b, 1)
  if (!Number.isSafeInteger(size)) return 'a size past 2^53'
  if (size === 0) return undefined
  let lo = offset
  let hi = offset
  for (let i = 0; i < shape.length; i++) {
    const reach = (shape[i] - 1) * stride[i]
    if (reach < 0) lo += reach
    else hi += reach
  }
  return lo >= 0 && hi < data.length ? undefined : `elements [${lo}, ${hi}] of ${data.length}`
}

/**
 * Checks that `x` is a tensor whose every element lies in its data: an ndarray over float32 or
 * float64 data (integer arrays are rejected), or the plain `{data, shape, stride, offset}`
 * record that `structuredClone`/`postMessage` make of one, which is revived into an ndarray.
 */
export const expectTensor = (layer: string, argument: string, x: unknown): E.Either<LayerError, Tensor> => {
  const expected = 'a tensor (an ndarray of float32 or float64 data)'
  if (typeof x !== 'object' || x === null || ArrayBuffer.isView(x) || Array.isArray(x)) {
    return fail(layer, argument, expected, describe(x))
  }
  const t = x as { readonly data?: unknown; readonly shape?: unknown; readonly stride?: unknown; readonly offset?: unknown }
  if (!(t.data instanceof Float32Array || t.data instanceof Float64Array)) {
    const kind = ArrayBuffer.isView(t.data) ? t.data.constructor.name : describe(t.data)
    return fail(layer, `${argument}.data`, 'Float32Array or Float64Array data', kind)
  }
  // read through the prototype: a 0-d ndarray keeps its shape and stride there
  const { shape, stride, offset } = t
  const data = t.data
  if (!isIndexArray(shape) || !isIndexArray(stride) || typeof offset !== 'number' || !Number.isSafeInteger(offset)) {
    return fail(layer, argument, `${expected} with integer shape, stride and offset`, describe({ shape, stride, offset }))
  }
  const problem = viewProblem(data, shape, stride, offset)
  if (problem !== undefined) {
    return fail(layer, argument, 'a view inside its data', `shape [${shape.join(', ')}] addressing ${problem}`)
  }
  // a live ndarray keeps its identity; a record that lost its prototype is rebuilt
  const live = typeof (x as { readonly pick?: unknown }).pick === 'function'
  return E.right((live ? x : ndarray(data, shape.slice(), stride.slice(), offset)) as Tensor)
}

/** Checks a tensor's shape exactly. */
export const expectTensorOfShape = (
  layer: string,
  argument: string,
  x: unknown,
  shape: Shape,
): E.Either<LayerError, Tensor> =>
  E.chain((t: Tensor) => E.map(() => t)(expectSameShape(layer, argument, t.shape, shape)))(expectTensor(layer, argument, x))

/** Checks a tensor's dtype against the one a call runs in. */
export const expectDtype = (
  layer: string,
  argument: string,
  t: NdArray<Data>,
  dtype: DType,
  why = "the input's",
): E.Either<LayerError, NdArray<Data>> => {
  const got: DType = t.data instanceof Float64Array ? 'float64' : 'float32'
  return got === dtype ? E.right(t) : fail(layer, argument, `${dtype} (${why} dtype)`, got)
}

/**
 * Runs `body`, turning a failed allocation (V8's `RangeError: Invalid typed array length` or
 * `Array buffer allocation failed`) into a `LayerError`: sizes that are valid but too large for
 * this machine are the caller's input, not a crash.
 */
export const guardAllocation = <A>(
  layer: string,
  argument: string,
  body: () => E.Either<LayerError, A>,
): E.Either<LayerError, A> => {
  try {
    return body()
  } catch (e) {
    if (e instanceof RangeError && /array (buffer )?(allocation|length)|Array buffer allocation/i.test(e.message)) {
      return fail(layer, argument, 'sizes whose tensors fit in memory', `an allocation that failed (${e.message})`)
    }
    throw e
  }
}

// ---------------------------------------------------------------------------------------------
// build-time configuration checks (throw ConfigError)
// ---------------------------------------------------------------------------------------------

/**
 * The configuration object itself: a constructor given `undefined`, `null` or a non-object
 * throws a `ConfigError` naming the layer, not a TypeError.
 */
export const configObject = <C>(layer: string, config: unknown, required: boolean): C => {
  if (config === undefined && !required) return {} as C
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    return rejectConfig(layer, 'config', 'a configuration object', config)
  }
  return config as C
}

/** An integer `>= min` (and at most `max`). */
export const configInt = (layer: string, argument: string, value: unknown, min = 1, max = MAX_ELEMENTS): number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max
    ? value
    : rejectConfig(layer, argument, max === MAX_ELEMENTS ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`, value)

/** A finite number, optionally within [min, max]. */
export const configNumber = (
  layer: string,
  argument: string,
  value: unknown,
  range: { readonly min?: number; readonly max?: number; readonly minExclusive?: boolean } = {},
): number => {
  const { min = -Infinity, max = Infinity, minExclusive = false } = range
  const ok =
    typeof value === 'number' && Number.isFinite(value) && (minExclusive ? value > min : value >= min) && value <= max
  if (ok) return value
  const bounds =
    min === -Infinity && max === Infinity
      ? ''
      : max === Infinity
        ? ` ${minExclusive ? '>' : '>='} ${min}`
        : min === -Infinity
          ? ` <= ${max}`
          : ` in ${minExclusive ? '(' : '['}${min}, ${max}]`
  return rejectConfig(layer, argument, `a finite number${bounds}`, value)
}

/** One of a fixed set of strings. */
export const configChoice = <const C extends string>(
  layer: string,
  argument: string,
  value: unknown,
  choices: readonly C[],
): C =>
  choices.includes(value as C)
    ? (value as C)
    : rejectConfig(layer, argument, `one of ${choices.map((c) => JSON.stringify(c)).join(', ')}`, value)

/** A boolean. */
export const configBoolean = (layer: string, argument: string, value: unknown): boolean =>
  typeof value === 'boolean' ? value : rejectConfig(layer, argument, 'a boolean', value)
