import type { Data } from '../../tensor/tensor.js'
import type { AxisView, MatmulAttrs } from '../../kernel/kernels.js'

/**
 * Reference matmul, row by row: each output row accumulates in an array of the output's
 * precision, so float32 sums round after every addition, exactly as the WebAssembly kernel (and
 * BLAS's sgemm) does, in order of the summed index, starting from the bias. Transposed operands
 * are read in place.
 */
export const matmul = (out: Data, a: Data, b: Data, bias: Data | null, attrs: MatmulAttrs): void => {
  const { m, k, n } = attrs
  const transA = attrs.transA === true
  const transB = attrs.transB === true
  const f32 = out instanceof Float32Array
  const acc = f32 ? new Float32Array(n) : new Float64Array(n)
  const round = f32 ? Math.fround : (v: number) => v
  for (let i = 0; i < m; i++) {
    if (bias) for (let j = 0; j < n; j++) acc[j] = bias[j]
    else acc.fill(0)
    if (transB) {
      // b is [n, k]: each output is a dot product of two contiguous rows
      for (let j = 0; j < n; j++) {
        let s = acc[j]
        const bRow = j * k
        for (let p = 0; p < k; p++) s = round(s + round((transA ? a[p * m + i] : a[i * k + p]) * b[bRow + p]))
        acc[j] = s
      }
    } else {
      for (let p = 0; p < k; p++) {
        const aip = transA ? a[p * m + i] : a[i * k + p]
        const bRow = p * n
        for (let j = 0; j < n; j++) acc[j] += round(aip * b[bRow + j])
      }
    }
    out.set(acc, i * n)
  }
}

/** Sums along the middle axis of [outer, axis, inner], in float64 and in order, rounded once. */
export const sumAlongAxis = (out: Data, x: Data, { outer, axis, inner }: AxisView): void => {
  for (let o = 0; o < outer; o++) {
    const base = o * axis * inner
    for (let i = 0; i < inner; i++) {
      let s = 0
      for (let c = 0; c < axis; c++) s += x[base + c * inner + i]
      out[o * inner + i] = s
    }
  }
}

/** x `[outer, inner]` repeated along a middle axis: `out[o, c, i] = x[o, i]`. */
export const broadcastAlongAxis = (out: Data, x: Data, { outer, axis, inner }: AxisView): void => {
  for (let o = 0; o < outer; o++) {
    for (let c = 0; c < axis; c++) out.set(x.subarray(o * inner, (o + 1) * inner), (o * axis + c) * inner)
  }
}
