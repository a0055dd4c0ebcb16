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
import { chain } from '../either.js'
import type { NdArray } from 'ndarray'
import { ConfigError, describeValue, layerFailure, isLayerError, type LayerError, layerError, rejectConfig } from '../errors.js'
import { textOf } from '../text.js'
import type { Data, DType, Shape, Tensor } from '../tensor/tensor.js'
import type { Init } from './layer.js'
import { bestBackend } from '../backend/wasm/index.js'
import type { Device } from '../kernel/device.js'
import { kernelNames } from '../kernel/spec.js'
import { AllocationError, type Checked, MAX_ELEMENTS, readShape, readTensor } from '../tensor/view.js'

/** `rank 2 [3, 4]`: how shapes appear in errors (anything else is described). */
export const showShape = (shape: Shape): string => {
  const s = readShape(shape)
  return s.ok ? `rank ${s.value.length} [${s.value.join(', ')}]` : describeValue(shape)
}

// ---------------------------------------------------------------------------------------------
// shapes
// ---------------------------------------------------------------------------------------------

/**
 * Runs a shape check on `shape` read as {@link expectShape} reads it: a check helper given
 * something that is not a shape returns that as the `LayerError`, as every check does.
 */
const onShape = (
  layer: string,
  argument: string,
  shape: unknown,
  check: (s: Shape) => E.Either<LayerError, Shape>,
): E.Either<LayerError, Shape> => chain(check)(expectShape(layer, argument, shape))

/** `rank 4 [N, C, H, W]`-style wording of a rank requirement. */
const rankWords = (prefix: string, rank: unknown, axes: unknown): string =>
  `rank ${prefix}${describeValue(rank)}${typeof axes === 'string' && axes !== '' ? ` ${axes}` : ''}`

/** Checks that `shape` has exactly `rank` axes; `axes` names them in the message. */
export const expectRank = (
  layer: string,
  argument: string,
  shape: Shape,
  rank: number,
  axes?: string,
): E.Either<LayerError, Shape> =>
  onShape(layer, argument, shape, (s) =>
    typeof rank === 'number' && s.length === rank ? E.right(s) : layerFailure(layer, argument, rankWords('', rank, axes), showShape(s)),
  )

/** Checks that `shape` has at least `rank` axes. */
export const expectMinRank = (
  layer: string,
  argument: string,
  shape: Shape,
  rank: number,
  axes?: string,
): E.Either<LayerError, Shape> =>
  onShape(layer, argument, shape, (s) =>
    typeof rank === 'number' && s.length >= rank ? E.right(s) : layerFailure(layer, argument, rankWords('>= ', rank, axes), showShape(s)),
  )

/** Checks the size of one axis (negative `axis` counts from the end; an axis outside the rank fails). */
export const expectAxisSize = (
  layer: string,
  argument: string,
  shape: Shape,
  axis: number,
  size: number,
  what = 'size',
): E.Either<LayerError, Shape> =>
  onShape(layer, argument, shape, (s) => {
    const at = typeof axis === 'number' && axis < 0 ? s.length + axis : axis
    const words = `${typeof what === 'string' ? what : 'size'} ${describeValue(size)} on axis ${describeValue(at)}`
    if (typeof at !== 'number' || !Number.isInteger(at) || at < 0 || at >= s.length) return layerFailure(layer, argument, words, showShape(s))
    return s[at] === size ? E.right(s) : layerFailure(layer, argument, words, `${s[at]} (${showShape(s)})`)
  })

/** Checks that two shapes are equal (`expected` not being a shape is an error too). */
export const expectSameShape = (
  layer: string,
  argument: string,
  shape: Shape,
  expected: Shape,
): E.Either<LayerError, Shape> => {
  const want = readShape(expected)
  if (!want.ok) return layerFailure(layer, `${textOf(argument)} (the expected shape)`, want.expected, want.got)
  return onShape(layer, argument, shape, (s) =>
    s.length === want.value.length && s.every((d, i) => d === want.value[i])
      ? E.right(s)
      : layerFailure(layer, argument, `shape [${want.value.join(', ')}]`, `[${s.join(', ')}]`),
  )
}

export { MAX_ELEMENTS, MAX_RANK } from '../tensor/view.js'

/** A checked value of `layer`'s `argument` as an Either. */
const asEither = <T>(layer: string, argument: string, c: Checked<T>): E.Either<LayerError, T> =>
  c.ok ? E.right(c.value) : layerFailure(layer, `${textOf(argument)}${c.at}`, c.expected, c.got)

/**
 * Checks a shape as a caller may pass it (to `init`, `outputShape`): an array of at most
 * `MAX_RANK` non-negative safe integers whose product is a safe integer. Gives a copy.
 */
export const expectShape = (layer: string, argument: string, shape: unknown): E.Either<LayerError, Shape> =>
  asEither(layer, argument, readShape(shape))

// ---------------------------------------------------------------------------------------------
// tensors
// ---------------------------------------------------------------------------------------------

/**
 * Checks that `x` is a tensor whose every element lies in its data: an ndarray over float32 or
 * float64 data (integer arrays are rejected), or the plain `{data, shape, stride, offset}`
 * record that `structuredClone`/`postMessage` make of one, which is revived into an ndarray
 * over the same data. A genuine ndarray comes back as itself; anything else that passes (a
 * record, an object with accessors) is rebuilt from the fields read, which are read once.
 */
export const expectTensor = (layer: string, argument: string, x: unknown): E.Either<LayerError, Tensor> =>
  asEither(layer, argument, readTensor(x)) as E.Either<LayerError, Tensor>

/**
 * Why `v` is not a device (an object with a name, the buffer operations, `run` and every
 * kernel as functions), or undefined when it is one. Never throws.
 */
export const deviceProblem = (v: unknown): string | undefined => {
  try {
    if (typeof v !== 'object' || v === null) return describeValue(v)
    if (seenDevices.has(v)) return undefined
    const d = v as Readonly<Record<string, unknown>>
    if (typeof d.name !== 'string') return `${describeValue(v)} (no name)`
    const missing = [...bufferOps, ...kernelNames].find((m) => typeof d[m] !== 'function')
    if (missing !== undefined) return `${describeValue(v)} (without ${missing})`
    seenDevices.add(v)
    return undefined
  } catch (e) {
    return `a value whose property access threw (${describeValue(e)})`
  }
}

/**
 * Devices {@link deviceProblem} has passed: a context's device is checked on every layer call,
 * and looking up its fifty-odd methods each time was a good part of a small call's cost.
 */
const seenDevices = new WeakSet<object>()

const bufferOps = ['run', 'dtypeOf', 'lengthOf', 'upload', 'read', 'free']

/** The device of an op's `backend` argument (`undefined`: the default), or why it is not a device. */
export const expectBackend = (
  layer: string,
  argument: string,
  backend: unknown,
): E.Either<LayerError, Device<unknown>> => {
  if (backend === undefined) return E.right(bestBackend() as Device<unknown>)
  const problem = deviceProblem(backend)
  return problem === undefined
    ? E.right(backend as Device<unknown>)
    : layerFailure(layer, argument, 'a device (cpu, wasmBackend(), a GPU device)', problem)
}

// ---------------------------------------------------------------------------------------------
// results of a caller's code (a hand-written layer may return anything)
// ---------------------------------------------------------------------------------------------

/**
 * Checks what a caller's function returned where an `Either` is due (a hand-written layer's
 * `outputShape`, `init`, `apply`): a left must hold a `LayerError` (passed on as it is), a right
 * is checked by `right`. `argument` names the call, e.g. `layers[1].outputShape()`.
 */
export const expectResult = <T>(
  layer: string,
  argument: string,
  r: unknown,
  right: (value: unknown) => E.Either<LayerError, T>,
): E.Either<LayerError, T> => {
  let tag: unknown
  let value: unknown
  try {
    const o = r as Readonly<Record<string, unknown>>
    tag = typeof o === 'object' && o !== null ? o._tag : undefined
    value = tag === 'Left' ? o.left : tag === 'Right' ? o.right : undefined
  } catch (e) {
    return layerFailure(layer, argument, 'an Either', `a value whose property access threw (${describeValue(e)})`)
  }
  if (tag === 'Left') return isLayerError(value) ? E.left(value) : layerFailure(layer, argument, 'a LayerError in a left', describeValue(value))
  if (tag === 'Right') return right(value)
  return layerFailure(layer, argument, 'an Either (E.left or E.right)', describeValue(r))
}

/** The fields of a record a caller's function returned, each read once (a getter that throws is an error). */
export const readFields = <K extends string>(
  layer: string,
  argument: string,
  v: unknown,
  keys: readonly K[],
): E.Either<LayerError, { readonly [k in K]: unknown }> => {
  const expected = `{ ${keys.join(', ')} }`
  if (typeof v !== 'object' || v === null) return layerFailure(layer, argument, expected, describeValue(v))
  try {
    const o = v as Readonly<Record<string, unknown>>
    return E.right(Object.fromEntries(keys.map((k) => [k, o[k]])) as { readonly [k in K]: unknown })
  } catch (e) {
    return layerFailure(layer, argument, expected, `a value whose property access threw (${describeValue(e)})`)
  }
}

/**
 * An options argument of a function that returns an `Either` (the run-time twin of
 * {@link configObject}): `undefined` is no options; anything but an object (a plain one or a
 * class instance; not an array, a Map, a boxed value), an option the function does not know (a
 * misspelt one would be silently ignored) and an option whose getter throws are `LayerError`s
 * naming `argument`. The options are read once, into a frozen snapshot of `keys`.
 */
export const expectOptions = <K extends string>(
  layer: string,
  argument: string,
  options: unknown,
  keys: readonly K[],
): E.Either<LayerError, { readonly [k in K]?: unknown }> => {
  if (options === undefined) return E.right(Object.freeze({}))
  const expected = `an options object { ${keys.join(', ')} } or undefined`
  try {
    if (typeof options !== 'object' || options === null || Object.prototype.toString.call(options) !== '[object Object]') {
      return layerFailure(layer, argument, expected, describeValue(options))
    }
    const o = options as Readonly<Record<string, unknown>>
    const stray = Object.keys(o).find((k) => !(keys as readonly string[]).includes(k))
    if (stray !== undefined) {
      const k = shortKey(stray)
      return layerFailure(layer, `${argument}.${k}`, `one of the options ${keys.join(', ')}`, `the unknown option ${JSON.stringify(k)}`)
    }
    return E.right(Object.freeze(Object.fromEntries(keys.map((k) => [k, o[k]]))) as { readonly [k in K]?: unknown })
  } catch (e) {
    return layerFailure(layer, argument, expected, `a value whose property access threw (${describeValue(e)})`)
  }
}

/** What a layer's `init` returned, checked: params, state and a shape. */
export const initResult = <P, S>(name: string, argument: string, r: unknown): E.Either<LayerError, Init<P, S>> =>
  expectResult(name, argument, r, (v) =>
    chain((f: { readonly params: unknown; readonly state: unknown; readonly outputShape: unknown }) =>
      E.map((outputShape: Shape) => ({ params: f.params as P, state: f.state as S, outputShape }))(
        expectShape(name, `${argument}.outputShape`, f.outputShape),
      ),
    )(readFields(name, argument, v, ['params', 'state', 'outputShape'])),
  )

/** How deep a params tree may nest (a cycle or a runaway structure is an error, not a stack overflow). */
const MAX_TREE_DEPTH = 64

/**
 * A params tree as a JavaScript caller may pass it (nested plain records and arrays whose leaves
 * are tensors, numbers, strings, booleans, null or undefined), checked and read once: every
 * tensor through {@link expectTensor} (a structured clone is revived), a record shaped like a
 * tensor (`data` and `shape`, or the `{ data, offset }` of a 0-d tensor's clone) taken as one,
 * never walked; cycles, getters that throw and other
 * objects are errors naming `argument` and the path.
 */
export const expectTree = (layer: string, argument: string, tree: unknown): E.Either<LayerError, unknown> => {
  const onPath = new Set<unknown>()
  const walk = (v: unknown, at: string, depth: number): E.Either<LayerError, unknown> => {
    if (v === null || v === undefined || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') {
      return E.right(v)
    }
    if (typeof v !== 'object') return layerFailure(layer, at, 'a tensor, a number, or a record or array of them', describeValue(v))
    if (onPath.has(v)) return layerFailure(layer, at, 'a tree (no cycles)', 'a reference back to an enclosing record')
    if (depth > MAX_TREE_DEPTH) return layerFailure(layer, at, `a tree at most ${MAX_TREE_DEPTH} levels deep`, 'a deeper one')
    try {
      const isArray = Array.isArray(v)
      const proto = isArray ? Array.prototype : (Object.getPrototypeOf(v) as unknown)
      const plain = isArray || proto === Object.prototype || proto === null
      // a record with a tensor's fields is one (a 0-d tensor's structured clone is { data, offset })
      if (!plain || ('data' in v && ('shape' in v || 'offset' in v))) return expectTensor(layer, at, v)
      onPath.add(v)
      const out: Record<string, unknown> | unknown[] = isArray ? [] : {}
      for (const [k, child] of Object.entries(v)) {
        const r = walk(child, isArray ? `${at}[${k}]` : `${at}.${k}`, depth + 1)
        if (E.isLeft(r)) return r
        ;(out as Record<string, unknown>)[k] = r.right
      }
      onPath.delete(v)
      return E.right(out)
    } catch (e) {
      return layerFailure(layer, at, 'a readable tree', `a value whose property access threw (${describeValue(e)})`)
    }
  }
  return walk(tree, argument, 0)
}

/** Checks a tensor's shape exactly. */
export const expectTensorOfShape = (
  layer: string,
  argument: string,
  x: unknown,
  shape: Shape,
): E.Either<LayerError, Tensor> =>
  chain((t: Tensor) => E.map(() => t)(expectSameShape(layer, argument, t.shape, shape)))(expectTensor(layer, argument, x))

/** Checks a tensor's dtype against the one a call runs in. */
export const expectDtype = (
  layer: string,
  argument: string,
  t: NdArray<Data>,
  dtype: DType,
  why = "the input's",
): E.Either<LayerError, NdArray<Data>> => {
  const got: DType = t.data instanceof Float64Array ? 'float64' : 'float32'
  return got === dtype ? E.right(t) : layerFailure(layer, argument, `${dtype} (${why} dtype)`, got)
}

/**
 * Runs `body`, turning a failed allocation (a size over 2^32 elements, V8's `RangeError: Invalid
 * typed array length` or `Array buffer allocation failed`) into a `LayerError`: sizes that are
 * valid but too large for this machine are the caller's input, not a crash.
 */
export const guardAllocation = <A>(
  layer: string,
  argument: string,
  body: () => E.Either<LayerError, A>,
): E.Either<LayerError, A> => {
  try {
    return body()
  } catch (e) {
    if (e instanceof AllocationError) return layerFailure(layer, argument, 'sizes whose tensors fit in memory', e.message)
    if (e instanceof RangeError && /array (buffer )?(allocation|length)|Array buffer allocation/i.test(e.message)) {
      return layerFailure(layer, argument, 'sizes whose tensors fit in memory', `an allocation that failed (${e.message})`)
    }
    throw e
  }
}

// ---------------------------------------------------------------------------------------------
// build-time configuration checks (throw ConfigError)
// ---------------------------------------------------------------------------------------------

/** An option's name as messages show it: cut short (a caller's key may be any length). */
const shortKey = (k: string): string => (k.length > 40 ? `${k.slice(0, 37)}...` : k)

/** Throws a `ConfigError` whose `got` is already text (not described again). */
export const configFail = (layer: string, argument: string, expected: string, got: string): never => {
  throw new ConfigError(layerError(layer, argument, expected, got))
}

/**
 * The configuration object of a constructor that knows the options `keys`: read once into a
 * frozen snapshot of those keys, so that the constructor never reads the caller's object again.
 * `undefined`, `null`, a non-object, an option the layer does not know (a misspelt one, which
 * would otherwise be silently ignored) and an option whose getter throws are `ConfigError`s
 * naming the layer, never a TypeError.
 */
export const configObject = <C>(
  layer: string,
  config: unknown,
  required: boolean,
  keys: readonly (keyof C & string)[],
  argument = 'config',
): C => {
  if (config === undefined && !required) return Object.freeze({}) as C
  const expected = keys.length === 0 ? 'undefined or {} (it takes no options)' : `a configuration object { ${keys.join(', ')} }`
  const c = config as Readonly<Record<string, unknown>>
  let own: readonly string[] = []
  try {
    // a plain object or a class instance; not an array, a Map, a Date, a boxed value, a typed array
    if (typeof config !== 'object' || config === null || Object.prototype.toString.call(config) !== '[object Object]') {
      return rejectConfig(layer, argument, expected, config)
    }
    own = Object.keys(c)
  } catch (e) {
    if (e instanceof ConfigError) throw e
    configFail(layer, argument, expected, `an object whose keys cannot be listed (${describeValue(e)})`)
  }
  const stray = own.find((k) => !(keys as readonly string[]).includes(k))
  if (stray !== undefined) {
    const known = keys.length === 0 ? 'no options (it takes none)' : `one of the options ${keys.join(', ')}`
    configFail(layer, `${argument}.${shortKey(stray)}`, known, `the unknown option ${JSON.stringify(shortKey(stray))}`)
  }
  const out: Record<string, unknown> = {}
  for (const k of keys) {
    try {
      out[k] = c[k]
    } catch (e) {
      configFail(layer, `${argument}.${k}`, 'a readable option', `a getter that threw (${describeValue(e)})`)
    }
  }
  return Object.freeze(out) as C
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

/** The largest finite float32: a config value stored in float32 tensors must not pass it. */
export const FLOAT32_MAX = 3.4028234663852886e38

/** A boolean. */
export const configBoolean = (layer: string, argument: string, value: unknown): boolean =>
  typeof value === 'boolean' ? value : rejectConfig(layer, argument, 'a boolean', value)
