import { describe, layerError } from '../errors.js'

/**
 * Throws a `RangeError` for an argument an arbitrary can never draw from, in the format of the
 * layers' errors: `spikeTrainArb: rate: expected a finite number in [0, 1], got 1.5`. Arbitraries
 * are built once, before any run, so a bad argument is a programming error, thrown at once rather
 * than on the first draw.
 */
export const rejectArgument = (arbitrary: string, argument: string, expected: string, got: unknown): never => {
  throw new RangeError(layerError(arbitrary, argument, expected, describe(got)).message)
}

/** `shape`, when it is an array of non-negative integers. */
export const checkShape = (arbitrary: string, argument: string, shape: unknown): readonly number[] =>
  Array.isArray(shape) && shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)
    ? (shape as readonly number[])
    : rejectArgument(arbitrary, argument, 'a list of non-negative integers', shape)
