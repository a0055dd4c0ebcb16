import fc from 'fast-check'
import type { DType, Shape, Tensor } from '../tensor/tensor.js'
import { sizeOf, tensor } from '../tensor/tensor.js'

/** Options for {@link tensorArb}. */
export interface TensorConstraints {
  /** Storage precision (default float32). */
  readonly dtype?: DType
  /** Smallest value (default -2). */
  readonly min?: number
  /** Largest value (default 2). */
  readonly max?: number
}

/** Values on a grid of 2^-10 steps: exact in float32, free of subnormals and -0. */
const GRID = 1024

/**
 * Contiguous tensors of a fixed shape with values in [min, max] on a grid of 2^-10 steps, so a
 * float32 and a float64 tensor of the same draw hold identical values, and sums of a few of
 * them are exact.
 *
 * @example
 * import fc from 'fast-check'
 * import { tensorArb } from 'braincog-fn/arbitraries'
 * fc.assert(fc.property(tensorArb([2, 3]), (t) => t.size === 6))
 */
export const tensorArb = (shape: Shape, c: TensorConstraints = {}): fc.Arbitrary<Tensor> =>
  fc
    .array(fc.integer({ min: Math.ceil((c.min ?? -2) * GRID), max: Math.floor((c.max ?? 2) * GRID) }), {
      minLength: sizeOf(shape),
      maxLength: sizeOf(shape),
    })
    .map((steps) => tensor(steps.map((i) => i / GRID), shape, c.dtype ?? 'float32') as Tensor)

/**
 * Spike tensors of a fixed shape: each entry 1 with probability about `rate` (default 0.3),
 * else 0.
 */
export const spikeTrainArb = (shape: Shape, rate = 0.3, dtype: DType = 'float32'): fc.Arbitrary<Tensor> =>
  fc
    .array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: sizeOf(shape), maxLength: sizeOf(shape) })
    .map((u) => tensor(u.map((x) => (x < rate ? 1 : 0)), shape, dtype) as Tensor)
