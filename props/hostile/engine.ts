/**
 * The hostile-input suite's engine: a row of the table names a public function, how to draw its
 * arguments (valid ones, then each argument kept, made `bad`, `neutral` or `wild`, see junk.ts)
 * and what kind of answers it gives. {@link judge} checks one call against the library's
 * promise:
 *
 * - `either` functions return an `Either`, never throw; a left is a well-formed `LayerError`
 *   naming the function (or layer);
 * - `throws` functions return, or throw a `RangeError` whose message starts with their name;
 * - `config` functions (constructors) return, or throw a `ConfigError` naming the layer;
 * - `total` functions never throw.
 *
 * For every kind: a bad argument must be rejected (a result would be silent and wrong); valid
 * arguments must be accepted; neutral forms must give the same bits as the originals; no
 * argument may change (deep snapshots, typed arrays included); no call may take over 2 s; and a
 * message must not be a bare V8 one, nor say that a property access threw where no value that
 * throws was passed (that would be an internal error dressed as the caller's).
 */
import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import { ConfigError, describeValue, isLayerError } from '../../src/index.js'
import type { NdArray } from 'ndarray'
import type { Data } from '../../src/index.js'
import { materialize, throwers } from './junk.js'
import { difference, snapshot } from './snapshot.js'

/** How a function answers. */
export type Kind = 'either' | 'throws' | 'config' | 'total'

/** What happened to one argument. */
export type Tag = 'keep' | 'bad' | 'neutral' | 'wild'

/** One drawn call. */
export interface Case {
  /** The arguments. */
  readonly args: readonly unknown[]
  /** The tag of each argument. */
  readonly tags: readonly Tag[]
  /** The valid arguments the case was drawn from (for neutral cases: the call to compare with). */
  readonly base: readonly unknown[]
}

/** A row of the table: one public function (or method) and how to exercise it. */
export interface Row {
  /** Shown in failures: `tensor`, `IFNeuron.apply`. */
  readonly name: string
  /** The exports of `src/index.ts` or `braincog-fn/arbitraries` this row exercises. */
  readonly covers: readonly string[]
  readonly kind: Kind
  /**
   * What a `RangeError` message must start with (`throws`), or the names a `LayerError` /
   * `ConfigError` may give as its layer (a pipeline's errors may name an inner layer).
   */
  readonly names: (c: Case) => readonly string[]
  /** The drawn calls. */
  readonly cases: fc.Arbitrary<Case>
  /** Makes the call. */
  readonly call: (args: readonly unknown[]) => unknown
  /** Checks a normal answer (a right's value, or what was returned): what is wrong, or undefined. */
  readonly check?: (value: unknown, c: Case) => string | undefined
  /** Valid arguments may be rejected too (default: they must be accepted). */
  readonly validMayFail?: boolean
  /** Neutral forms need not give the same bits (default: they must). */
  readonly neutralMayDiffer?: boolean
  /** The layer, argument and expected text of errors are the caller's (may be empty). */
  readonly callerText?: boolean
  /** Runs per suite run (default 60). */
  readonly runs?: number
  /**
   * A known failure in code this suite's authors may not change: the row is expected to fail
   * (and reported) until its owner fixes it; then the expectation fails and this goes.
   */
  readonly outside?: string
}

/** One argument's alternatives, given its valid value. */
export interface Alternatives {
  readonly bad?: fc.Arbitrary<unknown>
  readonly neutral?: (v: unknown) => fc.Arbitrary<unknown>
  readonly wild?: (v: unknown) => fc.Arbitrary<unknown>
}

/**
 * The cases of a function: valid argument tuples, each argument kept (about half the time) or
 * replaced by one of its alternatives.
 */
export const casesOf = (valid: fc.Arbitrary<readonly unknown[]>, alternatives: readonly Alternatives[]): fc.Arbitrary<Case> =>
  valid.chain((base) =>
    fc
      .tuple(
        ...base.map((v, i) => {
          const alt = alternatives[i] ?? {}
          const options: fc.WeightedArbitrary<readonly [unknown, Tag]>[] = [
            { weight: 5, arbitrary: fc.constant([v, 'keep'] as const) },
          ]
          if (alt.bad) options.push({ weight: 3, arbitrary: alt.bad.map((x) => [x, 'bad'] as const) })
          if (alt.neutral) options.push({ weight: 2, arbitrary: alt.neutral(v).map((x) => [x, 'neutral'] as const) })
          if (alt.wild) options.push({ weight: 2, arbitrary: alt.wild(v).map((x) => [x, 'wild'] as const) })
          return fc.oneof(...options)
        }),
      )
      .map((cells) => {
        const c = { args: cells.map(([x]) => x), tags: cells.map(([, t]) => t), base }
        // fast-check prints counterexamples with this: short, and never running a getter
        return Object.assign(c, { [fc.toStringMethod]: () => `[${c.args.map((a, i) => `${c.tags[i]} ${describeValue(a)}`).join('; ')}]` })
      }),
  )

/**
 * A tensor, live or a record: float data and a shape, or the `{ data, offset }` that
 * `structuredClone` makes of a 0-d ndarray (which keeps its shape and stride on its prototype).
 */
const isTensorValue = (v: unknown): v is NdArray<Data> =>
  typeof v === 'object' && v !== null &&
  ((v as { data?: unknown }).data instanceof Float32Array || (v as { data?: unknown }).data instanceof Float64Array) &&
  (Array.isArray((v as { shape?: unknown }).shape) || ((v as { shape?: unknown }).shape === undefined && typeof (v as { offset?: unknown }).offset === 'number'))

/** A tensor value's shape (a 0-d clone has none: rank 0). */
const shapeOf = (t: NdArray<Data>): readonly number[] => (t.shape as readonly number[] | undefined) ?? []

/**
 * Bit-for-bit equality of two answers: tensors by dtype, shape and elements (`Object.is`), other
 * leaves by `Object.is`, records and arrays entry by entry; cycles are followed once.
 */
const sameBits = (a: unknown, b: unknown, seen = new Map<object, unknown>()): boolean => {
  if (Object.is(a, b)) return true
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
  if (seen.get(a) === b) return true
  seen.set(a, b)
  if (isTensorValue(a) || isTensorValue(b)) {
    if (!isTensorValue(a) || !isTensorValue(b) || a.data.constructor !== b.data.constructor) return false
    const [sa, sb] = [shapeOf(a), shapeOf(b)]
    if (sa.length !== sb.length || sa.some((d, i) => d !== sb[i])) return false
    const n = sa.reduce((x, y) => x * y, 1)
    if (n === 0) return true
    return elementsEqual(a, b)
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const ka = Object.keys(a).sort()
  const kb = Object.keys(b).sort()
  return (
    ka.length === kb.length &&
    ka.every((k, i) => k === kb[i] && sameBits((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], seen))
  )
}

/** Element `index` of a view (live or a record), by its fields. */
const at = (t: NdArray<Data>, index: readonly number[]): number =>
  t.data[index.reduce((o, i, d) => o + i * (t.stride?.[d] ?? 0), t.offset ?? 0)]

const elementsEqual = (a: NdArray<Data>, b: NdArray<Data>): boolean => {
  const shape = shapeOf(a)
  const index = new Array<number>(shape.length).fill(0)
  const n = shape.reduce((x, y) => x * y, 1)
  for (let k = 0; k < n; k++) {
    if (!Object.is(at(a, index), at(b, index))) return false
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d] < shape[d]) break
      index[d] = 0
    }
  }
  return true
}

/** Calls made so far (what the suite reports). */
export const counters = { calls: 0, slowest: 0, slowestRow: '' }

/** The most time one call may take. */
export const TIME_LIMIT_MS = 2000

type Outcome = { readonly returned: unknown } | { readonly threw: unknown }

const attempt = (row: Row, args: readonly unknown[]): { readonly outcome: Outcome; readonly ms: number } => {
  const t0 = performance.now()
  let outcome: Outcome
  try {
    outcome = { returned: row.call(args) }
  } catch (e) {
    outcome = { threw: e }
  }
  const ms = performance.now() - t0
  counters.calls++
  if (ms > counters.slowest) {
    counters.slowest = ms
    counters.slowestRow = row.name
  }
  return { outcome, ms }
}

/** True when a value that throws on access was passed (anywhere within a few levels). */
const passedThrower = (args: readonly unknown[]): boolean => {
  const seen = new Set<object>()
  const walk = (v: unknown, depth: number): boolean => {
    if ((typeof v !== 'object' && typeof v !== 'function') || v === null || seen.has(v) || depth > 4) return false
    if (throwers.has(v)) return true
    seen.add(v)
    if (ArrayBuffer.isView(v)) return false
    return Reflect.ownKeys(v).some((k) => {
      const d = Object.getOwnPropertyDescriptor(v, k)
      return d !== undefined && 'value' in d && walk(d.value, depth + 1)
    })
  }
  return args.some((a) => walk(a, 0))
}

/** Words of V8's own messages: an error that carries one was not the library's. */
const v8Words = /Cannot read propert|is not a function|is not iterable|undefined is not|Cannot convert|Invalid typed array length|Maximum call stack|is not defined|Cannot destructure/

/** What is unclear about a message, or undefined. */
const unclear = (message: string, c: Case): string | undefined => {
  if (message.length > 800) return `a message of ${message.length} characters`
  if (/property access threw/.test(message) && !passedThrower(c.args)) return `an internal error reported as the caller's: ${message}`
  // a V8 message inside a "threw (...)" report is the caller's getter speaking; elsewhere it is a bare one
  const own = message.replace(/property access threw \(.*\)/, '')
  if (v8Words.test(own)) return `a bare V8 message: ${message}`
  return undefined
}

/** What is wrong with a LayerError (or ConfigError detail), or undefined. */
const badLayerError = (e: unknown, names: readonly string[], c: Case, callerText = false): string | undefined => {
  if (!isLayerError(e)) return `not a LayerError: ${String(e)}`
  if (e.message !== `${e.layer}: ${e.argument}: expected ${e.expected}, got ${e.got}`) return `a malformed LayerError: ${e.message}`
  if (!names.includes(e.layer)) return `a LayerError of ${JSON.stringify(e.layer)}, not of ${names.join(' / ')}: ${e.message}`
  if (!callerText && (e.argument === '' || e.expected === '' || e.got === '')) return `an empty part: ${e.message}`
  return unclear(e.message, c)
}

/**
 * What is wrong with a `LayerError` a call outside the table gave (a test of its own, such as the
 * checkpoint files'), judged as a row's are: well formed, naming one of `names`, clear.
 */
export const layerErrorProblem = (e: unknown, names: readonly string[], args: readonly unknown[]): string | undefined =>
  badLayerError(e, names, { args, tags: args.map(() => 'bad'), base: args })

const show = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e))

const isEither = (v: unknown): v is E.Either<unknown, unknown> =>
  typeof v === 'object' && v !== null && ((v as { _tag?: unknown })._tag === 'Left' || (v as { _tag?: unknown })._tag === 'Right')

/** A normal answer's value, or why the outcome breaks the row's contract. */
const classify = (row: Row, c: Case, outcome: Outcome): { readonly ok: unknown } | { readonly rejected: true } | { readonly failure: string } => {
  const names = row.names(c)
  if ('threw' in outcome) {
    const e = outcome.threw
    if (row.kind === 'throws') {
      if (!(e instanceof RangeError)) return { failure: `threw ${show(e)}` }
      if (!names.some((n) => e.message.startsWith(`${n}: `))) return { failure: `a RangeError not naming ${names.join(' / ')}: ${e.message}` }
      const why = unclear(e.message, c)
      return why === undefined ? { rejected: true } : { failure: why }
    }
    if (row.kind === 'config') {
      if (!(e instanceof ConfigError)) return { failure: `threw ${show(e)}` }
      const why = badLayerError(e.detail, names, c, row.callerText) ?? (e.message === e.detail.message ? undefined : 'message and detail differ')
      return why === undefined ? { rejected: true } : { failure: why }
    }
    return { failure: `threw ${show(e)}` }
  }
  const value = outcome.returned
  if (row.kind !== 'either') return { ok: value }
  if (!isEither(value)) return { failure: `returned a non-Either: ${String(value)}` }
  if (E.isRight(value)) return { ok: value.right }
  const why = badLayerError(value.left, names, c, row.callerText)
  return why === undefined ? { rejected: true } : { failure: why }
}

/** Runs one case: undefined when it keeps the contract, else what broke. */
export const judge = (row: Row, drawn: Case): string | undefined => {
  const c = { ...drawn, args: materialize(drawn.args) }
  const before = c.args.map(snapshot)
  const { outcome, ms } = attempt(row, c.args)
  const after = c.args.map(snapshot)
  for (let i = 0; i < before.length; i++) {
    const d = difference(before[i], after[i], `argument ${i}`)
    if (d !== undefined) return `mutation: ${d}`
  }
  if (ms > TIME_LIMIT_MS) return `took ${Math.round(ms)} ms`
  const r = classify(row, c, outcome)
  if ('failure' in r) return r.failure
  const bad = c.tags.includes('bad')
  const wild = c.tags.includes('wild')
  if ('rejected' in r) {
    return !bad && !wild && !row.validMayFail ? `rejected valid arguments: ${messageOf(outcome)}` : undefined
  }
  if (bad) return `accepted a bad argument (${c.tags.map((t, i) => `${i}:${t}`).join(' ')}): a silent result`
  const wrong = row.check?.(r.ok, c)
  if (wrong !== undefined) return `a wrong result: ${wrong}`
  // the same arguments give the same bits (a view past its data once gave stale WebAssembly memory)
  if (c.tags.every((t) => t === 'keep') && !row.neutralMayDiffer && row.kind !== 'config') {
    const again = attempt(row, c.args)
    const b = classify(row, c, again.outcome)
    if (!('ok' in b) || !sameBits(r.ok, b.ok)) return 'the same arguments gave other bits the second time'
  }
  if (c.tags.includes('neutral') && !wild && !row.neutralMayDiffer) {
    const base = attempt(row, c.base)
    const b = classify(row, { ...c, args: c.base, tags: c.base.map(() => 'keep') }, base.outcome)
    if ('ok' in b && !sameBits(r.ok, b.ok)) return 'a neutral form (a clone, a strided view) gave other bits than the original'
    if (!('ok' in b)) return 'the original arguments failed where their neutral forms passed'
  }
  return undefined
}

const messageOf = (o: Outcome): string => {
  if ('threw' in o) return show(o.threw)
  const v = o.returned
  return isEither(v) && E.isLeft(v) && isLayerError(v.left) ? v.left.message : String(v)
}

/** A property over a row's cases. */
export const propertyOf = (row: Row): fc.IPropertyWithHooks<[Case]> =>
  fc.property(row.cases, (c) => {
    const failure = judge(row, c)
    if (failure !== undefined) throw new Error(`${row.name}: ${failure}`)
  })
