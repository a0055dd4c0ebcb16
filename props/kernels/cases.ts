/**
 * The kernel table: for every kernel of `Kernels`, an arbitrary of valid arguments (buffers of
 * the right lengths, float32 data and float64 statistics as `kernelSpecs` says, attributes
 * across the regimes that matter: the wasm fast paths and the general ones, empty outputs,
 * sizes past one wasm slice) and how the wasm result must compare with the cpu reference.
 * A kernel missing here is a compile error. The laws that run over it are in
 * `props/kernels.prop.ts`.
 *
 * The comparison is bit-identical unless an entry says otherwise, and says why.
 */
import fc from 'fast-check'
import { keyArb } from '../../src/arbitraries/index.js'
import type {
  AdamAttrs,
  ConvAttrs,
  Data,
  KernelName,
  Kernels,
  NeuronAttrs,
  PoolMode,
  PoolWindow,
  WinnerAttrs,
} from '../../src/index.js'
import { cpu, pooledSize } from '../../src/index.js'
import { convOutputSize } from '../../src/kernel/kernels.js'
import { forEachTap } from '../../src/backend/cpu/conv.js'
import {
  among,
  between,
  f32,
  f64,
  innerSize,
  int,
  mixture,
  mostly,
  rarely,
  scalar,
  size,
  sized,
  sizeOrEmpty,
  sparseValues,
  ties,
  unitValues,
} from './values.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** The positional arguments of kernel `K` on host buffers. */
export type Args<K extends KernelName> = Parameters<Kernels<Data>[K]>

/**
 * How the wasm outputs must compare with the cpu reference's, element by element:
 * `'bits'`: `Object.is`; `'numbers'`: `===` or both NaN (+0 equals -0); `within`: the same
 * non-finite values, else at most the bound given for each output element.
 */
export type Comparison = 'bits' | 'numbers' | { readonly within: readonly ArrayLike<number>[] }

/** One kernel's entry. */
export interface KernelCase<K extends KernelName> {
  /** Valid arguments, float32 data (the laws derive the float64 ones). */
  readonly args: fc.Arbitrary<Args<K>>
  /** The comparison for these arguments (default `'bits'`). */
  readonly compare?: (args: Args<K>) => Comparison
  /** Elementwise: a destination-first call may pass an input as `out`. */
  readonly elementwise?: boolean
  /**
   * What the kernel's doc comment says, computed another way (from other kernels, or plainly):
   * the cpu reference must give exactly these bits. For a fused kernel, and for paths where
   * both devices run the reference, so that wasm equalling cpu says nothing.
   */
  readonly oracle?: (args: Args<K>) => readonly Data[]
}

// ---------------------------------------------------------------------------------------------
// shared arbitraries
// ---------------------------------------------------------------------------------------------

/** Means and other signed statistics. */
const statValues = mixture([
  [6, between(-5, 5)],
  [2, among(0, -0, 1)],
])

/** Variances: mostly >= 0 (zero often), now and then negative (NaN through the square root). */
const varianceValues = mixture([
  [6, between(0, 5)],
  [2, among(0, -0)],
  [1, between(-1, 0)],
])

const epsArb = fc.constantFrom(1e-5, 0, 1e-3)

/** `[outer, axis, inner]` views of a reduction. */
const axisView = (outer: fc.Arbitrary<number>, axis: fc.Arbitrary<number>, inner: fc.Arbitrary<number>) =>
  fc.record({ outer, axis, inner })

/** wasm's SIMD max pooling: 2x2 windows, stride 2, no padding. */
const FAST_2X2: PoolWindow = { kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0 }

/** Any window PyTorch accepts: padding at most half the window. */
const windowArb: fc.Arbitrary<PoolWindow> = fc
  .record({ kernelH: size(4), kernelW: size(4), strideH: size(3), strideW: size(3) })
  .chain((w) =>
    fc.record({ padH: int(0, w.kernelH >> 1), padW: int(0, w.kernelW >> 1) }).map((p) => ({ ...w, ...p })),
  )

/** Images and a window that fits them (every window holds a real cell). */
const poolGeometry = sized(
  fc.oneof(
    fc.record({ planes: sizeOrEmpty(3), height: int(2, 20), width: int(2, 40), window: fc.constant(FAST_2X2) }),
    windowArb.chain((window) => {
      const least = (k: number, p: number) => Math.max(1, k - 2 * p)
      const h = least(window.kernelH, window.padH)
      const w = least(window.kernelW, window.padW)
      const planes = sizeOrEmpty(3)
      return fc.record({ planes, height: int(h, h + 10), width: int(w, w + 10), window: fc.constant(window) })
    }),
  ),
  fc.record({ planes: int(40, 90), height: fc.constant(32), width: fc.constant(32), window: fc.constant(FAST_2X2) }),
  fc.record({
    planes: int(40, 90),
    height: fc.constant(32),
    width: fc.constant(32),
    window: fc.constant<PoolWindow>({ kernelH: 3, kernelW: 3, strideH: 1, strideW: 1, padH: 1, padW: 1 }),
  }),
)

const modeArb = fc.constantFrom<PoolMode>('max', 'avg')

/** Lengths of elementwise kernels: small or empty, now and then large. */
const lengthArb = sized(sizeOrEmpty(70), int(30_000, 70_000))

/** Neuron attributes: BrainCog's defaults often, other round time constants, and any. */
export const neuronAttrs: fc.Arbitrary<NeuronAttrs> = fc.record({
  model: fc.constantFrom('if', 'lif'),
  tau: fc.oneof(fc.constant(2), fc.constantFrom(0.5, 1, 4, 3), fc.double({ min: 1, max: 10, noNaN: true })),
  threshold: fc.oneof(fc.constant(1), fc.constant(0), fc.double({ min: -2, max: 2, noNaN: true })),
  fireAt: fc.constantFrom('>', '>='),
  reset: fc.constantFrom('soft', 'hard'),
  vReset: fc.oneof(fc.constant(0), fc.double({ min: -1, max: 1, noNaN: true })),
  surrogate: fc.constantFrom('atan', 'qgate', 'sigmoid', 'gate', 'none'),
  alpha: fc.oneof(fc.constant(2), fc.double({ min: 0.5, max: 5, noNaN: true })),
})

const dtypeArb = fc.constantFrom('float32', 'float64')

/**
 * Adam's and AdamW's scalars: PyTorch's defaults mostly, any betas and step sizes too; a weight
 * decay of 1e-50 is not 0 in float64 but is in float32 (the L2 term still turns an infinite
 * param's gradient NaN), a shrink of 1 - 1e-12 not 1 but 1 in float32.
 */
const adamAttrs: fc.Arbitrary<AdamAttrs> = fc.record({
  beta1: fc.oneof(fc.constant(0.9), fc.double({ min: 0, max: 0.999, noNaN: true })),
  beta2: fc.oneof(fc.constant(0.999), fc.double({ min: 0, max: 0.9999, noNaN: true })),
  eps: fc.constantFrom(1e-8, 0, 1e-3),
  l2: fc.constantFrom(0, 0, 1e-2, 0.5, 1e-50),
  shrink: fc.constantFrom(1, 1, 0.99, 0.5, 1 - 1e-12),
  step: fc.oneof(fc.constantFrom(-1e-2, -1e-3, 0), fc.double({ min: -2, max: 0, noNaN: true })),
  bc2Sqrt: fc.oneof(fc.constant(Math.sqrt(1e-3)), fc.double({ min: 1e-3, max: 1, noNaN: true })),
  amsgrad: fc.boolean(),
})

/** Pooling inputs: the usual mixture, or only ties (spike trains: every window ties, max routing's common case). */
const poolInput = (n: number) => mostly(f32(n), f32(n, ties))

/** Output cells of a pooling geometry. */
const pooledCells = (g: {
  readonly planes: number
  readonly height: number
  readonly width: number
  readonly window: PoolWindow
}) => {
  const [oh, ow] = pooledSize(g.height, g.width, g.window)
  return g.planes * oh * ow
}

/** A convolution geometry with at least one output cell; `cg`, `og` channels per group. */
const convArb = (r: {
  readonly n: fc.Arbitrary<number>
  readonly groups: fc.Arbitrary<number>
  readonly cg: fc.Arbitrary<number>
  readonly og: fc.Arbitrary<number>
  readonly k: fc.Arbitrary<number>
  readonly stride: fc.Arbitrary<number>
  readonly dilation: fc.Arbitrary<number>
  readonly pad: fc.Arbitrary<number>
  readonly extra: fc.Arbitrary<number>
}): fc.Arbitrary<ConvAttrs> =>
  fc
    .record({
      n: r.n,
      groups: r.groups,
      cg: r.cg,
      og: r.og,
      kh: r.k,
      kw: r.k,
      sh: r.stride,
      sw: r.stride,
      dh: r.dilation,
      dw: r.dilation,
      ph: r.pad,
      pw: r.pad,
      eh: r.extra,
      ew: r.extra,
    })
    .map(({ cg, og, eh, ew, ...a }) => ({
      ...a,
      c: cg * a.groups,
      o: og * a.groups,
      // the smallest image the dilated kernel fits, plus `extra`
      h: Math.max(1, a.dh * (a.kh - 1) + 1 - 2 * a.ph) + eh,
      w: Math.max(1, a.dw * (a.kw - 1) + 1 - 2 * a.pw) + ew,
    }))

/**
 * Convolutions: small ones of every kind (groups, strides, dilations, padding, 1 x 1 images);
 * the demo's kind (5 x 5, padding 2, stride 1); and, now and then, sizes past the wasm GEMM's
 * blocks: more than 256 (c, p, q) rows (KC) and 256 output positions (NC) with output channels
 * off the 4-row tile, more than 512 weight columns (the weight gradient's NC), more than 256
 * output channels (the input gradient's KC).
 */
const convGeometry: fc.Arbitrary<ConvAttrs> = sized(
  convArb({
    n: sizeOrEmpty(2),
    groups: fc.constantFrom(1, 1, 2, 3),
    cg: size(3),
    og: size(3),
    k: size(4),
    stride: mostly(fc.constant(1), size(3)),
    dilation: mostly(fc.constant(1), fc.constant(2)),
    pad: int(0, 2),
    extra: int(0, 8),
  }),
  convArb({
    n: size(2),
    groups: fc.constant(1),
    cg: fc.constant(4),
    og: int(5, 9),
    k: fc.constant(5),
    stride: fc.constant(1),
    dilation: fc.constant(1),
    pad: fc.constant(2),
    extra: int(6, 12),
  }),
  convArb({
    n: fc.constant(1),
    groups: fc.constantFrom(1, 2),
    cg: int(11, 12),
    og: int(5, 9),
    k: fc.constant(5),
    stride: fc.constant(1),
    dilation: fc.constant(1),
    pad: fc.constant(2),
    extra: fc.constant(13),
  }),
  convArb({
    n: fc.constant(1),
    groups: fc.constant(1),
    cg: fc.constant(21),
    og: int(3, 5),
    k: fc.constant(5),
    stride: fc.constant(1),
    dilation: fc.constant(1),
    pad: fc.constant(2),
    extra: int(1, 3),
  }),
  convArb({
    n: fc.constant(1),
    groups: fc.constant(1),
    cg: fc.constant(2),
    og: int(257, 264),
    k: size(2),
    stride: fc.constant(1),
    dilation: fc.constant(1),
    pad: int(0, 1),
    extra: int(2, 4),
  }),
)

/**
 * Input gradients that wasm computes by Winograd's F(4x4, 5x5) (asm/winograd.ts) where it pays:
 * 5 x 5, stride 1, channels enough, every padding it takes, odd sizes that leave partial tiles,
 * more tile rows than a block's panels. (test/wasm/winograd.test.ts has the wider images.)
 */
const winogradGeometry: fc.Arbitrary<ConvAttrs> = convArb({
  n: fc.constant(1),
  groups: fc.constantFrom(1, 1, 2),
  cg: int(13, 16),
  og: int(6, 10),
  k: fc.constant(5),
  stride: fc.constant(1),
  dilation: fc.constant(1),
  pad: int(0, 4),
  extra: int(10, 16),
})

/** Cross-entropy's sizes and label smoothing. */
const crossEntropyAttrs = fc.record({
  n: size(6),
  c: size(12),
  smoothing: fc.oneof(fc.constant(0), fc.double({ min: 0, max: 1, noNaN: true })),
})

/** Class indices held as floats, one per row. */
const classesOf = (a: { readonly n: number; readonly c: number }) =>
  fc.array(int(0, a.c - 1), { minLength: a.n, maxLength: a.n }).map((t) => Float32Array.from(t))

/** WTALayer's winners, by a full sort of each column's scores (NaN first), as the doc says. */
const wtaWinners = (x: Data, noise: Data, { outer, axis, inner, k, exact }: WinnerAttrs): readonly boolean[] => {
  const round = x instanceof Float32Array ? Math.fround : (v: number) => v
  const wins: boolean[] = new Array<boolean>(x.length).fill(false)
  for (let column = 0; column < outer * inner; column++) {
    const at = (c: number) => (Math.floor(column / inner) * axis + c) * inner + (column % inner)
    const scores = Array.from({ length: axis }, (_, c) => round(x[at(c)] * noise[at(c)]))
    const kth = [...scores].sort((p, q) => (Number.isNaN(p) ? -1 : Number.isNaN(q) ? 1 : q - p))[k - 1]
    let places = k - scores.filter((s) => s > kth).length
    scores.forEach((s, c) => {
      wins[at(c)] = exact && s === kth ? places-- > 0 : s >= kth
    })
  }
  return wins
}

/** `values` where the cell won, else 0, in x's precision. */
const selected = (values: Data, x: Data, wins: readonly boolean[]): Data => {
  const out = x instanceof Float32Array ? new Float32Array(x.length) : new Float64Array(x.length)
  wins.forEach((w, i) => {
    out[i] = w ? values[i] : 0
  })
  return out
}

/** WTALayer's arguments: x, noise (a uniform draw in the layer; the kernel takes any values) and the attributes. */
const winnerArb = sized(
  axisView(sizeOrEmpty(4), size(20), innerSize).chain((v) =>
    fc.tuple(mostly(fc.constant(1), int(1, v.axis)), rarely).map(([k, exact]) => ({ ...v, k, exact })),
  ),
  axisView(int(40, 90), fc.constant(4), fc.constant(256)).map((v) => ({ ...v, k: 1, exact: false })),
)

// ---------------------------------------------------------------------------------------------
// tolerances
// ---------------------------------------------------------------------------------------------

/** Unit roundoff of float32, and its smallest subnormal. */
const U32 = 2 ** -24
const TINY32 = 2 ** -149

/**
 * Bounds on |wasm - cpu| for the input cotangent of a convolution. The reference adds each
 * tap's exact product to its input cell, rounding each sum to float32: it errs by at most
 * T u S (T the cell's taps, S the sum of their |products|). wasm first sums each (c, p, q, t)
 * entry of `w^T cot` over the og output channels in float32 (products rounded too: 2 og u),
 * then adds at most kh kw such entries into the cell (kh kw u). So the two differ by at most
 * (T + 2 og + kh kw) u S, plus 2^-149 per operation where results are subnormal; doubled.
 * (Images that could overflow, or hold NaN or an infinity, run the reference's loop: bits.)
 */
const convInputBounds = (cot: Data, weight: Data, a: ConvAttrs): Float64Array => {
  const sum = new Float64Array(a.n * a.c * a.h * a.w)
  const taps = new Float64Array(sum.length)
  forEachTap(a, (o, x, w) => {
    sum[x] += Math.abs(cot[o] * weight[w])
    taps[x]++
  })
  const extra = (2 * a.o) / a.groups + a.kh * a.kw
  return sum.map((s, i) => 2 * (taps[i] + extra + 2) * (U32 * s + TINY32))
}

/** F(4, 5)'s transforms (asm/winograd.ts), as |entries|: B^T (8 x 8), G (8 x 5), A^T (4 x 8). */
const WINOGRAD_B = [
  [4, 0, 21, 0, 21, 0, 4, 0],
  [0, 4, 4, 17, 17, 4, 4, 0],
  [0, 4, 4, 17, 17, 4, 4, 0],
  [0, 2, 1, 10, 5, 8, 4, 0],
  [0, 2, 1, 10, 5, 8, 4, 0],
  [0, 4, 8, 5, 10, 1, 2, 0],
  [0, 4, 8, 5, 10, 1, 2, 0],
  [0, 4, 0, 21, 0, 21, 0, 4],
]
const WINOGRAD_G = [
  [1 / 4, 0, 0, 0, 0],
  [1 / 18, 1 / 18, 1 / 18, 1 / 18, 1 / 18],
  [1 / 18, 1 / 18, 1 / 18, 1 / 18, 1 / 18],
  [1 / 360, 1 / 180, 1 / 90, 1 / 45, 2 / 45],
  [1 / 360, 1 / 180, 1 / 90, 1 / 45, 2 / 45],
  [16 / 45, 8 / 45, 4 / 45, 2 / 45, 1 / 45],
  [16 / 45, 8 / 45, 4 / 45, 2 / 45, 1 / 45],
  [0, 0, 0, 0, 1 / 4],
]
const WINOGRAD_A = [
  [1, 1, 1, 1, 1, 1, 1, 0],
  [0, 1, 1, 2, 2, 1 / 2, 1 / 2, 0],
  [0, 1, 1, 4, 4, 1 / 4, 1 / 4, 0],
  [0, 1, 1, 8, 8, 1 / 8, 1 / 8, 1],
]
/** Winograd's patch and tile sides. */
const PATCH = 8
const TILE = 4

/** |M| x |v| for a matrix and a vector given as a function of the index. */
const absTimes = (m: readonly (readonly number[])[], v: (k: number) => number): number[] =>
  m.map((row) => row.reduce((s, c, k) => s + c * Math.abs(v(k)), 0))

/**
 * Bounds on |wasm - cpu| where wasm runs Winograd's F(4x4, 5x5): dx = A^T [sum_o (G g_o G^T) .*
 * (B^T d_o B)] A per 4 x 4 tile, d the 8 x 8 patch of the zero-padded cotangent, g the flipped
 * kernel. Each path from an input to a result passes at most 8 roundings in the input transform,
 * 1 in the weights' (computed in float64), 1 product, og in the sum over output channels and 6
 * in the output transform, so both the result and the reference (whose own error is within the
 * dot product's bound) are within (og + 16) u S of the exact value, S the same expression on
 * absolute values: |A^T| [sum_o (|G| |g_o| |G|^T) .* (|B^T| |d_o| |B|)] |A|. Doubled, plus
 * 2^-149 per operation amplified by the transforms (2^19) where results are subnormal.
 */
const winogradInputBounds = (cot: Data, weight: Data, a: ConvAttrs): Float64Array => {
  const [oh, ow] = convOutputSize(a)
  const cg = a.c / a.groups
  const og = a.o / a.groups
  const top = 4 - a.ph
  const left = 4 - a.pw
  // |G| |g| |G|^T per (output channel, input channel of its group), g[p][q] = w[4 - p][4 - q]
  const u = Array.from({ length: a.o * cg }, (_, oc) => {
    const g = (p: number, q: number) => weight[oc * 25 + (4 - p) * 5 + 4 - q]
    const rows = Array.from({ length: 5 }, (_, q) => absTimes(WINOGRAD_G, (p) => g(p, q))) // [q][i]
    // [j][i]
    return WINOGRAD_G.map((gj) =>
      Array.from({ length: PATCH }, (_, i) => gj.reduce((s, c, q) => s + c * rows[q][i], 0)),
    )
  })
  const bound = new Float64Array(a.n * a.c * a.h * a.w)
  const slack = 2 * (og + 16) * 2 ** 19 * TINY32
  for (let img = 0; img < a.n; img++) {
    for (let g = 0; g < a.groups; g++) {
      for (let ty = 0; TILE * ty < a.h; ty++) {
        for (let tx = 0; TILE * tx < a.w; tx++) {
          // |B^T| |d_o| |B| for each output channel of the group: [o][j][i]
          const d = Array.from({ length: og }, (_, k) => {
            const plane = (img * a.o + g * og + k) * oh * ow
            const at = (y: number, x: number) => {
              const i = TILE * ty + y - top
              const j = TILE * tx + x - left
              return i >= 0 && i < oh && j >= 0 && j < ow ? cot[plane + i * ow + j] : 0
            }
            const rows = Array.from({ length: PATCH }, (_, y) => absTimes(WINOGRAD_B, (x) => at(y, x))) // [y][j]
            return Array.from({ length: PATCH }, (_, j) => absTimes(WINOGRAD_B, (y) => rows[y][j])) // [j][i]
          })
          for (let r = 0; r < cg; r++) {
            const m = Array.from({ length: PATCH }, (_, j) =>
              Array.from({ length: PATCH }, (_, i) =>
                d.reduce((s, dk, k) => s + dk[j][i] * u[(g * og + k) * cg + r][j][i], 0),
              ),
            )
            for (let oy = 0; oy < TILE && TILE * ty + oy < a.h; oy++) {
              for (let ox = 0; ox < TILE && TILE * tx + ox < a.w; ox++) {
                let sum = 0
                for (let i = 0; i < PATCH; i++) {
                  for (let j = 0; j < PATCH; j++) sum += WINOGRAD_A[oy][i] * WINOGRAD_A[ox][j] * m[j][i]
                }
                const cell = ((img * a.c + g * cg + r) * a.h + TILE * ty + oy) * a.w + TILE * tx + ox
                bound[cell] = 2 * (og + 16) * U32 * sum + slack
              }
            }
          }
        }
      }
    }
  }
  return bound
}

/** The input cotangent's bound: the dot product's, or the larger of it and Winograd's where wasm may run Winograd. */
const convInputGradBounds = (cot: Data, weight: Data, a: ConvAttrs): Comparison => {
  const dot = convInputBounds(cot, weight, a)
  const fiveByFive = a.kh === 5 && a.kw === 5 && a.ph <= 4 && a.pw <= 4
  if (!fiveByFive || a.sh !== 1 || a.sw !== 1 || a.dh !== 1 || a.dw !== 1) return { within: [dot] }
  const w = winogradInputBounds(cot, weight, a)
  return { within: [dot.map((b, i) => Math.max(b, w[i]!))] }
}

/**
 * Bounds on |wasm - cpu| for the weight cotangent of a convolution. The reference sums every
 * tap's exact product in float64 and rounds once; wasm sums blocks of at most L = min(oh ow,
 * 256) taps (one image's block of output positions) in float32, products rounded, then adds the
 * blocks in float64 and rounds once. The difference is at most (2 L + 2) u S (S the sum of the
 * |products|, the final roundings included), plus 2^-149 per float32 operation; doubled.
 */
const convWeightBounds = (cot: Data, x: Data, a: ConvAttrs): Comparison => {
  const [oh, ow] = convOutputSize(a)
  const sum = new Float64Array((a.o * a.c * a.kh * a.kw) / a.groups)
  const taps = new Float64Array(sum.length)
  forEachTap(a, (o, xi, w) => {
    sum[w] += Math.abs(cot[o] * x[xi])
    taps[w]++
  })
  const block = Math.min(oh * ow, 256)
  return { within: [sum.map((s, i) => 2 * ((2 * block + 2) * U32 * s + 2 * taps[i] * TINY32))] }
}

// ---------------------------------------------------------------------------------------------
// the table
// ---------------------------------------------------------------------------------------------

/** Every kernel's case. */
export const cases: { readonly [K in KernelName]: KernelCase<K> } = {
  // bits: the reference accumulates float32 in float32 from the bias, in order of the summed
  // index, as the 4x8 micro-kernel does, whichever layout its packers read (transposed operands
  // are read in place: half the runs have transA, half transB). m, n up to 9 and 21 cross the
  // tile edges; one run in four has k past 256 (the KC block), one in eight m past 256 (MC).
  // One A in three is mostly zeros (spikes): the sparse route of asm/sparseRows.ts, which must
  // give the same bits, and leave for the GEMM where B holds NaN or an infinity or a bias is -0.
  matmul: {
    args: fc.oneof(
      { weight: 4, arbitrary: fc.record({ m: sizeOrEmpty(9), k: int(0, 40), n: sizeOrEmpty(21) }) },
      { weight: 2, arbitrary: fc.record({ m: size(6), k: int(250, 600), n: size(12) }) },
      { weight: 1, arbitrary: fc.record({ m: int(250, 300), k: size(20), n: size(12) }) },
      // past the sparse route's block of 28 columns
      { weight: 1, arbitrary: fc.record({ m: size(12), k: int(1, 80), n: int(22, 70) }) },
    ).chain(({ m, k, n }) =>
      fc.tuple(
        fc.oneof({ weight: 2, arbitrary: f32(m * k) }, { weight: 1, arbitrary: f32(m * k, sparseValues) }),
        f32(k * n),
        mostly(f32(n), fc.constant(null)),
        fc.record({
          m: fc.constant(m),
          k: fc.constant(k),
          n: fc.constant(n),
          transA: fc.boolean(),
          transB: fc.boolean(),
        }),
      ),
    ),
  },

  // unported: the reference on both devices
  sumAlongAxis: {
    args: axisView(sizeOrEmpty(4), int(0, 40), innerSize).chain((v) =>
      fc.tuple(f32(v.outer * v.axis * v.inner), fc.constant(v)),
    ),
  },

  momentsAlongAxis: {
    args: sized(
      axisView(sizeOrEmpty(4), int(0, 40), innerSize),
      axisView(int(40, 90), fc.constant(4), fc.constant(256)),
      axisView(int(2, 4), int(20_000, 30_000), fc.constant(1)),
    ).chain((v) => fc.tuple(f32(v.outer * v.axis * v.inner), fc.constant(v))),
    // a strided axis (inner > 1) sums each lane in the reference's order; a contiguous one
    // (inner = 1) sums float32 blocks into float64 as the reference's blockedSum does: bits
    // either way (props/moments.prop.ts bounds the reference against float64 two-pass moments)
  },

  momentsPerChannel: {
    args: sized(
      fc.record({ outer: sizeOrEmpty(4), channels: size(8), inner: fc.oneof(innerSize, int(14, 40)) }),
      fc.record({ outer: fc.constant(2), channels: fc.constant(3), inner: int(20_000, 30_000) }),
    ).chain((v) => fc.tuple(f32(v.outer * v.channels * v.inner), fc.constant(v))),
    // each run of `inner` values summed by blockedSum (float32 blocks into float64), the runs
    // added in order, as the reference does: bits
  },

  normalizeAlongAxis: {
    args: sized(
      axisView(sizeOrEmpty(4), sizeOrEmpty(40), innerSize),
      axisView(int(40, 90), fc.constant(4), fc.constant(256)),
    ).chain((v) =>
      fc.tuple(
        f32(v.outer * v.axis * v.inner),
        f64(v.outer * v.inner, statValues),
        f64(v.outer * v.inner, varianceValues),
        f32(v.axis),
        f32(v.axis),
        fc.record({ outer: fc.constant(v.outer), axis: fc.constant(v.axis), inner: fc.constant(v.inner), eps: epsArb }),
      ),
    ),
  },

  // unported
  channelScaleShift: {
    args: fc.tuple(sizeOrEmpty(12), size(4), mostly(fc.constant(true), fc.constant(false))).chain(([c, steps, gains]) =>
      fc.tuple(
        f64(c, statValues),
        f64(c, varianceValues),
        f32(c),
        f32(c),
        gains ? f32(steps) : fc.constant(null),
        fc.record({ channels: fc.constant(c), steps: fc.constant(gains ? steps : 1), eps: epsArb }),
      ),
    ),
  },

  channelAffine: {
    args: sized(
      fc.record({ steps: size(4), block: int(0, 4), channels: size(6), inner: innerSize }),
      // one step, sliced by rows; three steps of blocks past one slice each, sliced by blocks
      fc.record({ steps: fc.constant(1), block: int(40, 90), channels: fc.constant(4), inner: fc.constant(256) }),
      fc.record({ steps: fc.constant(3), block: int(20, 30), channels: fc.constant(4), inner: fc.constant(256) }),
    ).chain(({ steps, block, channels, inner }) => {
      const outer = steps * block
      return fc.tuple(
        f32(outer * channels * inner),
        f64(steps * channels, statValues),
        f64(steps * channels, statValues),
        fc.constant({ outer, channels, inner, steps }),
      )
    }),
  },

  // unported
  runningStats: {
    args: sizeOrEmpty(12).chain((c) =>
      fc.tuple(
        f32(c),
        f32(c),
        f64(c, statValues),
        f64(c, varianceValues),
        fc.record({
          momentum: fc.oneof(fc.constant(0.1), fc.double({ min: 0, max: 1, noNaN: true })),
          count: int(0, 200),
        }),
      ),
    ),
  },

  pool2d: {
    args: poolGeometry.chain((g) =>
      fc.tuple(f32(g.planes * g.height * g.width), modeArb.map((mode) => ({ ...g, mode }))),
    ),
  },

  // unported
  maxPool2dBy: {
    args: poolGeometry.chain((g) => {
      const n = g.planes * g.height * g.width
      return fc.tuple(f32(n), f32(n), fc.constant(g))
    }),
  },

  upsampleNearest: {
    args: sized(
      fc.record({ planes: sizeOrEmpty(3), height: size(7), width: size(11), factor: mostly(fc.constant(2), size(3)) }),
      fc.record({ planes: int(40, 90), height: fc.constant(32), width: fc.constant(32), factor: fc.constant(2) }),
    ).chain((a) => fc.tuple(f32(a.planes * a.height * a.width), fc.constant(a))),
  },

  liPoolStep: {
    args: sized(
      fc.record({
        planes: sizeOrEmpty(3),
        // k = 2 max is the SIMD path
        km: fc.oneof(fc.constant([2, 'max'] as const), fc.tuple(size(4), modeArb)),
        oh: size(6),
        ow: size(6),
      }),
      fc.record({
        planes: int(40, 90),
        km: fc.tuple(fc.constantFrom(2, 4), modeArb),
        oh: fc.constant(0),
        ow: fc.constant(0),
      }),
    ).chain(({ planes, km: [k, mode], oh, ow }) => {
      // the large regime's images are 32 x 32
      const height = oh === 0 ? 32 : oh * k
      const width = ow === 0 ? 32 : ow * k
      const n = planes * height * width
      return fc.tuple(mostly(f32(n), fc.constant(null)), f32(n), fc.constant({ planes, height, width, k, mode }))
    }),
    // the step it fuses: axpy, pool2d, upsample, axpy, each rounded on its own
    oracle: ([sum, x, { planes, height, width, k, mode }]) => {
      const total = sum === null ? x : cpu.axpy(sum, x, { alpha: 1 })
      const window = { kernelH: k, kernelW: k, strideH: k, strideW: k, padH: 0, padW: 0 }
      const out = cpu.pool2d(total, { planes, height, width, window, mode })
      const up = cpu.upsampleNearest(out, { planes, height: height / k, width: width / k, factor: k })
      return [out, cpu.axpy(total, up, { alpha: -1 })]
    },
  },

  winnerTakeAll: {
    args: winnerArb.chain((a) => {
      const n = a.outer * a.axis * a.inner
      return fc.tuple(f32(n), mostly(f32(n, unitValues), f32(n)), fc.constant(a))
    }),
    // each column ranked by a full sort (NaN first), then selected as the doc says
    oracle: ([x, noise, a]) => {
      const wins = wtaWinners(x, noise, a)
      return [selected(x, x, wins)]
    },
  },

  groupMean: {
    args: sized(
      fc.record({ rows: sizeOrEmpty(5), length: int(0, 60), size: size(12) }),
      fc.record({ rows: int(40, 90), length: fc.constant(1024), size: fc.constant(10) }),
      // one row longer than a slice: one row per slice
      fc.record({ rows: fc.constant(3), length: int(60_000, 70_000), size: size(12) }),
    ).chain((a) => fc.tuple(f32(a.rows * a.length), fc.constant(a))),
  },

  mul: {
    args: lengthArb.chain((n) => fc.tuple(f32(n), f32(n))),
    elementwise: true,
  },

  axpy: {
    // alpha 1 (the tape's sums of cotangents) and -1 have float32 paths of their own in wasm
    args: lengthArb.chain((n) => fc.tuple(f32(n), f32(n), fc.record({ alpha: fc.oneof(scalar, fc.constantFrom(1, -1)) }))),
    elementwise: true,
  },

  // unported
  scale: {
    args: lengthArb.chain((n) => fc.tuple(f32(n), fc.record({ alpha: scalar }))),
    elementwise: true,
  },

  // unported (elementwise, cheap in JavaScript)
  relu: {
    args: lengthArb.chain((n) => fc.tuple(f32(n))),
    elementwise: true,
  },

  reluGrad: {
    args: lengthArb.chain((n) => fc.tuple(f32(n), f32(n))),
    elementwise: true,
  },

  // unported
  neuron: {
    args: lengthArb.chain((n) => fc.tuple(mostly(f32(n), fc.constant(null)), f32(n), neuronAttrs)),
    elementwise: true,
  },

  // the moments are wild too (a negative second moment: NaN through the square root)
  adam: {
    args: lengthArb.chain((n) =>
      adamAttrs.chain((a) =>
        fc.tuple(f32(n), f32(n), f32(n), f32(n), a.amsgrad ? f32(n) : fc.constant(null), fc.constant(a)))),
    elementwise: true,
  },

  uniform: {
    args: fc.tuple(
      fc.record({ length: sized(sizeOrEmpty(70), int(40_000, 120_000)), key: keyArb(), dtype: dtypeArb }),
    ),
  },

  // unported
  bernoulliMask: {
    args: fc.tuple(
      fc.record({
        length: sizeOrEmpty(70),
        key: keyArb(),
        dtype: dtypeArb,
        keep: fc.oneof(fc.constantFrom(0, 0.5, 1), fc.double({ min: 0, max: 1, noNaN: true })),
        value: scalar,
      }),
    ),
  },

  // unported
  fill: {
    args: fc.tuple(
      fc.record({
        length: sizeOrEmpty(70),
        value: fc.oneof(scalar, fc.constantFrom(Number.NaN, Infinity)),
        dtype: dtypeArb,
      }),
    ),
  },

  // unported
  concat: {
    args: fc.tuple(fc.array(sizeOrEmpty(20).chain((n) => f32(n)), { maxLength: 4 })),
  },

  // unported
  slice: {
    args: int(0, 40).chain((n) =>
      int(0, n).chain((offset) => fc.tuple(f32(n), int(0, n - offset).map((length) => ({ offset, length })))),
    ),
  },

  split: {
    args: fc.tuple(int(1, 6), int(0, 12)).chain(([count, part]) => fc.tuple(f32(count * part), fc.constant({ count }))),
  },

  // -------------------------------------------------------------------------------------------
  // backward kernels
  // -------------------------------------------------------------------------------------------

  broadcastAlongAxis: {
    args: sized(
      axisView(sizeOrEmpty(4), int(0, 12), innerSize),
      axisView(int(2, 4), int(30, 60), fc.constant(256)),
    ).chain((v) => fc.tuple(f32(v.outer * v.inner), fc.constant(v))),
  },

  // float64 lanes in the reference's operation order: bits, on strided (inner > 1) and
  // contiguous axes alike
  momentsAlongAxisGrad: {
    args: sized(
      axisView(sizeOrEmpty(4), int(0, 30), innerSize),
      axisView(int(40, 90), fc.constant(4), fc.constant(256)),
    ).chain((v) => {
      const stats = v.outer * v.inner
      return fc.tuple(
        mostly(f64(stats, statValues), fc.constant(null)),
        mostly(f64(stats, statValues), fc.constant(null)),
        f32(v.outer * v.axis * v.inner),
        f64(stats, statValues),
        fc.constant(v),
      )
    }),
  },

  momentsPerChannelGrad: {
    args: sized(
      fc.record({ outer: sizeOrEmpty(4), channels: size(8), inner: fc.oneof(innerSize, int(14, 40)) }),
      fc.record({ outer: int(8, 16), channels: fc.constant(4), inner: fc.constant(784) }),
    ).chain((v) =>
      fc.tuple(
        mostly(f64(v.channels, statValues), fc.constant(null)),
        mostly(f64(v.channels, statValues), fc.constant(null)),
        f32(v.outer * v.channels * v.inner),
        f64(v.channels, statValues),
        fc.constant(v),
      ),
    ),
  },

  // every sum in the reference's order (the per-position sums along the axis, the per-channel
  // sums over (outer, inner) in that order): bits
  normalizeAlongAxisGrad: {
    args: sized(
      axisView(sizeOrEmpty(4), sizeOrEmpty(40), innerSize),
      axisView(int(40, 90), fc.constant(4), fc.constant(256)),
      axisView(int(40, 90), fc.constant(300), fc.constant(1)),
    ).chain((v) =>
      fc.tuple(
        f32(v.outer * v.axis * v.inner),
        f32(v.outer * v.axis * v.inner),
        f64(v.outer * v.inner, statValues),
        f64(v.outer * v.inner, varianceValues),
        f32(v.axis),
        fc.record({ outer: fc.constant(v.outer), axis: fc.constant(v.axis), inner: fc.constant(v.inner), eps: epsArb }),
      ),
    ),
  },

  // unported: channels-sized
  channelScaleShiftGrad: {
    args: fc.tuple(sizeOrEmpty(12), size(4), mostly(fc.constant(true), fc.constant(false))).chain(([c, n, gains]) => {
      const t = gains ? n : 1
      return fc.tuple(
        f64(t * c, statValues),
        f64(t * c, statValues),
        f64(c, statValues),
        f64(c, varianceValues),
        f32(c),
        f32(c),
        gains ? f32(n) : fc.constant(null),
        fc.record({ channels: fc.constant(c), steps: fc.constant(t), eps: epsArb }),
      )
    }),
  },

  // dx in float64 lanes rounded once; each (row, channel)'s sums over inner in order: bits
  channelAffineGrad: {
    args: sized(
      fc.record({ steps: size(4), block: int(0, 4), channels: size(6), inner: fc.oneof(innerSize, int(14, 40)) }),
      fc.record({ steps: fc.constant(1), block: int(40, 90), channels: fc.constant(4), inner: fc.constant(256) }),
      fc.record({ steps: fc.constant(4), block: int(4, 8), channels: fc.constant(8), inner: fc.constant(196) }),
    ).chain(({ steps, block, channels, inner }) => {
      const outer = steps * block
      return fc.tuple(
        f32(outer * channels * inner),
        f32(outer * channels * inner),
        f64(steps * channels, statValues),
        fc.constant({ outer, channels, inner, steps }),
      )
    }),
  },

  // bits: the 2x2 stride-2 max path routes as the reference's loop does (first maximal cell in
  // row-major order, a later NaN taking it) and adds each cotangent to +0 as the reference's
  // zero-filled output does; every other window is the reference's loop, in its order (the 3x3
  // stride-1 windows overlap, so sums of several cotangents round as the reference's do)
  pool2dGrad: {
    args: poolGeometry.chain((g) =>
      fc.tuple(f32(pooledCells(g)), poolInput(g.planes * g.height * g.width), modeArb.map((mode) => ({ ...g, mode }))),
    ),
  },

  maxPool2dByGrad: {
    args: poolGeometry.chain((g) => {
      const n = g.planes * g.height * g.width
      return fc.tuple(f32(pooledCells(g)), poolInput(n), poolInput(n), fc.constant(g))
    }),
  },

  upsampleNearestGrad: {
    args: sized(
      fc.record({ planes: sizeOrEmpty(3), height: size(7), width: size(11), factor: mostly(fc.constant(2), size(3)) }),
      fc.record({ planes: int(40, 90), height: fc.constant(16), width: fc.constant(16), factor: fc.constant(2) }),
    ).chain((a) => fc.tuple(f32(a.planes * a.height * a.width * a.factor * a.factor), fc.constant(a))),
  },

  winnerTakeAllGrad: {
    args: winnerArb.chain((a) => {
      const n = a.outer * a.axis * a.inner
      return fc.tuple(f32(n), f32(n), mostly(f32(n, unitValues), f32(n)), fc.constant(a))
    }),
    // the output's cotangent where the doc's selection (a full sort) says the cell won
    oracle: ([cot, x, noise, a]) => {
      const wins = wtaWinners(x, noise, a)
      return [selected(cot, x, wins)]
    },
  },

  groupMeanGrad: {
    args: sized(
      fc.record({ rows: sizeOrEmpty(5), length: int(0, 60), size: size(12) }),
      fc.record({ rows: int(40, 90), length: fc.constant(1024), size: fc.constant(10) }),
    ).chain((a) => fc.tuple(f32(a.rows * Math.floor(a.length / a.size)), fc.constant(a))),
  },

  neuronGrad: {
    args: lengthArb.chain((n) =>
      fc.tuple(
        mostly(f32(n), fc.constant(null)),
        mostly(f32(n), fc.constant(null)),
        mostly(f32(n), fc.constant(null)),
        f32(n),
        neuronAttrs,
      ),
    ),
    elementwise: true,
  },

  // bits: the taps in the reference's order, padding's exact zeros aside (see asm/conv.ts)
  // spike-like inputs too, which the wasm kernel scatters (bits all the same)
  conv2d: {
    args: convGeometry.chain((a) =>
      fc.tuple(
        mostly(f32(a.n * a.c * a.h * a.w), f32(a.n * a.c * a.h * a.w, sparseValues)),
        f32((a.o * a.c * a.kh * a.kw) / a.groups),
        mostly(f32(a.o), fc.constant(null)),
        fc.constant(a),
      ),
    ),
  },

  // within convInputBounds (dcol = w^T cot, then col2im, or the forward on flipped weights:
  // sums in another order than the reference's), or Winograd's bound where it may run
  conv2dGradInput: {
    args: fc.oneof({ weight: 7, arbitrary: convGeometry }, { weight: 1, arbitrary: winogradGeometry }).chain((a) => {
      const [oh, ow] = convOutputSize(a)
      return fc.tuple(f32(a.n * a.o * oh * ow), f32((a.o * a.c * a.kh * a.kw) / a.groups), fc.constant(a))
    }),
    compare: ([cot, weight, a]) => convInputGradBounds(cot, weight, a),
  },

  // within convWeightBounds: float32 blocks of at most 256 positions, added in float64
  conv2dGradWeight: {
    args: convGeometry.chain((a) => {
      const [oh, ow] = convOutputSize(a)
      const x = a.n * a.c * a.h * a.w
      return fc.tuple(f32(a.n * a.o * oh * ow), mostly(f32(x), f32(x, sparseValues)), fc.constant(a))
    }),
    compare: ([cot, x, a]) => convWeightBounds(cot, x, a),
  },

  // unported: a few hundred logits, exp and log per logit
  crossEntropy: {
    args: crossEntropyAttrs.chain((a) => fc.tuple(f32(a.n * a.c, between(-20, 20)), classesOf(a), fc.constant(a))),
  },

  // unported
  crossEntropyGrad: {
    args: crossEntropyAttrs.chain((a) =>
      fc.tuple(f32(1, between(-2, 2)), f32(a.n * a.c, between(-20, 20)), classesOf(a), fc.constant(a)),
    ),
  },
}
