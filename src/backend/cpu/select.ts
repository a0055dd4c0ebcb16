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
 * WTALayer's selection. The score `x * noise` goes into `out` first (rounded to its
 * precision, as PyTorch's `x * rand` is), then each column's k-th largest score (in the same
 * precision), then each cell becomes x where it wins, else 0. Exact mode: every channel strictly
 * above the threshold wins (fewer than k of them), the remaining places go to the channels tied
 * at the threshold, lowest index first.
 */
export const winnerTakeAll = (out: Data, x: Data, noise: Data, { outer, axis, inner, k, exact }: WinnerAttrs): void => {
  for (let i = 0; i < out.length; i++) out[i] = x[i] * noise[i]
  const kth = alloc(outer * inner, hostDtype(out))
  kthLargestAlongAxis(kth, out, outer, axis, inner, k)
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const threshold = kth[o * inner + i]
      let tiesLeft = k
      if (exact) {
        for (let c = 0; c < axis; c++) if (out[(o * axis + c) * inner + i] > threshold) tiesLeft--
      }
      for (let c = 0; c < axis; c++) {
        const at = (o * axis + c) * inner + i
        const s = out[at]
        let wins = s >= threshold
        if (exact && s === threshold) wins = tiesLeft-- > 0
        out[at] = wins ? x[at] : 0
      }
    }
  }
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
