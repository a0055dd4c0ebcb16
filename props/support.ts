/** Helpers for the properties: deep snapshots and comparisons of params/state trees. */
import type { Data, Tensor } from '../src/index.js'
import { copy, dtypeOf, equals, flatData, maxAbsDiff } from '../src/index.js'

const isTensor = (v: unknown): v is Tensor =>
  typeof v === 'object' && v !== null && 'data' in v && 'shape' in v && 'stride' in v

/** Maps every tensor in a tree of arrays/objects. */
export const mapTensors = (tree: unknown, f: (t: Tensor) => unknown): unknown => {
  if (isTensor(tree)) return f(tree)
  if (Array.isArray(tree)) return tree.map((v) => mapTensors(v, f))
  if (typeof tree === 'object' && tree !== null) {
    return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, mapTensors(v, f)]))
  }
  return tree
}

/** Every tensor's whole backing buffer, copied: detects writes anywhere in the storage. */
export const snapshot = (tree: unknown): unknown => mapTensors(tree, (t) => ({ buffer: t.data.slice(), view: copy(t) }))

/** True when no tensor of `tree` (nor any of its storage) differs from `snap`. */
export const unchangedSince = (tree: unknown, snap: unknown): boolean => {
  if (isTensor(tree)) {
    const s = snap as { buffer: Data; view: Tensor }
    if (!equals(tree, s.view) || tree.data.length !== s.buffer.length) return false
    for (let i = 0; i < s.buffer.length; i++) if (!Object.is(tree.data[i], s.buffer[i])) return false
    return true
  }
  if (Array.isArray(tree)) return tree.every((v, i) => unchangedSince(v, (snap as unknown[])[i]))
  if (typeof tree === 'object' && tree !== null) {
    return Object.entries(tree).every(([k, v]) => unchangedSince(v, (snap as Record<string, unknown>)[k]))
  }
  return Object.is(tree, snap)
}

/** Structural equality of trees; tensors compare by shape and values (NaN equals NaN). */
export const deepEqual = (a: unknown, b: unknown): boolean => {
  if (isTensor(a) || isTensor(b)) return isTensor(a) && isTensor(b) && equals(a, b)
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => deepEqual(v, b[i]))
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const ka = Object.keys(a).sort()
    const kb = Object.keys(b).sort()
    return (
      ka.length === kb.length &&
      ka.every((k, i) => k === kb[i] && deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    )
  }
  return Object.is(a, b)
}

/** Largest absolute difference between two trees of the same structure (Infinity on mismatch). */
export const treeMaxDiff = (a: unknown, b: unknown): number => {
  if (isTensor(a) && isTensor(b)) return maxAbsDiff(a, b)
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length ? Math.max(0, ...a.map((v, i) => treeMaxDiff(v, b[i]))) : Infinity
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    return Math.max(
      0,
      ...Object.keys(a).map((k) => treeMaxDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])),
    )
  }
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b)
  return Object.is(a, b) ? 0 : Infinity
}

/**
 * Bit-for-bit equality of trees: tensors of the same dtype and shape whose elements are
 * `Object.is`-equal (so -0 differs from 0); other leaves `Object.is`-equal.
 */
export const sameBits = (a: unknown, b: unknown): boolean => {
  if (isTensor(a) || isTensor(b)) {
    if (!isTensor(a) || !isTensor(b) || dtypeOf(a) !== dtypeOf(b)) return false
    if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) return false
    const fa = flatData(a)
    const fb = flatData(b)
    return fa.every((v, i) => Object.is(v, fb[i]))
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameBits(v, b[i]))
  }
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const ka = Object.keys(a).sort()
    const kb = Object.keys(b).sort()
    return (
      ka.length === kb.length &&
      ka.every((k, i) => k === kb[i] && sameBits((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    )
  }
  return Object.is(a, b)
}
