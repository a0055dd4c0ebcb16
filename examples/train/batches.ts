/** What the training demos share: batches of digits in a seeded order, and the predicted class. */
import { flatData, type Key, type Tensor, tensor, uniform, wrap } from '../../src/index.js'
import { type Digits, PIXELS } from '../digits/data.js'

/** Digits `order[from .. from + count)` as images `[count, 1, 28, 28]` and labels `[count]`. */
export const batchOf = (digits: Digits, order: readonly number[], from: number, count: number): { x: Tensor; y: Tensor } => {
  const src = flatData(digits.images)
  const x = new Float32Array(count * PIXELS)
  const y: number[] = []
  for (let i = 0; i < count; i++) {
    const n = order[from + i]
    x.set(src.subarray(n * PIXELS, (n + 1) * PIXELS), i * PIXELS)
    y.push(digits.labels[n])
  }
  return { x: wrap(x, [count, 1, 28, 28]), y: tensor(y, [count]) }
}

/** A permutation of `[0, n)` drawn from `k`. */
export const permutation = (n: number, k: Key): number[] => {
  const order = Array.from({ length: n }, (_, i) => i)
  const u = uniform(k, n, 'float64')
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u[i] * (i + 1))
    ;[order[i], order[j]] = [order[j], order[i]]
  }
  return order
}

/** The index of the largest of `c` scores in each row. */
export const argmax = (scores: Tensor, c: number): number[] => {
  const d = flatData(scores)
  const out: number[] = []
  for (let r = 0; r < d.length / c; r++) {
    let best = 0
    for (let k = 1; k < c; k++) if (d[r * c + k] > d[r * c + best]) best = k
    out.push(best)
  }
  return out
}
