/**
 * A caller's name for something (a layer, an argument) as text (internal): a string as it is,
 * anything else described, so that building a message never runs a caller's `toString` (which
 * may throw, or be a million characters long).
 *
 * @module
 */
import { describeValue } from './errors.js'

/** `v` as it is when it is a string, else {@link describeValue}d. */
export const textOf = (v: unknown): string => (typeof v === 'string' ? v : describeValue(v))
