/**
 * How a computed value is checked against a recorded one: same shape, then every element within
 * the fixture's tolerance, walked once in row-major order (linear in the number of elements).
 */
import type { Tensor } from '../../src/index.js'
import { flatData } from '../../src/index.js'
import type { StateMap, Tolerance } from './fixture.js'

/** A failed comparison: what differed, and the largest |actual - expected| (Infinity for shapes, NaN, infinities). */
export interface Mismatch {
  readonly what: string
  readonly deviation: number
}

/** A comparison: the number of values that matched, or the mismatch. */
export type Comparison = { readonly values: number } | Mismatch

/**
 * One value against its record: `|a - e| <= atol + rtol * |e|` for finite values; an infinity
 * matches only the same infinity, NaN only NaN (so an infinite `e` never widens the bound).
 */
export const matches = (a: number, e: number, tol: Tolerance): boolean =>
  a === e ||
  (Number.isNaN(a) && Number.isNaN(e)) ||
  (Number.isFinite(a) && Number.isFinite(e) && Math.abs(a - e) <= tol.atol + tol.rtol * Math.abs(e))

const valuesOf = (v: Tensor | number): ArrayLike<number> => (typeof v === 'number' ? [v] : flatData(v))

/** Compares one value (a tensor, or a number such as `numBatchesTracked`). */
export const compare = (
  what: string,
  actual: Tensor | number | undefined,
  expected: Tensor | number,
  tol: Tolerance,
): Comparison => {
  if (actual === undefined) return { what: `${what} missing`, deviation: Infinity }
  if (typeof actual !== 'number' && typeof expected !== 'number') {
    const sa = actual.shape.join(', ')
    const se = expected.shape.join(', ')
    if (sa !== se) return { what: `${what} shape [${sa}] != [${se}]`, deviation: Infinity }
  }
  const a = valuesOf(actual)
  const e = valuesOf(expected)
  if (a.length !== e.length) return { what: `${what} size ${a.length} != ${e.length}`, deviation: Infinity }
  let worst = 0
  let bad = false
  for (let i = 0; i < a.length; i++) {
    if (matches(a[i], e[i], tol)) continue
    bad = true
    const d = Math.abs(a[i] - e[i])
    worst = Number.isFinite(d) ? Math.max(worst, d) : Infinity
  }
  return bad ? { what, deviation: worst } : { values: a.length }
}

/** Compares every recorded value of `expected` (by name) with `actual`'s value of that name. */
export const compareValues = (what: string, actual: StateMap, expected: StateMap, tol: Tolerance): Comparison => {
  let values = 0
  for (const [name, e] of Object.entries(expected)) {
    const c = compare(`${what}.${name}`, Object.hasOwn(actual, name) ? actual[name] : undefined, e, tol)
    if (!('values' in c)) return c
    values += c.values
  }
  return { values }
}
