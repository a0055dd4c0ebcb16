/**
 * Helpers for the gradient laws (`props/gradients.prop.ts`): seeded data shaped like results,
 * inputs whose values are well separated (away from max-pool and winner ties), trees of tensors
 * addressed by path, central finite differences with a kink detector, and a hand-written BPTT
 * of the neuron formulas.
 */
import fc from 'fast-check'
import type { DType, Shape, Tensor } from '../src/index.js'
import { dtypeOf, flatData, sizeOf, wrap } from '../src/index.js'
import type { NeuronModel } from './descriptors/descriptor.js'

// ---------------------------------------------------------------------------------------------
// seeded data
// ---------------------------------------------------------------------------------------------

/**
 * A seeded generator of uniform draws in [0, 1) (mulberry32), for data whose shape is known only
 * once a layer has run (cotangents shaped like its outputs and states). The seed comes from
 * fast-check, so a failure replays with the run's seed.
 */
export type Rng = () => number

export const rng = (seed: number): Rng => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Values on a grid of 2^-10 steps in [lo, hi] (exact in float32: sums of a few stay exact). */
export const gridTensor = (next: Rng, shape: Shape, dtype: DType, lo = -1, hi = 1): Tensor => {
  const n = sizeOf(shape)
  const data = dtype === 'float64' ? new Float64Array(n) : new Float32Array(n)
  const steps = Math.round((hi - lo) * 1024)
  for (let i = 0; i < n; i++) data[i] = lo + Math.floor(next() * (steps + 1)) / 1024
  return wrap(data, shape) as Tensor
}

/**
 * Float64 tensors of a shape whose values are distinct and well separated: a random
 * permutation of `n` evenly spaced slots over [-2, 2], each jittered by up to 30% of the slot,
 * so any two values differ by at least `0.4 * 4 / n` (over 1e-3 for the shapes the descriptors
 * draw) and no difference is a round number (sums with other values do not tie by accident).
 * With `ties`, one value is sometimes copied onto another cell: an exact tie, for the kink
 * detector to find.
 */
const JITTER = 2 ** 30

export const separatedArb = (shape: Shape, ties = false): fc.Arbitrary<Tensor> => {
  const n = sizeOf(shape)
  const slot = 4 / Math.max(n, 1)
  const slots = Array.from({ length: n }, (_, i) => i)
  return fc
    .tuple(
      fc.shuffledSubarray(slots, { minLength: n, maxLength: n }),
      // unbiased and uniform in value (fc.double concentrates near 0 and the bounds)
      fc.array(fc.noBias(fc.integer({ min: -JITTER, max: JITTER })), { minLength: n, maxLength: n }),
      ties && n >= 2 ? fc.option(fc.tuple(fc.nat(n - 1), fc.nat(n - 1)), { freq: 3 }) : fc.constant(null),
    )
    .map(([perm, jitter, tie]) => {
      const data = new Float64Array(n)
      for (let i = 0; i < n; i++) data[i] = -2 + (perm[i] + 0.5 + (0.3 * jitter[i]) / JITTER) * slot
      if (tie !== null) data[tie[1]] = data[tie[0]]
      return wrap(data, shape) as Tensor
    })
}

// ---------------------------------------------------------------------------------------------
// trees of tensors
// ---------------------------------------------------------------------------------------------

export const isTensor = (v: unknown): v is Tensor =>
  typeof v === 'object' && v !== null && 'data' in v && 'shape' in v && 'stride' in v

/** A tensor's place in a tree of records and arrays. */
export type Path = readonly (string | number)[]

/** Every tensor of a tree, with its path, in key order. */
export const tensorLeaves = (tree: unknown, path: Path = []): { readonly path: Path; readonly tensor: Tensor }[] => {
  if (isTensor(tree)) return [{ path, tensor: tree }]
  if (Array.isArray(tree)) return tree.flatMap((v, i) => tensorLeaves(v, [...path, i]))
  if (typeof tree === 'object' && tree !== null) {
    return Object.entries(tree).flatMap(([k, v]) => tensorLeaves(v, [...path, k]))
  }
  return []
}

/** The value at `path`. */
export const at = (tree: unknown, path: Path): unknown =>
  path.reduce<unknown>((t, k) => (t as Readonly<Record<string | number, unknown>>)[k], tree)

/** The tree with the value at `path` replaced (new records and arrays along the path). */
export const replaceAt = (tree: unknown, path: Path, value: unknown): unknown => {
  if (path.length === 0) return value
  const [k, ...rest] = path
  if (Array.isArray(tree)) return tree.map((v, i) => (i === k ? replaceAt(v, rest, value) : v))
  const r = tree as Readonly<Record<string, unknown>>
  return { ...r, [k]: replaceAt(r[k], rest, value) }
}

/** `t + s * dir` in float64. */
export const moved = (t: Tensor, dir: Float64Array, s: number): Tensor => {
  const a = flatData(t)
  const out = new Float64Array(a.length)
  for (let i = 0; i < a.length; i++) out[i] = a[i] + s * dir[i]
  return wrap(out, t.shape) as Tensor
}

/** `sum(a * b)` and `sum(|a * b|)` in float64. */
export const dot = (a: Tensor, b: ArrayLike<number>): { readonly value: number; readonly scale: number } => {
  const x = flatData(a)
  let value = 0
  let scale = 0
  for (let i = 0; i < x.length; i++) {
    value += x[i] * b[i]
    scale += Math.abs(x[i] * b[i])
  }
  return { value, scale }
}

/** `a * x + b * y` elementwise in float64, in `x`'s dtype (exact when the values allow). */
export const combine = (a: number, x: Tensor, b: number, y: Tensor): Tensor => {
  const xs = flatData(x)
  const ys = flatData(y)
  const out = dtypeOf(x) === 'float64' ? new Float64Array(xs.length) : new Float32Array(xs.length)
  for (let i = 0; i < xs.length; i++) out[i] = a * xs[i] + b * ys[i]
  return wrap(out, x.shape) as Tensor
}

/** Maps every tensor of a tree (records and arrays rebuilt, other leaves kept). */
export const mapTree = (tree: unknown, f: (t: Tensor) => unknown): unknown => {
  if (isTensor(tree)) return f(tree)
  if (Array.isArray(tree)) return tree.map((v) => mapTree(v, f))
  if (typeof tree === 'object' && tree !== null) {
    return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, mapTree(v, f)]))
  }
  return tree
}

/** Every tensor buffer a tree holds (to check that results never alias arguments). */
export const buffersIn = (tree: unknown): Set<ArrayBufferLike> =>
  new Set(tensorLeaves(tree).map((l) => l.tensor.data.buffer))

// ---------------------------------------------------------------------------------------------
// finite differences
// ---------------------------------------------------------------------------------------------

/** Relative tolerance of the float64 central difference (Richardson-extrapolated) against the pullback. */
export const FD_RTOL = 1e-6
/**
 * The kink detector's relative threshold: ten times tighter than the check, so a sample that is
 * not flagged has differences stable well within what the check allows.
 */
export const KINK_RTOL = 1e-7
/** Floor of both, relative to `sum |out * cot|` (rounding of L divided by h: about 1e-10 of it for h ~ 1e-5). */
export const FD_FLOOR = 1e-8

/** One directional check: the finite differences, the pullback's value, and the verdict. */
export interface FdCheck {
  /** A kink or jump within the step (the differences disagree across h and h/2): not checked. */
  readonly kink: boolean
  /** The Richardson-extrapolated central difference. */
  readonly fd: number
  /** The pullback's directional derivative. */
  readonly analytic: number
  /** The allowed deviation. */
  readonly tolerance: number
  /** Whether the sample was checked and agreed. */
  readonly ok: boolean
}

/**
 * Compares the directional derivative `analytic` (with `scale = sum |g_i v_i|`, the size of its
 * terms) with central finite differences of `f(s) = L(v0 + s v)`, given `f0 = f(0)`:
 *
 * - `D(h) = (f(h) - f(-h)) / 2h` at h and h/2, extrapolated to `(4 D(h/2) - D(h)) / 3`
 *   (truncation error O(h^4));
 * - a kink or jump of f within the step shows as `D(h) != D(h/2)` (a kink between h/2 and h, a
 *   jump anywhere), or, for a kink at (or very near) 0, where central differences of a
 *   piecewise-linear f are stable, as a second difference `S(h) = (f(h) - 2 f0 + f(-h)) / h`
 *   that does not halve with h (`S(h) = h f''` for smooth f, the slope's jump at a kink).
 *
 * Tolerances, float64: rounding of L is about `1e-15 * lossScale` (`lossScale = sum |out * cot|`),
 * which the differences divide by h ~ 1e-5, so the floor is `1e-8 * (1 + lossScale)`, about a
 * hundred times that; truncation after extrapolation is below `h^4 f^(5)`, negligible at these
 * sizes. Agreement is asked to `1e-6 * scale + floor`; the kink threshold is ten times tighter.
 */
export const fdCheck = (
  f: (s: number) => number,
  f0: number,
  h: number,
  analytic: number,
  scale: number,
  lossScale: number,
): FdCheck => {
  const [fp, fm, fp2, fm2] = [f(h), f(-h), f(h / 2), f(-h / 2)]
  const d1 = (fp - fm) / (2 * h)
  const d2 = (fp2 - fm2) / h
  const s1 = (fp - 2 * f0 + fm) / h
  const s2 = (fp2 - 2 * f0 + fm2) / (h / 2)
  const floor = FD_FLOOR * (1 + lossScale)
  const tight = KINK_RTOL * scale + floor
  const kink = !(Math.abs(d1 - d2) <= tight) || !(Math.abs(s1 - 2 * s2) <= tight)
  const fd = (4 * d2 - d1) / 3
  const tolerance = FD_RTOL * scale + floor
  return { kink, fd, analytic, tolerance, ok: !kink && Math.abs(fd - analytic) <= tolerance }
}

/** The step for a tensor: `relative` (default 1e-5) scaled to its largest magnitude, or at least `relative`. */
export const stepFor = (t: Tensor, relative = 1e-5): number =>
  relative * Math.max(1, ...Array.from(flatData(t), Math.abs))

/** A dense direction, uniform in [-1, 1]^n. */
export const denseDirection = (next: Rng, n: number): Float64Array =>
  Float64Array.from({ length: n }, () => 2 * next() - 1)

/** A coordinate direction `e_i`, i drawn uniformly. */
export const coordinateDirection = (next: Rng, n: number): Float64Array => {
  const d = new Float64Array(n)
  d[Math.floor(next() * n)] = 1
  return d
}

/** How many directional checks ran, and how many a kink kept from being checked. */
export interface FdCount {
  checked: number
  kinks: number
}

// ---------------------------------------------------------------------------------------------
// neurons: BrainCog's formulas and BPTT, written out
// ---------------------------------------------------------------------------------------------

/**
 * The surrogate derivative `g(z)` of the spike at `z = u - threshold`, as BrainCog's
 * `surrogate.py` writes each backward (fixtures README, "IFNode and LIFNode"; ifNode.ts).
 */
export const surrogateOf = (name: NeuronModel['surrogate'], alpha: number): ((z: number) => number) => {
  switch (name) {
    case 'AtanGrad':
      return (z) => alpha / 2 / (1 + ((Math.PI / 2) * alpha * z) ** 2)
    case 'QGateGrad':
      return (z) => (Math.abs(z) <= 1 / alpha ? alpha - alpha * alpha * Math.abs(z) : 0)
    case 'SigmoidGrad':
      return (z) => {
        const s = 1 / (1 + Math.exp(-alpha * z))
        return alpha * s * (1 - s)
      }
    case 'GateGrad':
      return (z) => (Math.abs(z) < 1 / alpha ? 1 : 0)
    case 'none':
      return () => 0
  }
}

/** What the BPTT reference gives. */
export interface NeuronRun {
  /** The spikes of each step, `[T * n]`. */
  readonly spikes: Float64Array
  /** The potential after the last step's reset. */
  readonly v: Float64Array
  /** The cotangent of each step's input, `[T * n]`. */
  readonly gradInputs: Float64Array
  /** The cotangent of the initial potential. */
  readonly gradV0: Float64Array
}

/**
 * T steps of a neuron over `n` neurons and BPTT back through them. Forward, each operation
 * rounded in the data's precision (PyTorch's elementwise semantics): `u_t = v + x_t` or
 * `v + (x_t - v) / tau`, `spike_t = H(u_t - threshold)`, `v_t = u_t - threshold` (soft) or
 * `vReset` (hard) where it fired, else `u_t`. Backward, with `gv` the final potential's
 * cotangent: `gu = cot_t * g(u_t - threshold) + gv * (soft ? 1 : 1 - spike_t)` (the reset
 * detached), `gradInputs[t] = gu / tau`, `gv = gu * (1 - 1 / tau)` (IF: both `gu`).
 * The backward is in float64 throughout.
 */
export const neuronBptt = (
  m: NeuronModel,
  dtype: DType,
  n: number,
  xs: ArrayLike<number>,
  v0: ArrayLike<number> | null,
  cots: ArrayLike<number>,
  cotV: ArrayLike<number> | null,
): NeuronRun => {
  const round = dtype === 'float32' ? Math.fround : (a: number) => a
  const T = xs.length / n
  const threshold = round(m.threshold)
  const tau = round(m.tau)
  const g = surrogateOf(m.surrogate, m.alpha)
  const us = new Float64Array(T * n)
  const spikes = new Float64Array(T * n)
  const v = Float64Array.from({ length: n }, (_, i) => (v0 === null ? 0 : v0[i]))
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < n; i++) {
      const x = xs[t * n + i]
      const u = m.model === 'lif' ? round(v[i] + round(round(x - v[i]) / tau)) : round(v[i] + x)
      const fired = m.fireAt === '>' ? u - threshold > 0 : u - threshold >= 0
      us[t * n + i] = u
      spikes[t * n + i] = fired ? 1 : 0
      v[i] = !fired ? u : m.reset === 'soft' ? round(u - threshold) : m.vReset
    }
  }
  const gradInputs = new Float64Array(T * n)
  const gv = Float64Array.from({ length: n }, (_, i) => (cotV === null ? 0 : cotV[i]))
  for (let t = T - 1; t >= 0; t--) {
    for (let i = 0; i < n; i++) {
      const k = t * n + i
      const keep = m.reset === 'soft' ? 1 : 1 - spikes[k]
      const gu = cots[k] * g(round(us[k] - threshold)) + gv[i] * keep
      gradInputs[k] = m.model === 'lif' ? gu / m.tau : gu
      gv[i] = m.model === 'lif' ? gu * (1 - 1 / m.tau) : gu
    }
  }
  return { spikes, v, gradInputs, gradV0: gv }
}
