/**
 * The pure layer contract.
 *
 * A layer is a value built once from its configuration (bad configuration throws a
 * `ConfigError` right there). It then offers:
 *
 * - `outputShape(shape)`: shape inference without running;
 * - `init(key, shape, dtype)`: fresh params and state and the output shape;
 * - `apply(params, state, x, ctx)`: output and new state, never modifying an argument;
 * - `reset(state)`: the state with its temporal part cleared (the identity for layers without
 *   temporal state), the same name on every layer;
 * - `step`: the same computation as a step over any {@link Device}: what `apply`, `scan`,
 *   `scanOnDevice` and the gradients (`vjp`) run. A layer's arithmetic lives there, once.
 *
 * Run-time errors (sizes, mismatched masks) come back as `Either` lefts, not exceptions.
 *
 * @module
 */
import type { Either } from 'fp-ts/lib/Either.js'
import type { LayerError } from '../errors.js'
import type { Device, DeviceTensor } from '../kernel/device.js'
import type { OnDevice } from '../kernel/tree.js'
import type { Key } from '../random/key.js'
import type { Axes, DType, Shape, Tensor } from '../tensor/tensor.js'
import type { Ctx } from './context.js'

/** What `init` returns. */
export interface Init<P, S> {
  /** Fresh parameters (learned or given; never changed by `apply`). */
  readonly params: P
  /** The initial state (what `reset` returns to). */
  readonly state: S
  /** The shape `apply` returns for inputs of the shape given to `init`. */
  readonly outputShape: Shape
}

/** What `apply` returns. */
export interface Step<S, Out extends Axes = Axes> {
  /** The layer's output, a new tensor. */
  readonly output: Tensor<Out>
  /** The state for the next call (a new value; the state passed in is unchanged). */
  readonly state: S
}

/** The shape and dtype of an input, all a step's checks depend on. */
export interface TensorInfo {
  /** The input's shape (one step's, in a scan). */
  readonly shape: Shape
  /** The input's dtype. */
  readonly dtype: DType
}

/** Params and state checked and normalized for a call, and the call's output shape. */
export interface Prepared<P, S> {
  /** The params, normalized (missing nullable entries `null`, tensors revived). */
  readonly params: P
  /** The state, normalized likewise. */
  readonly state: S
  /** The output shape for the input. */
  readonly outputShape: Shape
}

/** What a step returns on a device. */
export interface StepResult<S, B> {
  /** The output (a new buffer, or one of the step's arguments handed on). */
  readonly output: DeviceTensor<B>
  /** The new state (entries may be the old state's buffers, where they did not change). */
  readonly state: OnDevice<S, B>
}

/**
 * A layer's computation over any device. `prepare` checks on the host everything the step
 * depends on besides the input's values; `run` then cannot fail. `run` borrows its arguments
 * (it never frees or changes them), frees the temporaries it makes, and may hand an argument's
 * buffer back as its output or in its new state; whoever called it frees what became dead.
 *
 * Calling the step yourself keeps a single call's tensors on the device, as PyTorch's stay in
 * its allocator: prepare once, upload once, then each call costs only its kernels (`apply`
 * copies the input in and the output out into a fresh array every time).
 *
 * @example
 * import { type Device, DeviceTensor, cpu, evaluate, key, layerNorm, onDevice, orThrow } from 'braincog-fn'
 * import { residentBackend } from 'braincog-fn'
 * const device: Device<unknown> = residentBackend() ?? cpu
 * const ln = layerNorm({ normalizedShape: 2 })
 * const { params } = orThrow(ln.init(key(0), [1, 2]))
 * const ctx = evaluate()
 * const prepared = orThrow(ln.step.prepare(params, {}, { shape: [1, 2], dtype: 'float32' }, ctx))
 * const p = onDevice(device, prepared.params)
 * const x = new DeviceTensor(device.upload(new Float32Array([1, 3])), [1, 2])
 * const { output } = ln.step.run(device, p, {}, x, ctx)
 * Array.from(device.read(output.buffer), Math.round) // [-1, 1]
 * for (const t of [output, x, p.weight, p.bias]) device.free(t.buffer)
 */
export interface LayerStep<P, S> {
  /** Checks params, state (as a JavaScript caller passes them), the input's shape and dtype, and the context. */
  prepare(params: unknown, state: unknown, input: TensorInfo, ctx: Ctx): Either<LayerError, Prepared<P, S>>
  /** One step on `device`, with `ctx` the call's (checked) context. */
  run<B>(device: Device<B>, params: OnDevice<P, B>, state: OnDevice<S, B>, x: DeviceTensor<B>, ctx: Ctx): StepResult<S, B>
  /**
   * True where each sample along the leading axis is computed from that sample alone: the same
   * bits whatever else is in the batch, no randomness, the state passed through. A pipeline may
   * then run the step on fewer rows (see {@link LayerStep.onRepeated}).
   */
  readonly perSample?: boolean
  /**
   * Where set, the step's output is its input repeated this many times along a new leading
   * axis, whatever the input's shape, and its state passes through (`repeatSteps`).
   */
  readonly repeats?: number
  /**
   * Where given, the step on T copies of a value along a new leading axis (`[T, N, ...]`) is T
   * copies of this on the value itself (`[N, ...]`): a time-merged per-sample layer's. After a
   * `repeatSteps`, `sequential` calls it instead of `run` and repeats the result afterwards, so
   * the layer runs once, not T times.
   */
  readonly onRepeated?: LayerStep<P, S>['run']
  /**
   * Where given, the step on `repeats` copies of `x` along a new leading axis, handed `x` itself
   * (`[N, ...]`): the step's own output, not one to repeat (`scan`, whose every step reads `x`).
   * After a `repeatSteps`, `sequential` calls it instead of making the copies, so the forward
   * writes no `[T, N, ...]` tensor and the gradient adds the steps' cotangents as they come.
   */
  readonly overRepeats?: <B>(
    device: Device<B>,
    params: OnDevice<P, B>,
    state: OnDevice<S, B>,
    x: DeviceTensor<B>,
    repeats: number,
    ctx: Ctx,
  ) => StepResult<S, B>
}

/**
 * A pure layer with params `P`, state `S`, input axes `In` and output axes `Out`.
 */
export interface Layer<P, S, In extends Axes = Axes, Out extends Axes = Axes> {
  /** The layer's name as used in errors, e.g. `CustomLinear`. */
  readonly name: string
  /** The output shape for an input shape, or why that input is not accepted. */
  outputShape(inputShape: Shape): Either<LayerError, Shape>
  /** Fresh params and state for inputs of `inputShape` (float32 unless `dtype` says otherwise). */
  init(key: Key, inputShape: Shape, dtype?: DType): Either<LayerError, Init<P, S>>
  /** One forward call. Nothing passed in is modified; the same arguments give the same bits. */
  apply(params: P, state: S, input: Tensor<In>, ctx: Ctx): Either<LayerError, Step<S, Out>>
  /** The state with its temporal part cleared: what a fresh sample starts from. */
  reset(state: S): S
  /**
   * The layer's computation as a device step. Every layer of this library has one; a layer
   * written by hand without one still composes (`sequential` and `scan` then call its `apply`),
   * but runs on the host only and has no gradient.
   */
  readonly step?: LayerStep<P, S>
}

/** Any layer (for pipelines and tables). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyLayer = Layer<any, any, any, any>

/** The params type of a layer. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ParamsOf<L> = L extends Layer<infer P, any, any, any> ? P : never
/** The state type of a layer. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type StateOf<L> = L extends Layer<any, infer S, any, any> ? S : never
/** The input axes of a layer. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type InOf<L> = L extends Layer<any, any, infer I, any> ? I : never
/** The output axes of a layer. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type OutOf<L> = L extends Layer<any, any, any, infer O> ? O : never

/** A state for layers that keep none. */
export type NoState = Readonly<Record<string, never>>
/** Params for layers that learn none. */
export type NoParams = Readonly<Record<string, never>>
/**
 * The configuration of a constructor that takes no options (`relu`, `meanOverTime`, `mseLoss`):
 * `undefined` or `{}`; anything else (an option it does not know, no object at all) is a
 * `ConfigError`, never silently ignored.
 */
export type NoConfig = Readonly<Record<string, never>>

/** The shared empty state/params value. */
export const empty: NoState = Object.freeze({})
