import type { Data } from '../../tensor/tensor.js'

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
