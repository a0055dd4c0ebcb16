/**
 * Pure PRNG keys, in the spirit of JAX.
 *
 * A {@link Key} is an immutable 128-bit value (four uint32 words, a xoroshiro128+ state from
 * `pure-rand`). Drawing never changes a key: the same key always gives the same numbers. To
 * get independent streams, {@link split} a key or {@link foldIn} a step index; never reuse one
 * key for two purposes. Nothing here keeps a hidden generator or calls `Math.random`.
 *
 * @module
 */
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus'
import { uniformFill } from './uniform.js'
import { describeValue } from '../errors.js'
import type { DType, Data } from '../tensor/tensor.js'
import { allocate, ArgumentError, MAX_ELEMENTS } from '../tensor/view.js'
import { readKey } from './readKey.js'

declare const keyBrand: unique symbol

/** An immutable PRNG key. Make one with {@link key}; derive others with {@link split}/{@link foldIn}. */
export type Key = readonly [number, number, number, number] & {
  /** @internal Type-level brand: a key comes from `key`, `split` or `foldIn`. */
  readonly [keyBrand]: true
}

/**
 * The most keys one split gives: 2^20 take about a second; more would be a call that seems to
 * hang (2^24 take a quarter of a minute). For more, fold an index in: `foldIn(k, i)`.
 */
const MAX_SPLIT = 2 ** 20

const SPLIT_DOMAIN = 0x5851f42d
const FOLD_DOMAIN = 0x2545f491
const WIDE_DOMAIN = 0x1b873593

/** Murmur3's 32-bit finaliser: a bijection with full avalanche. */
const mix32 = (h: number): number => {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

const hashWords = (words: readonly number[]): number => {
  let h = 0x811c9dc5
  for (const w of words) h = mix32((h ^ mix32(w >>> 0)) + 0x9e3779b9)
  return h
}

/** `index` as hashed words: int32 indices as one word (the keys they always gave), others as two. */
const indexWords = (index: number): readonly number[] =>
  index === (index | 0) ? [index | 0] : [index % 2 ** 32 >>> 0, Math.floor(index / 2 ** 32) | 0, WIDE_DOMAIN]

const derive = (parent: Key, domain: number, index: number): Key => {
  const tail = indexWords(index)
  const words = [0, 1, 2, 3].map((lane) => hashWords([parent[0], parent[1], parent[2], parent[3], domain, ...tail, lane]))
  // xoroshiro's all-zero state is a fixed point; astronomically unlikely, but never allow it.
  if (words[0] === 0 && words[1] === 0 && words[2] === 0 && words[3] === 0) words[0] = 1
  return Object.freeze(words) as unknown as Key
}

/**
 * A key from an integer seed.
 *
 * @example
 * import { key, uniform } from 'braincog-fn'
 * const k = key(42)
 * uniform(k, 3) // the same three floats in [0, 1) on every call
 */
export const key = (seed: number): Key => {
  if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) throw new ArgumentError('key', 'seed', 'a safe integer', describeValue(seed))
  const g = xoroshiro128plus(seed | 0)
  // fold in the high bits so seeds that differ only above bit 31 give different keys
  const low = Object.freeze(g.getState().map((w) => w >>> 0)) as unknown as Key
  return derive(low, FOLD_DOMAIN, Math.floor(seed / 2 ** 32))
}

/**
 * `n` independent keys derived from `k` (default 2, at most 2^20; `foldIn(k, i)` gives a key for
 * any index `i`). Throws a `RangeError` (`split: …`) for a non-key or another `n`.
 *
 * @example
 * import { key, split } from 'braincog-fn'
 * const [a, b] = split(key(0))
 */
export const split = (k: Key, n = 2): readonly Key[] => {
  const parent = checkKey('split', k)
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > MAX_SPLIT) {
    throw new ArgumentError('split', 'n', `an integer in [0, ${MAX_SPLIT}]`, describeValue(n))
  }
  return Array.from({ length: n }, (_, i) => derive(parent, SPLIT_DOMAIN, i))
}

/**
 * A key for item `data` (a step index, a layer index) derived from `k`: the same `(k, data)`
 * always gives the same key, and different `data` give independent keys.
 *
 * @example
 * import { foldIn, key } from 'braincog-fn'
 * const stepKey = foldIn(key(0), 7)
 */
export const foldIn = (k: Key, data: number): Key => {
  const parent = checkKey('foldIn', k)
  if (typeof data !== 'number' || !Number.isSafeInteger(data)) {
    throw new ArgumentError('foldIn', 'data', 'a safe integer', describeValue(data))
  }
  return derive(parent, FOLD_DOMAIN, data)
}

/** The key's four uint32 words (to store or log it); a `RangeError` (`keyData: k: …`) for a non-key. */
export const keyData = (k: Key): readonly number[] => checkKey('keyData', k).slice()

/** Rebuilds a key from {@link keyData}; a `RangeError` (`keyFromData: words: …`) unless `words` is one. */
export const keyFromData = (words: readonly number[]): Key => {
  const w = readKey(words)
  if (w === undefined) {
    throw new ArgumentError('keyFromData', 'words', 'four uint32 words, not all 0', describeValue(words))
  }
  return w
}

/**
 * True for a valid key's value: four uint32 words, not all zero (xoroshiro's fixed point, which
 * draws only zeros). `JSON.parse(JSON.stringify(k))` of a key is one. Never throws.
 */
export const isKey = (v: unknown): v is Key => readKey(v) !== undefined

/** A key argument, read once (a frozen copy); a `RangeError` naming `fn` when it is not one. */
const checkKey = (fn: string, k: unknown): Key => {
  const read = readKey(k)
  if (read === undefined) throw new ArgumentError(fn, 'k', 'a key (key(seed))', describeValue(k))
  return read
}

/**
 * `n` uniform draws in [0, 1) from `k`, multiples of 2^-24 whatever the dtype: float32 and
 * float64 runs of the same model draw the same numbers, so they agree within float32 rounding
 * (a dropout mask or a winner does not flip with the precision). Throws a `RangeError`
 * (`uniform: …`) for a non-key, an `n` that is not an integer in [0, 2^32] (or cannot be
 * allocated), or another dtype.
 */
export const uniform = (k: Key, n: number, dtype: DType = 'float32'): Data => {
  const state = checkKey('uniform', k)
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > MAX_ELEMENTS) {
    throw new ArgumentError('uniform', 'n', 'an integer in [0, 2^32]', describeValue(n))
  }
  if (dtype !== 'float32' && dtype !== 'float64') {
    throw new ArgumentError('uniform', 'dtype', "'float32' or 'float64'", describeValue(dtype))
  }
  const out = allocate('uniform', 'n', n, dtype)
  // the reference kernel; backends' `uniformFill` (layers draw through it) give the same bits
  uniformFill(out, state)
  return out
}
