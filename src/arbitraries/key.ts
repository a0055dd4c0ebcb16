import fc from 'fast-check'
import type { Key } from '../random/key.js'
import { key } from '../random/key.js'

/** PRNG keys from 32-bit seeds. */
export const keyArb = (): fc.Arbitrary<Key> => fc.integer({ min: 0, max: 0x7fffffff }).map(key)
