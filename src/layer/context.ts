/**
 * The apply context: training or eval, the PRNG key, caller-supplied draws, and the kernel
 * backend. It is an explicit argument of every `apply`, never a global.
 *
 * @module
 */
import type { Backend } from '../backend/backend.js'
import type { Key } from '../random/key.js'
import { foldIn } from '../random/key.js'
import type { Tensor } from '../tensor/tensor.js'

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
  /** Which kernels run; the CPU kernels when absent. */
  readonly backend?: Backend
}

/**
 * A training context.
 *
 * @example
 * import { key, train } from 'braincog-fn'
 * const ctx = train(key(0))
 */
export const train = (k?: Key, backend?: Backend): Ctx => ({ training: true, key: k, backend })

/** An eval context: dropout off, running statistics. */
export const evaluate = (backend?: Backend): Ctx => ({ training: false, backend })

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
})
