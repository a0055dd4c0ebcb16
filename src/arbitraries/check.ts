import { describeValue, layerError } from '../errors.js'

/**
 * Throws a `RangeError` for an argument an arbitrary can never draw from, in the format of the
 * layers' errors: `spikeTrainArb: rate: expected a finite number in [0, 1], got 1.5`. Arbitraries
 * are built once, before any run, so a bad argument is a programming error, thrown at once rather
 * than on the first draw.
 */
export const rejectArgument = (arbitrary: string, argument: string, expected: string, got: unknown): never => {
  throw new RangeError(layerError(arbitrary, argument, expected, describeValue(got)).message)
}

/** `shape`, when it is an array of non-negative integers (read once, copied). */
export const checkShape = (arbitrary: string, argument: string, shape: unknown): readonly number[] => {
  let copy: unknown[] | undefined
  try {
    copy = Array.isArray(shape) ? Array.from(shape as readonly unknown[]) : undefined
  } catch {
    copy = undefined
  }
  return copy !== undefined && copy.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)
    ? (copy as readonly number[])
    : rejectArgument(arbitrary, argument, 'a list of non-negative integers', shape)
}

/** The most elements a drawn tensor may have: fast-check draws each one. */
export const MAX_DRAWN = 2 ** 20

/** `shape` (as {@link checkShape}) of at most {@link MAX_DRAWN} elements. */
export const checkDrawnShape = (arbitrary: string, argument: string, shape: unknown): readonly number[] => {
  const s = checkShape(arbitrary, argument, shape)
  const size = s.reduce((a, b) => a * b, 1)
  return s.length <= 32 && size <= MAX_DRAWN
    ? s
    : rejectArgument(arbitrary, argument, `a shape of at most 2^20 elements and 32 axes`, shape)
}

/** The options object of an arbitrary, its `keys` read once (a `RangeError` for anything else). */
export const checkOptions = <C>(
  arbitrary: string,
  options: unknown,
  keys: readonly (keyof C & string)[],
): Partial<C> => {
  if (options === undefined) return {}
  const expected = `an options object { ${keys.join(', ')} }`
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    return rejectArgument(arbitrary, 'options', expected, options)
  }
  try {
    const o = options as Readonly<Record<string, unknown>>
    const stray = Object.keys(o).find((k) => !(keys as readonly string[]).includes(k))
    if (stray !== undefined) return rejectArgument(arbitrary, `options.${stray}`, `one of the options ${keys.join(', ')}`, stray)
    return Object.fromEntries(keys.map((k) => [k, o[k]])) as Partial<C>
  } catch (e) {
    if (e instanceof RangeError) throw e
    return rejectArgument(arbitrary, 'options', expected, `a value whose property access threw (${describeValue(e)})`)
  }
}

/** An integer option in [min, max] (`fallback` when absent). */
export const intOption = (
  arbitrary: string,
  argument: string,
  v: unknown,
  fallback: number,
  min: number,
  max: number,
): number => {
  const x = v ?? fallback
  return typeof x === 'number' && Number.isInteger(x) && x >= min && x <= max
    ? x
    : rejectArgument(arbitrary, argument, `an integer in [${min}, ${max}]`, v)
}
