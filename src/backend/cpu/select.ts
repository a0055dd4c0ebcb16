import type { Data } from '../../tensor/tensor.js'
import { alloc } from '../../tensor/tensor.js'
import type { WinnerAttrs } from '../../kernel/kernels.js'
import { hostDtype } from '../../kernel/host.js'

/** NaN sorts above every number, as in PyTorch's `topk`/`max`. */
const descending = (a: number, b: number): number => (a !== a ? (b !== b ? 0 : -1) : b !== b ? 1 : b - a)

/** The k-th largest value along the middle axis of [outer, axis, inner] (k = 1: the max, NaN propagating). */
const kthLargestAlongAxis = (out: Data, x: Data, outer: number, axis: number, inner: number, k: number): void => {
  const column = new Float64Array(axis)
  for (let o = 0; o < outer; o++) {
    const base = o * axis * inner
    for (let i = 0; i < inner; i++) {
      if (k === 1) {
        let best = -Infinity
        for (let c = 0; c < axis; c++) {
          const v = x[base + c * inner + i]
          if (v > best || v !== v) best = v
          if (best !== best) break
        }
        out[o * inner + i] = best
        continue
      }
      for (let c = 0; c < axis; c++) column[c] = x[base + c * inner + i]
      column.sort(descending)
      out[o * inner + i] = column[k - 1]
    }
  }
}

/**
 * WTALayer's winners: calls `visit(at, wins)` for every cell. The score `x * noise` is rounded
 * to `scores`' precision (as PyTorch's `x * rand` is), then compared with its column's k-th
 * largest score (in the same precision). Exact mode: every channel strictly above the threshold
 * wins (fewer than k of them), the remaining places go to the channels tied at the threshold,
 * lowest index first. `scores` is scratch of x's length.
 */
const winners = (
  scores: Data,
  x: Data,
  noise: Data,
  { outer, axis, inner, k, exact }: WinnerAttrs,
  visit: (at: number, wins: boolean) => void,
): void => {
  for (let i = 0; i < scores.length; i++) scores[i] = x[i] * noise[i]
  const kth = alloc(outer * inner, hostDtype(scores))
  kthLargestAlongAxis(kth, scores, outer, axis, inner, k)
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const threshold = kth[o * inner + i]
      let tiesLeft = k
      if (exact) {
        for (let c = 0; c < axis; c++) if (scores[(o * axis + c) * inner + i] > threshold) tiesLeft--
      }
      for (let c = 0; c < axis; c++) {
        const at = (o * axis + c) * inner + i
        const s = scores[at]
        let wins = s >= threshold
        if (exact && s === threshold) wins = tiesLeft-- > 0
        visit(at, wins)
      }
    }
  }
}

/** WTALayer's selection: x where the cell wins, else 0 (the scores are kept in `out` until each cell is decided). */
export const winnerTakeAll = (out: Data, x: Data, noise: Data, attrs: WinnerAttrs): void =>
  winners(out, x, noise, attrs, (at, wins) => {
    out[at] = wins ? x[at] : 0
  })

/** The cotangent of x through `winnerTakeAll`: the output's cotangent where the cell won, else 0. */
export const winnerTakeAllGrad = (out: Data, cot: Data, x: Data, noise: Data, attrs: WinnerAttrs): void => {
  const scores = alloc(x.length, hostDtype(out))
  winners(scores, x, noise, attrs, (at, wins) => {
    out[at] = wins ? cot[at] : 0
  })
}

/** Means of consecutive groups of `size` along rows of length `length`; a remainder is dropped. */
export const groupMean = (
  out: Data,
  x: Data,
  { rows, length, size }: { readonly rows: number; readonly length: number; readonly size: number },
): void => {
  const groups = Math.floor(length / size)
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < groups; g++) {
      const base = r * length + g * size
      let sum = 0
      for (let j = 0; j < size; j++) sum += x[base + j]
      out[r * groups + g] = sum / size
    }
  }
}

/** The cotangent of x through `groupMean`: `cot / size` to each member of a group, 0 to the remainder. */
export const groupMeanGrad = (
  out: Data,
  cot: Data,
  { rows, length, size }: { readonly rows: number; readonly length: number; readonly size: number },
): void => {
  const groups = Math.floor(length / size)
  out.fill(0)
  for (let r = 0; r < rows; r++) {
    for (let g = 0; g < groups; g++) {
      const share = cot[r * groups + g] / size
      const base = r * length + g * size
      for (let j = 0; j < size; j++) out[base + j] = share
    }
  }
}
