/**
 * Params and state trees as named entries, and back: what a checkpoint holds. A leaf's name is
 * its path joined by dots (`0.weight`, `1.runningMean`, `opt.expAvg.0.weight`), as PyTorch
 * names a `state_dict`'s entries; a tree is rebuilt from names against a template (what `init`
 * gives), which says where every entry goes and what shape and dtype it must have.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { describeValue, layerFailure, type LayerError, layerError } from '../errors.js'
import { isTensor } from '../kernel/tree.js'
import { expectTensor, expectTree } from '../layer/check.js'
import type { Tensor } from '../tensor/tensor.js'
import { dtypeOf, flatData } from '../tensor/tensor.js'
import { brief, dottedName, forEachLeaf, mapWithPath } from '../optim/tree.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/**
 * A checkpoint's entries by name: float tensors, and numbers (counters such as
 * `numBatchesTracked` and an optimizer's `step`), which a file holds as 0-d tensors.
 */
export type NamedEntries = Readonly<Record<string, Tensor | number>>

/** `"0.weight"` in an argument: the name quoted, cut short. */
export const quoted = (name: string): string => JSON.stringify(name.length > 60 ? `${name.slice(0, 57)}...` : name)

// ---------------------------------------------------------------------------------------------
// operations
// ---------------------------------------------------------------------------------------------

/**
 * The named entries of a tree: every tensor and number leaf under its dotted path; `null` (and
 * `undefined`) leaves are left out, as an absent bias has no entry in a `state_dict`; empty
 * records and arrays hold nothing. A record whose keys hold dots (`{ "0.weight": t }`) gives
 * the same names, so named entries flatten to themselves.
 *
 * Rejects (as `LayerError`): a tree that is not one (a cycle, a getter that throws, a class
 * instance); a leaf that is not a tensor, a number or `null`; a tree that is a leaf itself
 * (nothing to name it by); two leaves with the same name, or one named `__metadata__` (the
 * safetensors header's own key).
 *
 * @example
 * import { flattenTree, orThrow, tensor } from 'braincog-fn'
 * const named = orThrow(flattenTree({ params: [{ weight: tensor([1, 2], [2]), bias: null }], state: [{ n: 0 }] }))
 * Object.keys(named) // ['params.0.weight', 'state.0.n']
 */
export const flattenTree = (tree: unknown, fn = 'flattenTree'): E.Either<LayerError, NamedEntries> => {
  // the tree read once: cycles, getters that throw and objects that are not data are errors
  const checked = expectTree(fn, 'tree', tree)
  if (E.isLeft(checked)) return checked
  const out: [string, Tensor | number][] = []
  const seen = new Set<string>()
  let bad: LayerError | undefined
  forEachLeaf(checked.right, (v, path) => {
    if (bad !== undefined || v === null || v === undefined) return
    const key = dottedName(path)
    if (path.length === 0) {
      bad = layerError(fn, 'tree', 'a record or an array of tensors and numbers (names come from the keys)', brief(v))
      return
    }
    const argument = `tree[${quoted(key)}]`
    if (key === '__metadata__' || seen.has(key)) {
      bad = layerError(fn, argument, 'unique names, none of them "__metadata__"', `a second entry named ${quoted(key)}`)
      return
    }
    seen.add(key)
    if (typeof v === 'number') {
      out.push([key, v])
      return
    }
    if (!isTensor(v)) {
      bad = layerError(fn, argument, 'a tensor, a number or null', brief(v))
      return
    }
    out.push([key, v as Tensor])
  })
  return bad === undefined ? E.right(Object.fromEntries(out)) : E.left(bad)
}

const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i])

/**
 * A tree shaped like `template` with its leaves taken from named entries (as
 * {@link flattenTree} names them): each tensor leaf from the entry of its name, which must have
 * the template tensor's shape and dtype; each number leaf from a number (or a 0-d tensor); each
 * `null` leaf from its entry when there is one (state that `init` leaves empty, such as a
 * membrane potential, is a tensor after a run), else `null`.
 *
 * Rejects (as `LayerError` naming the entry): a template or entries that cannot be read (a
 * cycle, a getter that throws), a missing entry for a tensor or number leaf, an entry of another
 * shape or dtype, an entry of the wrong kind, and entries the template has no place for (the
 * first of them, and how many).
 *
 * @example
 * import { customLinear, flattenTree, key, orThrow, unflattenTree } from 'braincog-fn'
 * const { params } = orThrow(customLinear({ inFeatures: 3, outFeatures: 2 }).init(key(0), [3]))
 * const back = orThrow(unflattenTree(params, orThrow(flattenTree(params))))
 * back.weight.shape // [3, 2]
 * back.mask // null
 * unflattenTree(params, {})._tag // 'Left'
 */
export const unflattenTree = <T>(template: T, entries: NamedEntries, fn = 'unflattenTree'): E.Either<LayerError, T> => {
  if (typeof entries !== 'object' || entries === null) return layerFailure(fn, 'entries', 'a record of named entries', brief(entries))
  // the entries read once, each by name (a getter that throws is an error, not a crash)
  let named: ReadonlyMap<string, unknown>
  try {
    named = new Map(Object.entries(entries))
  } catch (e) {
    return layerFailure(fn, 'entries', 'a record of named entries', `a value whose property access threw (${describeValue(e)})`)
  }
  const shape = expectTree(fn, 'template', template)
  if (E.isLeft(shape)) return shape
  const used = new Set<string>()
  let bad: LayerError | undefined
  const tree = mapWithPath(shape.right, (leaf, path) => {
    if (bad !== undefined) return leaf
    const key = dottedName(path)
    const argument = `entries[${quoted(key)}]`
    const has = named.has(key)
    const entry = named.get(key)
    if (has) used.add(key)
    if (leaf === null || leaf === undefined) {
      if (!has) return leaf
      if (typeof entry === 'number') return entry
      const t = expectTensor(fn, argument, entry)
      if (E.isLeft(t)) bad = t.left
      return E.isRight(t) ? t.right : leaf
    }
    if (typeof leaf === 'number') {
      if (typeof entry === 'number') return entry
      // a 0-d tensor (what a file holds a counter as), a structured clone of one too
      const t = typeof entry === 'object' && entry !== null ? expectTensor(fn, argument, entry) : undefined
      if (t !== undefined && E.isRight(t) && t.right.shape.length === 0) return flatData(t.right)[0]
      bad = layerError(fn, argument, `a number or a 0-d tensor (the template has a number at ${key})`, has ? brief(entry) : 'nothing (no entry of that name)')
      return leaf
    }
    if (isTensor(leaf)) {
      const want = `a ${dtypeOf(leaf)} tensor [${leaf.shape.join(', ')}] (the template's at ${key})`
      if (typeof entry !== 'object' || entry === null) {
        bad = layerError(fn, argument, want, has ? brief(entry) : 'nothing (no entry of that name)')
        return leaf
      }
      const t = expectTensor(fn, argument, entry)
      if (E.isLeft(t)) {
        bad = t.left
        return leaf
      }
      if (!sameShape(t.right.shape, leaf.shape) || dtypeOf(t.right) !== dtypeOf(leaf)) {
        bad = layerError(fn, argument, want, brief(t.right))
        return leaf
      }
      return t.right
    }
    bad = layerError(fn, `template${path.length === 0 ? '' : `[${quoted(key)}]`}`, 'a tree of tensors, numbers and nulls', brief(leaf))
    return leaf
  })
  if (bad !== undefined) return E.left(bad)
  const extra = [...named.keys()].filter((k) => !used.has(k))
  if (extra.length > 0) {
    const more = extra.length > 1 ? ` (and ${extra.length - 1} more)` : ''
    return layerFailure(fn, `entries[${quoted(extra[0])}]`, 'only names the template has a place for', `an entry the template has no place for${more}`)
  }
  return E.right(tree as T)
}
