import type { Data } from '../../tensor/tensor.js'
import { mul } from './elementwise.js'

/** NaN sorts above every number, as in PyTorch's `topk`/`max`. */
const descending = (a: number, b: number): number => (a !== a ? (b !== b ? 0 : -1) : b !== b ? 1 : b - a)

/** The k-th largest value along the middle axis of [outer, axis, inner]. */
export const kthLargestAlongAxis = (
  out: Data,
  x: Data,
  outer: number,
  axis: number,
  inner: number,
  k: number,
): void => {
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

/** Means of consecutive groups of `size` along rows of length `length`; a remainder is dropped. */
export const groupMean = (out: Data, x: Data, rows: number, length: number, size: number): void => {
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

/**
 * WTALayer's k = 1 selection: the score `x * noise` goes into `out` first (rounded to out's
 * precision, as the layer's score array was), then each column's max (NaN propagating), then
 * each cell becomes x where its score reaches the max, else 0.
 */
export const keepMaxAlongAxis = (
  out: Data,
  x: Data,
  noise: Data,
  outer: number,
  axis: number,
  inner: number,
): void => {
  mul(out, x, noise)
  const best = new Float64Array(outer * inner)
  kthLargestAlongAxis(best, out, outer, axis, inner, 1)
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < axis; c++) {
      const base = (o * axis + c) * inner
      for (let i = 0; i < inner; i++) out[base + i] = out[base + i] >= best[o * inner + i] ? x[base + i] : 0
    }
  }
}
