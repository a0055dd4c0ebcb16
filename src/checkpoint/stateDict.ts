/**
 * PyTorch and BrainCog weights into braincog-fn: a `state_dict` saved as safetensors (with
 * `safetensors.torch.save_file(model.state_dict(), path)`) loaded into a pipeline's params and
 * state, by a documented mapping of PyTorch's names and layouts onto ours.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { describeValue, layerFailure, type LayerError, layerError } from '../errors.js'
import { isTensor } from '../kernel/tree.js'
import { expectOptions, expectTensor, expectTree } from '../layer/check.js'
import type { Data, Shape, Tensor } from '../tensor/tensor.js'
import { dtypeOf, flatData, wrap } from '../tensor/tensor.js'
import { brief, dottedName, mapWithPath, type TreePath, valueAt } from '../optim/tree.js'
import { fromSafetensors, isBytes } from './safetensors.js'
import { type NamedEntries, quoted } from './tree.js'

const name = 'importStateDict'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** A model's params and state, as a pipeline's `init` gives them. */
export interface ParamsAndState<P, S> {
  /** The params (for a pipeline: one entry per layer). */
  readonly params: P
  /** The state (for a pipeline: one entry per layer). */
  readonly state: S
}

/** How {@link importStateDict} reads PyTorch's names. */
export interface StateDictOptions {
  /**
   * Applied to every key first: the key to use instead, or `null` to leave the entry out (a
   * buffer braincog-fn has no place for). Default: every key as it is.
   */
  readonly rename?: (key: string) => string | null
  /**
   * Module names to pipeline indices, for models whose layers are named attributes rather than
   * an `nn.Sequential`: `{ conv1: 0, bn1: 1, fc: 4 }` reads `conv1.weight` as layer 0's
   * `weight`. The longest matching prefix wins; keys matching none must start with an index.
   */
  readonly prefixes?: Readonly<Record<string, number>>
  /**
   * The layout of linear weights (a rank-2 `weight` of the template): `'torch'` (default),
   * `nn.Linear`'s `[out, in]`, transposed into CustomLinear's `[in, out]`; `'braincog'`,
   * BrainCog's `CustomLinear`, which stores `[in, out]` already, taken as it is.
   */
  readonly linear?: 'torch' | 'braincog'
  /**
   * As `load_state_dict(strict=...)`: with `true` (default) every tensor and counter of the
   * template needs an entry and every entry needs a place; with `false` missing ones keep the
   * template's values and entries without a place are ignored. Shapes must fit either way.
   */
  readonly strict?: boolean
}

// ---------------------------------------------------------------------------------------------
// mapping
// ---------------------------------------------------------------------------------------------

/** `running_mean` to `runningMean`. */
const camel = (segment: string): string => segment.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())

/** The template path a state_dict key names, or why it names none. */
const locate = (
  key: string,
  layers: number | undefined,
  prefixes: Readonly<Record<string, number>>,
): { readonly index?: number; readonly rest: readonly string[] } | string => {
  let k = key
  while (k.startsWith('module.')) k = k.slice('module.'.length)
  if (layers === undefined) return { rest: k.split('.') }
  const match = Object.keys(prefixes)
    .filter((p) => k === p || k.startsWith(`${p}.`))
    .sort((a, b) => b.length - a.length)[0]
  if (match !== undefined) return { index: prefixes[match], rest: k.slice(match.length + 1).split('.') }
  const [first, ...rest] = k.split('.')
  const index = /^\d+$/.test(first) ? Number(first) : NaN
  if (!Number.isSafeInteger(index) || index >= layers) {
    return `a key starting with a layer index in [0, ${layers}) (an nn.Sequential's), or one of options.prefixes`
  }
  return { index, rest }
}

/** The segments within a layer's subtree: `bn.` dropped where the layer has no `bn` (TEBN), snake_case to camelCase. */
const ours = (subtree: unknown, rest: readonly string[]): TreePath => {
  const segments = rest[0] === 'bn' && rest.length > 1 && valueAt(subtree, ['bn']) === undefined ? rest.slice(1) : rest
  return segments.map((s) => (/^\d+$/.test(s) ? Number(s) : camel(s)))
}

const showShape = (shape: Shape): string => `[${shape.join(', ')}]`

/** Squeezed shapes (size-1 axes left out) equal: the same elements in the same order. */
const sameSqueezed = (a: Shape, b: Shape): boolean => {
  const sa = a.filter((d) => d !== 1)
  const sb = b.filter((d) => d !== 1)
  return sa.length === sb.length && sa.every((d, i) => d === sb[i])
}

/** `t`'s elements as a new tensor of `shape` and the template's dtype, transposed first when asked (rank 2). */
const converted = (t: Tensor, like: Tensor, transpose: boolean): Tensor => {
  const src = flatData(t)
  const n = src.length
  const out: Data = dtypeOf(like) === 'float64' ? new Float64Array(n) : new Float32Array(n)
  if (transpose) {
    const [rows, cols] = t.shape
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = src[r * cols + c]
  } else out.set(src)
  return wrap(out, like.shape.slice()) as Tensor
}

/** The value of a template leaf from its entry, converted; or why the entry does not fit. */
const fit = (
  key: string,
  entry: Tensor | number,
  leaf: unknown,
  where: string,
  linear: 'torch' | 'braincog',
): E.Either<LayerError, unknown> => {
  const argument = `stateDict[${quoted(key)}]`
  if (typeof leaf === 'number') {
    if (typeof entry === 'number') return E.right(entry)
    if (entry.size === 1) return E.right(flatData(entry)[0])
    return layerFailure(name, argument, `one number for ${where}`, brief(entry))
  }
  if (leaf === null || leaf === undefined) {
    return layerFailure(name, argument, `nothing: ${where} is null in the template (build the layer with it, e.g. bias: true)`, brief(entry))
  }
  if (!isTensor(leaf)) return layerFailure(name, argument, `an entry for ${where}`, brief(entry))
  if (typeof entry === 'number') return layerFailure(name, argument, `a tensor ${showShape(leaf.shape)} for ${where}`, brief(entry))
  const isLinear = leaf.shape.length === 2 && where.endsWith('.weight')
  if (isLinear && linear === 'torch') {
    const [inF, outF] = leaf.shape
    if (entry.shape.length === 2 && entry.shape[0] === outF && entry.shape[1] === inF) return E.right(converted(entry, leaf, true))
    const hint =
      entry.shape.length === 2 && entry.shape[0] === inF && entry.shape[1] === outF
        ? " (that is CustomLinear's own [in, out]: for BrainCog weights pass linear: 'braincog')"
        : ''
    const want = `nn.Linear's [out, in] = ${showShape([outF, inF])}, transposed into ${where} ${showShape(leaf.shape)}`
    return layerFailure(name, argument, want, `${showShape(entry.shape)}${hint}`)
  }
  if (entry.size === leaf.size && sameSqueezed(entry.shape, leaf.shape)) return E.right(converted(entry, leaf, false))
  return layerFailure(name, argument, `${showShape(leaf.shape)} for ${where}`, showShape(entry.shape))
}

// ---------------------------------------------------------------------------------------------
// arguments
// ---------------------------------------------------------------------------------------------

/** The options, read once and checked. */
interface Options {
  readonly rename: ((key: string) => unknown) | undefined
  readonly prefixes: Readonly<Record<string, number>>
  readonly linear: 'torch' | 'braincog'
  readonly strict: boolean
}

const readOptions = (options: unknown): E.Either<LayerError, Options> => {
  const o = expectOptions(name, 'options', options, ['rename', 'prefixes', 'linear', 'strict'])
  if (E.isLeft(o)) return o
  const { rename, prefixes = {}, linear = 'torch', strict = true } = o.right
  if (rename !== undefined && typeof rename !== 'function') {
    return layerFailure(name, 'options.rename', 'a function (key) => string | null, or undefined', describeValue(rename))
  }
  if (linear !== 'torch' && linear !== 'braincog') return layerFailure(name, 'options.linear', "'torch' or 'braincog'", describeValue(linear))
  if (typeof strict !== 'boolean') return layerFailure(name, 'options.strict', 'a boolean', describeValue(strict))
  const expected = 'a record of module names to layer indices'
  let named: readonly (readonly [string, unknown])[]
  try {
    if (typeof prefixes !== 'object' || prefixes === null || Object.prototype.toString.call(prefixes) !== '[object Object]') {
      return layerFailure(name, 'options.prefixes', expected, describeValue(prefixes))
    }
    named = Object.entries(prefixes)
  } catch (e) {
    return layerFailure(name, 'options.prefixes', expected, `a value whose property access threw (${describeValue(e)})`)
  }
  for (const [k, i] of named) {
    if (typeof i !== 'number' || !Number.isSafeInteger(i) || i < 0) {
      return layerFailure(name, `options.prefixes[${quoted(k)}]`, 'a layer index (an integer >= 0)', describeValue(i))
    }
  }
  return E.right({
    rename: rename as ((key: string) => unknown) | undefined,
    prefixes: Object.fromEntries(named) as Readonly<Record<string, number>>,
    linear,
    strict,
  })
}

/** The source's entries, read once: each a tensor (revived, checked) or a number. */
const readSource = (source: unknown): E.Either<LayerError, readonly (readonly [string, Tensor | number])[]> => {
  if (isBytes(source)) {
    return E.map((f: { readonly entries: NamedEntries }) => Object.entries(f.entries))(fromSafetensors(source, name))
  }
  const expected = 'safetensors bytes or named entries (a record of tensors and numbers)'
  if (typeof source !== 'object' || source === null || Array.isArray(source)) return layerFailure(name, 'source', expected, brief(source))
  let given: readonly (readonly [string, unknown])[]
  try {
    given = Object.entries(source)
  } catch (e) {
    return layerFailure(name, 'source', expected, `a value whose property access threw (${describeValue(e)})`)
  }
  const out: (readonly [string, Tensor | number])[] = []
  for (const [k, v] of given) {
    if (typeof v === 'number') {
      out.push([k, v])
      continue
    }
    const argument = `stateDict[${quoted(k)}]`
    if (typeof v !== 'object' || v === null) return layerFailure(name, argument, 'a tensor or a number', brief(v))
    const t = expectTensor(name, argument, v)
    if (E.isLeft(t)) return t
    out.push([k, t.right])
  }
  return E.right(out)
}

// ---------------------------------------------------------------------------------------------
// import
// ---------------------------------------------------------------------------------------------

/**
 * Loads a PyTorch or BrainCog `state_dict` (safetensors bytes, or entries already read with
 * {@link fromSafetensors}) into a model's params and state, shaped like `template` (what the
 * pipeline's `init` gives). For an `nn.Sequential` saved as is this is one call; the pipeline
 * must mirror the Sequential module for module (a layer without parameters still takes its
 * index). PyTorch keeps parameters and buffers in one namespace, braincog-fn splits them into
 * params and state; each key goes to whichever of the two has its name. The mapping:
 *
 * | PyTorch key | braincog-fn |
 * | --- | --- |
 * | `module.` prefixes (DataParallel) | dropped |
 * | `3.weight` (`nn.Sequential`), or `conv1.weight` with `prefixes: { conv1: 0 }` | layer 3's (0's) `weight` |
 * | `2.0.weight` (a Sequential inside one) | `params[2][0].weight` |
 * | `running_mean`, `running_var`, `num_batches_tracked` | state `runningMean`, `runningVar`, `numBatchesTracked`; any snake_case name to camelCase |
 * | `nn.Linear`'s `weight [out, in]` | CustomLinear's `weight [in, out]`, transposed (`linear: 'braincog'`: BrainCog's CustomLinear is `[in, out]` already) |
 * | `nn.Conv2d`'s `weight [out, in/groups, kh, kw]`, `bias [out]` | as they are |
 * | BatchNorm `weight`, `bias` `[C]`; tdBN (an `nn.BatchNorm2d`) | as they are |
 * | TEBN's `bn.weight`, `bn.running_mean`, ... (its inner `BatchNorm3d`) and `p [4, 1, 1, 1, 1]` | `weight`, `runningMean`, ...; `p [4]` (size-1 axes squeezed) |
 *
 * Values are converted to the template's dtype, as `load_state_dict` copies into the module's
 * tensors; counters (PyTorch's int64 `num_batches_tracked`) become numbers.
 *
 * Rejects (as `LayerError` naming the key and both shapes): an entry whose shape does not fit,
 * an entry that is neither a tensor nor a number, a key that names no place in the template,
 * and (unless `strict: false`) template tensors and counters that no entry fills; a malformed
 * safetensors file as {@link fromSafetensors}; options that are not {@link StateDictOptions}
 * (an unknown option, a `strict` that is not a boolean, a `rename` that is not a function,
 * `prefixes` that are not layer indices of the template); a template that is not a tree.
 *
 * @example
 * import { customLinear, importStateDict, key, orThrow, sequential, tensor, toNested, votingLayer } from 'braincog-fn'
 * const net = sequential(customLinear({ inFeatures: 3, outFeatures: 2, bias: true }), votingLayer({ voterNum: 2 }))
 * const template = orThrow(net.init(key(0), [1, 3]))
 * // nn.Sequential(nn.Linear(3, 2), ...).state_dict(): the weight is [out, in]
 * const stateDict = { '0.weight': tensor([1, 2, 3, 4, 5, 6], [2, 3]), '0.bias': tensor([0.5, -0.5], [2]) }
 * const { params } = orThrow(importStateDict(stateDict, template))
 * toNested(params[0].weight) // [[1, 4], [2, 5], [3, 6]]
 * importStateDict({ '0.weight': tensor([1, 2], [1, 2]) }, template)._tag // 'Left'
 */
export const importStateDict = <P, S>(
  source: Uint8Array | ArrayBuffer | NamedEntries,
  template: ParamsAndState<P, S>,
  options: StateDictOptions = {},
): E.Either<LayerError, ParamsAndState<P, S>> => {
  const read = readOptions(options)
  if (E.isLeft(read)) return read
  const { rename, linear, strict } = read.right
  // the template read once: a tree (no cycles, no getters that throw) holding params and state
  const tree = expectTree(name, 'template', template)
  if (E.isLeft(tree)) return tree
  const t = tree.right as Readonly<Record<string, unknown>> | null
  if (typeof t !== 'object' || t === null || Array.isArray(t) || !('params' in t) || !('state' in t)) {
    return layerFailure(name, 'template', "a model's { params, state } (what init gives)", brief(template))
  }
  const entries = readSource(source)
  if (E.isLeft(entries)) return entries
  const { params, state } = t as unknown as ParamsAndState<P, S>
  const layers = Array.isArray(params) ? (params as readonly unknown[]).length : undefined
  const prefixes = read.right.prefixes
  for (const [k, i] of Object.entries(prefixes)) {
    if (layers !== undefined && i >= layers) {
      return layerFailure(name, `options.prefixes[${quoted(k)}]`, `a layer index in [0, ${layers}) (the template's pipeline)`, String(i))
    }
  }
  // where each entry goes: a path into { params, state }, and its value
  const filled = new Map<string, unknown>()
  for (const [rawKey, entry] of entries.right) {
    const key = rename === undefined ? rawKey : rename(rawKey)
    if (key === null) continue
    if (typeof key !== 'string') return layerFailure(name, 'options.rename', 'a function giving a string or null', `${brief(key)} for ${quoted(rawKey)}`)
    const at = locate(key, layers, prefixes)
    if (typeof at === 'string') {
      if (!strict) continue
      return layerFailure(name, `stateDict[${quoted(rawKey)}]`, at, quoted(key))
    }
    const base: TreePath = at.index === undefined ? [] : [at.index]
    const inParams = ours(valueAt(params, base), at.rest)
    const inState = ours(valueAt(state, base), at.rest)
    const paramLeaf = valueAt(params, [...base, ...inParams])
    const stateLeaf = valueAt(state, [...base, ...inState])
    const side = paramLeaf !== undefined ? 'params' : stateLeaf !== undefined ? 'state' : undefined
    if (side === undefined) {
      if (!strict) continue
      const layer = at.index === undefined ? 'the model' : `layer ${at.index}`
      const got = `${quoted(dottedName(inParams))}, which it has not`
      return layerFailure(name, `stateDict[${quoted(rawKey)}]`, `a name ${layer} has in its params or state`, got)
    }
    const path = [side, ...base, ...(side === 'params' ? inParams : inState)]
    const v = fit(rawKey, entry, side === 'params' ? paramLeaf : stateLeaf, dottedName(path), linear)
    if (E.isLeft(v)) return v
    filled.set(dottedName(path), v.right)
  }
  // every tensor and counter of the template filled (strict), the rest kept
  let missing: string[] = []
  const rebuilt = mapWithPath({ params, state }, (leaf, path) => {
    const k = dottedName(path)
    if (filled.has(k)) return filled.get(k)
    if (isTensor(leaf) || typeof leaf === 'number') missing.push(k)
    return leaf
  }) as ParamsAndState<P, S>
  if (!strict) missing = []
  if (missing.length > 0) {
    const others = `${missing.slice(1, 4).join(', ')}${missing.length > 4 ? ', ...' : ''}`
    const more = missing.length > 1 ? ` (and ${missing.length - 1} more: ${others})` : ''
    const want = 'an entry for every tensor and counter of the template'
    return E.left(layerError(name, 'stateDict', want, `none for ${missing[0]}${more}`))
  }
  return E.right(rebuilt)
}
