/**
 * Pooling laws: max of a constant is the constant, average pooling is linear, a window of 1 is
 * the identity, both agree with a direct per-window reference, nearest upsampling is undone by
 * pooling with the same window, and bad windows come back as errors.
 */
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { stridedViewArb, tensorArb } from '../src/arbitraries/index.js'
import type { Shape, Tensor } from '../src/index.js'
import {
  avgPool2d,
  equals,
  full,
  generate,
  maxAbsDiff,
  maxPool2d,
  orThrow,
  pool2d,
  tensor,
  upsampleNearest,
} from '../src/index.js'

/** A valid spec and an [N, C, H, W] shape its padded window fits. */
const caseArb = fc
  .record({
    op: fc.constantFrom('maxPool2d' as const, 'avgPool2d' as const),
    kernelSize: fc.integer({ min: 1, max: 4 }),
    stride: fc.integer({ min: 1, max: 3 }),
  })
  .chain((s) =>
    fc.record({
      spec: fc.integer({ min: 0, max: Math.floor(s.kernelSize / 2) }).map((padding): SquareSpec => ({ ...s, padding })),
      n: fc.integer({ min: 1, max: 2 }),
      c: fc.integer({ min: 1, max: 2 }),
      h: fc.integer({ min: 1, max: 7 }),
      w: fc.integer({ min: 1, max: 7 }),
    }),
  )
  .filter(({ spec, h, w }) => Math.min(h, w) + 2 * (spec.padding ?? 0) >= spec.kernelSize)
  .map(({ spec, n, c, h, w }) => ({ spec, shape: [n, c, h, w] as Shape }))

/** A square window, as these properties generate them. */
type SquareSpec = { readonly op: 'maxPool2d' | 'avgPool2d'; readonly kernelSize: number; readonly stride?: number; readonly padding?: number }

/** Direct reference: every output cell reduces its own window, padding as PyTorch treats it. */
const reference = (x: Tensor, spec: SquareSpec): { shape: number[]; data: number[] } => {
  const [n, c, h, w] = x.shape
  const k = spec.kernelSize
  const s = spec.stride ?? k
  const p = spec.padding ?? 0
  const oh = Math.floor((h + 2 * p - k) / s) + 1
  const ow = Math.floor((w + 2 * p - k) / s) + 1
  const data: number[] = []
  for (let a = 0; a < n; a++)
    for (let b = 0; b < c; b++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          const cells: number[] = []
          for (let y = i * s - p; y < i * s - p + k; y++)
            for (let z = j * s - p; z < j * s - p + k; z++) {
              if (y >= 0 && y < h && z >= 0 && z < w) cells.push(x.get(a, b, y, z))
            }
          data.push(spec.op === 'maxPool2d' ? Math.max(...cells) : cells.reduce((u, v) => u + v, 0) / (k * k))
        }
  return { shape: [n, c, oh, ow], data }
}

describe('pooling', () => {
  it('agrees with a direct per-window reference (floor mode, average counts padding)', () => {
    fc.assert(
      fc.property(
        caseArb.chain(({ spec, shape }) => fc.tuple(fc.constant(spec), tensorArb(shape, { dtype: 'float64' }))),
        ([spec, x]) => {
          const out = orThrow(pool2d(x, spec))
          const ref = reference(x, spec)
          expect(out.shape).toEqual(ref.shape)
          expect(maxAbsDiff(out, tensor(ref.data, ref.shape, 'float64'))).toBeLessThanOrEqual(1e-12)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('max pooling of a constant is that constant', () => {
    fc.assert(
      fc.property(caseArb, fc.float({ min: -5, max: 5, noNaN: true }), ({ spec, shape }, c) => {
        const out = orThrow(maxPool2d(full(shape, c), spec))
        expect(Array.from(out.data).every((v) => v === Math.fround(c))).toBe(true)
      }),
      { numRuns: 200 },
    )
  })

  it('average pooling is linear: avg(a + b) = avg(a) + avg(b), avg(s * a) = s * avg(a)', () => {
    fc.assert(
      fc.property(
        caseArb.chain(({ spec, shape }) =>
          fc.tuple(
            fc.constant(spec),
            tensorArb(shape, { dtype: 'float64' }),
            tensorArb(shape, { dtype: 'float64' }),
            fc.double({ min: -3, max: 3, noNaN: true }),
          ),
        ),
        ([spec, a, b, s]) => {
          const sum = generate(a.shape, (i) => a.data[i] + b.data[i], 'float64')
          const scaled = generate(a.shape, (i) => s * a.data[i], 'float64')
          const pa = orThrow(avgPool2d(a, spec))
          const pb = orThrow(avgPool2d(b, spec))
          const pSum = orThrow(avgPool2d(sum, spec))
          const pScaled = orThrow(avgPool2d(scaled, spec))
          const expectedSum = generate(pa.shape, (i) => pa.data[i] + pb.data[i], 'float64')
          const expectedScaled = generate(pa.shape, (i) => s * pa.data[i], 'float64')
          expect(maxAbsDiff(pSum, expectedSum)).toBeLessThanOrEqual(1e-12)
          expect(maxAbsDiff(pScaled, expectedScaled)).toBeLessThanOrEqual(1e-12)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('a window of 1 (stride 1, no padding) is the identity, bit for bit', () => {
    fc.assert(
      fc.property(
        caseArb.chain(({ shape }) => tensorArb(shape)),
        fc.constantFrom('maxPool2d' as const, 'avgPool2d' as const),
        (x, op) => {
          expect(equals(orThrow(pool2d(x, { op, kernelSize: 1, stride: 1, padding: 0 })), x)).toBe(true)
        },
      ),
    )
  })

  it('max pooling with window k undoes nearest upsampling by k exactly', () => {
    fc.assert(
      fc.property(
        fc
          .tuple(fc.integer({ min: 1, max: 3 }), caseArb)
          .chain(([k, { shape }]) => fc.tuple(fc.constant(k), tensorArb(shape))),
        ([k, x]) => {
          const up = orThrow(upsampleNearest(x, k))
          expect(up.shape).toEqual([x.shape[0], x.shape[1], x.shape[2] * k, x.shape[3] * k])
          expect(equals(orThrow(maxPool2d(up, { kernelSize: k })), x)).toBe(true)
        },
      ),
    )
  })

  it('reads a strided view as its contiguous copy and never writes to the input', () => {
    fc.assert(
      fc.property(
        caseArb.chain(({ spec, shape }) =>
          tensorArb(shape).chain((x) => fc.tuple(fc.constant(spec), fc.constant(x), stridedViewArb(x))),
        ),
        ([spec, x, view]) => {
          const before = Array.from(view.data)
          expect(equals(orThrow(pool2d(view, spec)), orThrow(pool2d(x, spec)))).toBe(true)
          const after = Array.from(view.data)
          expect(after.length === before.length && after.every((v, i) => Object.is(v, before[i]))).toBe(true)
        },
      ),
    )
  })

  it('rejects padding over half the window, and windows larger than the padded input, as values', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 3 }), (k, extra) => {
        const padding = Math.floor(k / 2) + extra
        const r = maxPool2d(full([1, 1, 8, 8], 0), { kernelSize: k, padding })
        expect(E.isLeft(r) && r.left.argument === 'options.padding').toBe(true)
        const small = k + extra
        const r2 = avgPool2d(full([1, 1, k, k], 0), { kernelSize: small })
        expect(E.isLeft(r2) && r2.left.layer === 'avgPool2d' && r2.left.argument === 'input').toBe(true)
      }),
    )
  })
})
