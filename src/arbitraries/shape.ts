import fc from 'fast-check'
import type { Shape } from '../tensor/tensor.js'

/** Bounds for {@link shapeArb}. */
export interface ShapeConstraints {
  /** Fewest axes (default 1). */
  readonly minRank?: number
  /** Most axes (default 4). */
  readonly maxRank?: number
  /** Smallest size of an axis (default 1). */
  readonly minDim?: number
  /** Largest size of an axis (default 5). */
  readonly maxDim?: number
}

/**
 * Shapes of rank in [minRank, maxRank] (default 1..4) with sizes in [minDim, maxDim]
 * (default 1..5). Shrinks towards fewer, smaller axes.
 *
 * @example
 * import fc from 'fast-check'
 * import { shapeArb } from 'braincog-fn/arbitraries'
 * fc.assert(fc.property(shapeArb({ minRank: 2 }), (s) => s.length >= 2))
 */
export const shapeArb = (c: ShapeConstraints = {}): fc.Arbitrary<Shape> =>
  fc.array(fc.integer({ min: c.minDim ?? 1, max: c.maxDim ?? 5 }), {
    minLength: c.minRank ?? 1,
    maxLength: c.maxRank ?? 4,
  })
