/**
 * The apply context: training or eval, the PRNG key, caller-supplied draws, and the device
 * whose kernels run the call. It is an explicit argument of every `apply`, never a global;
 * {@link resolveBackend} is the one place that says which device runs when it names none.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { bestBackend } from '../backend/wasm/index.js'
import { describe, fail, type LayerError } from '../errors.js'
import type { Device, DeviceTensor } from '../kernel/device.js'
import type { Key } from '../random/key.js'
import { foldIn, isKey } from '../random/key.js'
import type { Tensor } from '../tensor/tensor.js'
import { expectTensor } from './check.js'

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

/**
 * The device a call runs on: `ctx.backend` when given, else the default, chosen once per
 * process: the resident WebAssembly device (its tensors stay in the module's memory from kernel
 * to kernel, so a pipeline, a scan or a training step copies only its inputs in and its results
 * out) where the kernels are built and the engine supports them, else the JavaScript reference;
 * `BRAINCOG_BACKEND=cpu|wasm|wasm-copy` in the environment forces one.
 *
 * @example
 * import { evaluate, resolveBackend } from 'braincog-fn'
 * resolveBackend(evaluate()).name // 'wasm-resident' where built, else 'cpu'
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const resolveBackend = (ctx: Pick<Ctx, 'backend'> | undefined): Device<any> => ctx?.backend ?? bestBackend()

/**
 * A training context.
 *
 * @example
 * import { key, train } from 'braincog-fn'
 * const ctx = train(key(0))
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const train = (k?: Key, backend?: Device<any>): Ctx => ({ training: true, key: k, backend })

/**
 * An eval context: dropout off, running statistics. A key is still needed by layers that draw
 * in eval too (WTALayer).
 *
 * @example
 * import { evaluate, key } from 'braincog-fn'
 * const ctx = evaluate(undefined, key(0))
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const evaluate = (backend?: Device<any>, k?: Key): Ctx => ({ training: false, key: k, backend })

/** The same context in training (`true`) or eval (`false`) mode. */
export const withTraining =
  (training: boolean) =>
  (ctx: Ctx): Ctx => ({ ...ctx, training })

/**
 * The context for sub-call `index` (a time step, a layer of a pipeline): the key folded with
 * the index, caller-supplied draws removed.
 */
export const childCtx = (ctx: Ctx, index: number): Ctx => ({
  training: ctx.training,
  key: ctx.key === undefined ? undefined : foldIn(ctx.key, index),
  backend: ctx.backend,
  ...(ctx.recorder === undefined ? {} : { recorder: { ...ctx.recorder, path: [...ctx.recorder.path, index] } }),
})

const isDevice = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && typeof (v as { readonly run?: unknown }).run === 'function'

/**
 * Checks a context as a JavaScript caller may pass it: an object with a boolean `training`,
 * and where present a key, a tensor of draws and a device. Gives it with `draws` revived (a
 * structured clone of a tensor is accepted).
 */
export const checkCtx = (layer: string, ctx: unknown): E.Either<LayerError, Ctx> => {
  if (typeof ctx !== 'object' || ctx === null) {
    return fail(layer, 'ctx', '{ training, key?, draws?, backend? } (train() or evaluate())', describe(ctx))
  }
  const c = ctx as Readonly<Record<string, unknown>>
  if (typeof c.training !== 'boolean') return fail(layer, 'ctx.training', 'a boolean', describe(c.training))
  if (c.key !== undefined && !isKey(c.key)) return fail(layer, 'ctx.key', 'a key (key(seed))', describe(c.key))
  if (c.backend !== undefined && !isDevice(c.backend)) {
    return fail(layer, 'ctx.backend', 'a device (cpu, wasmBackend(), a GPU device)', describe(c.backend))
  }
  if (c.draws === undefined) return E.right(ctx as Ctx)
  return E.map((draws: Tensor) => ({ ...(ctx as Ctx), draws }))(expectTensor(layer, 'ctx.draws', c.draws))
}
