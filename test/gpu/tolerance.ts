/**
 * What the GPU tests share: deterministic data and arbitraries (from page/cases.ts, which the
 * browser page uses too) and the float32 tolerance as vitest assertions.
 *
 * Tolerance: selections must be exact (`expectExact`); arithmetic must satisfy
 * `|gpu - cpu| <= REL * scale + ABS` (`expectClose`), `scale` the sum of the absolute values of
 * the terms behind that output.
 */
import { expect } from 'vitest'
import { ABS, REL } from './page/cases.js'

export { ABS, data, dim, poolCaseArb, REL, seedArb, windowArb } from './page/cases.js'

/** Fails with the first index where |got - want| exceeds REL * scale + ABS (scale per index). */
export const expectClose = (
  what: string,
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  scale: (i: number) => number,
): void => {
  expect(got.length, `${what}: length`).toBe(want.length)
  for (let i = 0; i < want.length; i++) {
    const bound = REL * scale(i) + ABS
    const d = Math.abs(got[i] - want[i])
    if (!(d <= bound)) expect.fail(`${what}[${i}]: gpu ${got[i]} vs cpu ${want[i]} (|d| ${d} > ${bound})`)
  }
}

/** Fails with the first index where got and want differ at all (`Object.is`). */
export const expectExact = (what: string, got: ArrayLike<number>, want: ArrayLike<number>): void => {
  expect(got.length, `${what}: length`).toBe(want.length)
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) expect.fail(`${what}[${i}]: gpu ${got[i]} vs cpu ${want[i]}`)
  }
}
