/**
 * What the GPU parity tests (backend kernels and device kernels) share: deterministic data, the
 * float32 tolerance, and random pooling windows.
 *
 * Tolerance: selections must be exact (`expectExact`); arithmetic must satisfy
 * `|gpu - cpu| <= REL * scale + ABS` (`expectClose`), `scale` the sum of the absolute values of
 * the terms behind that output.
 */
import fc from 'fast-check'
import { expect } from 'vitest'
import type { PoolWindow } from '../../src/backend/backend.js'

export const REL = 1e-5
export const ABS = 1e-7

/** Deterministic float32 data in [-range, range) from a seed. */
export const data = (n: number, seed: number, range = 1): Float32Array => {
  let s = seed >>> 0 || 1
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = (s / 2 ** 31 - 1) * range
  }
  return out
}

export const seedArb = fc.integer({ min: 1, max: 2 ** 31 - 1 })
export const dim = (max: number): fc.Arbitrary<number> => fc.integer({ min: 1, max })

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

/** Square or rectangular windows that fit the image; padding at most half the window. */
export const windowArb = (height: number, width: number): fc.Arbitrary<PoolWindow> =>
  fc
    .record({
      kernelH: dim(Math.min(4, height)),
      kernelW: dim(Math.min(4, width)),
      strideH: dim(3),
      strideW: dim(3),
      padFraction: fc.integer({ min: 0, max: 2 }),
    })
    .map(({ kernelH, kernelW, strideH, strideW, padFraction }) => ({
      kernelH,
      kernelW,
      strideH,
      strideW,
      padH: Math.min(padFraction, Math.floor(kernelH / 2)),
      padW: Math.min(padFraction, Math.floor(kernelW / 2)),
    }))

/** Up to `planes` images of up to `size` x `size` with a window that fits, and a data seed. */
export const poolCaseArb = (planes: number, size: number) =>
  fc
    .record({ planes: dim(planes), height: dim(size), width: dim(size), seed: seedArb })
    .chain((c) => windowArb(c.height, c.width).map((window) => ({ ...c, window })))
