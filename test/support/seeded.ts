/**
 * Seeded test data for the wasm kernel tests: each case is the same every run (mulberry32).
 */

/** mulberry32: draws in [0, 1) from `seed`. */
export const rng = (seed: number): (() => number) => {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = Math.imul(s ^ (s >>> 15), s | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `n` draws in [-0.5, 0.5). */
export const uniform = (n: number, seed: number): Float32Array => {
  const next = rng(seed)
  return Float32Array.from({ length: n }, () => next() - 0.5)
}

/** `n` spikes (0 or 1) at `density`, or, with `value`, that value instead of 1 at every third. */
export const spikes = (n: number, density: number, seed: number, value = 1): Float32Array => {
  const next = rng(seed)
  return Float32Array.from({ length: n }, (_, i) => (next() < density ? (i % 3 === 0 ? value : 1) : 0))
}
