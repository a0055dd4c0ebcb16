/**
 * The optimizer contract, optax's: an optimizer is a pair of pure functions over a params tree,
 * `init(params)` giving its state and `update(grads, state, params)` giving the new params and
 * the new state. Nothing is mutated; the state is plain data (tensors and numbers in records),
 * so it survives `structuredClone`, `postMessage` and a checkpoint.
 *
 * This module holds what SGD, Adam and AdamW share: the types, the configuration checks and the
 * one walk over the params tree that validates grads, params and state and calls an
 * optimizer's elementwise kernel on each trainable tensor's flat data.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { chain } from '../either.js'
import { ConfigError, describeValue, type LayerError, layerError, rejectConfig } from '../errors.js'
import { isTensor } from '../kernel/tree.js'
import { configNumber, expectTensor, expectTree, guardAllocation } from '../layer/check.js'
import { ArgumentError } from '../tensor/view.js'
import type { Device } from '../kernel/device.js'
import type { NdArray } from 'ndarray'
import type { Data, DType, Tensor } from '../tensor/tensor.js'
import { alloc, dtypeOf, flatData, wrap, zeros } from '../tensor/tensor.js'
import { brief, type Buffers, forEachLeaf, mapWithPath, showPath, type TreePath, valueAt } from './tree.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/**
 * A learning-rate schedule: the rate for an update, from the optimizer's `step` (the number of
 * updates made before this one: 0 for the first), as PyTorch's LR schedulers give the rate of
 * epoch `step`. See {@link cosineSchedule}.
 */
export type Schedule = (step: number) => number

/** A learning rate: a constant, or a {@link Schedule}. */
export type LearningRate = number | Schedule

/**
 * Which tensors of the params tree an optimizer updates, by their path (`[0, 'mask']` for the
 * mask of a pipeline's first layer). The others come back as they are (the same objects) and
 * need no gradient. See {@link trainableExcept}.
 */
export type Trainable = (path: readonly (string | number)[], leaf: Tensor) => boolean

/**
 * An optimizer's state for params `P`: its update count `step` and, per buffer name, a tree
 * shaped like the params holding a buffer per trainable tensor (`null` elsewhere). `K` names the
 * buffers every configuration keeps; `N` those a configuration may not keep, which are then
 * `null` (SGD's momentum buffer without momentum, Adam's `maxExpAvgSq` without amsgrad).
 * Without `K` and `N` (`OptimizerState<P>`), any optimizer's state: one known to have a `step`.
 */
export type OptimizerState<P = unknown, K extends string = never, N extends string = never> = {
  /** Updates made so far (PyTorch's `state['step']`, 0 after `init`). */
  readonly step: number
} & { readonly [B in K]: Buffers<P> } & { readonly [B in N]: Buffers<P> | null }

/**
 * The gradients `update` takes for params `T`: a tree shaped like them with a gradient for each
 * tensor (what `valueAndGrad` returns fits). Entries for frozen tensors may be missing or
 * `null`, and non-tensor leaves are ignored; a missing gradient of a trainable tensor is a
 * `LayerError` at run time.
 */
export type Grads<T> = T extends NdArray<Data>
  ? Tensor | null | undefined
  : T extends null | undefined | number | string | boolean | bigint | symbol
    ? unknown
    : { readonly [K in keyof T]?: Grads<T[K]> }

/** What `update` returns: the new params and the new state. */
export interface OptimizerUpdate<P, K extends string = never, N extends string = never> {
  /** Params shaped like the ones given: new tensors where updated, the same values elsewhere. */
  readonly params: P
  /** The state for the next update. */
  readonly state: OptimizerState<P, K, N>
}

/**
 * An optimizer, as optax's `GradientTransformation` but returning the new params directly
 * (PyTorch's `step()`, without the mutation): `init(params)` gives the initial state,
 * `update(grads, state, params)` one update. `grads` is a tree shaped like `params` (what
 * `valueAndGrad` returns) with a gradient of each trainable tensor's shape and dtype. `K` and `N`
 * name the state's buffers (see {@link OptimizerState}); a plain `Optimizer` is any optimizer.
 */
export interface Optimizer<K extends string = never, N extends string = never> {
  /** `SGD`, `Adam` or `AdamW`: the name errors carry. */
  readonly name: string
  /**
   * The initial state for `params`: step 0, zero buffers for the trainable tensors. Throws a
   * `RangeError` naming the optimizer for params that are not a tree of records, arrays,
   * tensors and plain values (a cycle, a getter that throws, a broken tensor, a function).
   */
  init<P>(params: P): OptimizerState<P, K, N>
  /**
   * One update. Rejects (as `LayerError`) params that are not a tree (as `init`), a missing
   * gradient of a trainable tensor, a gradient or a state buffer of another shape or dtype than
   * its param, a state that is not this optimizer's, and a schedule giving a rate that is not a
   * finite number >= 0. Params given as structured clones come back as live tensors.
   */
  update<P>(
    grads: NoInfer<Grads<P>>,
    state: NoInfer<OptimizerState<P, K, N>>,
    params: P,
  ): E.Either<LayerError, OptimizerUpdate<P, K, N>>
}

// ---------------------------------------------------------------------------------------------
// constructors' helpers
// ---------------------------------------------------------------------------------------------

/**
 * A {@link Trainable} that freezes every tensor whose path has one of `keys`: the usual way to
 * keep CustomLinear's `mask` (a param that only gates `update`) out of a weight decay. A key that
 * is not a string (it could never match a record key) throws a `ConfigError`; the predicate
 * throws a `RangeError` (`trainableExcept: path: …`) for a path that is not an array of record
 * keys and array indices.
 *
 * @example
 * import { trainableExcept, zeros } from 'braincog-fn'
 * const trainable = trainableExcept('mask')
 * trainable([0, 'mask'], zeros([2, 2])) // false
 * trainable([0, 'weight'], zeros([2, 2])) // true
 */
export const trainableExcept = (...keys: readonly string[]): Trainable => {
  const fn = 'trainableExcept'
  const bad = keys.findIndex((k) => typeof k !== 'string')
  if (bad >= 0) rejectConfig(fn, `keys[${bad}]`, 'a string (a record key of the params)', keys[bad])
  const frozen = new Set(keys)
  const pathExpected = 'an array of record keys (strings) and array indices (integers >= 0)'
  return (path) => {
    let entries: readonly unknown[]
    try {
      entries = Array.isArray(path) ? Array.from(path as readonly unknown[]) : []
    } catch (e) {
      throw new ArgumentError(fn, 'path', pathExpected, `a value whose property access threw (${describeValue(e)})`)
    }
    if (!Array.isArray(path) || !entries.every((k) => typeof k === 'string' || (typeof k === 'number' && Number.isSafeInteger(k) && k >= 0))) {
      throw new ArgumentError(fn, 'path', pathExpected, describeValue(path))
    }
    return !entries.some((k) => typeof k === 'string' && frozen.has(k))
  }
}

/** Every tensor trains. */
export const allTrainable: Trainable = () => true

/** Throws a `ConfigError` for keys of `config` that are not in `known` (a misspelt option must not pass silently). */
export const configKeys = (name: string, config: object, known: readonly string[]): void => {
  const unknown = Object.keys(config).filter((k) => !known.includes(k))
  if (unknown.length > 0) {
    rejectConfig(name, `config.${unknown[0]}`, `one of the options ${known.join(', ')}`, `an unknown option`)
  }
}

/** A learning rate option: a finite number >= 0, or a function (checked at each update). */
export const configLearningRate = (name: string, value: unknown): LearningRate =>
  typeof value === 'function' ? (value as Schedule) : configNumber(name, 'config.lr', value, { min: 0 })

/** A `trainable` option: a function, or absent (every tensor trains). */
export const configTrainable = (name: string, value: unknown): Trainable => {
  if (value === undefined) return allTrainable
  if (typeof value === 'function') return value as Trainable
  throw new ConfigError(layerError(name, 'config.trainable', 'a function (path, leaf) => boolean', describeValue(value)))
}

/** The rate of the update after `step` updates, checked. */
export const rateAt = (name: string, lr: LearningRate, step: number): E.Either<LayerError, number> => {
  const rate = typeof lr === 'number' ? lr : lr(step)
  return typeof rate === 'number' && Number.isFinite(rate) && rate >= 0
    ? E.right(rate)
    : E.left(layerError(name, `config.lr(${step})`, 'a schedule giving finite rates >= 0', brief(rate)))
}

// ---------------------------------------------------------------------------------------------
// the walk
// ---------------------------------------------------------------------------------------------

/**
 * An optimizer's arithmetic on one tensor: reads the param `p`, its gradient `g` and the state
 * buffers `b` (flat, row-major, all of one dtype and length; none changed) and gives the new
 * param and buffers as fresh arrays.
 */
export type LeafKernel = (p: Data, g: Data, b: readonly Data[]) => LeafOutput

/** What a {@link LeafKernel} gives: the new param and state buffers. */
export interface LeafOutput {
  readonly param: Data
  readonly buffers: readonly Data[]
}

/** An optimizer's loop over one tensor, writing the new param `outP` and buffers `outB` (never aliasing its inputs). */
type LeafLoop = (p: Data, g: Data, b: readonly Data[], outP: Data, outB: readonly Data[]) => void

/** A {@link LeafKernel} on `dtype` data from a loop that writes `buffers` new buffers into arrays made here. */
export const intoFresh =
  (dtype: DType, buffers: number, loop: LeafLoop): LeafKernel =>
  (p, g, b) => {
    const param = alloc(p.length, dtype)
    const outB = Array.from({ length: buffers }, () => alloc(p.length, dtype))
    loop(p, g, b, param, outB)
    return { param, buffers: outB }
  }

/** How an optimizer runs one update: its kernel per dtype for update number `t` at rate `lr`. */
export type KernelFor = (t: number, lr: number, dtype: DType) => LeafKernel

/**
 * The update of one tensor from buffers on a device: the new param and kept buffers, each a
 * fresh buffer (the arguments stay as they were, the caller's to free).
 */
export type DeviceLeafKernel = <B>(
  device: Device<B>,
  param: B,
  grad: B,
  buffers: readonly B[],
) => { readonly param: B; readonly buffers: readonly B[] }

/** What the shared walk needs to know about an optimizer. */
export interface Spec<K extends string> {
  readonly name: string
  /** Every buffer name of the state, in order. */
  readonly buffers: readonly K[]
  /** The buffers this configuration keeps (the others are `null` in the state). */
  readonly kept: readonly K[]
  readonly lr: LearningRate
  readonly trainable: Trainable
  readonly kernel: KernelFor
  /**
   * The same update as a device kernel (for update `t` at rate `lr`, float32 and float64 alike),
   * where there is one: what a training runner uses to keep the params and the buffers on its
   * device. Without it the runner reads a leaf back and runs {@link Spec.kernel}.
   */
  readonly deviceKernel?: (t: number, lr: number) => DeviceLeafKernel
}

/** The spec each optimizer of this library was built from (see {@link specOf}). */
const specs = new WeakMap<object, Spec<string>>()

/** The optimizer of a spec: `init` and `update` over host trees, the spec remembered for {@link specOf}. */
export const optimizerFrom = <K extends string, N extends string>(spec: Spec<K | N>): Optimizer<K, N> => {
  const optimizer: Optimizer<K, N> = {
    name: spec.name,
    init: <P>(params: P) => initState<OptimizerState<P, K, N>>(spec, params),
    update: (grads, state, params) => runUpdate(spec, grads, state, params),
  }
  specs.set(optimizer, spec)
  return optimizer
}

/** The spec `optimizer` was built from, where it is one of this library's (else `undefined`). */
export const specOf = (optimizer: unknown): Spec<string> | undefined =>
  typeof optimizer === 'object' && optimizer !== null ? specs.get(optimizer) : undefined

/** `a float32 tensor [3, 4]`, `nothing`, or the value in a few words. */
const shown = brief

const sameShape = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && a.every((d, i) => d === b[i])

/** A tensor like `param` (same shape and dtype) at `argument`, or why not. */
const expectLike = (
  name: string,
  argument: string,
  v: unknown,
  param: Tensor,
  what: string,
): E.Either<LayerError, Tensor> => {
  const want = `${what}: a ${dtypeOf(param)} tensor [${param.shape.join(', ')}] (the param's shape and dtype)`
  // an object is read as a tensor (a structured clone too, a 0-d one's included); else it is none
  if (typeof v !== 'object' || v === null) return E.left(layerError(name, argument, want, shown(v)))
  const t = expectTensor(name, argument, v)
  if (E.isLeft(t)) return t
  return sameShape(t.right.shape, param.shape) && dtypeOf(t.right) === dtypeOf(param)
    ? t
    : E.left(layerError(name, argument, want, shown(t.right)))
}

const isTrainable = (spec: Spec<string>, path: TreePath, leaf: Tensor): boolean => spec.trainable(path, leaf) === true

/**
 * A params tree as {@link expectTree} reads it (once: tensors revived, cycles and getters that
 * throw rejected), or why it is not one.
 */
const paramsTree = (name: string, params: unknown): E.Either<LayerError, unknown> => expectTree(name, 'params', params)

/**
 * The initial state: step 0, a zero buffer per trainable tensor in each kept buffer tree. Throws
 * a `RangeError` naming the optimizer for params that are not a tree (`init` gives a state, not
 * an `Either`).
 */
export const initState = <S>(spec: Spec<string>, params: unknown): S => {
  const tree = paramsTree(spec.name, params)
  if (E.isLeft(tree)) throw new ArgumentError(spec.name, tree.left.argument, tree.left.expected, tree.left.got)
  const checked = tree.right
  const zerosTree = (): unknown =>
    mapWithPath(checked, (v, path) => (isTensor(v) && isTrainable(spec, path, v) ? zeros(v.shape, dtypeOf(v)) : null))
  const state: Record<string, unknown> = { step: 0 }
  for (const b of spec.buffers) state[b] = spec.kept.includes(b) ? zerosTree() : null
  return state as S
}

/** Checks the state's own fields: an integer step, a tree (or `null`) per buffer as configured. */
const checkState = <K extends string>(
  spec: Spec<K>,
  state: unknown,
): E.Either<LayerError, Readonly<Record<string, unknown>>> => {
  const { name } = spec
  const fields = `{ step, ${spec.buffers.join(', ')} }`
  // the state's fields read once: a getter that throws (a revoked Proxy) is the caller's error
  let s: Readonly<Record<string, unknown>>
  let unknown: readonly string[]
  try {
    if (typeof state !== 'object' || state === null || Array.isArray(state)) {
      return E.left(layerError(name, 'state', `the ${name} state ${fields}`, brief(state)))
    }
    const given = state as Readonly<Record<string, unknown>>
    unknown = Object.keys(given).filter((k) => k !== 'step' && !(spec.buffers as readonly string[]).includes(k))
    s = Object.fromEntries(['step', ...spec.buffers].map((k) => [k, given[k]]))
  } catch (e) {
    return E.left(layerError(name, 'state', `the ${name} state ${fields}`, `a value whose property access threw (${describeValue(e)})`))
  }
  if (unknown.length > 0) {
    return E.left(layerError(name, 'state', `the ${name} state ${fields}`, `the key ${JSON.stringify(unknown[0])}`))
  }
  if (typeof s.step !== 'number' || !Number.isSafeInteger(s.step) || s.step < 0) {
    return E.left(layerError(name, 'state.step', 'an integer >= 0 (the updates made so far)', brief(s.step)))
  }
  for (const b of spec.buffers) {
    const kept = spec.kept.includes(b)
    const v = s[b]
    if (kept && (v === null || v === undefined)) {
      const want = `a tree of buffers shaped like the params (this ${name} keeps ${b})`
      return E.left(layerError(name, `state.${b}`, want, brief(v)))
    }
    if (!kept && v !== null && v !== undefined) {
      return E.left(layerError(name, `state.${b}`, `null (this ${name} keeps no ${b})`, 'a value'))
    }
  }
  return E.right(s)
}

/** What a runner holding the gradients on a device passes {@link walkTrainable} for `grads`. */
export const heldGrads: unique symbol = Symbol('gradients held elsewhere')

/** One trainable tensor of a params tree as {@link walkTrainable} read it, checked. */
export interface TrainableLeaf {
  /** Its path in the params tree. */
  readonly path: TreePath
  /** The param. */
  readonly param: Tensor
  /** Its gradient (`null` when the walk was given {@link heldGrads}). */
  readonly grad: Tensor | null
  /** Its state buffers, one per kept buffer (`Spec.kept` order). */
  readonly buffers: readonly Tensor[]
}

/** Any other leaf of a params tree (a frozen tensor, a number, `null`), as it is. */
export interface PassedLeaf {
  readonly path: TreePath
  readonly passed: unknown
}

/** What {@link walkTrainable} read: the checked tree, the update count, and every leaf in tree order. */
export interface Walked {
  readonly tree: unknown
  readonly step: number
  /** Each leaf of the tree: a trainable tensor read with what it needs, or any other leaf as it is. */
  readonly leaves: readonly (TrainableLeaf | PassedLeaf)[]
}

/** Whether a leaf of a {@link Walked} tree is a trainable tensor. */
export const isTrainableLeaf = (leaf: Walked['leaves'][number]): leaf is TrainableLeaf => 'param' in leaf

/**
 * The one validating walk an update and a training runner share: the params tree and the state
 * checked, and for each trainable tensor its gradient (unless `grads` is {@link heldGrads}) and
 * its state buffers, each of the param's shape and dtype. Tensors the predicate freezes and
 * every other leaf (`null`, numbers) pass through.
 */
export const walkTrainable = (
  spec: Spec<string>,
  grads: unknown,
  state: unknown,
  params: unknown,
): E.Either<LayerError, Walked> => {
  const { name } = spec
  const tree = paramsTree(name, params)
  if (E.isLeft(tree)) return tree
  const checked = tree.right
  const s = checkState(spec, state)
  if (E.isLeft(s)) return s
  const trees = spec.kept.map((b) => s.right[b])
  /** A gradient or buffer at `path` of a caller's tree (read as it is walked: a getter may throw). */
  const read = (argument: string, tree: unknown, path: TreePath): E.Either<LayerError, unknown> => {
    try {
      return E.right(valueAt(tree, path))
    } catch (e) {
      return E.left(layerError(name, argument, 'a readable tree', `a value whose property access threw (${describeValue(e)})`))
    }
  }
  const leaves: Walked['leaves'][number][] = []
  let bad: LayerError | undefined
  forEachLeaf(checked, (v, path) => {
    if (bad !== undefined) return
    if (!isTensor(v)) {
      leaves.push({ path, passed: v })
      return
    }
    const at = showPath(path)
    const p = expectTensor(name, `params${at}`, v)
    if (E.isLeft(p)) {
      bad = p.left
      return
    }
    if (!isTrainable(spec, path, p.right)) {
      leaves.push({ path, passed: v })
      return
    }
    let grad: Tensor | null = null
    if (grads !== heldGrads) {
      const g = chain((x: unknown) => expectLike(name, `grads${at}`, x, p.right, 'a gradient'))(read(`grads${at}`, grads, path))
      if (E.isLeft(g)) {
        bad = g.left
        return
      }
      grad = g.right
    }
    const buffers: Tensor[] = []
    for (let i = 0; i < trees.length; i++) {
      const argument = `state.${spec.kept[i]}${at}`
      const b = chain((x: unknown) => expectLike(name, argument, x, p.right, 'a buffer'))(read(argument, trees[i], path))
      if (E.isLeft(b)) {
        bad = b.left
        return
      }
      buffers.push(b.right)
    }
    leaves.push({ path, param: p.right, grad, buffers })
  })
  return bad === undefined ? E.right({ tree: checked, step: s.right.step as number, leaves }) : E.left(bad)
}

/** A leaf's new values after an update: its param, and its buffers (`null` where it is not updated). */
export interface LeafUpdate {
  readonly param: unknown
  readonly buffers: readonly unknown[] | null
}

/**
 * A params tree and an optimizer state at update count `step`, shaped like `tree`, from each
 * leaf's values in {@link walkTrainable}'s order.
 */
export const rebuildState = <P, S>(
  spec: Spec<string>,
  tree: unknown,
  step: number,
  results: readonly LeafUpdate[],
): { readonly params: P; readonly state: S } => {
  const rebuild = (pick: (r: LeafUpdate) => unknown): unknown => {
    let i = 0
    return mapWithPath(tree, () => pick(results[i++]))
  }
  const next: Record<string, unknown> = { step }
  for (const b of spec.buffers) {
    const k = spec.kept.indexOf(b)
    next[b] = k < 0 ? null : rebuild((r) => (r.buffers === null ? null : r.buffers[k]))
  }
  return { params: rebuild((r) => r.param) as P, state: next as S }
}

/** `spec`'s host kernel for update `t` at rate `lr`, made once per dtype. */
export const leafKernels = (spec: Spec<string>, t: number, lr: number): ((dtype: DType) => LeafKernel) => {
  const kernels = new Map<DType, LeafKernel>()
  return (dtype) => {
    let k = kernels.get(dtype)
    if (k === undefined) {
      k = spec.kernel(t, lr, dtype)
      kernels.set(dtype, k)
    }
    return k
  }
}

/** One update of `spec`'s optimizer: validates ({@link walkTrainable}), then runs its kernel per trainable tensor. */
export const runUpdate = <P, S>(
  spec: Spec<string>,
  grads: unknown,
  state: unknown,
  params: P,
): E.Either<LayerError, { readonly params: P; readonly state: S }> => {
  const { name } = spec
  const walked = walkTrainable(spec, grads, state, params)
  if (E.isLeft(walked)) return walked
  const rate = rateAt(name, spec.lr, walked.right.step)
  if (E.isLeft(rate)) return rate
  const t = walked.right.step + 1
  const kernelOf = leafKernels(spec, t, rate.right)
  return guardAllocation(name, 'params', () => {
    const results = walked.right.leaves.map((leaf): LeafUpdate => {
      if (!isTrainableLeaf(leaf)) return { param: leaf.passed, buffers: null }
      const { param, grad, buffers } = leaf
      const out = kernelOf(dtypeOf(param))(flatData(param), flatData(grad!), buffers.map((b) => flatData(b)))
      const shape = param.shape.slice()
      return { param: wrap(out.param, shape), buffers: out.buffers.map((d) => wrap(d, shape.slice())) }
    })
    return E.right(rebuildState<P, S>(spec, walked.right.tree, t, results))
  })
}
