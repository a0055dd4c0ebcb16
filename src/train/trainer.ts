/**
 * `trainer`: a training loop whose params and optimizer buffers stay on the device from step to
 * step. `lossAndGrad` then `optimizer.update` copy every param onto the device, every gradient
 * off it, and run the optimizer over host arrays each step; here only the batch, the model's
 * state and what the caller reads come across. Same bits as those two composed.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { ConfigError, describeValue, type LayerError, layerError, layerFailure } from '../errors.js'
import { type Device, DeviceTensor } from '../kernel/device.js'
import { isTensor, mapLeaves, toDevice } from '../kernel/tree.js'
import { expectBackend, expectOptions, expectResult, expectTensor, guardAllocation, readFields } from '../layer/check.js'
import { checkCtx, type Ctx } from '../layer/context.js'
import { catchStepFailure, StepFailure } from '../layer/hostStep.js'
import type { AnyLayer, LayerStep, ParamsOf, Prepared, StateOf } from '../layer/layer.js'
import { expectLayer } from '../layer/sequential.js'
import type { Loss } from '../loss/loss.js'
import { expectLoss } from '../loss/read.js'
import {
  heldGrads,
  initState,
  isTrainableLeaf,
  leafKernels,
  type LeafUpdate,
  type Optimizer,
  type OptimizerState,
  rateAt,
  rebuildState,
  type Spec,
  specOf,
  type Walked,
  walkTrainable,
} from '../optim/optimizer.js'
import { brief, mapWithPath, showPath, type TreePath } from '../optim/tree.js'
import type { Data, DType, Shape, Tensor } from '../tensor/tensor.js'
import { dtypeOf, flatData, sizeOf, wrap } from '../tensor/tensor.js'
import { freeAll, reader } from '../grad/vjp.js'
import { newTape, type Traced } from '../grad/tape.js'

const NAME = 'trainer'

/**
 * Where a training run stands: an opaque handle to params and optimizer buffers held on a
 * device. `start` gives the first, each `step` the next and spends the one it was given (a
 * spent handle is a `LayerError`); `read` copies its values out, `dispose` frees them.
 */
export interface TrainState {
  /** Updates made so far (the optimizer state's `step`). */
  readonly step: number
  /** The device the params are held on (`wasm-resident`, `cpu`, ...). */
  readonly device: string
}

/** What {@link Trainer.step} gives for one batch. */
export interface TrainStep<S> {
  /** The loss before the update, one number. */
  readonly loss: number
  /** The model's output before the update (for accuracy). */
  readonly output: Tensor
  /** The model's new state (batch-norm running statistics, a neuron's membrane). */
  readonly state: S
  /** The training state after the update; the one given is spent. */
  readonly next: TrainState
}

/** A training state's values on the host, as `optimizer.update` would have given them. */
export interface Trained<P, K extends string, N extends string> {
  /** The params: fresh tensors where trained; frozen tensors and other leaves as given to `start`. */
  readonly params: P
  /** The optimizer's state, ready for `optimizer.update` or another `start`. */
  readonly optimizerState: OptimizerState<P, K, N>
}

/** Options of {@link Trainer.start}. */
export interface StartOptions<P, K extends string, N extends string> {
  /** The device to hold the params on and run every step on; default the default device. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly backend?: Device<any>
  /** The optimizer state to go on from (a checkpoint's); default `optimizer.init(params)`. */
  readonly optimizerState?: OptimizerState<P, K, N>
}

/** A model, a loss and an optimizer as one training loop over handles ({@link TrainState}). */
export interface Trainer<P, S, K extends string, N extends string> {
  /**
   * Puts `params` (a tree, as `init` gives it) and the optimizer state on the device. Rejects a
   * params tree or an optimizer state as `optimizer.update` does. The params are copied: later
   * changes to the caller's arrays change nothing.
   */
  start(params: P, options?: StartOptions<P, K, N>): E.Either<LayerError, TrainState>
  /**
   * One training step on a batch: the model's loss against `target`, its gradient through
   * everything the model does, and one optimizer update of the held params. `ctx.backend` must
   * be the training state's device or left out. On a `LayerError` nothing is spent: the given
   * state stays valid.
   */
  step(training: TrainState, state: S, input: Tensor, target: Tensor, ctx: Ctx): E.Either<LayerError, TrainStep<S>>
  /** The training state's params and optimizer state, copied to the host (the state stays valid). */
  read(training: TrainState): E.Either<LayerError, Trained<P, K, N>>
  /** Frees what the training state holds; a spent or disposed one is left alone. */
  dispose(training: TrainState): void
}

// ---------------------------------------------------------------------------------------------
// what a training state holds
// ---------------------------------------------------------------------------------------------

/** One leaf of the params tree as held: a trained tensor, a frozen one, or any other value. */
type HeldLeaf<B> =
  | { readonly kind: 'trained'; readonly shape: Shape; readonly dtype: DType; readonly param: B; readonly buffers: readonly B[] }
  | { readonly kind: 'frozen'; readonly shape: Shape; readonly dtype: DType; readonly param: B; readonly given: Tensor }
  | { readonly kind: 'other'; readonly given: unknown }

interface Held<B> {
  /** The trainer the state belongs to. */
  readonly owner: object
  readonly device: Device<B>
  /** The params tree as `start` checked it: its structure, and the host tensors whose shapes `prepare` checks. */
  readonly tree: unknown
  /** Each leaf of `tree` in walk order. */
  readonly leaves: readonly HeldLeaf<B>[]
  /** A tensor leaf's index by its path (`JSON.stringify`). */
  readonly byPath: ReadonlyMap<string, number>
  readonly step: number
}

const held = new WeakMap<TrainState, Held<unknown>>()
/** States stepped from or disposed (for a clearer error than "not a training state"). */
const spent = new WeakSet<TrainState>()

/** The buffers a held state owns (frozen tensors' too: every state passes them on to the next). */
const ownedBy = <B>(h: Held<B>): B[] =>
  h.leaves.flatMap((l) => (l.kind === 'trained' ? [l.param, ...l.buffers] : l.kind === 'frozen' ? [l.param] : []))

/** Frees a dropped state's device buffers once the garbage collector finalizes its handle. */
const finalizer = new FinalizationRegistry<() => void>((cleanup) => cleanup())

/** A handle for `h`, registered so that its buffers are freed if it is dropped undisposed. */
const handleOf = <B>(h: Held<B>): TrainState => {
  const handle: TrainState = Object.freeze({ step: h.step, device: h.device.name })
  held.set(handle, h as Held<unknown>)
  if (h.device.garbageCollected !== true) {
    const { device } = h
    const buffers = ownedBy(h)
    finalizer.register(handle, () => freeAll(device, buffers), handle)
  }
  return handle
}

/** Takes a handle's state out of use: its buffers are now the caller's to free or pass on. */
const spend = (handle: TrainState): void => {
  held.delete(handle)
  spent.add(handle)
  finalizer.unregister(handle)
}

const pathKey = (path: TreePath): string => JSON.stringify(path)

// ---------------------------------------------------------------------------------------------
// the trainer
// ---------------------------------------------------------------------------------------------

/**
 * A training loop for `model` under `loss` and `optimizer` (one of this library's: `adam()`,
 * `adamW()`, `sgd()`; any other is a `ConfigError`, as a model that is not a layer or a loss
 * that is not one). `start` puts the params on a device, each `step` runs the model's forward
 * and backward pass and the optimizer's update there, and `read` copies the params out: per
 * step only the batch, the model's state and the results cross to the host. The same bits as
 * `lossAndGrad(model, loss)` then `optimizer.update` over the same arguments, on the same device
 * (the optimizer runs on the training state's device, `update` on the default one).
 *
 * Memory: a step frees everything of the previous state it replaces, so a long run's memory
 * stays flat; `dispose` the last state (a dropped one is freed when the garbage collector
 * finalizes its handle, at some later time).
 *
 * @example
 * import { adam, crossEntropyLoss, customLinear, key, orThrow, tensor, train, trainer } from 'braincog-fn'
 * const fc = customLinear({ inFeatures: 2, outFeatures: 3 })
 * const { params, state } = orThrow(fc.init(key(0), [4, 2]))
 * const loop = trainer(fc, crossEntropyLoss(), adam({ lr: 0.01 }))
 * let training = orThrow(loop.start(params))
 * const x = tensor([1, 0, 0, 1, 1, 1, 0, 0], [4, 2])
 * const y = tensor([0, 1, 2, 0], [4])
 * for (let i = 0; i < 3; i++) training = orThrow(loop.step(training, state, x, y, train(key(i)))).next
 * const trained = orThrow(loop.read(training))
 * trained.optimizerState.step // 3
 * loop.dispose(training)
 */
export const trainer = <L extends AnyLayer, K extends string = never, N extends string = never>(
  model: L,
  loss: Loss,
  optimizer: Optimizer<K, N>,
): Trainer<ParamsOf<L>, StateOf<L>, K, N> => {
  const layer = expectLayer(NAME, 'model', model)
  const bound = expectLoss(NAME, 'loss', loss)
  const spec = specOf(optimizer)
  if (spec === undefined) {
    throw new ConfigError(layerError(NAME, 'optimizer', "one of this library's optimizers (adam(), adamW(), sgd())", describeValue(optimizer)))
  }
  const { step: modelStep } = layer
  if (modelStep === undefined) {
    throw new ConfigError(layerError(NAME, 'model', 'a layer with a step (defineLayer): differentiable', 'a layer with only apply'))
  }
  const owner = {}

  /** The held state of a handle this trainer gave and has not spent. */
  const heldOf = (handle: unknown): E.Either<LayerError, Held<unknown>> => {
    const h = typeof handle === 'object' && handle !== null ? held.get(handle as TrainState) : undefined
    if (h !== undefined && h.owner === owner) return E.right(h)
    const want = "a training state from this trainer's start() or step()"
    const got = spent.has(handle as TrainState) ? 'one already stepped from or disposed' : describeValue(handle)
    return layerFailure(NAME, 'training', want, got)
  }

  const start = (params: ParamsOf<L>, options?: StartOptions<ParamsOf<L>, K, N>): E.Either<LayerError, TrainState> => {
    const o = expectOptions(NAME, 'options', options, ['backend', 'optimizerState'])
    if (E.isLeft(o)) return o
    const device = expectBackend(NAME, 'options.backend', o.right.backend)
    if (E.isLeft(device)) return device
    return guardAllocation(NAME, 'params', () => {
      let state = o.right.optimizerState
      if (state === undefined) {
        try {
          state = initState(spec, params)
        } catch (e) {
          // a params tree initState cannot read: walkTrainable names what is wrong with it
          if (!(e instanceof RangeError)) throw e
        }
      }
      const walked = walkTrainable(spec, heldGrads, state, params)
      if (E.isLeft(walked)) return walked
      return E.right(handleOf(upload(owner, device.right, walked.right)))
    })
  }

  const step = (
    training: TrainState,
    state: StateOf<L>,
    input: Tensor,
    target: Tensor,
    ctx: Ctx,
  ): E.Either<LayerError, TrainStep<StateOf<L>>> => {
    const h = heldOf(training)
    if (E.isLeft(h)) return h
    const c = checkCtx(layer.name, ctx)
    if (E.isLeft(c)) return c
    const given = c.right.backend
    if (given !== undefined && given !== h.right.device) {
      return layerFailure(NAME, 'ctx.backend', `the training state's device (${h.right.device.name}) or none`, `the device ${given.name}`)
    }
    const x = expectTensor(layer.name, 'input', input)
    if (E.isLeft(x)) return x
    const rate = rateAt(spec.name, spec.lr, h.right.step)
    if (E.isLeft(rate)) return rate
    return catchStepFailure(() =>
      guardAllocation(layer.name, 'input', () => {
        const prepared = expectResult(
          layer.name,
          'layer.step.prepare()',
          modelStep.prepare(h.right.tree, state, { shape: x.right.shape, dtype: dtypeOf(x.right) }, c.right),
          (v) => E.map((f) => f as unknown as Prepared<unknown, unknown>)(readFields(layer.name, 'layer.step.prepare()', v, ['params', 'state', 'outputShape'])),
        )
        if (E.isLeft(prepared)) return prepared
        const m = { name: layer.name, step: modelStep }
        const r = stepOn(h.right, m, bound, spec, prepared.right, x.right, target, c.right, rate.right)
        if (E.isLeft(r)) return r
        // only now is the old state spent: its trained tensors are replaced, its frozen ones passed on
        spend(training)
        freeAll(h.right.device, h.right.leaves.flatMap((l) => (l.kind === 'trained' ? [l.param, ...l.buffers] : [])))
        return E.right({ ...r.right.results, state: r.right.results.state as StateOf<L>, next: handleOf(r.right.next) })
      }),
    )
  }

  const read = (training: TrainState): E.Either<LayerError, Trained<ParamsOf<L>, K, N>> => {
    const h = heldOf(training)
    if (E.isLeft(h)) return h
    const { device: d, leaves } = h.right
    return guardAllocation(NAME, 'training', () => {
      // a host device's read hands back the buffer it still holds: copied; other devices' reads are fresh
      const copy = (b: unknown, shape: Shape): Tensor => {
        const data = d.read(b)
        return wrap(d.garbageCollected === true ? (data.slice() as Data) : data, shape.slice())
      }
      const results = leaves.map((l): LeafUpdate => {
        if (l.kind === 'trained') return { param: copy(l.param, l.shape), buffers: l.buffers.map((b) => copy(b, l.shape)) }
        return { param: l.given, buffers: null }
      })
      const r = rebuildState<ParamsOf<L>, OptimizerState<ParamsOf<L>, K, N>>(spec, h.right.tree, h.right.step, results)
      return E.right({ params: r.params, optimizerState: r.state })
    })
  }

  const dispose = (training: TrainState): void => {
    const h = heldOf(training)
    if (E.isLeft(h)) return
    spend(training)
    freeAll(h.right.device, ownedBy(h.right))
  }

  return { start, step, read, dispose }
}

/** A checked params tree and optimizer state on `d`: every tensor copied there, each trained one with its buffers. */
const upload = <B>(owner: object, d: Device<B>, walked: Walked): Held<B> => {
  const made: B[] = []
  // a host device borrows what it is given: the copy keeps the caller's arrays out of the run
  const put = (t: Tensor): B => {
    const data = flatData(t)
    const b = d.upload(d.garbageCollected === true ? (data.slice() as Data) : data)
    made.push(b)
    return b
  }
  const leaves: HeldLeaf<B>[] = []
  const byPath = new Map<string, number>()
  try {
    for (const leaf of walked.leaves) {
      if (isTrainableLeaf(leaf)) {
        byPath.set(pathKey(leaf.path), leaves.length)
        const { shape } = leaf.param
        leaves.push({ kind: 'trained', shape: shape.slice(), dtype: dtypeOf(leaf.param), param: put(leaf.param), buffers: leaf.buffers.map(put) })
      } else if (isTensor(leaf.passed)) {
        byPath.set(pathKey(leaf.path), leaves.length)
        const given = leaf.passed
        leaves.push({ kind: 'frozen', shape: given.shape.slice(), dtype: dtypeOf(given), param: put(given), given })
      } else {
        leaves.push({ kind: 'other', given: leaf.passed })
      }
    }
  } catch (e) {
    freeAll(d, made)
    throw e
  }
  return { owner, device: d, tree: walked.tree, leaves, byPath, step: walked.step }
}

/** What one step computed: the caller's results, and the state after the update (not yet a handle). */
interface Stepped<B> {
  readonly results: { readonly loss: number; readonly output: Tensor; readonly state: unknown }
  readonly next: Held<B>
}

const sameShape = (a: Shape, b: Shape): boolean => a.length === b.length && a.every((n, i) => n === b[i])

/**
 * One step on the held state's device: the forward pass on a tape (the trained params its
 * variables, the frozen ones, the batch and the model's state constants), the loss on the
 * model's output, the backward pass, and the update. Frees everything it made but the new
 * state's buffers; the old state is left as it was (the caller frees it on success).
 */
const stepOn = <B>(
  h: Held<B>,
  model: { readonly name: string; readonly step: LayerStep<unknown, unknown> },
  loss: Loss,
  spec: Spec<string>,
  prepared: Prepared<unknown, unknown>,
  x: Tensor,
  target: unknown,
  ctx: Ctx,
  rate: number,
): E.Either<LayerError, Stepped<B>> => {
  const d = h.device
  const tape = newTape(d)
  const lent = new Set<B>()
  // seeds, zero gradients, the backward pass's cotangents: freed at the end, whatever happens
  const spare: B[] = []
  // the new state's buffers: freed unless the step succeeds
  const made: B[] = []
  let done = false
  try {
    const constant = (t: Tensor): Traced<B> => {
      const b = d.upload(flatData(t))
      lent.add(b)
      return tape.constant(b)
    }
    const variables = new Map<number, Traced<B>>()
    const params = mapWithPath(prepared.params, (v, path) => {
      if (!isTensor(v)) return v
      const i = h.byPath.get(pathKey(path))
      const leaf = i === undefined ? undefined : h.leaves[i]
      if (leaf === undefined || leaf.kind === 'other' || !sameShape(leaf.shape, v.shape) || leaf.dtype !== dtypeOf(v)) {
        const want = "params shaped as the tree given to the trainer's start()"
        throw new StepFailure(layerError(model.name, 'layer.step.prepare()', want, `${brief(v)} at params${showPath(path)}`))
      }
      if (leaf.kind === 'frozen') return new DeviceTensor(tape.constant(leaf.param), v.shape.slice())
      const traced = tape.variable(leaf.param)
      variables.set(i!, traced)
      return new DeviceTensor(traced, v.shape.slice())
    })
    const s = toDevice(prepared.state, constant)
    const xb = new DeviceTensor(constant(x), x.shape.slice())
    const r = model.step.run(tape.device, params as never, s as never, xb, ctx)
    const out = r.output as DeviceTensor<Traced<B>>
    const checked = loss.check({ shape: out.shape, dtype: d.dtypeOf(out.buffer.value) }, target)
    if (E.isLeft(checked)) return checked
    const value = loss.run(tape.device, out, constant(checked.right)) as Traced<B>
    if (tape.broken) {
      return layerFailure(model.name, 'layer', 'a step that keeps traced values on the device', 'a step that reads one back to the host')
    }
    // read before the backward pass, which frees the residuals (the output may be one)
    const read = reader(d, new Set([...lent, ...ownedBy(h)]))
    const output = read(out.buffer.value, out.shape)
    const state = mapLeaves(r.state, (v) =>
      v instanceof DeviceTensor ? read((v.buffer as Traced<B>).value, v.shape) : v,
    )
    const lossValue = d.read(value.value)[0]
    const seed = d.fill({ length: 1, value: 1, dtype: d.dtypeOf(value.value) })
    spare.push(seed)
    const back = tape.backward(value.id >= 0 ? new Map([[value.id, seed]]) : new Map<number, B>(), { last: true })
    spare.push(...back.owned)
    const next = updated(h, spec, rate, (i) => {
      const v = variables.get(i)
      return v === undefined ? undefined : back.cotangents.get(v.id)
    }, made, spare)
    done = true
    return E.right({ results: { loss: lossValue, output, state }, next })
  } finally {
    freeAll(d, spare)
    tape.dispose()
    freeAll(d, lent)
    if (!done) freeAll(d, made)
  }
}

/**
 * The held state after one optimizer update from the gradients `gradOf(i)` of its trained
 * leaves (zeros where none came): on the device where the optimizer has a device kernel, else
 * through the host. New buffers go into `made`, zero gradients into `spare`.
 */
const updated = <B>(
  h: Held<B>,
  spec: Spec<string>,
  rate: number,
  gradOf: (leaf: number) => B | undefined,
  made: B[],
  spare: B[],
): Held<B> => {
  const d = h.device
  const t = h.step + 1
  const onDevice = spec.deviceKernel?.(t, rate)
  const onHost = leafKernels(spec, t, rate)
  const keep = (b: B): B => {
    made.push(b)
    return b
  }
  const leaves = h.leaves.map((l, i): HeldLeaf<B> => {
    if (l.kind !== 'trained') return l
    let g = gradOf(i)
    if (g === undefined) {
      g = d.fill({ length: sizeOf(l.shape), value: 0, dtype: l.dtype })
      spare.push(g)
    }
    if (onDevice !== undefined) {
      const u = onDevice(d, l.param, g, l.buffers)
      return { ...l, param: keep(u.param), buffers: u.buffers.map(keep) }
    }
    const u = onHost(l.dtype)(d.read(l.param), d.read(g), l.buffers.map((b) => d.read(b)))
    return { ...l, param: keep(d.upload(u.param)), buffers: u.buffers.map((b) => keep(d.upload(b))) }
  })
  return { ...h, leaves, step: t }
}
