/**
 * Errors as values. Every check that the type system cannot make (sizes, finiteness, matching
 * shapes) reports a {@link LayerError} naming the layer, the argument, what was expected and what
 * came. Run-time data errors travel as `Either<LayerError, _>`; configuration errors are thrown
 * once, as a {@link ConfigError}, when a layer is built, never on the thousandth step.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { typedArrayLength, typedArrayName } from './typedArray.js'

/** What went wrong, as plain data. */
export interface LayerError {
  /** Discriminant: always `LayerError`. */
  readonly _tag: 'LayerError'
  /** The layer or op that rejected its input, e.g. `CustomLinear`. */
  readonly layer: string
  /** The argument at fault, e.g. `input`, `params.weight`, `config.p`. */
  readonly argument: string
  /** What the layer needs, in words, e.g. `rank 4 [N, C, H, W]`. */
  readonly expected: string
  /** What it got, e.g. `rank 2 [3, 4]`. */
  readonly got: string
  /** One line combining the above. */
  readonly message: string
}

/**
 * Builds a {@link LayerError}. Each part is used as given when it is a string, else rendered
 * with {@link describeValue}, so building an error never throws, whatever a caller passes.
 *
 * @example
 * import { layerError } from 'braincog-fn'
 * const e = layerError('VotingLayer', 'config.voterNum', 'an integer >= 1', '0')
 * // e.message === 'VotingLayer: config.voterNum: expected an integer >= 1, got 0'
 */
export const layerError = (
  layer: string,
  argument: string,
  expected: string,
  got: string,
): LayerError => {
  const [l, a, x, g] = [layer, argument, expected, got].map((v: unknown) => (typeof v === 'string' ? v : describeValue(v)))
  return {
    _tag: 'LayerError',
    layer: l,
    argument: a,
    expected: x,
    got: g,
    message: `${l}: ${a}: expected ${x}, got ${g}`,
  }
}

/** A {@link LayerError} as an `Either` left. */
export const layerFailure = <A = never>(
  layer: string,
  argument: string,
  expected: string,
  got: string,
): E.Either<LayerError, A> => E.left(layerError(layer, argument, expected, got))

/** True for a value with a {@link LayerError}'s fields (what `layerFailure` and `layerError` build). */
export const isLayerError = (v: unknown): v is LayerError => {
  try {
    if (typeof v !== 'object' || v === null) return false
    const e = v as Readonly<Record<string, unknown>>
    return e._tag === 'LayerError' && ['layer', 'argument', 'expected', 'got', 'message'].every((k) => typeof e[k] === 'string')
  } catch {
    return false
  }
}

/**
 * Thrown when a layer is built with a configuration it can never run with. Its `detail` is the
 * {@link LayerError} it was made from (a `detail` that is not one is described in a LayerError
 * of `ConfigError` itself, so constructing one never throws).
 */
export class ConfigError extends Error {
  /** The rejected configuration as a {@link LayerError} value. */
  readonly detail: LayerError
  constructor(detail: LayerError) {
    const d = isLayerError(detail)
      ? detail
      : layerError('ConfigError', 'detail', 'a LayerError (layerError(...))', describeValue(detail))
    super(d.message)
    this.name = 'ConfigError'
    this.detail = d
  }
}

/** Throws a {@link ConfigError}; used by layer constructors only. */
export const rejectConfig = (
  layer: string,
  argument: string,
  expected: string,
  got: unknown,
): never => {
  throw new ConfigError(layerError(layer, argument, expected, describeValue(got)))
}

// ---------------------------------------------------------------------------------------------
// describe
// ---------------------------------------------------------------------------------------------

/** The longest description {@link describeValue} gives, in characters. */
export const DESCRIBE_MAX = 160

/** Elements of an array (or typed array) and entries of an object shown before `…`. */
const SHOWN = 6

/** Nesting shown before `…`. */
const DEPTH = 2

const numberText = (n: number): string => (Object.is(n, -0) ? '-0' : String(n))

const stringText = (s: string, max: number): string => JSON.stringify(s.length > max ? `${s.slice(0, max)}…` : s)

/** A class instance's constructor name (`''` for plain objects), read without running getters. */
const className = (v: object): string => {
  const proto = Object.getPrototypeOf(v) as object | null
  if (proto === null || proto === Object.prototype) return ''
  const ctor = Object.getOwnPropertyDescriptor(proto, 'constructor')?.value as unknown
  const name = typeof ctor === 'function' ? (Object.getOwnPropertyDescriptor(ctor, 'name')?.value as unknown) : undefined
  return typeof name === 'string' && name !== '' ? name : 'object'
}

/** An own property's value without running a getter. */
const ownValue = (v: object, k: string): { readonly value: unknown } | { readonly getter: true } => {
  const d = Object.getOwnPropertyDescriptor(v, k)
  return d === undefined || 'value' in d ? { value: d?.value } : { getter: true }
}

const renderTyped = (v: ArrayBufferView, tag: string, depth: number): string => {
  const n = typedArrayLength(v)
  if (depth >= DEPTH) return `${tag}(${n})`
  const a = v as unknown as ArrayLike<number | bigint>
  const shown = Array.from({ length: Math.min(n, SHOWN) }, (_, i) => {
    const x = a[i]
    return typeof x === 'bigint' ? `${x.toString()}n` : numberText(x)
  })
  return `${tag}(${n}) [${shown.join(', ')}${n > SHOWN ? ', …' : ''}]`
}

const renderArray = (v: readonly unknown[], depth: number, seen: Set<object>): string => {
  const n = v.length
  if (depth >= DEPTH) return n === 0 ? '[]' : `[…(${n})]`
  seen.add(v)
  const shown: string[] = []
  for (let i = 0; i < Math.min(n, SHOWN); i++) {
    const e = ownValue(v, String(i))
    shown.push('getter' in e ? '<getter>' : render(e.value, depth + 1, seen))
  }
  seen.delete(v)
  return `[${shown.join(', ')}${n > SHOWN ? `, …(${n - SHOWN} more)` : ''}]`
}

const renderObject = (v: object, depth: number, seen: Set<object>): string => {
  const name = className(v)
  // a live ndarray: its storage and shape say more than its fields
  const data = ownValue(v, 'data')
  const shape = ownValue(v, 'shape')
  const dataTag = 'value' in data ? typedArrayName(data.value) : undefined
  if (name.startsWith('View') && dataTag !== undefined) {
    const dims = 'value' in shape && Array.isArray(shape.value) ? renderArray(shape.value, 1, seen) : '[]'
    return `ndarray ${dataTag} ${dims}`
  }
  if (depth >= DEPTH) return name === '' ? '{…}' : `${name} {…}`
  seen.add(v)
  const shown: string[] = []
  let more = false
  for (const k in v) {
    if (!Object.hasOwn(v, k)) continue
    if (shown.length === SHOWN) {
      more = true
      break
    }
    const e = ownValue(v, k)
    const key = /^[A-Za-z_$][\w$]*$/.test(k) ? k : stringText(k, 20)
    shown.push(`${key}: ${'getter' in e ? '<getter>' : render(e.value, depth + 1, seen)}`)
  }
  seen.delete(v)
  const body = shown.length === 0 ? '{}' : `{ ${shown.join(', ')}${more ? ', …' : ''} }`
  return name === '' ? body : `${name} ${body}`
}

const render = (value: unknown, depth: number, seen: Set<object>): string => {
  switch (typeof value) {
    case 'string':
      return stringText(value, 40)
    case 'number':
      return numberText(value)
    case 'bigint':
      return `${value.toString()}n`
    case 'boolean':
    case 'undefined':
      return String(value)
    case 'symbol':
      return value.toString()
    case 'object':
      break
    case 'function': {
      const name = Object.getOwnPropertyDescriptor(value, 'name')?.value as unknown
      return typeof name === 'string' && name !== '' ? `function ${name}` : 'a function'
    }
  }
  if (value === null) return 'null'
  const v = value as object
  if (seen.has(v)) return '[Circular]'
  const tag = typedArrayName(v)
  if (tag !== undefined) return renderTyped(v as ArrayBufferView, tag, depth)
  if (v instanceof ArrayBuffer) return `ArrayBuffer(${v.byteLength} bytes)`
  if (v instanceof DataView) return `DataView(${v.byteLength} bytes)`
  if (Array.isArray(v)) return renderArray(v, depth, seen)
  if (v instanceof Error) {
    const m = ownValue(v, 'message')
    const text = 'value' in m && typeof m.value === 'string' ? stringText(m.value, 60).slice(1, -1) : '?'
    return `${className(v) || 'Error'}: ${text}`
  }
  if (v instanceof Map) return `Map(${v.size})`
  if (v instanceof Set) return `Set(${v.size})`
  if (v instanceof Date) return `Date(${numberText(v.getTime())})`
  if (v instanceof RegExp) return stringText(RegExp.prototype.toString.call(v), 40).slice(1, -1)
  return renderObject(v, depth, seen)
}

/**
 * Short human rendering of a value for error messages: at most {@link DESCRIBE_MAX} characters,
 * never throwing and never running a getter, whatever the value. Typed arrays show their type,
 * length and first elements, tensors their storage and shape; nesting, long arrays and big
 * objects are elided, cycles show as `[Circular]`, accessors as `<getter>`.
 *
 * @example
 * import { describeValue, zeros } from 'braincog-fn'
 * describeValue([1, -0, 'a', undefined]) // '[1, -0, "a", undefined]'
 * describeValue(new Int32Array(1000)) // 'Int32Array(1000) [0, 0, 0, 0, 0, 0, …]'
 * describeValue(zeros([2, 3])) // 'ndarray Float32Array [2, 3]'
 */
export const describeValue = (value: unknown): string => {
  let text: string
  try {
    text = render(value, 0, new Set())
  } catch {
    // a Proxy whose traps throw, say
    text = 'an unreadable value'
  }
  return text.length > DESCRIBE_MAX ? `${text.slice(0, DESCRIBE_MAX - 1)}…` : text
}

/**
 * Unwraps a right value or throws the left as an `Error` with the left's message (for scripts
 * and tests). Throws a `RangeError` (`orThrow: result: …`) when `result` is not an `Either`.
 *
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { orThrow } from 'braincog-fn'
 * orThrow(E.right(3)) // 3
 */
export const orThrow = <A>(result: E.Either<LayerError, A>): A => {
  let tag: unknown
  let value: unknown
  try {
    const r = result as unknown as Readonly<Record<string, unknown>>
    tag = typeof r === 'object' && r !== null ? r._tag : undefined
    value = tag === 'Left' ? r.left : tag === 'Right' ? r.right : undefined
  } catch {
    tag = undefined
  }
  if (tag === 'Right') return value as A
  if (tag === 'Left') throw new Error(isLayerError(value) ? value.message : describeValue(value))
  throw new RangeError(layerError('orThrow', 'result', 'an Either (E.left or E.right)', describeValue(result)).message)
}
