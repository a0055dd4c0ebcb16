/**
 * Paths into params trees: the nesting of plain records and arrays that layers, pipelines and
 * optimizers use, with tensors (and anything else that is not a record or an array) as leaves.
 * The optimizers and the checkpoints walk trees with these, so a leaf has one path everywhere:
 * `[0, 'weight']`, shown as `[0].weight` in errors and named `0.weight` in a checkpoint.
 *
 * @module
 */
import type { NdArray } from 'ndarray'
import { describeValue } from '../errors.js'
import { isTensor } from '../kernel/tree.js'
import type { Data, Tensor } from '../tensor/tensor.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** Where a leaf sits in a tree: record keys and array indices from the root. */
export type TreePath = readonly (string | number)[]

/**
 * A tree shaped like `T` with every tensor replaced by a buffer of its shape and dtype (or
 * `null`, for a leaf that has none: a frozen parameter), and every other leaf by `null`: what
 * an optimizer keeps per parameter (momentum, moments).
 */
export type Buffers<T> = T extends NdArray<Data>
  ? Tensor | null
  : T extends null | undefined | number | string | boolean | bigint | symbol
    ? null
    : { readonly [K in keyof T]: Buffers<T[K]> }

// ---------------------------------------------------------------------------------------------
// operations
// ---------------------------------------------------------------------------------------------

/** A record walked into (not a leaf): a plain object, as `JSON.parse` or a literal makes. */
export const isRecord = (v: unknown): v is Readonly<Record<string, unknown>> => {
  if (typeof v !== 'object' || v === null || isTensor(v)) return false
  const proto = Object.getPrototypeOf(v) as unknown
  return proto === Object.prototype || proto === null
}

/**
 * Maps the leaves of a tree with their paths, rebuilding its records and arrays: tensors (and
 * the `{data, shape, stride, offset}` records `structuredClone` makes of them) are leaves, and
 * so is every value that is not a plain record or an array (numbers, `null`).
 */
export const mapWithPath = (
  tree: unknown,
  leaf: (v: unknown, path: TreePath) => unknown,
  path: TreePath = [],
): unknown => {
  if (Array.isArray(tree)) return tree.map((v, i) => mapWithPath(v, leaf, [...path, i]))
  if (isRecord(tree)) {
    return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, mapWithPath(v, leaf, [...path, k])]))
  }
  return leaf(tree, path)
}

/** Calls `visit` on every leaf of a tree with its path, in the order {@link mapWithPath} walks. */
export const forEachLeaf = (tree: unknown, visit: (v: unknown, path: TreePath) => void): void => {
  mapWithPath(tree, (v, path) => {
    visit(v, path)
    return v
  })
}

/** The value at `path` in `tree`, or `undefined` where the tree has nothing there. */
export const valueAt = (tree: unknown, path: TreePath): unknown => {
  let node = tree
  for (const k of path) {
    if (typeof k === 'number') {
      if (!Array.isArray(node) || k >= node.length) return undefined
      node = node[k] as unknown
    } else {
      if (!isRecord(node) || !Object.hasOwn(node, k)) return undefined
      node = node[k]
    }
  }
  return node
}

/** A path as errors show it after an argument's name: `[0].weight` (`argument + showPath(p)`). */
export const showPath = (path: TreePath): string =>
  path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('')

/** A path as a checkpoint names it: `0.weight` (PyTorch's `state_dict` style). */
export const dottedName = (path: TreePath): string => path.join('.')

/** A primitive as errors show it. */
const primitive = (v: unknown): string | undefined => {
  if (v === undefined) return 'nothing'
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' || v === null) return String(v)
  return undefined
}

/**
 * A value as an error shows it, in a few words whatever it is: a tensor by dtype and shape, a
 * primitive as itself (cut short), an array or a record by its first entries. Bounded in time
 * and length, unlike a JSON rendering, so a hostile file's megabytes (or a nesting a million
 * deep) never reach a message. Never throws (a value whose getters throw is described).
 */
export const brief = (v: unknown): string => {
  try {
    return briefly(v)
  } catch {
    // a getter or a Proxy trap that throws: described without running either
    return describeValue(v)
  }
}

const briefly = (v: unknown): string => {
  const p = primitive(v)
  if (p !== undefined) return p
  if (isTensor(v)) return `a ${v.data instanceof Float64Array ? 'float64' : 'float32'} tensor [${v.shape.join(', ')}]`
  if (ArrayBuffer.isView(v)) return `a ${v.constructor.name}`
  if (Array.isArray(v)) {
    const shown = v.slice(0, 4).map((e) => primitive(e) ?? (Array.isArray(e) ? '[...]' : '{...}'))
    return `[${shown.join(', ')}${v.length > 4 ? `, ... (${v.length} entries)` : ''}]`
  }
  if (typeof v === 'object') {
    const keys = Object.keys(v as object)
    return `{ ${keys.slice(0, 4).map((k) => JSON.stringify(k.length > 20 ? `${k.slice(0, 17)}...` : k)).join(', ')}${keys.length > 4 ? ', ...' : ''} }`
  }
  return typeof v
}
