/**
 * Reading a key argument (internal): the four words read once and frozen, so that no getter of
 * the caller's runs twice.
 *
 * @module
 */
import type { Key } from './key.js'

/**
 * A key's four words read once (no getter runs twice) and frozen, or undefined when `v` is not
 * four uint32 words, not all zero.
 */
export const readKey = (v: unknown): Key | undefined => {
  try {
    if (!Array.isArray(v) || v.length !== 4) return undefined
    const words = [0, 1, 2, 3].map((i) => (v as readonly unknown[])[i])
    const ok =
      words.every((w) => typeof w === 'number' && Number.isInteger(w) && w >= 0 && w <= 0xffffffff) &&
      words.some((w) => w !== 0)
    return ok ? (Object.freeze(words) as unknown as Key) : undefined
  } catch {
    return undefined
  }
}

