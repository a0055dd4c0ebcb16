/**
 * Schemas for params and state: what a layer accepts, as data, so that one checker validates
 * every layer's params and state the same way (plain objects from `JSON.parse` without their
 * optional keys, structured clones of tensors, state of the wrong layer), and hands back the
 * values normalized (missing nullable entries as `null`, tensors revived).
 *
 * Building a schema with something that is not one (`record({ w: 3 })`) throws a `ConfigError`;
 * a schema called with a context that is not a {@link SchemaCtx} returns a `LayerError`.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { chain } from '../either.js'
import { ConfigError, describeValue, layerFailure, type LayerError, layerError } from '../errors.js'
import type { DType, Shape, Tensor } from '../tensor/tensor.js'
import { readShape } from '../tensor/view.js'
import { expectDtype, expectSameShape, expectShape, expectTensor } from './check.js'

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

/** Throws the `ConfigError` of a schema builder given something that is not a schema. */
const rejectBuild = (fn: string, argument: string, expected: string, got: unknown): never => {
  throw new ConfigError(layerError(fn, argument, expected, describeValue(got)))
}

/** The schema context, read once (a schema called by hand may be given anything). */
const contextOf = (schema: string, c: unknown): E.Either<LayerError, SchemaCtx> => {
  const expected = "a schema context { layer, input, dtype: 'float32' | 'float64' }"
  try {
    if (typeof c !== 'object' || c === null) return layerFailure(schema, 'c', expected, describeValue(c))
    const { layer, input, dtype } = c as Readonly<Record<string, unknown>>
    const shape = readShape(input)
    if (typeof layer !== 'string' || !shape.ok || (dtype !== 'float32' && dtype !== 'float64')) {
      return layerFailure(schema, 'c', expected, describeValue(c))
    }
    return E.right({ layer, input: shape.value, dtype })
  } catch (e) {
    return layerFailure(schema, 'c', expected, `a value whose property access threw (${describeValue(e)})`)
  }
}

/** `argument` as a caller gave it (a string), else a description of it. */
const nameOf = (argument: unknown): string => (typeof argument === 'string' ? argument : describeValue(argument))

/** A schema from its body over a checked context. */
const schema =
  <T>(name: string, body: (value: unknown, argument: string, c: SchemaCtx) => E.Either<LayerError, T>): Schema<T> =>
  (value, argument, c) =>
    chain((ctx: SchemaCtx) => body(value, nameOf(argument), ctx))(contextOf(name, c))

/**
 * A tensor of the input's dtype, of a fixed shape or one computed from the input's shape.
 * Throws a `ConfigError` when `shape` is neither a shape nor a function.
 */
export const tensorOf = (shape: Shape | ((input: Shape) => Shape)): Schema<Tensor> => {
  const fixed = typeof shape === 'function' ? undefined : readShape(shape)
  if (fixed !== undefined && !fixed.ok) rejectBuild('tensorOf', 'shape', 'a shape, or a function of the input shape', shape)
  return schema('tensorOf', (value, argument, c) => {
    const t = expectTensor(c.layer, argument, value)
    if (E.isLeft(t)) return t
    const want =
      fixed !== undefined && fixed.ok
        ? E.right(fixed.value)
        : expectShape(c.layer, `${argument} (its expected shape)`, (shape as (input: Shape) => Shape)(c.input))
    if (E.isLeft(want)) return want
    const sized = expectSameShape(c.layer, argument, t.right.shape, want.right)
    if (E.isLeft(sized)) return sized
    return E.map(() => t.right)(expectDtype(c.layer, argument, t.right, c.dtype))
  })
}

/**
 * A tensor shaped like the input: state held from earlier steps (a membrane potential, an
 * accumulator, a mask), which a batch of another shape does not fit.
 */
export const likeInput: Schema<Tensor> = schema('likeInput', (value, argument, c) => {
  const t = expectTensor(c.layer, argument, value)
  if (E.isLeft(t)) return t
  const shape = t.right.shape
  if (shape.length !== c.input.length || shape.some((d, i) => d !== c.input[i])) {
    const want = `the input's shape [${c.input.join(', ')}] (reset the state for inputs of another shape)`
    return layerFailure(c.layer, argument, want, `[${shape.join(', ')}]`)
  }
  return E.map(() => t.right)(expectDtype(c.layer, argument, t.right, c.dtype))
})

/** `null`, `undefined` (read as `null`) or a value of `inner`; a `ConfigError` when `inner` is not a schema. */
export const nullable = <T>(inner: Schema<T>): Schema<T | null> => {
  if (typeof inner !== 'function') rejectBuild('nullable', 'schema', 'a schema (a function)', inner)
  return schema('nullable', (value, argument, c) =>
    value === null || value === undefined ? E.right(null) : inner(value, argument, c),
  )
}

/** An integer >= 0 (a counter such as `numBatchesTracked`). */
export const count: Schema<number> = schema('count', (value, argument, c) =>
  typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
    ? E.right(value)
    : layerFailure(c.layer, argument, 'an integer >= 0', describeValue(value)),
)

/** Fields of a record schema. */
export type Fields<R> = { readonly [K in keyof R]: Schema<R[K]> }

/** True for a plain object (what object literals, `JSON.parse` and `structuredClone` make). */
const isPlain = (v: object): boolean => {
  const proto = Object.getPrototypeOf(v) as unknown
  return proto === Object.prototype || proto === null
}

/**
 * A record with exactly these fields. Missing fields are read as `undefined` (which nullable
 * fields take as `null`), so `undefined` itself is the empty record; a key the layer does not
 * know (state of another layer, a misspelt param) is an error naming the keys expected, and so
 * is anything but a plain object. Each entry is read once. Throws a `ConfigError` when `fields`
 * is not an object of schemas.
 */
export const record = <R>(fields: Fields<R>): Schema<R> => {
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    rejectBuild('record', 'fields', 'an object of schemas', fields)
  }
  let keys: readonly string[] = []
  let own: Readonly<Record<string, unknown>> = {}
  try {
    keys = Object.keys(fields)
    own = Object.fromEntries(keys.map((k) => [k, (fields as Readonly<Record<string, unknown>>)[k]]))
  } catch (e) {
    rejectBuild('record', 'fields', 'an object of schemas', `a value whose property access threw (${describeValue(e)})`)
  }
  for (const k of keys) if (typeof own[k] !== 'function') rejectBuild('record', `fields.${k}`, 'a schema (a function)', own[k])
  const schemas = own as Readonly<Record<string, Schema<unknown>>>
  const shape = keys.length === 0 ? '{} (no entries)' : `{ ${keys.join(', ')} }`
  return schema('record', (value, argument, c) => {
    if (value === undefined) value = {}
    const given = value as Readonly<Record<string, unknown>>
    let entries: Readonly<Record<string, unknown>>
    // a record that is already normal comes back as itself (so an unchanged state stays the same object)
    let same: boolean
    try {
      if (typeof value !== 'object' || value === null || Array.isArray(value) || !isPlain(value)) {
        return layerFailure(c.layer, argument, `${shape} (a plain object)`, describeValue(value))
      }
      const present = Object.keys(given)
      const stray = present.find((k) => !Object.hasOwn(schemas, k))
      if (stray !== undefined) return layerFailure(c.layer, argument, shape, `the key ${JSON.stringify(stray)}`)
      same = present.length === keys.length && present.every((k) => 'value' in (Object.getOwnPropertyDescriptor(given, k) ?? {}))
      entries = Object.fromEntries(keys.map((k) => [k, given[k]]))
    } catch (e) {
      return layerFailure(c.layer, argument, shape, `a value whose property access threw (${describeValue(e)})`)
    }
    const out: Record<string, unknown> = {}
    for (const k of keys) {
      const r = schemas[k](entries[k], `${argument}.${k}`, c)
      if (E.isLeft(r)) return r
      out[k] = r.right
      same &&= r.right === entries[k]
    }
    return E.right((same ? given : out) as R)
  })
}
