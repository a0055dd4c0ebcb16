/**
 * Arbitraries for kernel arguments: the values a buffer holds, buffers of a given length (data
 * in float32, statistics in float64), sizes and regimes. Small buffers are arrays of element
 * arbitraries, so fast-check shrinks them element by element; large ones (past a wasm slice)
 * are filled from one seed, since an arbitrary per element would make every run slow. The
 * seeded fill draws in index order, so when the sizes shrink the buffer keeps its prefix.
 */
import fc from 'fast-check'

// ---------------------------------------------------------------------------------------------
// values
// ---------------------------------------------------------------------------------------------

/** A distribution of element values, as an arbitrary and as a draw from a seeded generator. */
export interface Values {
  /** One value, shrinkable (small buffers). */
  readonly arb: fc.Arbitrary<number>
  /** One value from `rand` (uniform in [0, 1)), for large buffers filled from a seed. */
  readonly draw: (rand: () => number) => number
}

/** Numbers in [min, max]. */
export const between = (min: number, max: number): Values => ({
  arb: fc.double({ min, max, noNaN: true }),
  draw: (rand) => min + (max - min) * rand(),
})

/** One of the given values. */
export const among = (...values: readonly number[]): Values => ({
  arb: fc.constantFrom(...values),
  draw: (rand) => values[Math.floor(rand() * values.length)],
})

const bits = new Uint32Array(1)
const asFloat = new Float32Array(bits.buffer)

/** Any finite float32, subnormals and the largest magnitudes included. */
export const anyFloat32: Values = {
  arb: fc.float({ noNaN: true, noDefaultInfinity: true }),
  draw: (rand) => {
    bits[0] = Math.floor(rand() * 2 ** 32)
    return Number.isFinite(asFloat[0]) ? asFloat[0] : 0
  },
}

/** A weighted mixture of distributions. */
export const mixture = (parts: readonly (readonly [number, Values])[]): Values => {
  const total = parts.reduce((s, [w]) => s + w, 0)
  return {
    arb: fc.oneof(...parts.map(([weight, v]) => ({ weight, arbitrary: v.arb }))),
    draw: (rand) => {
      let pick = rand() * total
      for (const [w, v] of parts) {
        if (pick < w) return v.draw(rand)
        pick -= w
      }
      return parts[parts.length - 1][1].draw(rand)
    },
  }
}

/** NaN and the infinities. */
export const specials = among(Number.NaN, Infinity, -Infinity)

/** Small integers and signed zeros: spikes, and ties for every max, rank and pooling kernel. */
export const ties = among(0, -0, 1, -1, 2)

/** Spike-like data: nine in ten zeros (either sign), the rest spikes (1) or moderate numbers. */
export const sparseValues = mixture([
  [9, among(0, -0, 0)],
  [1, among(1, 1, 0.5, -3, 7.25)],
])

/** Data values: mostly moderate numbers, often ties and signed zeros. */
export const dataValues = mixture([
  [6, between(-100, 100)],
  [3, among(0, -0, 1, -1, 2, 0.5)],
])

/** Wild data: the float32 extremes (subnormals, overflowing magnitudes), NaN and the infinities too. */
export const wildValues = mixture([
  [6, dataValues],
  [1, anyFloat32],
  [1, specials],
])

/** Uniform draws in [0, 1), with their endpoints' neighbourhood: WTALayer's noise. */
export const unitValues = mixture([
  [6, between(0, 1 - 2 ** -24)],
  [1, among(0, -0, 0.5, 1 - 2 ** -24)],
])

// ---------------------------------------------------------------------------------------------
// buffers
// ---------------------------------------------------------------------------------------------

/** Buffers up to this length are arrays of element arbitraries; longer ones are seeded fills. */
const SMALL = 600

/** mulberry32: a tiny seeded generator for large fills. */
const seeded = (seed: number): (() => number) => {
  let s = seed | 0
  return () => {
    s = (s + 0x6d2b79f5) | 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const filled = <T extends Float32Array | Float64Array>(n: number, v: Values, make: (n: number) => T) =>
  n <= SMALL
    ? fc.array(v.arb, { minLength: n, maxLength: n }).map((xs) => {
      const out = make(n)
      out.set(xs)
      return out
    })
    : fc.integer().map((seed) => {
      const rand = seeded(seed)
      const out = make(n)
      for (let i = 0; i < n; i++) out[i] = v.draw(rand)
      return out
    })

/**
 * Buffers of `n` values; one in six is a view into larger storage (an offset, NaN around it),
 * as a subarray a caller passes would be: kernels must read only the view and write none of it.
 */
const bufferOf = <T extends Float32Array | Float64Array>(n: number, v: Values, make: (n: number) => T) =>
  fc.oneof(
    { weight: 5, arbitrary: filled(n, v, make) },
    {
      weight: 1,
      arbitrary: fc.tuple(filled(n, v, make), int(1, 7)).map(([values, offset]) => {
        const storage = make(offset + n + 3).fill(Number.NaN)
        storage.set(values, offset)
        return storage.subarray(offset, offset + n) as T
      }),
    },
  )

/**
 * Float32 data of length `n` from `values`; by default a buffer holds {@link dataValues}
 * (three in six), {@link wildValues} (two in six) or only {@link ties} (one in six, as spike
 * trains do), so most buffers are finite and most runs still meet NaN somewhere.
 */
export const f32 = (n: number, values?: Values): fc.Arbitrary<Float32Array> => {
  const make = (m: number) => new Float32Array(m)
  return values !== undefined
    ? bufferOf(n, values, make)
    : fc.oneof(
      { weight: 3, arbitrary: bufferOf(n, dataValues, make) },
      { weight: 2, arbitrary: bufferOf(n, wildValues, make) },
      { weight: 1, arbitrary: bufferOf(n, ties, make) },
    )
}

/** Float64 statistics of length `n` from `values`, one buffer in four with NaN and the infinities too. */
export const f64 = (n: number, values: Values): fc.Arbitrary<Float64Array> => {
  const make = (m: number) => new Float64Array(m)
  return mostly(bufferOf(n, values, make), bufferOf(n, mixture([[8, values], [1, specials]]), make))
}

// ---------------------------------------------------------------------------------------------
// sizes and regimes
// ---------------------------------------------------------------------------------------------

/** A size in [1, max]. */
export const size = (max: number): fc.Arbitrary<number> => fc.integer({ min: 1, max })

/** A size in [1, max], and now and then 0 (an empty input or output). */
export const sizeOrEmpty = (max: number): fc.Arbitrary<number> =>
  fc.oneof({ weight: 1, arbitrary: fc.constant(0) }, { weight: 9, arbitrary: size(max) })

/** Integers in [min, max]. */
export const int = (min: number, max: number): fc.Arbitrary<number> => fc.integer({ min, max })

/** `usual` three times in four, else `other` (a fast path and its general path, say). */
export const mostly = <T>(usual: fc.Arbitrary<T>, other: fc.Arbitrary<T>): fc.Arbitrary<T> =>
  fc.oneof({ weight: 3, arbitrary: usual }, { weight: 1, arbitrary: other })

/** `false` three times in four (a flag that leaves the fast path). */
export const rarely: fc.Arbitrary<boolean> = mostly(fc.constant(false), fc.constant(true))

/** An inner size of a reduction: 1 (the contiguous case) or more (the strided, lane-parallel one). */
export const innerSize: fc.Arbitrary<number> = fc.oneof(fc.constant(1), size(13))

/**
 * The small regime, and now and then (one run in fifteen) a large one: sizes that span
 * several of the wasm wrapper's 192 KiB slices.
 */
export const sized = <T>(small: fc.Arbitrary<T>, ...large: readonly fc.Arbitrary<T>[]): fc.Arbitrary<T> =>
  large.length === 0
    ? small
    : fc.oneof({ weight: 14 * large.length, arbitrary: small }, ...large.map((arbitrary) => ({ weight: 1, arbitrary })))

/** Scalars such as `alpha`: mostly moderate, sometimes exact special cases, now and then anything. */
export const scalar: fc.Arbitrary<number> = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: -4, max: 4, noNaN: true }) },
  { weight: 2, arbitrary: fc.constantFrom(0, -0, 1, -1, 0.5) },
  { weight: 1, arbitrary: fc.double() },
)
