import fc from 'fast-check'
import type { DType, Shape, Tensor } from '../tensor/tensor.js'
import { sizeOf, tensor } from '../tensor/tensor.js'
import { checkDrawnShape, checkOptions, checkShape, rejectArgument } from './check.js'

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

/** The grid is exact in float32 (24-bit significands) up to 2^14 in magnitude. */
const GRID_RANGE = 2 ** 14

/**
 * Contiguous tensors of a fixed shape with values in [min, max] on a grid of 2^-10 steps, so a
 * float32 and a float64 tensor of the same draw hold identical values, and sums of a few of
 * them are exact. Throws a `RangeError` (`tensorArb: …`) for a shape that is not non-negative
 * integers (at most 2^20 elements), bounds outside [-2^14, 2^14] (where the grid stops being
 * exact in float32) or with no grid value between them, or another dtype.
 *
 * @example
 * import fc from 'fast-check'
 * import { tensorArb } from 'braincog-fn/arbitraries'
 * fc.assert(fc.property(tensorArb([2, 3]), (t) => t.size === 6))
 */
export const tensorArb = (shape: Shape, c: TensorConstraints = {}): fc.Arbitrary<Tensor> => {
  const name = 'tensorArb'
  const s = checkDrawnShape(name, 'shape', shape)
  const o = checkOptions<TensorConstraints>(name, c, ['dtype', 'min', 'max'])
  const dtype = o.dtype ?? 'float32'
  if (dtype !== 'float32' && dtype !== 'float64') rejectArgument(name, 'options.dtype', 'one of "float32", "float64"', o.dtype)
  const bound = (argument: string, v: unknown, fallback: number): number => {
    const x = v ?? fallback
    return typeof x === 'number' && Number.isFinite(x) && Math.abs(x) <= GRID_RANGE
      ? x
      : rejectArgument(name, argument, `a finite number in [-${GRID_RANGE}, ${GRID_RANGE}] (exact on the grid in float32)`, v)
  }
  const lo = Math.ceil(bound('options.min', o.min, -2) * GRID)
  const hi = Math.floor(bound('options.max', o.max, 2) * GRID)
  if (lo > hi) rejectArgument(name, 'options.max', `a maximum with a grid value (2^-10 steps) at or above the minimum`, o.max)
  const n = sizeOf(s)
  return fc
    .array(fc.integer({ min: lo, max: hi }), { minLength: n, maxLength: n })
    .map((steps) => tensor(steps.map((i) => i / GRID), s, dtype) as Tensor)
}

/** A uniform double in [0, 1) on the grid of 2^-53 steps, from two uniform integer draws (26 + 27 bits). */
const uniform53 = (mrng: fc.Random): number =>
  (mrng.nextInt(0, 2 ** 26 - 1) * 2 ** 27 + mrng.nextInt(0, 2 ** 27 - 1)) / 2 ** 53

/**
 * One spike: 1 when a uniform draw in [0, 1) falls below `rate`, else 0, so 1 with probability
 * `rate` (to within 2^-53). It ignores fast-check's bias factor: a biased draw (towards small
 * values and bounds, as `fc.double` and `fc.integer` make by default) would not be a Bernoulli
 * trial. A 1 shrinks to 0 in one step, where 0 can be drawn (`rate < 1`); a 0 does not shrink.
 */
class SpikeArbitrary extends fc.Arbitrary<0 | 1> {
  constructor(private readonly rate: number) {
    super()
  }

  generate(mrng: fc.Random): fc.Value<0 | 1> {
    return new fc.Value(uniform53(mrng) < this.rate ? 1 : 0, undefined)
  }

  canShrinkWithoutContext(value: unknown): value is 0 | 1 {
    return (value === 1 && this.rate > 0) || (value === 0 && this.rate < 1)
  }

  shrink(value: 0 | 1): fc.Stream<fc.Value<0 | 1>> {
    return value === 1 && this.rate < 1 ? fc.Stream.of(new fc.Value<0 | 1>(0, undefined)) : fc.Stream.nil()
  }
}

/**
 * Spike tensors of a fixed shape: contiguous, of the given dtype, each element independently 1
 * with probability `rate` (to within 2^-53) and 0 otherwise. Rate 0 draws only zeros, rate 1
 * only ones. Draws are uniform whatever bias fast-check asks for, so the spike fraction a
 * property sees is `rate`.
 *
 * Shrinks towards fewer spikes: each shrink turns one 1 into a 0 (never a 0 into a 1), so a
 * counterexample shrinks to the fewest spikes, in the same positions, that still fail. At rate 1
 * a 0 cannot be drawn, and nothing shrinks.
 *
 * Throws a `RangeError` (naming `spikeTrainArb` and the argument) when `shape` is not a list of
 * non-negative integers (of at most 2^20 elements), `rate` is not a finite number in [0, 1], or `dtype` is neither
 * `float32` nor `float64`.
 *
 * @example
 * import fc from 'fast-check'
 * import { spikeTrainArb } from 'braincog-fn/arbitraries'
 * import { toNested } from 'braincog-fn'
 * fc.assert(fc.property(spikeTrainArb([4, 4], 0.25), (s) => s.data.every((v) => v === 0 || v === 1)))
 * toNested(fc.sample(spikeTrainArb([2, 3], 1), 1)[0]) // [[1, 1, 1], [1, 1, 1]]
 * // a property that fails on any spike shrinks to a single spike
 * const r = fc.check(fc.property(spikeTrainArb([8], 0.5), (s) => s.data.every((v) => v === 0)))
 * Array.from(r.counterexample?.[0].data ?? []).filter((v) => v === 1).length // 1
 */
export const spikeTrainArb = (shape: Shape, rate = 0.3, dtype: DType = 'float32'): fc.Arbitrary<Tensor> => {
  const name = 'spikeTrainArb'
  const s = checkShape(name, 'shape', shape)
  if (!(typeof rate === 'number' && Number.isFinite(rate) && rate >= 0 && rate <= 1)) {
    rejectArgument(name, 'rate', 'a finite number in [0, 1]', rate)
  }
  if (dtype !== 'float32' && dtype !== 'float64') rejectArgument(name, 'dtype', 'one of "float32", "float64"', dtype)
  checkDrawnShape(name, 'shape', s)
  const n = sizeOf(s)
  return fc
    .array(new SpikeArbitrary(rate), { minLength: n, maxLength: n })
    .map((spikes) => tensor(spikes, s, dtype) as Tensor)
}
