import type { Data } from '../../tensor/tensor.js'

/**
 * Reference matmul: row by row, accumulating each output row in float64 (i-k-j order, so the
 * inner loop walks `b` and the accumulator contiguously).
 */
export const matmul = (out: Data, a: Data, b: Data, m: number, k: number, n: number, bias?: Data): void => {
  const acc = new Float64Array(n)
  for (let i = 0; i < m; i++) {
    if (bias) for (let j = 0; j < n; j++) acc[j] = bias[j]
    else acc.fill(0)
    const aRow = i * k
    for (let p = 0; p < k; p++) {
      const aip = a[aRow + p]
      const bRow = p * n
      for (let j = 0; j < n; j++) acc[j] += aip * b[bRow + j]
    }
    out.set(acc, i * n)
  }
}
