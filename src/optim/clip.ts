/**
 * Gradient clipping by the global norm, as `torch.nn.utils.clip_grad_norm_`.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { layerFailure, type LayerError } from '../errors.js'
import { isTensor } from '../kernel/tree.js'
import { expectTree, guardAllocation } from '../layer/check.js'
import type { Data } from '../tensor/tensor.js'
import { dtypeOf, flatData, wrap } from '../tensor/tensor.js'
import { brief, forEachLeaf, mapWithPath } from './tree.js'

const name = 'clipByGlobalNorm'

/** What {@link clipByGlobalNorm} returns. */
export interface Clipped<G> {
  /** The gradients, scaled where the norm was over `maxNorm` (else the tree given, unchanged). */
  readonly grads: G
  /** The global 2-norm of the gradients before clipping (PyTorch's return value). */
  readonly norm: number
}

/**
 * Clips a gradient tree by its global norm, `torch.nn.utils.clip_grad_norm_(max_norm, 2)`: the
 * total norm is the 2-norm over every element of every tensor leaf (`null` and number leaves
 * are skipped and come back as they are); with `c = maxNorm / (norm + 1e-6)`, every gradient is
 * multiplied by `c` when `c < 1`. Otherwise the same tree comes back, untouched.
 *
 * Differences from PyTorch: the norm is accumulated in float64 (PyTorch sums each tensor's
 * squares in its dtype), so it can differ from PyTorch's in the last float32 digits; nothing is
 * modified in place. As PyTorch without `error_if_nonfinite`, an infinite norm scales the
 * gradients by 0 and a NaN norm makes them NaN.
 *
 * Rejects (as `LayerError`): `maxNorm` not a finite number >= 0, a tree that is not one (a
 * cycle, a getter that throws, a function or a class instance as a leaf), a leaf that looks
 * like a tensor but is not a valid one.
 *
 * @example
 * import { clipByGlobalNorm, orThrow, tensor, toNested } from 'braincog-fn'
 * const grads = { w: tensor([3, 0], [2]), b: tensor([4], [1]), mask: null }
 * const r = orThrow(clipByGlobalNorm(grads, 1))
 * r.norm // 5
 * toNested(r.grads.w) // [0.6, 0]
 * toNested(r.grads.b) // [0.8]
 * orThrow(clipByGlobalNorm(grads, 10)).grads === grads // true: under the limit, unchanged
 */
export const clipByGlobalNorm = <G>(grads: G, maxNorm: number): E.Either<LayerError, Clipped<G>> => {
  if (typeof maxNorm !== 'number' || !Number.isFinite(maxNorm) || maxNorm < 0) {
    return layerFailure(name, 'maxNorm', 'a finite number >= 0', brief(maxNorm))
  }
  // the tree read once (cycles and getters that throw are errors; clones of tensors revived)
  const tree = expectTree(name, 'grads', grads)
  if (E.isLeft(tree)) return tree
  const checked = tree.right
  let sum = 0
  forEachLeaf(checked, (v) => {
    if (!isTensor(v)) return
    const d = flatData(v)
    for (let i = 0; i < d.length; i++) sum += d[i] * d[i]
  })
  const norm = Math.sqrt(sum)
  const coef = maxNorm / (norm + 1e-6)
  if (coef >= 1) return E.right({ grads, norm })
  return guardAllocation(name, 'grads', () => {
    const scaled = mapWithPath(checked, (v) => {
      if (!isTensor(v)) return v
      const src = flatData(v)
      const f32 = dtypeOf(v) === 'float32'
      const out: Data = f32 ? new Float32Array(src.length) : new Float64Array(src.length)
      const c = f32 ? Math.fround(coef) : coef
      for (let i = 0; i < src.length; i++) out[i] = src[i] * c
      return wrap(out, v.shape.slice())
    })
    return E.right({ grads: scaled as G, norm })
  })
}
