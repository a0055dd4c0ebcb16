import type { Data } from '../../tensor/tensor.js'
import type { CrossEntropyAttrs } from '../../kernel/kernels.js'

/** Row `r`'s log-sum-exp, stable (the max subtracted first), in float64. */
const logSumExp = (x: Data, r: number, c: number): number => {
  let max = -Infinity
  for (let k = 0; k < c; k++) max = Math.max(max, x[r * c + k])
  let s = 0
  for (let k = 0; k < c; k++) s += Math.exp(x[r * c + k] - max)
  return max + Math.log(s)
}

/** Mean cross-entropy against class indices, with label smoothing. */
export const crossEntropy = (out: Data, logits: Data, target: Data, { n, c, smoothing }: CrossEntropyAttrs): void => {
  let total = 0
  for (let r = 0; r < n; r++) {
    const lse = logSumExp(logits, r, c)
    const y = target[r]
    let all = 0
    for (let k = 0; k < c; k++) all += lse - logits[r * c + k]
    total += (1 - smoothing) * (lse - logits[r * c + y]) + (smoothing / c) * all
  }
  out[0] = total / n
}

/** `cot * (softmax(x) - q) / n` with q the smoothed one-hot target. */
export const crossEntropyGrad = (
  out: Data,
  cot: Data,
  logits: Data,
  target: Data,
  { n, c, smoothing }: CrossEntropyAttrs,
): void => {
  const g = cot[0] / n
  for (let r = 0; r < n; r++) {
    const lse = logSumExp(logits, r, c)
    const y = target[r]
    for (let k = 0; k < c; k++) {
      const q = (k === y ? 1 - smoothing : 0) + smoothing / c
      out[r * c + k] = g * (Math.exp(logits[r * c + k] - lse) - q)
    }
  }
}
