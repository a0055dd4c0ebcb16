/**
 * LayerNorm: with unit weight and zero bias each row has mean 0 and variance 1 (up to eps);
 * `x -> a x + b` (a > 0) changes nothing but the effective eps; a large offset does not cancel;
 * channels_first is channels_last on the axis moved to the end.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { tensorArb } from '../src/arbitraries/index.js'
import type { Shape, Tensor } from '../src/index.js'
import { dtypeOf } from '../src/index.js'
import { evaluate, generate, key, layerNorm, maxAbsDiff, orThrow, toArray } from '../src/index.js'

const f64 = { dtype: 'float64' } as const

/** Leading axes and a channel count C >= 2, for channels_last input `[..., C]`. */
const lastArb = fc
  .tuple(fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }), fc.integer({ min: 2, max: 6 }))
  .map(([lead, c]) => ({ c, shape: [...lead, c] as Shape }))

type Format = 'channels_last' | 'channels_first'

const normalize = (x: Tensor, c: number, eps = 1e-6, dataFormat: Format = 'channels_last'): Tensor => {
  const ln = layerNorm({ normalizedShape: c, eps, dataFormat })
  const { params } = orThrow(ln.init(key(0), x.shape, dtypeOf(x)))
  return orThrow(ln.apply(params, {}, x, evaluate())).output
}

/** Rows of the last axis, as arrays. */
const rows = (t: Tensor, c: number): number[][] => {
  const flat = toArray(t)
  return Array.from({ length: flat.length / c }, (_, r) => flat.slice(r * c, (r + 1) * c))
}

const moments = (row: readonly number[]): readonly [number, number] => {
  const mean = row.reduce((a, b) => a + b, 0) / row.length
  return [mean, row.reduce((a, b) => a + (b - mean) ** 2, 0) / row.length]
}

describe('LayerNorm properties', () => {
  it('gives each row mean 0 and variance 1 - eps / (s + eps) with unit weight and zero bias', () => {
    const eps = 1e-6
    fc.assert(
      fc.property(
        lastArb.chain((s) => fc.tuple(fc.constant(s), tensorArb(s.shape, f64))),
        ([{ c }, x]) => {
          const inputs = rows(x, c)
          rows(normalize(x, c, eps), c).forEach((row, r) => {
            const [, s] = moments(inputs[r])
            const [mean, variance] = moments(row)
            expect(Math.abs(mean)).toBeLessThanOrEqual(1e-12)
            expect(Math.abs(variance - s / (s + eps))).toBeLessThanOrEqual(1e-12)
          })
        },
      ),
    )
  })

  it('is invariant to x -> a x + b for a > 0 (eps scaling to eps / a^2)', () => {
    fc.assert(
      fc.property(
        lastArb.chain((s) => fc.tuple(fc.constant(s), tensorArb(s.shape, f64))),
        fc.double({ min: 0.01, max: 100, noNaN: true }),
        fc.double({ min: -1e4, max: 1e4, noNaN: true }),
        ([{ c }, x], a, b) => {
          const xs = toArray(x)
          const moved = generate(x.shape, (i) => a * xs[i] + b, 'float64')
          expect(maxAbsDiff(normalize(moved, c, 1e-6), normalize(x, c, 1e-6 / (a * a)))).toBeLessThanOrEqual(1e-6)
        },
      ),
    )
  })

  it('normalizes float32 input with mean 1e4 and spread 1 as well as without the offset', () => {
    fc.assert(
      fc.property(
        lastArb.chain((s) => fc.tuple(fc.constant(s), tensorArb(s.shape, { min: -1, max: 1 }))),
        ([{ c }, x]) => {
          const xs = toArray(x)
          const offset = generate(x.shape, (i) => 1e4 + xs[i])
          const a = normalize(offset, c)
          expect(a.data).toBeInstanceOf(Float32Array)
          expect(maxAbsDiff(a, normalize(x, c))).toBeLessThanOrEqual(1e-5)
        },
      ),
    )
  })

  it('channels_first on [N, C, ...] is channels_last with C moved to the end', () => {
    fc.assert(
      fc.property(
        fc
          .tuple(
            fc.integer({ min: 1, max: 3 }),
            fc.integer({ min: 1, max: 5 }),
            fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }),
          )
          .chain(([n, c, rest]) => tensorArb([n, c, ...rest], f64)),
        (x) => {
          const c = x.shape[1]
          const axes = [0, ...x.shape.slice(2).map((_, i) => i + 2), 1]
          const last = x.transpose(...axes) as Tensor
          const inverse = axes.map((_, i) => axes.indexOf(i))
          const back = normalize(last, c).transpose(...inverse) as Tensor
          expect(maxAbsDiff(normalize(x, c, 1e-6, 'channels_first'), back)).toBeLessThanOrEqual(1e-12)
        },
      ),
    )
  })
})
