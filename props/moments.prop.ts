/**
 * The precision of float32 statistics: the reference's moments of float32 data (contiguous
 * rows, and per channel) sum float32 blocks of four values into float64 (`blockedSum`,
 * bit-identical to the WebAssembly kernels, which props/kernels.prop.ts checks). Here they are
 * compared with exact float64 two-pass moments of the same values, within the error bound the
 * blocking implies, on data with offsets far above its spread (where a float32 deviation could
 * lose the variance), tiny and huge magnitudes, and ties. And, for scale: the worst relative
 * errors stay far inside the conformance fixtures' 1e-3. The float32 normalization that uses
 * these statistics (`normalizeAlongAxis`, float32 lanes as PyTorch's `layer_norm`) is bounded
 * the same way against the float64 formula on the same statistics.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { blockedSum } from '../src/backend/cpu/moments.js'
import { cpu } from '../src/index.js'

const U32 = 2 ** -24
const U64 = 2 ** -53
/** float32's smallest subnormal: float32 squares of tiny deviations underflow by up to this much. */
const TINY32 = 2 ** -149

/** Float64 two-pass mean and biased variance of `xs`, summed in order. */
const exact = (xs: ArrayLike<number>): { readonly mean: number; readonly variance: number } => {
  let s = 0
  for (let i = 0; i < xs.length; i++) s += xs[i]
  const mean = s / xs.length
  let q = 0
  for (let i = 0; i < xs.length; i++) q += (xs[i] - mean) ** 2
  return { mean, variance: q / xs.length }
}

/**
 * Bounds on |blocked - exact| for n values summed shifted by `shift` (the first value). The
 * sum: each shifted value errs by u32 of itself (0 near the shift: Sterbenz), each float32 lane
 * sum of four by 2 u32 of their magnitudes, the float64 additions by n u64 of all of them, so
 * the mean by (3 u32 + 2 n u64) sum|x - shift| / n. The variance: the deviations are taken from
 * the two-float mean `hi + lo`, off the true mean by some delta (the mean's error plus
 * u32 |lo|), which adds delta^2 (the cross term vanishes: the deviations from the true mean sum
 * to 0); each deviation (two subtractions: 2 u32), its square (u32), the block sums (2 u32)
 * and the float64 additions (n u64) err relatively, so by (7 u32 + 2 n u64) (var + delta^2).
 * Below float32's normal range the roundings are absolute instead: up to 2^-149 for each sum
 * of values, and for each square (plus twice the deviation times that for the deviation).
 * Doubled: a bound, not an estimate.
 */
const bounds = (xs: ArrayLike<number>, shift: number) => {
  const n = xs.length
  const { mean, variance } = exact(xs)
  let abs = 0
  let spread = 0
  for (let i = 0; i < n; i++) {
    abs += Math.abs(xs[i] - shift)
    spread = Math.max(spread, Math.abs(xs[i] - mean))
  }
  const meanBound = ((3 * U32 + 2 * n * U64) * abs) / n + U64 * Math.abs(mean) + TINY32
  const delta = meanBound + U32 * U32 * Math.abs(mean) + TINY32
  const varianceBound =
    (7 * U32 + 2 * n * U64) * (variance + delta * delta) + delta * delta + TINY32 * (1 + 2 * (spread + delta))
  return { mean, variance, meanBound: 2 * meanBound, varianceBound: 2 * varianceBound }
}

/** Float32 values: an offset far above the spread, or wide magnitudes, or ties. */
const valuesArb = (n: fc.Arbitrary<number>): fc.Arbitrary<Float32Array> =>
  fc.tuple(
    n,
    fc.oneof(fc.constant(0), fc.double({ min: -1e5, max: 1e5, noNaN: true })),
    fc.oneof(fc.constant(1), fc.constant(1e-3), fc.constant(1e3), fc.constant(1e-30)),
    fc.integer({ min: 0, max: 2 ** 31 - 1 }),
  ).map(([len, offset, spread, seed]) => {
    let s = seed
    const next = (): number => {
      s = (s * 1103515245 + 12345) % 2 ** 31
      return s / 2 ** 31
    }
    return Float32Array.from({ length: len }, () => (next() < 0.1 ? offset : offset + spread * (2 * next() - 1)))
  })

describe('float32 moments: blocked float32 sums into float64, against exact float64 two-pass', () => {
  it('a contiguous row (momentsAlongAxis, inner = 1)', () => {
    fc.assert(
      fc.property(valuesArb(fc.integer({ min: 1, max: 3000 })), (x) => {
        const got = cpu.momentsAlongAxis(x, { outer: 1, axis: x.length, inner: 1 })
        const b = bounds(x, x[0])
        expect(Math.abs(got.mean[0] - b.mean)).toBeLessThanOrEqual(b.meanBound)
        expect(Math.abs(got.variance[0] - b.variance)).toBeLessThanOrEqual(b.varianceBound)
      }),
    )
  })

  it('per channel, over runs of inner values (momentsPerChannel)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 300 }),
        valuesArb(fc.constant(1)),
        (outer, inner, seedValues) => {
          const x = Float32Array.from({ length: outer * 2 * inner }, (_, i) => seedValues[0] + Math.sin(i) * 3)
          const got = cpu.momentsPerChannel(x, { outer, channels: 2, inner })
          for (let c = 0; c < 2; c++) {
            const at = (s: number): number => (Math.floor(s / inner) * 2 + c) * inner + (s % inner)
            const values = Array.from({ length: outer * inner }, (_, s) => x[at(s)])
            const b = bounds(values, x[c * inner])
            expect(Math.abs(got.mean[c] - b.mean)).toBeLessThanOrEqual(b.meanBound)
            expect(Math.abs(got.variance[c] - b.variance)).toBeLessThanOrEqual(b.varianceBound)
          }
        },
      ),
    )
  })

  it('blockedSum is the float32-lane blocking it says (16 values, a tail), and float64 data keeps float64 sums', () => {
    const x = Float32Array.from({ length: 19 }, (_, i) => 1 + i * 2 ** -20)
    const f = Math.fround
    const v = (i: number) => f(x[i] - 1)
    const lane = (l: number) => f(f(v(l) + v(l + 4)) + f(v(l + 8) + v(l + 12)))
    const want = lane(0) + lane(2) + (lane(1) + lane(3)) + v(16) + v(17) + v(18)
    expect(blockedSum(x, 0, 19, 1, 0, false)).toBe(want)
    const wide = Float64Array.from(x, (v) => v + 2 ** -40)
    expect(cpu.momentsAlongAxis(wide, { outer: 1, axis: 19, inner: 1 }).mean[0]).toBe(exact(wide).mean)
  })

  it('an offset 1e4 above a spread of 0.03: the normalized values keep 1e-6 (float32 sums alone would lose 1e-3)', () => {
    const x = Float32Array.from({ length: 4096 }, (_, i) => 1e4 + 0.03 * Math.sin(i * 0.7))
    const got = cpu.momentsAlongAxis(x, { outer: 1, axis: x.length, inner: 1 })
    const e = exact(x)
    const std = Math.sqrt(e.variance)
    expect(Math.abs(got.mean[0] - e.mean) / std).toBeLessThan(1e-6)
    expect(Math.abs(got.variance[0] - e.variance) / e.variance).toBeLessThan(1e-6)
  })

  it('on the benchmark shapes the relative error is about 1e-7 (the fixtures allow 1e-3)', () => {
    let s = 7
    const next = (): number => {
      s = (s * 1103515245 + 12345) % 2 ** 31
      return s / 2 ** 31
    }
    const x = Float32Array.from({ length: 64 * 1024 }, () => -2 + 5 * next())
    const got = cpu.momentsAlongAxis(x, { outer: 64, axis: 1024, inner: 1 })
    let worst = 0
    for (let o = 0; o < 64; o++) {
      const e = exact(x.subarray(o * 1024, (o + 1) * 1024))
      const meanError = Math.abs(got.mean[o] - e.mean) / Math.abs(e.mean)
      worst = Math.max(worst, meanError, Math.abs(got.variance[o] - e.variance) / e.variance)
    }
    expect(worst).toBeLessThan(1e-5)
  })
})

/**
 * Bound on |float32 normalized - float64 `(x - m) r w + b`| on the same statistics (r the
 * float64 `1 / sqrt(v + eps)`). The deviation from the two-float mean errs by 2 u32 of
 * `|x - m|` (two subtractions; 0 near the mean, by Sterbenz) plus the split's u32^2 |m| (the
 * float32 pair is off the mean by that); r rounded to float32, the two products and the sum
 * each add u32 of their magnitude. Near float32's subnormals each operation may also lose
 * 2^-149 absolutely. Doubled: a bound, not an estimate.
 */
const normalizedBound = (x: number, m: number, r: number, w: number, b: number): number => {
  const t = Math.abs((x - m) * r * w)
  const carried = (2 * U32 * Math.abs(x - m) + 2 * U32 * U32 * Math.abs(m) + 2 * TINY32) * Math.abs(r * w)
  return 2 * ((4 * U32) * t + carried + U32 * Math.abs(b) + 3 * TINY32 * (1 + Math.abs(w)))
}

describe('float32 normalization: float32 lanes from a two-float mean, against the float64 formula', () => {
  it('along a row and along a strided axis, on offsets far above the spread and wide magnitudes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 5 }),
        valuesArb(fc.constant(240)),
        fc.constantFrom(1e-5, 1e-6, 1),
        fc.float32Array({ minLength: 5, maxLength: 5, noDefaultInfinity: true, noNaN: true, min: -4, max: 4 }),
        (outer, inner, values, eps, wb) => {
          const axis = values.length / (outer * inner)
          if (!Number.isInteger(axis)) return
          const view = { outer, axis, inner }
          const { mean, variance } = cpu.momentsAlongAxis(values, view)
          const weight = Float32Array.from({ length: axis }, (_, c) => wb[c % 5])
          const bias = Float32Array.from({ length: axis }, (_, c) => wb[(c + 2) % 5])
          const got = cpu.normalizeAlongAxis(values, mean, variance, weight, bias, { ...view, eps })
          for (let o = 0; o < outer; o++) {
            for (let c = 0; c < axis; c++) {
              for (let i = 0; i < inner; i++) {
                const at = (o * axis + c) * inner + i
                const s = o * inner + i
                const r = 1 / Math.sqrt(variance[s] + eps)
                const want = (values[at] - mean[s]) * r * weight[c] + bias[c]
                const bound = normalizedBound(values[at], mean[s], r, weight[c], bias[c])
                expect(Math.abs(got[at] - want)).toBeLessThanOrEqual(bound)
              }
            }
          }
        },
      ),
      { numRuns: 300 },
    )
  })

  it('an offset 1e4 above a spread of 0.03 normalizes as well as without the offset (1e-6)', () => {
    // a mean 0.4 float32 ulps off the grid: a float32 mean alone would be off by 0.02 deviations
    const x = Float32Array.from({ length: 1024 }, (_, i) => 1e4 + 0.4 * 2 ** -10 + 0.03 * Math.sin(i * 0.7))
    const view = { outer: 1, axis: x.length, inner: 1 }
    const ones = new Float32Array(x.length).fill(1)
    const zeros = new Float32Array(x.length)
    const { mean, variance } = cpu.momentsAlongAxis(x, view)
    const got = cpu.normalizeAlongAxis(x, mean, variance, ones, zeros, { ...view, eps: 1e-12 })
    const e = exact(x)
    let worst = 0
    const std = Math.sqrt(e.variance)
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(got[i] - (x[i] - e.mean) / std))
    expect(worst).toBeLessThan(1e-6)
  })
})
