import fc from 'fast-check'
import ndarray from 'ndarray'
import type { Tensor } from '../tensor/tensor.js'
import { alloc, copy, dtypeOf } from '../tensor/tensor.js'
import { orRange, readTensor } from '../tensor/view.js'
import { checkDrawnShape } from './check.js'

/** How a strided view is laid out in its storage. */
interface Layout {
  /** Storage order of the logical axes (a permutation). */
  readonly order: readonly number[]
  /** Gap factor per storage axis (1 = packed). */
  readonly gaps: readonly number[]
  /** Which logical axes are stored reversed (read with a negative stride). */
  readonly reversed: readonly boolean[]
  /** Unused elements before the view. */
  readonly offset: number
}

const layoutArb = (rank: number): fc.Arbitrary<Layout> =>
  fc.record({
    order: fc.shuffledSubarray(
      Array.from({ length: rank }, (_, i) => i),
      { minLength: rank, maxLength: rank },
    ),
    gaps: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: rank, maxLength: rank }),
    reversed: fc.array(fc.boolean(), { minLength: rank, maxLength: rank }),
    offset: fc.integer({ min: 0, max: 7 }),
  })

/** Lays the elements of `t` out as `layout` says; unused storage holds NaN so stray reads show. */
const materialize = (t: Tensor, layout: Layout): Tensor => {
  const rank = t.shape.length
  const stride = new Array<number>(rank).fill(0)
  let running = 1
  for (let j = rank - 1; j >= 0; j--) {
    const axis = layout.order[j]
    stride[axis] = running * layout.gaps[j]
    running = stride[axis] * t.shape[axis]
  }
  let offset = layout.offset
  for (let a = 0; a < rank; a++) {
    if (layout.reversed[a] && t.shape[a] > 0) {
      offset += (t.shape[a] - 1) * stride[a]
      stride[a] = -stride[a]
    }
  }
  const data = alloc(layout.offset + running, dtypeOf(t)).fill(Number.NaN)
  const view = ndarray(data, t.shape.slice(), stride, offset) as Tensor
  const index = new Array<number>(rank).fill(0)
  for (let n = 0; n < t.size; n++) {
    view.set(...index, t.get(...index))
    for (let a = rank - 1; a >= 0; a--) {
      if (++index[a] < t.shape[a]) break
      index[a] = 0
    }
  }
  return view
}

/**
 * Views that hold exactly the elements of `t` but are laid out differently: axes stored in
 * another order (a transpose), with gaps between elements (a `step`), reversed (a negative
 * step), after an offset (a `lo`). Every layer must give the same result on any of them as on
 * `t` itself. `t` may be any view (or its structured clone) of at most 2^20 elements; anything
 * else throws a `RangeError` (`stridedViewArb: t: …`).
 *
 * @example
 * import fc from 'fast-check'
 * import { stridedViewArb } from 'braincog-fn/arbitraries'
 * import { equals, tensor } from 'braincog-fn'
 * const t = tensor([1, 2, 3, 4, 5, 6], [2, 3])
 * fc.assert(fc.property(stridedViewArb(t), (v) => equals(v, t)))
 */
export const stridedViewArb = (t: Tensor): fc.Arbitrary<Tensor> => {
  const name = 'stridedViewArb'
  const v = orRange(name, 't', readTensor(t)) as Tensor
  checkDrawnShape(name, 't.shape', v.shape)
  const packed = copy(v)
  return layoutArb(packed.shape.length).map((layout) => materialize(packed, layout))
}
