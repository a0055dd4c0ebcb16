/**
 * The apply context: training or eval, the PRNG key, caller-supplied draws, and the device
 * whose kernels run the call. It is an explicit argument of every `apply`, never a global;
 * {@link resolveBackend} is the one place that says which device runs when it names none.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { bestBackend } from '../backend/wasm/index.js'
import { describeValue, layerFailure, type LayerError } from '../errors.js'
import type { Device, DeviceTensor } from '../kernel/device.js'
import type { Key } from '../random/key.js'
import { foldIn } from '../random/key.js'
import { readKey } from '../random/readKey.js'
import type { Tensor } from '../tensor/tensor.js'
import { ArgumentError } from '../tensor/view.js'
import { deviceProblem, expectTensor } from './check.js'

/** What an `apply` call may depend on besides params, state and input. */
export interface Ctx {
  /** Training mode (dropout active, batch statistics) or eval mode. */
  readonly training: boolean
  /** The key for layers that draw randomness (WTALayer, NDropout). */
  readonly key?: Key
  /**
   * Caller-supplied random draws for a single-layer call, used instead of drawing from `key`:
   * WTALayer's uniform noise, NDropout's mask. Pipelines do not pass it on.
   */
  readonly draws?: Tensor
  /**
   * The device whose kernels run the call: `cpu` (the JavaScript reference), `wasm` (the
   * WebAssembly SIMD kernels), or any other {@link Device} (a GPU's: then each call uploads its
   * arguments and reads its results back). Absent: see {@link resolveBackend}.
   */
  readonly backend?: Device<any> // eslint-disable-line @typescript-eslint/no-explicit-any
  /** Where a `recording` run collects what pipelines inside it compute (set by `recording`, passed on). */
  readonly recorder?: Recorder
}

/**
 * The collector of a `recording` run: pipelines report each layer's output (and state) under
 * the layer's path (`"2"`, `"0.3"` in nested pipelines), at the time step enclosing scans set.
 */
export interface Recorder {
  /** The path of the layer the context belongs to, one index per enclosing pipeline. */
  readonly path: readonly number[]
  /** The time step of the enclosing scans (0 outside any scan). */
  readonly step: number
  /** Receives one layer's output and state on the device, as the step computed them. */
  readonly sink: (path: string, step: number, output: DeviceTensor<unknown>, state: unknown) => void
}

const deviceExpected = 'a device (cpu, wasmBackend(), a GPU device)'

/** Throws the `RangeError` of a context helper `fn`. */
const reject = (fn: string, argument: string, expected: string, got: string): never => {
  throw new ArgumentError(fn, argument, expected, got)
}

/** An optional key or device argument of a context helper, checked. */
const optionalKey = (fn: string, k: unknown): Key | undefined => {
  if (k === undefined) return undefined
  return readKey(k) ?? reject(fn, 'k', 'a key (key(seed)) or undefined', describeValue(k))
}
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const optionalDevice = (fn: string, backend: unknown): Device<any> | undefined => {
  if (backend === undefined) return undefined
  const problem = deviceProblem(backend)
  return problem === undefined ? (backend as Device<unknown>) : reject(fn, 'backend', `${deviceExpected} or undefined`, problem)
}

/** A context argument of a helper `fn`, checked (a `RangeError` naming `fn`). */
const ctxArg = (fn: string, ctx: unknown): Ctx => {
  const c = checkCtx(fn, ctx)
  if (E.isLeft(c)) throw new ArgumentError(fn, c.left.argument, c.left.expected, c.left.got)
  return c.right
}

/**
 * The device a call runs on: `ctx.backend` when given, else the default, chosen once per
 * process: the resident WebAssembly device (its tensors stay in the module's memory from kernel
 * to kernel, so a pipeline, a scan or a training step copies only its inputs in and its results
 * out) where the kernels are built and the engine supports them, else the JavaScript reference;
 * `BRAINCOG_BACKEND=cpu|wasm|wasm-copy` in the environment forces one. Throws a `RangeError`
 * (`resolveBackend: …`) when `ctx.backend` is given and is not a device.
 *
 * @example
 * import { evaluate, resolveBackend } from 'braincog-fn'
 * resolveBackend(evaluate()).name // 'wasm-resident' where built, else 'cpu'
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const resolveBackend = (ctx: Pick<Ctx, 'backend'> | undefined): Device<any> => {
  let backend: unknown
  try {
    backend = typeof ctx === 'object' && ctx !== null ? ctx.backend : undefined
  } catch (e) {
    reject('resolveBackend', 'ctx', 'a context', `a value whose property access threw (${describeValue(e)})`)
  }
  if (ctx !== undefined && (typeof ctx !== 'object' || ctx === null)) reject('resolveBackend', 'ctx', 'a context or undefined', describeValue(ctx))
  return optionalDevice('resolveBackend', backend) ?? bestBackend()
}

/**
 * A training context. Throws a `RangeError` (`train: …`) when `k` is not a key or `backend` not
 * a device (either may be left out).
 *
 * @example
 * import { key, train } from 'braincog-fn'
 * const ctx = train(key(0))
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const train = (k?: Key, backend?: Device<any>): Ctx => ({
  training: true,
  key: optionalKey('train', k),
  backend: optionalDevice('train', backend),
})

/**
 * An eval context: dropout off, running statistics. A key is still needed by layers that draw
 * in eval too (WTALayer). Throws a `RangeError` (`evaluate: …`) as {@link train} does.
 *
 * @example
 * import { evaluate, key } from 'braincog-fn'
 * const ctx = evaluate(undefined, key(0))
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const evaluate = (backend?: Device<any>, k?: Key): Ctx => ({
  training: false,
  key: optionalKey('evaluate', k),
  backend: optionalDevice('evaluate', backend),
})

/**
 * The same context in training (`true`) or eval (`false`) mode. Throws a `RangeError`
 * (`withTraining: …`) for a `training` that is not a boolean or a context that is not one.
 */
export const withTraining = (training: boolean) => {
  if (typeof training !== 'boolean') reject('withTraining', 'training', 'a boolean', describeValue(training))
  return (ctx: Ctx): Ctx => ({ ...ctxArg('withTraining', ctx), training })
}

/**
 * The context for sub-call `index` (a time step, a layer of a pipeline): the key folded with
 * the index, caller-supplied draws removed. Throws a `RangeError` (`childCtx: …`) for a context
 * that is not one or an index that is not a safe integer.
 */
export const childCtx = (ctx: Ctx, index: number): Ctx => {
  const c = ctxArg('childCtx', ctx)
  if (typeof index !== 'number' || !Number.isSafeInteger(index)) reject('childCtx', 'index', 'a safe integer', describeValue(index))
  return {
    training: c.training,
    key: c.key === undefined ? undefined : foldIn(c.key, index),
    backend: c.backend,
    ...(c.recorder === undefined ? {} : { recorder: { ...c.recorder, path: [...c.recorder.path, index] } }),
  }
}

const isRecorder = (r: unknown): r is Recorder =>
  typeof r === 'object' &&
  r !== null &&
  Array.isArray((r as Recorder).path) &&
  typeof (r as Recorder).step === 'number' &&
  typeof (r as Recorder).sink === 'function'

/**
 * Checks a context as a JavaScript caller may pass it: an object with a boolean `training`,
 * and where present a key, a tensor of draws and a device. Gives a fresh context of what was
 * read (each field once), with `draws` revived (a structured clone of a tensor is accepted).
 */
export const checkCtx = (layer: string, ctx: unknown): E.Either<LayerError, Ctx> => {
  const expected = '{ training, key?, draws?, backend? } (train() or evaluate())'
  let fields: {
    readonly training: unknown
    readonly key: unknown
    readonly draws: unknown
    readonly backend: unknown
    readonly recorder: unknown
  }
  try {
    if (typeof ctx !== 'object' || ctx === null || Array.isArray(ctx)) return layerFailure(layer, 'ctx', expected, describeValue(ctx))
    const c = ctx as Readonly<Record<string, unknown>>
    fields = { training: c.training, key: c.key, draws: c.draws, backend: c.backend, recorder: c.recorder }
  } catch (e) {
    return layerFailure(layer, 'ctx', expected, `a value whose property access threw (${describeValue(e)})`)
  }
  const { training, key, draws, backend, recorder } = fields
  if (typeof training !== 'boolean') return layerFailure(layer, 'ctx.training', 'a boolean', describeValue(training))
  const k = key === undefined ? undefined : readKey(key)
  if (key !== undefined && k === undefined) return layerFailure(layer, 'ctx.key', 'a key (key(seed))', describeValue(key))
  const problem = backend === undefined ? undefined : deviceProblem(backend)
  if (problem !== undefined) return layerFailure(layer, 'ctx.backend', deviceExpected, problem)
  if (recorder !== undefined && !isRecorder(recorder)) {
    return layerFailure(layer, 'ctx.recorder', 'a recorder (as recording sets it) or undefined', describeValue(recorder))
  }
  const base: Ctx = {
    training,
    key: k,
    backend: backend as Device<unknown> | undefined,
    ...(recorder === undefined ? {} : { recorder }),
  }
  if (draws === undefined) return E.right(base)
  return E.map((d: Tensor) => ({ ...base, draws: d }))(expectTensor(layer, 'ctx.draws', draws))
}
