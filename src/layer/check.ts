/**
 * Checks shared by all layers: run-time shape checks that return `Either`, and build-time
 * configuration checks that throw `ConfigError`.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import type { NdArray } from 'ndarray'
import { describe, fail, type LayerError, rejectConfig } from '../errors.js'
import type { Data, Shape } from '../tensor/tensor.js'

/** `rank 2 [3, 4]`: how shapes appear in errors. */
export const showShape = (shape: Shape): string => `rank ${shape.length} [${shape.join(', ')}]`

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

/** Checks that a value is an ndarray over float32/float64 data. */
export const expectTensor = (layer: string, argument: string, x: unknown): E.Either<LayerError, NdArray<Data>> => {
  const t = x as NdArray<Data> | undefined
  return t != null &&
    typeof t === 'object' &&
    Array.isArray(t.shape) &&
    (t.data instanceof Float32Array || t.data instanceof Float64Array)
    ? E.right(t)
    : fail(layer, argument, 'an ndarray of float32 or float64', describe(x))
}

// ---------------------------------------------------------------------------------------------
// build-time configuration checks (throw ConfigError)
// ---------------------------------------------------------------------------------------------

/** An integer `>= min`. */
export const configInt = (layer: string, argument: string, value: unknown, min = 1): number =>
  typeof value === 'number' && Number.isInteger(value) && value >= min
    ? value
    : rejectConfig(layer, argument, `an integer >= ${min}`, value)

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
