/**
 * How the threaded rows (matmul, conv2d and its two gradients, mul) cut a call into parts for the
 * threads of threads.ts. Every cut is of the output only: each output element is computed whole
 * by one part, summed in the same order as in the single-threaded call, so the bits do not
 * depend on the number of threads (props/threads.prop.ts checks 1, 2 and 3).
 *
 * - matmul: by columns (in whole micro-tiles of NR) or by rows (MR): whichever operand is
 *   packed again by every part is the smaller one (columns repack A, m x k; rows repack B, k x n).
 * - conv2d: by (image, group, block of output positions); conv2dGradInput: by (image, group)
 *   (an input cell sums the taps of every position and channel of its image and group);
 *   conv2dGradWeight: by weight columns (c, p, q) in whole NR tiles, else by output-channel rows
 *   (a weight sums every image, so images cannot be cut).
 *
 * - mul (bandwidth-bound), neuron and neuronGrad (a surrogate per element): by ranges of
 *   elements, each part at least {@link minPartElements} or {@link minNeuronPartElements}.
 * - pool2d and pool2dGrad (bandwidth-bound, each plane alone): by ranges of whole planes, each
 *   part at least {@link minPartElements} elements.
 *
 * A call is cut only where each part gets at least {@link minPartWork} multiply-adds (or
 * elements), so small calls run on the calling thread through the whole-call export, exactly as
 * without threads.
 *
 * @module
 */
import type { ConvAttrs } from '../../kernel/kernels.js'
import type { KernelExports } from './exports.js'
import type { PartExport } from './threads.js'

/**
 * Multiply-adds per part at least: 2^19, about 1 MFLOP, some 20 microseconds of one core,
 * against the few microseconds it takes to wake a worker.
 */
export const minPartWork = 1 << 19

/** The micro-tile of asm/gemm.ts: rows (MR) and columns (NR). */
const MR = 4
const NR = 8
/** Output positions per block of asm/conv.ts's forward. */
const NC_POS = 256

/** A call cut into parts. */
export interface Split {
  readonly name: PartExport
  /** Each part's leading arguments (a range or a rectangle of the output). */
  readonly parts: readonly (readonly number[])[]
  /** Threads that take part (at most one per part). */
  readonly threads: number
  /** Scratch bytes per thread (a multiple of 64, so threads never share a cache line). */
  readonly stride: number
}

/** [from, to) of `count` parts of `total` items, as even as whole items allow. */
const even = (total: number, count: number): readonly (readonly [number, number])[] =>
  Array.from({ length: count }, (_, i) => [Math.floor((i * total) / count), Math.floor(((i + 1) * total) / count)])

const align64 = (bytes: number): number => Math.ceil(bytes / 64) * 64

/** Parts a call of `work` multiply-adds over `items` cuttable items may have on `k`'s threads (1: do not cut). */
const partsFor = (k: KernelExports, work: number, items: number): number =>
  Math.min(k.threads?.size ?? 1, items, Math.floor(work / minPartWork))

const splitOf = (name: PartExport, parts: Split['parts'], stride: number): Split => ({
  name,
  parts,
  threads: parts.length,
  stride: align64(stride),
})

/**
 * Rectangles of an `m x n` output: columns in tiles of NR or rows in tiles of MR, as
 * `[r0, r1, c0, c1]`; `cheaperColumns` says which to prefer when both give as many parts.
 */
const rectangles = (
  k: KernelExports, work: number, m: number, n: number, cheaperColumns: boolean,
): readonly (readonly number[])[] | undefined => {
  const rowTiles = Math.ceil(m / MR)
  const colTiles = Math.ceil(n / NR)
  const byRows = partsFor(k, work, rowTiles)
  const byCols = partsFor(k, work, colTiles)
  if (Math.max(byRows, byCols) < 2) return undefined
  return byCols > byRows || (byCols === byRows && cheaperColumns)
    ? even(colTiles, byCols).map(([a, b]) => [0, m, a * NR, Math.min(b * NR, n)])
    : even(rowTiles, byRows).map(([a, b]) => [a * MR, Math.min(b * MR, m), 0, n])
}

/** matmul's parts, or `undefined` to run it whole. */
export const matmulSplit = (
  k: KernelExports, { m, k: kk, n }: { readonly m: number; readonly k: number; readonly n: number },
): Split | undefined => {
  const parts = rectangles(k, m * n * kk, m, n, m <= n)
  if (parts === undefined) return undefined
  const stride = Math.max(...parts.map(([r0, r1, c0, c1]) => k.matmulScratchBytes(r1 - r0, kk, c1 - c0)))
  return splitOf('matmulPart', parts, stride)
}

/** Output positions and the summed taps of one output of a convolution. */
const convSizes = (a: ConvAttrs) => {
  const oh = Math.floor((a.h + 2 * a.ph - a.dh * (a.kh - 1) - 1) / a.sh) + 1
  const ow = Math.floor((a.w + 2 * a.pw - a.dw * (a.kw - 1) - 1) / a.sw) + 1
  return { positions: oh * ow, taps: (a.c / a.groups) * a.kh * a.kw }
}

/** A convolution's geometry, in the order the conv exports take it. */
export const convGeometry = (a: ConvAttrs) =>
  [a.n, a.c, a.h, a.w, a.o, a.kh, a.kw, a.sh, a.sw, a.ph, a.pw, a.dh, a.dw, a.groups] as const

/** Whole ranges of `items` for `kind` (0 forward, 1 input gradient), or `undefined`. */
const itemSplit = (k: KernelExports, a: ConvAttrs, kind: 0 | 1, items: number): Split | undefined => {
  const { positions, taps } = convSizes(a)
  const count = partsFor(k, a.n * a.o * positions * taps, items)
  if (count < 2) return undefined
  const parts = even(items, count).map(([from, to]) => [from, to])
  return splitOf(kind === 0 ? 'conv2dPart' : 'conv2dGradInputPart', parts, k.conv2dScratchBytes(kind, ...convGeometry(a)))
}

/** conv2d's parts: ranges of (image, group, block of NC_POS positions). */
export const conv2dSplit = (k: KernelExports, a: ConvAttrs): Split | undefined =>
  itemSplit(k, a, 0, a.n * a.groups * Math.ceil(convSizes(a).positions / NC_POS))

/** conv2dGradInput's parts: ranges of (image, group). */
export const conv2dGradInputSplit = (k: KernelExports, a: ConvAttrs): Split | undefined =>
  itemSplit(k, a, 1, a.n * a.groups)

/** conv2dGradWeight's parts: rectangles of (output channel within a group) x (c, p, q). */
export const conv2dGradWeightSplit = (k: KernelExports, a: ConvAttrs): Split | undefined => {
  const { positions, taps } = convSizes(a)
  // rows would repeat the im2col of every image for each part; columns only the cotangent's packing
  const parts = rectangles(k, a.n * a.o * positions * taps, a.o / a.groups, taps, true)
  if (parts === undefined) return undefined
  return splitOf('conv2dGradWeightPart', parts, k.conv2dScratchBytes(2, ...convGeometry(a)))
}

/**
 * Elements per part at least for the bandwidth-bound elementwise rows (mul): 2^18, a MiB of each
 * operand, some 50 microseconds of one core. One core cannot draw all of the memory's
 * bandwidth: on the development machine two threads take W7's product of 2M floats from about
 * 440 to 250 microseconds. Below this the operands sit in the caches, and waking a worker would
 * cost more than it saves.
 */
export const minPartElements = 1 << 18

/**
 * Elements per part at least for the neuron rows: 2^16, some 50 (forward) to 150 (gradient)
 * microseconds of one core, whose divisions and surrogate make them slower per element than
 * mul. The demo's second LIF layer, 400K elements a step, is cut in two; on the development
 * machine two threads take a neuronGrad of 800K elements from about 1.7-2.1 to 1.3 ms.
 */
export const minNeuronPartElements = 1 << 16

/** The elementwise `…Part` exports. */
export type ElementwisePart = 'mulPart' | 'neuronPart' | 'neuronGradPart'

/**
 * An elementwise call's parts: ranges of its `length` elements in whole vectors of 8, each at
 * least `least` elements (mul's {@link minPartElements} by default), or `undefined`.
 */
export const elementwiseSplit = (
  k: KernelExports,
  name: ElementwisePart,
  length: number,
  least = minPartElements,
): Split | undefined => {
  const count = Math.min(k.threads?.size ?? 1, Math.floor(length / least))
  if (count < 2) return undefined
  const vectors = Math.ceil(length / 8)
  const parts = even(vectors, count).map(([from, to]) => [from * 8, Math.min(to * 8, length)])
  return splitOf(name, parts, 0)
}

/** The plane-wise `…Part` exports (pooling). */
export type PlanePart = 'pool2dPart' | 'pool2dGradPart'

/**
 * A call over `planes` independent planes of `cells` elements each (the larger side's): ranges
 * of whole planes, each at least {@link minPartElements} elements (bandwidth-bound, as mul), or
 * `undefined`.
 */
export const planeSplit = (k: KernelExports, name: PlanePart, planes: number, cells: number): Split | undefined => {
  const count = Math.min(k.threads?.size ?? 1, planes, Math.floor((planes * cells) / minPartElements))
  if (count < 2) return undefined
  return splitOf(name, even(planes, count), 0)
}

/** Scratch bytes of a split call: a slice per thread. */
export const splitScratch = (s: Split): number => s.threads * s.stride

/** Runs a split call on `k`'s threads, the pool given the call's `args` after each part's own. */
export const runSplit = (k: KernelExports, s: Split, scratch: number, args: readonly number[]): void =>
  k.threads?.run(s.name, args, s.parts, scratch, s.stride, s.threads)
