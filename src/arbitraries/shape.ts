import fc from 'fast-check'
import type { Shape } from '../tensor/tensor.js'
import { checkOptions, intOption } from './check.js'

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
 * Shapes of rank in [minRank, maxRank] (default 1..4, at most 32) with sizes in [minDim, maxDim]
 * (default 1..5, at most 2^20). Shrinks towards fewer, smaller axes. Throws a `RangeError`
 * (`shapeArb: …`) for bounds that are not integers in those ranges, or a minimum over its
 * maximum (a given minimum above a default maximum raises that maximum).
 *
 * @example
 * import fc from 'fast-check'
 * import { shapeArb } from 'braincog-fn/arbitraries'
 * fc.assert(fc.property(shapeArb({ minRank: 2 }), (s) => s.length >= 2))
 */
export const shapeArb = (c: ShapeConstraints = {}): fc.Arbitrary<Shape> => {
  const name = 'shapeArb'
  const o = checkOptions<ShapeConstraints>(name, c, ['minRank', 'maxRank', 'minDim', 'maxDim'])
  const minRank = intOption(name, 'options.minRank', o.minRank, 1, 0, 32)
  const maxRank = intOption(name, 'options.maxRank', o.maxRank, Math.max(4, minRank), minRank, 32)
  const minDim = intOption(name, 'options.minDim', o.minDim, 1, 0, 2 ** 20)
  const maxDim = intOption(name, 'options.maxDim', o.maxDim, Math.max(5, minDim), minDim, 2 ** 20)
  return fc.array(fc.integer({ min: minDim, max: maxDim }), { minLength: minRank, maxLength: maxRank })
}
