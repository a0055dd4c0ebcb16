/**
 * Reverse mode for layers, in the style of JAX: `vjp` of a layer call gives its output, its new
 * state and a pullback from cotangents of the output (and, where wanted, of the new state) to
 * cotangents of the input, of the params (a tree shaped like the params) and of the state;
 * `valueAndGrad` gives a scalar function's value and its gradient with respect to a tree of
 * params. Both run the layer's own step on a {@link Tape} over the context's device, so every
 * layer with a step (pipelines and scans included) differentiates, through time where a scan
 * carries state. Nothing is mutated and there is no global tape: the same arguments give the
 * same bits, and a pullback may be called any number of times.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { chain } from '../either.js'
import type { NdArray } from 'ndarray'
import { describeValue, layerFailure, type LayerError, layerError } from '../errors.js'
import { type Device, DeviceTensor } from '../kernel/device.js'
import { mapLeaves, type OnDevice, toDevice } from '../kernel/tree.js'
import { expectBackend, expectDtype, expectResult, expectSameShape, expectTensor, expectTree, guardAllocation, readFields } from '../layer/check.js'
import { checkCtx, type Ctx, resolveBackend } from '../layer/context.js'
import { catchStepFailure } from '../layer/hostStep.js'
import type { AnyLayer, InOf, LayerStep, OutOf, ParamsOf, Prepared, StateOf } from '../layer/layer.js'
import { readLayer } from '../layer/sequential.js'
import type { Data, Tensor } from '../tensor/tensor.js'
import { dtypeOf, flatData, wrap, zeros } from '../tensor/tensor.js'
import { newTape, type Tape, type Traced } from './tape.js'

/** A cotangent tree: `T` with every tensor a cotangent of its shape and dtype (numbers: 0). */
export type Cotangent<T> = T extends NdArray<Data>
  ? Tensor
  : T extends null | undefined
    ? T
    : T extends number
      ? number
      : T extends string | boolean
        ? T
        : { readonly [K in keyof T]: Cotangent<T[K]> }

/** What a pullback gives: the cotangents of the call's input, params and state. */
export interface Cotangents<P, S> {
  /** The input's cotangent (its shape and dtype). */
  readonly input: Tensor
  /** The params' cotangents, a tree shaped like the params (zeros where no gradient reaches). */
  readonly params: Cotangent<P>
  /** The (initial) state's cotangents: along the carried state of a scan, say. */
  readonly state: Cotangent<S>
}

/** Options of a pullback. */
export interface PullbackOptions {
  /**
   * This is the last call of the pullback: the forward pass's residuals are freed as the
   * backward pass goes (less memory at once on a device whose `free` matters), and a later call
   * is a `LayerError`. Default false.
   */
  readonly last?: boolean
}

/**
 * A layer call with its pullback.
 *
 * Memory: the pullback keeps the forward pass's residuals (on the default, resident device: in
 * WebAssembly memory) until `dispose()` is called, which frees them (a no-op where the garbage
 * collector owns the buffers, as on `cpu`); a pullback after it is a `LayerError`. A result
 * dropped without `dispose()` is freed once the garbage collector finalizes it, at some later
 * time: call `dispose()` in loops. `lossAndGrad` and `valueAndGrad` do it themselves.
 */
export interface Vjp<P, S, Out extends readonly string[] = readonly string[], C = Cotangents<P, S>> {
  /** The output: bit for bit what `apply` gives. */
  readonly output: Tensor<Out>
  /** The new state: what `apply` gives. */
  readonly state: S
  /**
   * The cotangents of the call's arguments from the output's cotangent (its shape and dtype) and,
   * optionally, the new state's (a tree shaped like the state; missing or null entries are zero).
   */
  pullback(output: Tensor, state?: unknown, options?: PullbackOptions): E.Either<LayerError, C>
  /** Frees what the pullback keeps (the forward pass's residuals); idempotent. */
  dispose(): void
}

/** Frees a disposed-of-never vjp's device buffers when the garbage collector finalizes its result. */
const finalizer = new FinalizationRegistry<() => void>((cleanup) => cleanup())

/**
 * What one vjp owns on a device whose `free` matters: its tape and the uploads it lent the tape
 * (its variables). `cleanup` frees both, once.
 */
const ownership = <B>(d: Device<B>, tape: Tape<B>, lent: ReadonlySet<B>) => {
  let done = false
  return () => {
    if (done) return
    done = true
    tape.dispose()
    if (d.garbageCollected !== true) for (const b of lent) d.free(b)
  }
}

/** Frees buffers the caller owns (distinct ones once), unless the garbage collector owns them. */
export const freeAll = <B>(d: Device<B>, buffers: Iterable<B>): void => {
  if (d.garbageCollected === true) return
  for (const b of new Set(buffers)) d.free(b)
}

/** Results read back from a tape: buffers the call lent are copied, so results never alias arguments. */
export const reader = <B>(d: Device<B>, lent: ReadonlySet<B>) => {
  const seen = new Set<B>()
  return (b: B, shape: readonly number[]): Tensor => {
    const data = d.read(b)
    const fresh = !lent.has(b) && !seen.has(b)
    seen.add(b)
    return wrap(fresh ? data : (data.slice() as Data), shape)
  }
}

/** The tape variable of a host tensor (uploaded once; the buffer remembered as lent). */
const variableOf = <B>(tape: Tape<B>, lent: Set<B>) => (t: NdArray<Data>): Traced<B> => {
  const b = tape.inner.upload(flatData(t))
  lent.add(b)
  return tape.variable(b)
}

/** A host tensor on the tape as a constant (uploaded once; the buffer remembered as lent). */
const constantOf = <B>(tape: Tape<B>, lent: Set<B>) => (t: NdArray<Data>): Traced<B> => {
  const b = tape.inner.upload(flatData(t))
  lent.add(b)
  return tape.constant(b)
}

/** A cotangent tree from the tape's cotangents of a device tree's variables (zeros where none came). */
const cotangentsOf = <B>(
  d: Device<B>,
  tree: unknown,
  cot: ReadonlyMap<number, B>,
  read: (b: B, shape: readonly number[]) => Tensor,
): unknown => {
  const leaf = (v: unknown): unknown => {
    if (v instanceof DeviceTensor) {
      const t = v.buffer as Traced<B>
      const c = cot.get(t.id)
      return c === undefined ? zeros(v.shape, d.dtypeOf(t.value)) : read(c, v.shape)
    }
    return typeof v === 'number' ? 0 : v
  }
  return mapLeaves(tree, leaf)
}

/**
 * The vjp of one layer call: `apply`'s output and new state, and a pullback. The layer needs a
 * step (every layer of this library has one; a hand-written layer with only `apply` is rejected
 * as not differentiable, and so is a step that reads a traced value back to the host).
 * Gradients are in the data's dtype and computed on `ctx.backend` (or the default device).
 *
 * @example
 * import * as E from 'fp-ts/lib/Either.js'
 * import { customLinear, customLinearParams, evaluate, orThrow, tensor, toNested, vjp } from 'braincog-fn'
 * const fc = customLinear({ inFeatures: 2, outFeatures: 1 })
 * const params = orThrow(customLinearParams({ weight: tensor([3, 4], [2, 1]) }))
 * const r = orThrow(vjp(fc, params, {}, tensor([1, 2], [1, 2]), evaluate()))
 * toNested(r.output) // [[11]]
 * const g = orThrow(r.pullback(tensor([1], [1, 1])))
 * toNested(g.input) // [[3, 4]]: W^T
 * toNested(g.params.weight) // [[1], [2]]: x^T
 */
export const vjp = <L extends AnyLayer>(
  layer: L,
  params: ParamsOf<L>,
  state: StateOf<L>,
  input: Tensor<InOf<L>>,
  ctx: Ctx,
): E.Either<LayerError, Vjp<ParamsOf<L>, StateOf<L>, OutOf<L>>> =>
  vjpWith(layer, params, state, input, ctx, true) as E.Either<LayerError, Vjp<ParamsOf<L>, StateOf<L>, OutOf<L>>>

/** What a params-only pullback gives: the params' cotangents. */
export interface ParamsCotangents<P> {
  /** The params' cotangents, a tree shaped like the params (zeros where no gradient reaches). */
  readonly params: Cotangent<P>
}

/**
 * {@link vjp} with respect to the params only (what `lossAndGrad` needs): the input and the
 * initial state enter the tape as constants, so no rule computes their cotangents (the first
 * layer's input gradient, a whole matmul or transposed convolution, is never made).
 */
export const paramsVjp = <L extends AnyLayer>(
  layer: L,
  params: ParamsOf<L>,
  state: StateOf<L>,
  input: Tensor<InOf<L>>,
  ctx: Ctx,
): E.Either<LayerError, LayerVjp<L, ParamsCotangents<ParamsOf<L>>>> => vjpWith(layer, params, state, input, ctx, false)

/** A vjp of a call of `L` whose pullback gives `C`. */
type LayerVjp<L extends AnyLayer, C> = Vjp<ParamsOf<L>, StateOf<L>, OutOf<L>, C>

/** What either pullback gives. */
type EitherCotangents<L extends AnyLayer> = ParamsCotangents<ParamsOf<L>> | Cotangents<ParamsOf<L>, StateOf<L>>

/** The vjp of a layer call; `whole`: with respect to the input and the state too, else the params only. */
const vjpWith = <L extends AnyLayer>(
  layer: L,
  params: ParamsOf<L>,
  state: StateOf<L>,
  input: Tensor<InOf<L>>,
  ctx: Ctx,
  whole: boolean,
): E.Either<LayerError, LayerVjp<L, EitherCotangents<L>>> => {
  const readable = readLayer(layer)
  if ('problem' in readable) return layerFailure('vjp', 'layer', 'a layer with a step (defineLayer)', readable.problem)
  const { name, step } = readable.layer
  if (step === undefined) {
    return layerFailure(name, 'layer', 'a layer with a step (defineLayer): differentiable', 'a layer with only apply')
  }
  const c = checkCtx(name, ctx)
  if (E.isLeft(c)) return c
  const x = expectTensor(name, 'input', input)
  if (E.isLeft(x)) return x
  return catchStepFailure(() =>
    guardAllocation(name, 'input', () => {
      const prepared = expectResult(
        name,
        'layer.step.prepare()',
        step.prepare(params, state, { shape: x.right.shape, dtype: dtypeOf(x.right) }, c.right),
        (v) => E.map((f) => f as unknown as Prepared<unknown, unknown>)(readFields(name, 'layer.step.prepare()', v, ['params', 'state', 'outputShape'])),
      )
      if (E.isLeft(prepared)) return prepared
      const d = resolveBackend(c.right) as Device<unknown>
      const tape = newTape(d)
      const lent = new Set<unknown>()
      const cleanup = ownership(d, tape, lent)
      let forward
      try {
        forward = traceForward(name, step, prepared.right, x.right, c.right, tape, lent, whole)
      } catch (e) {
        cleanup()
        throw e
      }
      if (E.isLeft(forward)) {
        cleanup()
        return forward
      }
      const { xb, p, s, r } = forward.right
      const read = reader(d, lent)
      const out = r.output as DeviceTensor<Traced<unknown>>
      let output: Tensor
      let next: StateOf<L>
      try {
        output = read(out.buffer.value, out.shape)
        next = mapLeaves(r.state, (v) =>
          v instanceof DeviceTensor ? read((v.buffer as Traced<unknown>).value, v.shape) : v,
        ) as StateOf<L>
      } catch (e) {
        cleanup()
        throw e
      }
      let spent = false
      const pullback = (
        cotOutput: Tensor,
        cotState?: unknown,
        options: PullbackOptions = {},
      ): E.Either<LayerError, EitherCotangents<L>> => {
        if (spent) return layerFailure(name, 'pullback', 'a pullback before dispose() and not after a last one', 'a later call')
        const g = chain((t: Tensor) =>
          chain(() => expectDtype(name, 'cotangent', t, dtypeOf(output), "the output's"))(
            expectSameShape(name, 'cotangent', t.shape, output.shape),
          ),
        )(expectTensor(name, 'cotangent', cotOutput))
        if (E.isLeft(g)) return g
        return guardAllocation(name, 'cotangent', () => {
          const seeds = new Map<number, unknown>()
          const seedBuffers: unknown[] = []
          const seed = (t: Traced<unknown>, cotangent: NdArray<Data>): void => {
            if (t.id < 0) return
            const b = d.upload(flatData(cotangent))
            seedBuffers.push(b)
            const held = seeds.get(t.id)
            const sum = held === undefined ? b : d.axpy(held, b, { alpha: 1 })
            if (sum !== b) seedBuffers.push(sum)
            seeds.set(t.id, sum)
          }
          let owned: ReadonlySet<unknown> = new Set()
          try {
            seed(out.buffer, g.right as NdArray<Data>)
            if (cotState !== undefined && cotState !== null) {
              const bad = seedState(name, d, r.state, cotState, seed)
              if (bad !== undefined) return E.left(bad)
            }
            if (options.last === true) spent = true
            const back = tape.backward(seeds, { last: options.last === true })
            owned = back.owned
            const readCot = reader(d, new Set([...lent, ...seedBuffers]))
            const ofParams = cotangentsOf(d, p, back.cotangents, readCot) as Cotangent<ParamsOf<L>>
            if (!whole) return E.right({ params: ofParams })
            return E.right({
              input: cotangentsOf(d, xb, back.cotangents, readCot) as Tensor,
              params: ofParams,
              state: cotangentsOf(d, s, back.cotangents, readCot) as Cotangent<StateOf<L>>,
            })
          } finally {
            freeAll(d, [...seedBuffers, ...owned])
          }
        })
      }
      const result: LayerVjp<L, EitherCotangents<L>> = {
        output: output as Tensor<OutOf<L>>,
        state: next,
        pullback,
        dispose: () => {
          spent = true
          finalizer.unregister(cleanup)
          cleanup()
        },
      }
      if (d.garbageCollected !== true) finalizer.register(result, cleanup, cleanup)
      return E.right(result)
    }),
  )
}

/**
 * The forward pass of a vjp on `tape`: the variables (the params, and with `whole` the input and
 * the state; else those are constants), and the step's result on the tape.
 */
const traceForward = <P, S>(
  name: string,
  step: LayerStep<P, S>,
  prepared: Prepared<P, S>,
  x: Tensor,
  ctx: Ctx,
  tape: Tape<unknown>,
  lent: Set<unknown>,
  whole: boolean,
) => {
  const lift = variableOf(tape, lent)
  const hold = whole ? lift : constantOf(tape, lent)
  const p = toDevice(prepared.params, lift) as OnDevice<unknown, Traced<unknown>>
  const s = toDevice(prepared.state, hold) as OnDevice<unknown, Traced<unknown>>
  const xb = new DeviceTensor(hold(x), x.shape)
  const r = step.run(tape.device, p as never, s as never, xb, ctx)
  if (tape.broken) {
    return layerFailure(name, 'layer', 'a step that keeps traced values on the device', 'a step that reads one back to the host')
  }
  return E.right({ xb, p, s, r })
}

/** Seeds the tape with the cotangents of the new state's tensors (a tree shaped like it). */
const seedState = (
  name: string,
  inner: Device<unknown>,
  newState: unknown,
  cotState: unknown,
  seed: (t: Traced<unknown>, cotangent: NdArray<Data>) => void,
): LayerError | undefined => {
  let bad: LayerError | undefined
  const walk = (tree: unknown, cot: unknown, at: string): void => {
    if (bad !== undefined || cot === undefined || cot === null) return
    if (tree instanceof DeviceTensor) {
      const traced = tree.buffer as Traced<unknown>
      const dtype = inner.dtypeOf(traced.value)
      const t = chain((c: Tensor) =>
        chain(() => E.map(() => c)(expectDtype(name, at, c, dtype, "the state's")))(expectSameShape(name, at, c.shape, tree.shape)),
      )(expectTensor(name, at, cot))
      if (E.isLeft(t)) bad = t.left
      else seed(traced, t.right)
      return
    }
    if (Array.isArray(tree)) {
      if (!Array.isArray(cot)) bad = layerError(name, at, `an array of ${tree.length}`, describeValue(cot))
      else tree.forEach((v, i) => walk(v, (cot as readonly unknown[])[i], `${at}[${i}]`))
      return
    }
    if (typeof tree === 'object' && tree !== null) {
      if (typeof cot !== 'object' || Array.isArray(cot)) bad = layerError(name, at, 'an object shaped like the state', describeValue(cot))
      else for (const [k, v] of Object.entries(tree)) walk(v, (cot as Readonly<Record<string, unknown>>)[k], `${at}.${k}`)
    }
  }
  try {
    walk(newState, cotState, 'stateCotangent')
  } catch (e) {
    return layerError(name, 'stateCotangent', 'a tree shaped like the state', `a value whose property access threw (${describeValue(e)})`)
  }
  return bad
}

/** What {@link valueAndGrad} gives. */
export interface ValueAndGrad<P> {
  /** The function's value. */
  readonly value: number
  /** Its gradient, a tree shaped like the params. */
  readonly grad: Cotangent<P>
}

/**
 * The value of a scalar function of a params tree and its gradient, JAX's `value_and_grad`:
 * `f` gets the device and the params on it (as `DeviceTensor`s of traced buffers) and returns a
 * tensor of one element, built with kernels (a layer's `step.run`, a loss). The gradient is a
 * tree shaped like `params` (zeros where `f` does not depend on an entry).
 *
 * @example
 * import { DeviceTensor, orThrow, tensor, toNested, valueAndGrad } from 'braincog-fn'
 * // f(w) = sum(w * w) over a [2] vector, as a 1x2 @ 2x1 product
 * const f = valueAndGrad((d, p: { w: DeviceTensor }) =>
 *   new DeviceTensor(d.matmul(p.w.buffer, p.w.buffer, null, { m: 1, k: 2, n: 1 }), [1]))
 * const { value, grad } = orThrow(f({ w: tensor([3, 4], [2]) }))
 * value // 25
 * toNested(grad.w) // [6, 8]
 */
export const valueAndGrad =
  <P>(f: <B>(device: Device<B>, params: OnDevice<P, B>) => DeviceTensor<B>, backend?: Device<unknown>) =>
  (params: P): E.Either<LayerError, ValueAndGrad<P>> => {
    const name = 'valueAndGrad'
    if (typeof f !== 'function') return layerFailure(name, 'f', 'a function (device, params) => DeviceTensor', describeValue(f))
    const device = expectBackend(name, 'backend', backend)
    if (E.isLeft(device)) return device
    const tree = expectTree(name, 'params', params)
    if (E.isLeft(tree)) return tree
    const checked = tree.right
    return catchStepFailure(() =>
      guardAllocation(name, 'params', () => {
        const d = device.right
        const tape = newTape(d)
        const lent = new Set<unknown>()
        const cleanup = ownership(d, tape, lent)
        const seeds: unknown[] = []
        let owned: ReadonlySet<unknown> = new Set()
        try {
          const p = toDevice(checked, variableOf(tape, lent)) as OnDevice<P, Traced<unknown>>
          const result: unknown = f(tape.device, p)
          if (!(result instanceof DeviceTensor)) return layerFailure(name, 'f', 'a function returning a DeviceTensor', describeValue(result))
          const out = result as DeviceTensor<Traced<unknown>>
          if (tape.device.lengthOf(out.buffer) !== 1) {
            return layerFailure(name, 'f', 'a function returning one value', `a tensor of shape [${out.shape.join(', ')}]`)
          }
          if (tape.broken) return layerFailure(name, 'f', 'a function that keeps traced values on the device', 'one that reads one back')
          const value = d.read(out.buffer.value)[0]
          const one = d.fill({ length: 1, value: 1, dtype: d.dtypeOf(out.buffer.value) })
          seeds.push(one)
          const back = tape.backward(out.buffer.id >= 0 ? new Map([[out.buffer.id, one]]) : new Map(), { last: true })
          owned = back.owned
          const grad = cotangentsOf(d, p, back.cotangents, reader(d, new Set([...lent, one]))) as Cotangent<P>
          return E.right({ value, grad })
        } finally {
          freeAll(d, [...seeds, ...owned])
          cleanup()
        }
      }),
    )
  }
