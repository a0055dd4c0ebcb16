/**
 * Schemas for params and state: what a layer accepts, as data, so that one checker validates
 * every layer's params and state the same way (plain objects from `JSON.parse` without their
 * optional keys, structured clones of tensors, state of the wrong layer), and hands back the
 * values normalized (missing nullable entries as `null`, tensors revived).
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { describe, fail, type LayerError } from '../errors.js'
import type { DType, Shape, Tensor } from '../tensor/tensor.js'
import { expectDtype, expectSameShape, expectTensor } from './check.js'

/** What a schema checks against: the layer (for messages), and the call's input shape and dtype. */
export interface SchemaCtx {
  /** The layer's name. */
  readonly layer: string
  /** The shape of the input the params and state are used with (one step's, in a scan). */
  readonly input: Shape
  /** The input's dtype: every tensor of the params and state must have it. */
  readonly dtype: DType
}

/** Checks and normalizes one value; `argument` names it in errors (`params.weight`). */
export type Schema<T> = (value: unknown, argument: string, c: SchemaCtx) => E.Either<LayerError, T>

/** A tensor of the input's dtype, of a fixed shape or one computed from the input's shape. */
export const tensorOf =
  (shape: Shape | ((input: Shape) => Shape)): Schema<Tensor> =>
  (value, argument, c) => {
    const t = expectTensor(c.layer, argument, value)
    if (E.isLeft(t)) return t
    const want = typeof shape === 'function' ? shape(c.input) : shape
    const sized = expectSameShape(c.layer, argument, t.right.shape, want)
    if (E.isLeft(sized)) return sized
    return E.map(() => t.right)(expectDtype(c.layer, argument, t.right, c.dtype))
  }

/**
 * A tensor shaped like the input: state held from earlier steps (a membrane potential, an
 * accumulator, a mask), which a batch of another shape does not fit.
 */
export const likeInput: Schema<Tensor> = (value, argument, c) => {
  const t = expectTensor(c.layer, argument, value)
  if (E.isLeft(t)) return t
  const shape = t.right.shape
  if (shape.length !== c.input.length || shape.some((d, i) => d !== c.input[i])) {
    const want = `the input's shape [${c.input.join(', ')}] (reset the state for inputs of another shape)`
    return fail(c.layer, argument, want, `[${shape.join(', ')}]`)
  }
  return E.map(() => t.right)(expectDtype(c.layer, argument, t.right, c.dtype))
}

/** `null`, `undefined` (read as `null`) or a value of `schema`. */
export const nullable =
  <T>(schema: Schema<T>): Schema<T | null> =>
  (value, argument, c) =>
    value === null || value === undefined ? E.right(null) : schema(value, argument, c)

/** An integer >= 0 (a counter such as `numBatchesTracked`). */
export const count: Schema<number> = (value, argument, c) =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
    ? E.right(value)
    : fail(c.layer, argument, 'an integer >= 0', describe(value))

/** Fields of a record schema. */
export type Fields<R> = { readonly [K in keyof R]: Schema<R[K]> }

/**
 * A record with exactly these fields. Missing fields are read as `undefined` (which nullable
 * fields take as `null`), so `undefined` itself is the empty record; a key the layer does not
 * know (state of another layer, a misspelt param) is an error naming the keys expected.
 */
export const record =
  <R>(fields: Fields<R>): Schema<R> =>
  (value, argument, c) => {
    const keys = Object.keys(fields)
    const shape = `{ ${keys.join(', ')} }`
    if (value === undefined) value = {}
    if (typeof value !== 'object' || value === null || Array.isArray(value) || ArrayBuffer.isView(value)) {
      return fail(c.layer, argument, keys.length === 0 ? '{} (no entries)' : shape, describe(value))
    }
    const given = value as Readonly<Record<string, unknown>>
    const unknown = Object.keys(given).filter((k) => !Object.hasOwn(fields, k))
    if (unknown.length > 0) {
      return fail(c.layer, argument, keys.length === 0 ? '{} (no entries)' : shape, `the key ${JSON.stringify(unknown[0])}`)
    }
    const out: Record<string, unknown> = {}
    // a record that is already normal comes back as itself (so an unchanged state stays the same object)
    let same = Object.keys(given).length === keys.length
    for (const k of keys) {
      const r = (fields as Readonly<Record<string, Schema<unknown>>>)[k](given[k], `${argument}.${k}`, c)
      if (E.isLeft(r)) return r
      out[k] = r.right
      same &&= r.right === given[k]
    }
    return E.right((same ? given : out) as R)
  }
