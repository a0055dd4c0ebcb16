/**
 * Timing: warm-up calls, then repeated calls within a time budget; the median is reported
 * (robust to the noise of a shared machine). Also a seeded generator for inputs, and a device
 * wrapper that times each kernel (the profile and the scan rows).
 *
 * @module
 */
import { type Device, deviceFrom } from '../src/index.js'

/** How long and how often a call is timed. */
export interface TimingPlan {
  /** Untimed calls before the first timed one (at least). */
  readonly warmup: number
  /**
   * Warm-up goes on until this much time was spent too (a call slower than `SLOW_MS` excepted):
   * V8 optimizes a hot JavaScript path only after some thousands of calls, so a 30-microsecond
   * call would otherwise be timed in its baseline tiers while PyTorch's C++ needs no warm-up.
   * The PyTorch column warms up by the same plan.
   */
  readonly warmupMs: number
  readonly minRuns: number
  readonly maxRuns: number
  /** Stop adding runs once this much time was spent (after minRuns). */
  readonly budgetMs: number
}

export const fullPlan: TimingPlan = { warmup: 3, warmupMs: 250, minRuns: 7, maxRuns: 31, budgetMs: 2000 }
export const quickPlan: TimingPlan = { warmup: 1, warmupMs: 0, minRuns: 2, maxRuns: 2, budgetMs: 0 }

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/** A call slower than this gets one warm-up and three timed runs (the plain-JS matmul columns). */
const SLOW_MS = 250

/** Untimed calls of `f` after a first one: `plan.warmup` in all and `plan.warmupMs` spent. */
export const warmUp = (f: () => unknown, plan: TimingPlan, startedAt: number): void => {
  for (let i = 1; i < plan.warmup || performance.now() - startedAt < plan.warmupMs; i++) f()
}

/** Median milliseconds per call of `f`. */
export const timeIt = (f: () => unknown, plan: TimingPlan): number => {
  const t0 = performance.now()
  f()
  const slow = performance.now() - t0 > SLOW_MS
  if (!slow) warmUp(f, plan, t0)
  const minRuns = slow ? Math.min(plan.minRuns, 3) : plan.minRuns
  const runs: number[] = []
  let spent = 0
  while (runs.length < plan.maxRuns && (runs.length < minRuns || spent < plan.budgetMs)) {
    const t0 = performance.now()
    f()
    const dt = performance.now() - t0
    runs.push(dt)
    spent += dt
  }
  return median(runs)
}

/** One column of a comparison: `enter` makes it current (switches the tfjs backend), `run` is the call. */
export interface Contender {
  readonly name: string
  readonly enter: () => Promise<unknown>
  readonly run: () => unknown
}

/**
 * Calls shorter than this are timed right after {@link REWARM_CALLS} untimed calls of their
 * own: round-robin, a call would otherwise find the caches full of the previous contender's
 * data (tfjs-cpu's 34 ms LayerNorm), while PyTorch's loop (bench/torch_bench.py) and `timeIt`
 * time each call after calls of its own. A few milliseconds are not enough to outlast it: TR1's
 * 5 ms training step timed 9.3 ms here under a 5 ms threshold, 5.9 in a loop of its own. Longer
 * calls outlast any cache, and their time is the bench's.
 */
const WARM_MS = 20
/**
 * One untimed call is not enough for a call whose data nearly fills the last-level cache
 * (NDropout's 24 MB on a 32 MB L3: 0.63, 0.42, then 0.22 ms for the first, second and third
 * call after a neighbour's): the neighbour's dirty lines are still being written back.
 */
const REWARM_CALLS = 3

/**
 * Median ms per call of each contender, timed round-robin: one call of each per round, so that
 * the load of a shared machine drifting during the run weighs on every column alike and the
 * ratios stay fair. A short call is timed after untimed ones of its own (see `WARM_MS`). Slow
 * contenders (plain-JavaScript matmul) stop after three rounds; the others go on until
 * `budgetMs` of their own time is spent or `maxRuns`.
 */
export const timeInterleaved = async (
  contenders: readonly Contender[],
  plan: TimingPlan,
): Promise<ReadonlyMap<string, number>> => {
  const samples = new Map(contenders.map((c) => [c.name, [] as number[]]))
  const slow = new Set<string>()
  const short = new Set<string>()
  for (const c of contenders) {
    await c.enter()
    const t0 = performance.now()
    c.run()
    const first = performance.now() - t0
    if (first > SLOW_MS) slow.add(c.name)
    else warmUp(c.run, plan, t0)
    if (first < WARM_MS) short.add(c.name)
  }
  let spent = 0
  const wants = (c: Contender): boolean => {
    const n = samples.get(c.name)?.length ?? 0
    if (slow.has(c.name)) return n < Math.min(plan.minRuns, 3)
    return n < plan.maxRuns && (n < plan.minRuns || spent < plan.budgetMs)
  }
  for (let active = contenders.filter(wants); active.length > 0; active = contenders.filter(wants)) {
    for (const c of active) {
      await c.enter()
      if (short.has(c.name)) for (let i = 0; i < REWARM_CALLS; i++) c.run()
      const t0 = performance.now()
      c.run()
      const dt = performance.now() - t0
      samples.get(c.name)?.push(dt)
      if (!slow.has(c.name)) spent += dt
    }
  }
  return new Map([...samples].map(([name, runs]) => [name, median(runs)]))
}

/** mulberry32: a small seeded generator, so every run times the same inputs. */
export const rng = (seed: number): (() => number) => {
  let s = seed >>> 0
  return () => {
    s = (s + 0x6d2b79f5) >>> 0
    let t = s
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** `n` float32 values uniform in [lo, hi) from `seed`. */
export const uniformData = (n: number, seed: number, lo = -1, hi = 1): Float32Array => {
  const next = rng(seed)
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * next()
  return out
}

/**
 * How far `actual` is from `expected`: the fraction of elements off by more than
 * `tol * (1 + max |expected|)`. 0 is a match; discrete outputs (spikes, winners) may flip a
 * few elements where float32 rounding differs at a threshold.
 */
export const mismatchFraction = (actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-4): number => {
  if (actual.length !== expected.length) return 1
  let scale = 0
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]))
  const bound = tol * (1 + scale)
  let bad = 0
  for (let i = 0; i < expected.length; i++) if (!(Math.abs(actual[i] - expected[i]) <= bound)) bad++
  return bad / Math.max(1, expected.length)
}

/** [N, C, H, W] data laid out as [N, H, W, C] (tfjs pools channels-last), or back. */
export const transposeNCHW = (x: ArrayLike<number>, [n, c, h, w]: readonly number[], toNHWC: boolean): Float32Array => {
  const out = new Float32Array(n * c * h * w)
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < h; y++) {
        for (let xx = 0; xx < w; xx++) {
          const nchw = ((b * c + ch) * h + y) * w + xx
          const nhwc = ((b * h + y) * w + xx) * c + ch
          if (toNHWC) out[nhwc] = x[nchw]
          else out[nchw] = x[nhwc]
        }
      }
    }
  }
  return out
}

/** A named slice of a check output. */
export interface Part {
  readonly name: string
  readonly length: number
}

/** How a check output compares with the reference, part by part. */
export interface Comparison {
  /** The largest fraction of elements off in any part (see {@link mismatchFraction}). */
  readonly mismatch: number
  /** The largest deviation `|actual - expected| / (1 + max |expected|)` in any part. */
  readonly error: number
  /** The part with the largest mismatch (or deviation). */
  readonly worst: string
}

/**
 * `actual` against `expected` with each part (a gradient, say) at its own scale, so that a
 * small gradient is not judged at a large one's: the worst part's mismatch and deviation.
 */
export const compareParts = (
  actual: Float32Array,
  expected: Float32Array,
  parts: readonly Part[] = [{ name: 'output', length: expected.length }],
  tol = 1e-4,
): Comparison => {
  if (actual.length !== expected.length) {
    return { mismatch: 1, error: Infinity, worst: `length ${actual.length}, expected ${expected.length}` }
  }
  let mismatch = -1
  let error = 0
  let worst = parts[0]?.name ?? 'output'
  let worstError = -1
  let at = 0
  for (const p of parts) {
    const a = actual.subarray(at, at + p.length)
    const e = expected.subarray(at, at + p.length)
    at += p.length
    let scale = 0
    for (const v of e) scale = Math.max(scale, Math.abs(v))
    let partError = 0
    for (let i = 0; i < e.length; i++) {
      const d = Math.abs(a[i] - e[i]) / (1 + scale)
      partError = Number.isNaN(d) ? Infinity : Math.max(partError, d)
    }
    const m = mismatchFraction(a, e, tol)
    if (m > mismatch || (m === mismatch && partError > worstError)) {
      mismatch = m
      worst = p.name
      worstError = partError
    }
    error = Math.max(error, partError)
  }
  return { mismatch: Math.max(0, mismatch), error, worst }
}

/** `device` with every buffer operation and kernel timed into `times` (wall clock around each call). */
export const timedDevice = <B>(device: Device<B>, times: Map<string, { calls: number; ms: number }>): Device<B> => {
  const time = <R>(name: string, f: () => R): R => {
    const t0 = performance.now()
    try {
      return f()
    } finally {
      const entry = times.get(name) ?? { calls: 0, ms: 0 }
      entry.calls++
      entry.ms += performance.now() - t0
      times.set(name, entry)
    }
  }
  return deviceFrom<B>(
    {
      name: device.name,
      dtypeOf: (b) => device.dtypeOf(b),
      lengthOf: (b) => device.lengthOf(b),
      upload: (d) => time('upload', () => device.upload(d)),
      read: (b) => time('read', () => device.read(b)),
      free: (b) => time('free', () => device.free(b)),
      // the tape adds cotangents in place where the device can: without it, the profile's axpys
      // would be calls the timed runs do not make
      ...(device.addInPlace === undefined ? {} : { addInPlace: (t: B, x: B) => time('addInPlace', () => device.addInPlace!(t, x)) }),
    },
    (kernel, args) => time(kernel, () => device.run(kernel, args)),
  )
}
