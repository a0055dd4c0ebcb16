/**
 * `scan` and `scanOnDevice`: a layer (or pipeline) run over the time steps of time-major input
 * `[T, ...]`, carrying its state from step to step.
 *
 * Both are the same loop over the layer's step: `scan` runs it on the context's device (the
 * host kernels by default), `scanOnDevice` on a given device with its tensors kept there from
 * the first step to the last, reading back only what the caller asks for. The scan is itself a
 * layer with a step, so it nests in pipelines and differentiates through its carried state.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { chain } from '../either.js'
import { ConfigError, describeValue, layerFailure, type LayerError, layerError } from '../errors.js'
import { type Device, DeviceTensor } from '../kernel/device.js'
import { buffersOf, type OnDevice } from '../kernel/tree.js'
import type { Axes, Shape, Tensor } from '../tensor/tensor.js'
import { dtypeOf, sizeOf, zeros } from '../tensor/tensor.js'
import { configObject, deviceProblem, expectResult, expectShape, expectTensor, guardAllocation, initResult, showShape } from './check.js'
import { ArgumentError } from '../tensor/view.js'
import { foldIn } from '../random/key.js'
import { checkCtx, type Ctx, resolveBackend } from './context.js'
import { shapeAndInit } from './define.js'
import { catchStepFailure, stepOf } from './hostStep.js'
import type { Layer, LayerStep, Prepared, Step, StepResult, TensorInfo } from './layer.js'
import { deadBuffers, Session } from './run.js'
import { expectLayer } from './sequential.js'

/** Time-major axes: a leading time axis before the axes of one step. */
export type TimeMajor<A extends Axes> = readonly [string, ...A]

/**
 * What a scan returns as its output: every step's output (`'all'`, `[T, ...out]`), only the
 * last step's (`'last'`, `[...out]`), or the sum over the steps (`'sum'`, `[...out]`, summed on
 * the device in step order: spike counts, say).
 */
export type ScanRead = 'all' | 'last' | 'sum'

/** Options of {@link scanOnDevice}. */
export interface ScanOptions<R extends ScanRead = ScanRead> {
  /** What to read back as the output; default `'all'`. */
  readonly read?: R
  /**
   * The state returned: `'read'` (default) the final state; `'reset'` `layer.reset(state)`
   * of the state given, nothing read back, for calls that each start a fresh sample (a batch
   * of training or evaluation), where reading the final state back (a membrane potential, an
   * accumulator per input cell) would cost as much as the output. In a step on a device,
   * `reset` gets the state as the step has it there; the library's layers only keep or
   * replace its entries.
   */
  readonly state?: 'read' | 'reset'
}

/** The output axes of a scan reading `R`. */
export type ScanOut<Out extends Axes, R extends ScanRead> = R extends 'all' ? TimeMajor<Out> : Out

/**
 * The context of step `t` of a scan: the key folded with `t`; `draws`, if given, picked at `t`.
 * Throws a `RangeError` (`stepCtx: …`) for a context that is not one, or a `t` that is not an
 * integer >= 0 (below the draws' leading size, where there are draws).
 */
export const stepCtx = (ctx: Ctx, t: number): Ctx => {
  const c = checkCtx('stepCtx', ctx)
  if (E.isLeft(c)) throw new ArgumentError('stepCtx', c.left.argument, c.left.expected, c.left.got)
  const { draws, recorder } = c.right
  const steps = draws === undefined ? Infinity : (draws.shape[0] ?? 0)
  if (typeof t !== 'number' || !Number.isSafeInteger(t) || t < 0 || t >= steps) {
    const range = draws === undefined ? 'an integer >= 0' : `an integer in [0, ${steps}) (the draws' steps)`
    throw new ArgumentError('stepCtx', 't', range, describeValue(t))
  }
  return {
    training: c.right.training,
    key: c.right.key === undefined ? undefined : foldIn(c.right.key, t),
    backend: c.right.backend,
    ...(draws === undefined ? {} : { draws: draws.pick(t) as Tensor }),
    ...(recorder === undefined ? {} : { recorder: { ...recorder, step: t } }),
  }
}

/** The one time-major check: a leading time axis, and draws (if any) with the same one. */
const splitTime = (name: string, shape: Shape, ctx: Ctx | undefined): E.Either<LayerError, Shape> => {
  if (shape.length < 1) return layerFailure(name, 'input', 'time-major [T, ...]', showShape(shape))
  if (ctx?.draws !== undefined && (ctx.draws.shape.length < 1 || ctx.draws.shape[0] !== shape[0])) {
    return layerFailure(name, 'ctx.draws', `a leading time axis of ${shape[0]}`, showShape(ctx.draws.shape))
  }
  return E.right(shape.slice(1))
}

/**
 * The scan loop, shared by the scan's step (inputs sliced on the device) and its `apply`
 * (inputs uploaded step by step from the host): runs `steps` steps, hands each output to
 * `keep`, and passes every buffer a step made dead (its input, the previous state's entries it
 * replaced) to `release`, which knows which buffers the loop was lent. Gives the final state.
 */
const loop = <P, S, B>(
  inner: LayerStep<P, S>,
  d: Device<B>,
  params: OnDevice<P, B>,
  initial: OnDevice<S, B>,
  steps: number,
  input: (t: number) => DeviceTensor<B>,
  ctx: Ctx,
  keep: (output: B, alive: ReadonlySet<B>) => void,
  release: (b: B) => void,
): OnDevice<S, B> => {
  let s = initial
  for (let t = 0; t < steps; t++) {
    const x = input(t)
    const r: StepResult<S, B> = inner.run(d, params, s, x, stepCtx(ctx, t))
    const alive = new Set([...buffersOf<B>(r.state), r.output.buffer])
    for (const b of deadBuffers<B>(s, r.state)) if (!alive.has(b)) release(b)
    if (!alive.has(x.buffer)) release(x.buffer)
    keep(r.output.buffer, new Set(buffersOf<B>(r.state)))
    s = r.state
  }
  return s
}

/**
 * What a scan keeps of its step outputs: every one (concatenated at the end), the latest, or
 * their running sum. It releases what it drops, unless the current state still holds it, and
 * the loop releases dead buffers through it (`dead`), so that an output that was also in the
 * state is released once, by whichever lets go of it last.
 */
const collector = <B>(d: Device<B>, read: ScanRead, release: (b: B) => void) => {
  const kept: B[] = []
  let alive: ReadonlySet<B> = new Set()
  const drop = (b: B): void => {
    if (!alive.has(b)) release(b)
  }
  return {
    /** Releases a buffer the loop found dead, unless it is a kept output (released when dropped). */
    dead: (b: B): void => {
      if (!kept.includes(b)) release(b)
    },
    keep: (out: B, state: ReadonlySet<B>): void => {
      alive = state
      if (read === 'all' || kept.length === 0) kept.push(out)
      else if (read === 'last') {
        drop(kept[0])
        kept[0] = out
      } else {
        const sum = d.axpy(kept[0], out, { alpha: 1 })
        drop(kept[0])
        drop(out)
        kept[0] = sum
      }
    },
    /** The output buffer (`length` zeros when nothing was kept). */
    done: (length: number, dtype: 'float32' | 'float64'): B => {
      if (kept.length === 0) return d.fill({ length, value: 0, dtype })
      if (read !== 'all') return kept[0]
      const all = d.concat(kept)
      kept.forEach(drop)
      return all
    },
  }
}

/** A scan of `layer` reading `read`, on `device` (or the context's device). */
const scanOf = <P, S, In extends Axes, Out extends Axes, R extends ScanRead>(
  fn: string,
  given: Layer<P, S, In, Out>,
  device: Device<unknown> | undefined,
  options: ScanOptions<R>,
): Layer<P, S, TimeMajor<In>, ScanOut<Out, R>> & { readonly step: LayerStep<P, S> } => {
  const layer = expectLayer(fn, 'layer', given) as Layer<P, S, In, Out>
  const asked = ((): { readonly read: unknown; readonly state: unknown } => {
    try {
      return { read: options.read, state: options.state }
    } catch (e) {
      throw new ConfigError(layerError(fn, 'options', '{ read?, state? }', `a value whose property access threw (${describeValue(e)})`))
    }
  })()
  const read = (asked.read ?? 'all') as ScanRead
  if (read !== 'all' && read !== 'last' && read !== 'sum') {
    throw new ConfigError(layerError(fn, 'options.read', "'all', 'last' or 'sum'", describeValue(read)))
  }
  const finalState = asked.state ?? 'read'
  if (finalState !== 'read' && finalState !== 'reset') {
    throw new ConfigError(layerError(fn, 'options.state', "'read' or 'reset'", describeValue(finalState)))
  }
  const name = device === undefined ? `scan(${layer.name})` : `scanOnDevice(${layer.name}, ${device.name})`
  const inner = stepOf(layer) as LayerStep<P, S>

  /** The layer's output shape for one step, checked (a hand-written layer may return anything). */
  const stepOutput = (stepShape: Shape): E.Either<LayerError, Shape> =>
    expectResult(name, 'layer.outputShape()', layer.outputShape(stepShape), (v) => expectShape(name, 'layer.outputShape()', v))

  const outputShape = (shape: Shape): E.Either<LayerError, Shape> =>
    chain((stepShape: Shape) => E.map((out: Shape) => (read === 'all' ? [shape[0], ...out] : out))(stepOutput(stepShape)))(
      splitTime(name, shape, undefined),
    )

  const prepare = (params: unknown, state: unknown, input: TensorInfo, ctx: Ctx): E.Either<LayerError, Prepared<P, S>> => {
    const stepShape = splitTime(name, input.shape, ctx)
    if (E.isLeft(stepShape)) return stepShape
    return E.map((p: Prepared<P, S>) => ({
      ...p,
      outputShape: read === 'all' ? [input.shape[0], ...p.outputShape] : p.outputShape,
    }))(inner.prepare(params, state, { shape: stepShape.right, dtype: input.dtype }, stepCtx(ctx, 0)))
  }

  /** The steps to run: all T, or one when steps are empty (every later one would do nothing). */
  const stepsFor = (shape: Shape): number => (sizeOf(shape.slice(1)) === 0 ? Math.min(shape[0], 1) : shape[0])

  /**
   * The steps on `d` over inputs `input(t)` of `stepShape` (`count` of them, the time axis's
   * length), from `x` (their source: its dtype is theirs); the loop frees what it made, never
   * what it was given.
   */
  const runSteps = <B>(
    d: Device<B>,
    params: OnDevice<P, B>,
    state: OnDevice<S, B>,
    x: B,
    stepShape: Shape,
    count: number,
    input: (t: number) => B,
    ctx: Ctx,
  ): StepResult<S, B> => {
    const given = new Set([...buffersOf<B>(state), ...buffersOf<B>(params), x])
    const release = (b: B): void => {
      if (!given.has(b)) d.free(b)
    }
    const outputs = collector(d, read, release)
    const steps = stepsFor([count, ...stepShape])
    const stepInput = (t: number) => new DeviceTensor(input(t), stepShape)
    const s = loop(inner, d, params, state, steps, stepInput, ctx, outputs.keep, outputs.dead)
    // prepare has checked the shapes
    const outShape = E.getOrElseW((): Shape => [])(stepOutput(stepShape))
    const shape = read === 'all' ? [count, ...outShape] : outShape
    const output = new DeviceTensor(outputs.done(read === 'all' ? 0 : sizeOf(outShape), d.dtypeOf(x)), shape)
    if (finalState === 'read') return { output, state: s }
    // nothing of the final state is returned (so a training step reads none of it back)
    for (const b of new Set(buffersOf<B>(s))) if (b !== output.buffer) release(b)
    return { output, state: layer.reset(state as S) as OnDevice<S, B> }
  }

  const step: LayerStep<P, S> = {
    prepare,
    run: <B>(d: Device<B>, params: OnDevice<P, B>, state: OnDevice<S, B>, x: DeviceTensor<B>, ctx: Ctx) => {
      // all steps' inputs in one call: its gradient is one concatenation, not T padded slices
      const parts = d.split(x.buffer, { count: x.shape[0] })
      parts.slice(stepsFor(x.shape)).forEach((part) => d.free(part))
      return runSteps(d, params, state, x.buffer, x.shape.slice(1), x.shape[0], (t) => parts[t], ctx)
    },
    // every step reads x itself: no [T, ...] copies, and x's cotangent the steps' summed in place
    overRepeats: (d, params, state, x, repeats, ctx) =>
      runSteps(d, params, state, x.buffer, x.shape, repeats, () => x.buffer, ctx),
  }

  const apply = (params: P, state: S, input: Tensor<TimeMajor<In>>, ctx: Ctx) => {
    const c = checkCtx(name, ctx)
    if (E.isLeft(c)) return c
    const x = expectTensor(name, 'input', input)
    if (E.isLeft(x)) return x
    return catchStepFailure(() =>
      guardAllocation(name, 'input', () => {
        const prepared = prepare(params, state, { shape: x.right.shape, dtype: dtypeOf(x.right) }, c.right)
        if (E.isLeft(prepared)) return prepared
        if (x.right.shape[0] === 0) {
          // no step runs: nothing goes to the device; the output is empty ('all') or zeros
          const output = zeros(prepared.right.outputShape, dtypeOf(x.right))
          const next = finalState === 'reset' ? layer.reset(state) : prepared.right.state
          return E.right({ output, state: next } as Step<S, ScanOut<Out, R>>)
        }
        const session = new Session((device ?? resolveBackend(c.right)) as Device<unknown>)
        const d = session.device
        try {
          const p = session.enter(prepared.right.params)
          const s0 = session.enter(prepared.right.state, true)
          const stepOut = prepared.right.outputShape.slice(read === 'all' ? 1 : 0)
          const release = (b: unknown): void => session.release(b)
          const outputs = collector(d, read, release)
          const upload = (t: number) => {
            const xt = x.right.pick(t) as Tensor
            return new DeviceTensor(session.upload(xt, false, true), xt.shape)
          }
          const final = loop(inner, d, p, s0, stepsFor(x.right.shape), upload, c.right, outputs.keep, outputs.dead)
          const out = outputs.done(read === 'all' ? 0 : sizeOf(stepOut), dtypeOf(x.right))
          // the steps are done: the results are the last use of every buffer
          const output = session.output(new DeviceTensor(out, prepared.right.outputShape), true)
          const next =
            finalState === 'reset' ? layer.reset(state) : final === s0 ? prepared.right.state : session.exit<S>(final, true)
          if (finalState === 'reset') session.own(buffersOf(final))
          return E.right({ output, state: next } as Step<S, ScanOut<Out, R>>)
        } finally {
          session.close()
        }
      }),
    )
  }

  return {
    name,
    ...shapeAndInit<P, S>(name, outputShape, (key, shape, dtype) => {
      const stepShape = splitTime(name, shape, undefined)
      if (E.isLeft(stepShape)) return stepShape
      return chain((r: { readonly params: P; readonly state: S }) =>
        E.map((out: Shape) => ({ params: r.params, state: r.state, outputShape: out }))(outputShape(shape)),
      )(initResult<P, S>(name, 'layer.init()', layer.init(key, stepShape.right, dtype)))
    }),
    apply,
    reset: (state) => layer.reset(state),
    step,
  }
}

/**
 * Lifts a layer to time-major input: `[T, ...in]` to `[T, ...out]`, carrying state from step
 * to step and returning the final state. Step `t` runs with {@link stepCtx}, so a scan over T
 * steps gives exactly what T single `apply` calls with those contexts give. `draws` for a scan
 * are stacked per step, `[T, ...]`. It runs on `ctx.backend` (or the default device).
 *
 * `options.state: 'reset'` returns `layer.reset(state)` instead of the final state, in `apply`
 * and in a gradient or training step: for models reset after every batch, as BrainCog's
 * training loops do, it spares the step reading back every neuron's potential. Bad options
 * throw a `ConfigError`.
 *
 * @example
 * import { key, orThrow, scan, train, zeros, nDropout } from 'braincog-fn'
 * const drop = scan(nDropout({ p: 0.5 }))
 * const { params, state } = orThrow(drop.init(key(0), [4, 2, 3]))
 * const { output } = orThrow(drop.apply(params, state, zeros([4, 2, 3]), train(key(1))))
 * output.shape // [4, 2, 3]: every step of a sample shares one mask
 */
export const scan = <P, S, In extends Axes, Out extends Axes>(
  layer: Layer<P, S, In, Out>,
  options?: Pick<ScanOptions, 'state'>,
): Layer<P, S, TimeMajor<In>, TimeMajor<Out>> => {
  const { state } = configObject<Pick<ScanOptions, 'state'>>('scan', options, false, ['state'], 'options')
  return scanOf('scan', layer, undefined, { read: 'all', ...(state === undefined ? {} : { state }) })
}

/**
 * Runs `layer` (usually a `sequential` pipeline) over time-major input `[T, ...in]` as `scan`
 * does, but on `device`, whatever `ctx.backend` says: each step's input is uploaded once, the
 * layers hand buffers to each other on the device, the state stays there from the first step to
 * the last, and only what `read` names and (unless `state: 'reset'`) the final state come back.
 * Kernels a device does not run itself run on the host for that call (the device says which).
 *
 * Semantics are `scan(layer)`'s exactly: same shapes, same contexts per step, same final state;
 * on a host device the same bits. Bad options throw a `ConfigError`.
 *
 * Shapes: `[T, ...in]` in; out `[T, ...out]` (`read: 'all'`) or `[...out]` (`'last'`, `'sum'`;
 * zeros when T is 0).
 *
 * @example
 * import { cpu, ifNeuron, key, orThrow, scanOnDevice, tensor, train } from 'braincog-fn'
 * const counts = scanOnDevice(ifNeuron(), cpu, { read: 'sum' })
 * const { params, state } = orThrow(counts.init(key(0), [4, 2]))
 * const x = tensor([0.6, 1, 0.6, 1, 0.6, 1, 0.6, 1], [4, 2])
 * Array.from(orThrow(counts.apply(params, state, x, train())).output.data) // [2, 4]
 */
export const scanOnDevice = <P, S, In extends Axes, Out extends Axes, B, R extends ScanRead = 'all'>(
  layer: Layer<P, S, In, Out>,
  device: Device<B>,
  options: ScanOptions<R> = {},
): Layer<P, S, TimeMajor<In>, ScanOut<Out, R>> => {
  const problem = deviceProblem(device)
  if (problem !== undefined) throw new ConfigError(layerError('scanOnDevice', 'device', 'a device', problem))
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError(layerError('scanOnDevice', 'options', '{ read?, state? }', describeValue(options)))
  }
  return scanOf('scanOnDevice', layer, device as Device<unknown>, options)
}
