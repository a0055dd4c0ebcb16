/**
 * `defineLayer`: a layer from its step. A layer module states its name, shapes, params and
 * state schemas, `init`, and the step over a device; everything else (validation of what
 * JavaScript callers pass, `apply` on the context's device, the step contract that `scan`,
 * `scanOnDevice` and the gradients use) is built here once, the same for every layer,
 * including a user's own.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { chain } from '../either.js'
import { ConfigError, describeValue, layerFailure, type LayerError, layerError } from '../errors.js'
import { type Device, DeviceTensor } from '../kernel/device.js'
import type { OnDevice } from '../kernel/tree.js'
import type { Key } from '../random/key.js'
import { readKey } from '../random/readKey.js'
import type { Axes, DType, Shape, Tensor } from '../tensor/tensor.js'
import { dtypeOf } from '../tensor/tensor.js'
import { expectResult, expectShape, expectTensor, guardAllocation, readFields } from './check.js'
import { checkCtx, type Ctx, resolveBackend } from './context.js'
import type { Init, Layer, LayerStep, Prepared, Step, StepResult, TensorInfo } from './layer.js'
import { catchStepFailure, StepFailure } from './hostStep.js'
import { Session } from './run.js'
import type { Schema } from './schema.js'

/** What a layer module writes; {@link defineLayer} builds the layer from it. */
export interface LayerSpec<P, S> {
  /** The name used in errors (BrainCog's class name for BrainCog's layers). */
  readonly name: string
  /** The output shape for an input shape (already checked to be a valid shape), or why it is not accepted. */
  outputShape(shape: Shape): E.Either<LayerError, Shape>
  /** The params the layer accepts (and how they are normalized). */
  readonly params: Schema<P>
  /** The state the layer accepts, given the input's shape. */
  readonly state: Schema<S>
  /** Fresh params and state for inputs of `shape` (valid for the layer) and `dtype`. */
  init(
    key: Key,
    shape: Shape,
    dtype: DType,
  ): {
    /** Fresh params. */
    readonly params: P
    /** The initial state. */
    readonly state: S
  }
  /** Checks beyond the schemas (modes, draws, held state against the input), run before the step. */
  check?(params: P, state: S, input: TensorInfo, ctx: Ctx): E.Either<LayerError, unknown>
  /** The step over a device, as {@link LayerStep.run}. */
  run<B>(device: Device<B>, params: OnDevice<P, B>, state: OnDevice<S, B>, x: DeviceTensor<B>, ctx: Ctx): StepResult<S, B>
  /** The state with its temporal part cleared (default: the state itself). */
  reset?(state: S): S
  /**
   * True where `run` computes each sample (along the leading axis) from that sample alone, the
   * same bits whatever else is in the batch, with no randomness and the state passed through
   * (a linear map, a convolution, a pool): see {@link LayerStep.perSample}. Default false.
   */
  readonly perSample?: boolean
}

/** Checks an `init` dtype argument (a JavaScript caller may pass anything). */
export const expectDType = (layer: string, value: unknown): E.Either<LayerError, DType> =>
  value === undefined || value === 'float32' || value === 'float64'
    ? E.right((value as DType | undefined) ?? 'float32')
    : layerFailure(layer, 'dtype', "'float32' or 'float64'", describeValue(value))

/** Checks an `init` key argument (giving the key read once, frozen). */
export const expectKey = (layer: string, value: unknown): E.Either<LayerError, Key> => {
  const k = readKey(value)
  return k !== undefined ? E.right(k) : layerFailure(layer, 'key', 'a key (key(seed))', describeValue(value))
}

/**
 * Runs a prepared step once on `device` from host tensors and reads the results back, freeing
 * every buffer the call used.
 */
export const runOnce = <P, S, B>(
  device: Device<B>,
  step: LayerStep<P, S>,
  prepared: Prepared<P, S>,
  x: Tensor,
  ctx: Ctx,
): { readonly output: Tensor; readonly state: S } => {
  const session = new Session(device)
  try {
    const params = session.enter(prepared.params)
    const state = session.enter(prepared.state, true)
    const r = step.run(session.device, params, state, new DeviceTensor(session.upload(x), x.shape), ctx)
    // a step that left its state as it was gives back the caller's very state
    // the call is over: its results are the last use of every buffer
    return { output: session.output(r.output, true), state: r.state === state ? prepared.state : session.exit<S>(r.state, true) }
  } finally {
    session.close()
  }
}

/**
 * `apply` from a step: the context and input checked, the params and state prepared, the step
 * run on the context's device. Failed allocations of valid but huge sizes are `LayerError`s.
 */
export const applyStep =
  <P, S, In extends Axes, Out extends Axes>(name: string, step: LayerStep<P, S>) =>
  (params: P, state: S, input: Tensor<In>, ctx: Ctx): E.Either<LayerError, Step<S, Out>> => {
    const c = checkCtx(name, ctx)
    if (E.isLeft(c)) return c
    const x = expectTensor(name, 'input', input)
    if (E.isLeft(x)) return x
    return catchStepFailure(() =>
      guardAllocation(name, 'input', () =>
        E.map((prepared: Prepared<P, S>) => runOnce(resolveBackend(c.right), step, prepared, x.right, c.right) as Step<S, Out>)(
          step.prepare(params, state, { shape: x.right.shape, dtype: dtypeOf(x.right) }, c.right),
        ),
      ),
    )
  }

/**
 * `outputShape` and `init` around a layer's own: the shape, key and dtype arguments checked as
 * a JavaScript caller may pass them, failed allocations as `LayerError`s.
 */
export const shapeAndInit = <P, S>(
  name: string,
  outputShape: (shape: Shape) => E.Either<LayerError, Shape>,
  init: (key: Key, shape: Shape, dtype: DType) => E.Either<LayerError, Init<P, S>>,
): Pick<Layer<P, S>, 'outputShape' | 'init'> => ({
    outputShape: (shape) => chain(outputShape)(expectShape(name, 'inputShape', shape)),
    init: (key, shape, dtype) => {
      const k = expectKey(name, key)
      if (E.isLeft(k)) return k
      const d = expectDType(name, dtype)
      if (E.isLeft(d)) return d
      const s = expectShape(name, 'inputShape', shape)
      if (E.isLeft(s)) return s
      return guardAllocation(name, 'inputShape', () => init(k.right, s.right, d.right))
    },
  })

/**
 * Builds a layer from its spec. The result validates every argument of every method as a
 * JavaScript caller may pass it (`undefined`, plain arrays, `JSON.parse`d params, structured
 * clones), runs its step on `ctx.backend` (or the default device), and composes with
 * `sequential`, `scan`, `scanOnDevice` and `vjp`.
 *
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { DeviceTensor, defineLayer, empty, evaluate, expectAxisSize, orThrow, record, tensor, tensorOf, zeros } from 'braincog-fn'
 * // a dense layer y = x @ W over inputs [N, 2]: its gradient comes with it (see vjp)
 * const dense = defineLayer({
 *   name: 'Dense',
 *   outputShape: (s) => E.map(() => [s[0], 3])(expectAxisSize('Dense', 'input', s, -1, 2)),
 *   params: record({ w: tensorOf([2, 3]) }),
 *   state: record({}),
 *   init: (_key, _shape, dtype) => ({ params: { w: zeros([2, 3], dtype) }, state: empty }),
 *   run: (d, p, s, x) => ({
 *     output: new DeviceTensor(d.matmul(x.buffer, p.w.buffer, null, { m: x.shape[0], k: 2, n: 3 }), [x.shape[0], 3]),
 *     state: s,
 *   }),
 * })
 * const w = tensor([1, 0, 1, 0, 1, 1], [2, 3])
 * orThrow(dense.apply({ w }, empty, tensor([1, 2], [1, 2]), evaluate())).output // [[1, 2, 3]]
 */
export const defineLayer = <P, S, In extends Axes = Axes, Out extends Axes = Axes>(
  spec: LayerSpec<P, S>,
): Layer<P, S, In, Out> & {
  /** The layer's step (always present on a defined layer). */
  readonly step: LayerStep<P, S>
} => {
  const checked = specOf<P, S>(spec)
  const { name } = checked

  /** The spec's output shape, checked (a hand-written spec may return anything). */
  const outputShape = (shape: Shape): E.Either<LayerError, Shape> =>
    expectResult(name, 'spec.outputShape()', checked.outputShape(shape), (v) => expectShape(name, 'spec.outputShape()', v))

  const step: LayerStep<P, S> = {
    prepare: (params, state, input, ctx) => {
      const out = outputShape(input.shape)
      if (E.isLeft(out)) return out
      const c = { layer: name, input: input.shape, dtype: input.dtype }
      const p = checked.params(params, 'params', c)
      if (E.isLeft(p)) return p
      const s = checked.state(state, 'state', c)
      if (E.isLeft(s)) return s
      if (checked.check !== undefined) {
        const ok = expectResult(name, 'spec.check()', checked.check(p.right, s.right, input, ctx), () => E.right(undefined))
        if (E.isLeft(ok)) return ok
      }
      return E.right({ params: p.right, state: s.right, outputShape: out.right })
    },
    run: <B>(device: Device<B>, params: OnDevice<P, B>, state: OnDevice<S, B>, x: DeviceTensor<B>, ctx: Ctx) => {
      const r = checked.run(device, params, state, x, ctx) as unknown
      const output = typeof r === 'object' && r !== null ? (r as { readonly output?: unknown }).output : undefined
      if (!(output instanceof DeviceTensor)) {
        throw new StepFailure(layerError(name, 'spec.run()', 'a StepResult { output: DeviceTensor, state }', describeValue(r)))
      }
      return r as StepResult<S, B>
    },
    ...(checked.perSample === true ? { perSample: true } : {}),
  }

  /** Fresh params and state from the spec's `init`, checked against the spec's own schemas. */
  const init = (key: Key, shape: Shape, dtype: DType): E.Either<LayerError, Init<P, S>> => {
    const out = outputShape(shape)
    if (E.isLeft(out)) return out
    const r = readFields(name, 'spec.init()', checked.init(key, shape, dtype), ['params', 'state'])
    if (E.isLeft(r)) return r
    const c = { layer: name, input: shape, dtype }
    const p = checked.params(r.right.params, 'spec.init().params', c)
    if (E.isLeft(p)) return p
    const s = checked.state(r.right.state, 'spec.init().state', c)
    if (E.isLeft(s)) return s
    return E.right({ params: p.right, state: s.right, outputShape: out.right })
  }

  return {
    name,
    ...shapeAndInit<P, S>(name, outputShape, init),
    apply: applyStep<P, S, In, Out>(name, step),
    reset: (state) => (checked.reset ? checked.reset(state) : state),
    step,
  }
}

/** The members of a {@link LayerSpec}, with whether each is required. */
const specMembers = [
  ['outputShape', true],
  ['params', true],
  ['state', true],
  ['init', true],
  ['run', true],
  ['check', false],
  ['reset', false],
] as const

/** A spec read once into a frozen snapshot: a `ConfigError` for anything that is not one. */
const specOf = <P, S>(spec: unknown): LayerSpec<P, S> => {
  const fn = 'defineLayer'
  const reject = (argument: string, expected: string, got: string): never => {
    throw new ConfigError(layerError(fn, argument, expected, got))
  }
  const expected = '{ name, outputShape, params, state, init, run, check?, reset?, perSample? }'
  if (typeof spec !== 'object' || spec === null) reject('spec', expected, describeValue(spec))
  let read: Record<string, unknown> = {}
  try {
    const s = spec as Readonly<Record<string, unknown>>
    read = Object.fromEntries(['name', 'perSample', ...specMembers.map(([k]) => k)].map((k) => [k, s[k]]))
  } catch (e) {
    reject('spec', expected, `a value whose property access threw (${describeValue(e)})`)
  }
  if (typeof read.name !== 'string' || read.name === '') reject('spec.name', 'a non-empty string', describeValue(read.name))
  if (read.perSample !== undefined && typeof read.perSample !== 'boolean') {
    reject('spec.perSample', 'a boolean or undefined', describeValue(read.perSample))
  }
  for (const [k, required] of specMembers) {
    const v = read[k]
    if (typeof v !== 'function' && (required || v !== undefined)) {
      reject(`spec.${k}`, required ? 'a function' : 'a function or undefined', describeValue(v))
    }
  }
  return Object.freeze(read) as unknown as LayerSpec<P, S>
}
