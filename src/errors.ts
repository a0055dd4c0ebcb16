/**
 * Errors as values. Every check that the type system cannot make (sizes, finiteness, matching
 * shapes) reports a {@link LayerError} naming the layer, the argument, what was expected and what
 * came. Run-time data errors travel as `Either<LayerError, _>`; configuration errors are thrown
 * once, as a {@link ConfigError}, when a layer is built, never on the thousandth step.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'

/** What went wrong, as plain data. */
export interface LayerError {
  /** Discriminant: always `LayerError`. */
  readonly _tag: 'LayerError'
  /** The layer or op that rejected its input, e.g. `CustomLinear`. */
  readonly layer: string
  /** The argument at fault, e.g. `input`, `params.weight`, `config.p`. */
  readonly argument: string
  /** What the layer needs, in words, e.g. `rank 4 [N, C, H, W]`. */
  readonly expected: string
  /** What it got, e.g. `rank 2 [3, 4]`. */
  readonly got: string
  /** One line combining the above. */
  readonly message: string
}

/**
 * Builds a {@link LayerError}.
 *
 * @example
 * import { layerError } from 'braincog-fn'
 * const e = layerError('VotingLayer', 'config.voterNum', 'an integer >= 1', '0')
 * // e.message === 'VotingLayer: config.voterNum: expected an integer >= 1, got 0'
 */
export const layerError = (
  layer: string,
  argument: string,
  expected: string,
  got: string,
): LayerError => ({
  _tag: 'LayerError',
  layer,
  argument,
  expected,
  got,
  message: `${layer}: ${argument}: expected ${expected}, got ${got}`,
})

/** A {@link LayerError} as an `Either` left. */
export const fail = <A = never>(
  layer: string,
  argument: string,
  expected: string,
  got: string,
): E.Either<LayerError, A> => E.left(layerError(layer, argument, expected, got))

/** Thrown when a layer is built with a configuration it can never run with. */
export class ConfigError extends Error {
  /** The rejected configuration as a {@link LayerError} value. */
  readonly detail: LayerError
  constructor(detail: LayerError) {
    super(detail.message)
    this.name = 'ConfigError'
    this.detail = detail
  }
}

/** Throws a {@link ConfigError}; used by layer constructors only. */
export const rejectConfig = (
  layer: string,
  argument: string,
  expected: string,
  got: unknown,
): never => {
  throw new ConfigError(layerError(layer, argument, expected, describe(got)))
}

/** Short human rendering of a value for error messages. */
export const describe = (value: unknown): string => {
  if (typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value)
  if (Array.isArray(value)) return `[${value.map(describe).join(', ')}]`
  try {
    return JSON.stringify(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/** Unwraps a right value or throws the left as an `Error` (for scripts and tests). */
export const orThrow = <A>(result: E.Either<LayerError, A>): A => {
  if (E.isLeft(result)) throw new Error(result.left.message)
  return result.right
}
