/** The assertion that `test/examples.test.ts` inserts for `expression // literal` lines of an @example. */
import { expect } from 'vitest'
import { toNested } from '../src/index.js'

const isTensor = (v: unknown): v is Parameters<typeof toNested>[0] =>
  typeof v === 'object' && v !== null && 'data' in v && 'shape' in v && 'stride' in v

const normalize = (v: unknown): unknown => {
  if (isTensor(v)) return toNested(v)
  if (ArrayBuffer.isView(v)) return Array.from(v as Float32Array)
  if (Array.isArray(v)) return v.map(normalize)
  return v
}

const close = (a: unknown, b: unknown): boolean => {
  if (typeof a === 'number' && typeof b === 'number') {
    return Object.is(a, b) || Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(b))
  }
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => close(v, b[i]))
  return Object.is(a, b) || JSON.stringify(a) === JSON.stringify(b)
}

/** Asserts that an example's expression equals the literal its comment promises. */
export const __check = (actual: unknown, expected: unknown, line: string): void => {
  const got = normalize(actual)
  expect(close(got, expected), `${line}\n  got ${JSON.stringify(got)}`).toBe(true)
}
