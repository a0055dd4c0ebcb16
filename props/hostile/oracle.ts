/**
 * What the rows check answers against, computed without the library's helpers: a tensor's
 * elements by `get` over its indices, shapes as plain arrays, and whether a value is a live
 * tensor whose every element lies in its data.
 */
import type { NdArray } from 'ndarray'
import type { Data, Shape } from '../../src/index.js'

/** The elements of a live tensor in row-major order, read with `get`. */
export const elementsOf = (t: NdArray<Data>): number[] => {
  const shape = t.shape
  const n = shape.reduce((a, b) => a * b, 1)
  const out: number[] = []
  if (n === 0) return out
  const index = new Array<number>(shape.length).fill(0)
  for (let k = 0; k < n; k++) {
    out.push(shape.length === 0 ? (t.data[t.offset] as number) : (t.get(...index) as number))
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++index[a] < shape[a]) break
      index[a] = 0
    }
  }
  return out
}

/** True when both lists hold the same numbers (NaN equals NaN, -0 differs from 0). */
export const sameNumbers = (a: ArrayLike<number>, b: ArrayLike<number>): boolean =>
  a.length === b.length && Array.from(a).every((x, i) => Object.is(x, b[i]))

/** The shape as a plain array. */
export const dims = (s: Shape): number[] => Array.from(s)

/** True for two equal shapes. */
export const sameShape = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((d, i) => d === b[i])

/** What is wrong with `v` as a live tensor of `shape` (and `dtype`), or undefined. */
export const tensorProblem = (v: unknown, shape?: Shape, dtype?: 'float32' | 'float64'): string | undefined => {
  if (typeof v !== 'object' || v === null) return `not a tensor: ${String(v)}`
  const t = v as NdArray<Data>
  if (typeof (t as unknown as { pick?: unknown }).pick !== 'function') return 'not a live ndarray'
  if (!(t.data instanceof Float32Array || t.data instanceof Float64Array)) return 'not float data'
  if (dtype !== undefined && (t.data instanceof Float64Array ? 'float64' : 'float32') !== dtype) return `not ${dtype}`
  if (shape !== undefined && !sameShape(t.shape, shape)) return `shape [${t.shape.join(', ')}], not [${shape.join(', ')}]`
  const n = t.shape.reduce((a, b) => a * b, 1)
  if (n > 0) {
    let lo = t.offset
    let hi = t.offset
    t.shape.forEach((d, i) => {
      const r = (d - 1) * t.stride[i]
      if (r < 0) lo += r
      else hi += r
    })
    if (lo < 0 || hi >= t.data.length) return 'a view past its data'
  }
  return undefined
}

/** The dtype of a live tensor. */
export const dtypeOfTensor = (t: NdArray<Data>): 'float32' | 'float64' => (t.data instanceof Float64Array ? 'float64' : 'float32')

/** The storage objects a tree holds (to check that results never alias arguments). */
export const storages = (tree: unknown, out = new Set<unknown>(), depth = 0): Set<unknown> => {
  if (depth > 6 || typeof tree !== 'object' || tree === null) return out
  if (ArrayBuffer.isView(tree)) {
    out.add((tree as ArrayBufferView).buffer)
    return out
  }
  for (const v of Object.values(tree)) storages(v, out, depth + 1)
  return out
}
