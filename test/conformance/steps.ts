/**
 * What the runner does with each step op of the format. A case whose steps include an op with
 * no handler here is skipped with that reason; adding the op's handler to {@link stepHandlers}
 * is what brings those cases in. Layer cases run `forward`, `update`, `reset` and `backward`
 * steps on a {@link Run}; optimizer cases (SGD, Adam, AdamW) run `optimizerStep`s on an
 * {@link OptimizerRun}, with no layer.
 */
import * as E from 'fp-ts/lib/Either.js'
import type { AnyLayer, Backend, Ctx, Device, Key, Optimizer, OptimizerState, Tensor } from '../../src/index.js'
import { DeviceTensor, dtypeOf, flatData, foldIn, onDevice, reshape, scanOnDevice, valueAndGrad } from '../../src/index.js'
import type { Adapter } from './adapters/adapter.js'
import { type Comparison, compare, compareValues } from './compare.js'
import type { BackwardStep, Fixture, ForwardStep, OptimizerStep, ResetStep, Step, StepOp, UpdateStep } from './fixture.js'

/** What stays fixed while one case runs. */
export interface Run {
  readonly fixture: Fixture
  readonly adapter: Adapter
  readonly layer: AnyLayer
  /** Step `i` runs with `foldIn(root, i)` as its key. */
  readonly root: Key
  readonly backend?: Backend
  /** Run forward steps as one-step `scanOnDevice` scans there. */
  readonly device?: Device
}

/** A forward step as it ran: what a `backward` handler differentiates. */
export interface ForwardRecord {
  readonly index: number
  /** The layer the step ran (a loss's, with the step's target bound). */
  readonly layer: AnyLayer
  readonly step: ForwardStep
  readonly ctx: Ctx
  readonly params: unknown
  readonly stateBefore: unknown
  readonly output: Tensor
}

/** What carries from one step to the next. */
export interface Carry {
  readonly params: unknown
  readonly state: unknown
  /** The forward steps run so far, in order. */
  readonly forwards: readonly ForwardRecord[]
}

/** A step's result: the next carry and how many recorded values it matched, or why it failed. */
export type StepOutcome<C = Carry> =
  | { readonly carry: C; readonly compared: number }
  | { readonly failure: string; readonly deviation?: number }

export interface StepHandler<S extends Step> {
  /**
   * Why this step cannot be run yet although its op has a handler (a part of it the library
   * does not do yet), else `undefined`. Such a step skips the case, as a missing handler does.
   */
  readonly unsupported?: (step: S) => string | undefined
  readonly run: (run: Run, carry: Carry, step: S, index: number) => StepOutcome
}

/** What stays fixed while one optimizer case runs. */
export interface OptimizerRun {
  readonly fixture: Fixture
  readonly optimizer: Optimizer
}

/** What carries from one optimizer step to the next: the runner's own params and the optimizer's state. */
export interface OptimizerCarry {
  readonly params: unknown
  readonly state: unknown
}

/** The handler of `optimizerStep`, which runs on an optimizer rather than a layer. */
export interface OptimizerStepHandler {
  readonly unsupported?: (step: OptimizerStep) => string | undefined
  readonly run: (
    run: OptimizerRun,
    carry: OptimizerCarry,
    step: OptimizerStep,
    index: number,
  ) => StepOutcome<OptimizerCarry>
}

/** A handler per step op; an op without one is not supported yet. */
export type StepHandlers = {
  readonly [Op in Exclude<StepOp, 'optimizerStep'>]?: StepHandler<Extract<Step, { readonly op: Op }>>
} & { readonly optimizerStep?: OptimizerStepHandler }

const failed = (c: Comparison): StepOutcome<never> | undefined =>
  'values' in c ? undefined : { failure: c.what, deviation: c.deviation }

/** A step as a scan of one step on `device`: the tensors (and draws) get a time axis of 1. */
const applyOnDevice = (layer: AnyLayer, device: Device, params: unknown, state: unknown, x: Tensor, ctx: Ctx) => {
  const timeMajor = (t: Tensor): Tensor => reshape(t, [1, ...t.shape])
  const c = ctx.draws === undefined ? ctx : { ...ctx, draws: timeMajor(ctx.draws) }
  return E.map((r: { readonly output: Tensor; readonly state: unknown }) => ({
    output: reshape(r.output, r.output.shape.slice(1)),
    state: r.state,
  }))(scanOnDevice(layer, device).apply(params, state, timeMajor(x), c))
}

/** Calls the layer on the step's input with the carried state; checks the output and `stateAfter`. */
const forward: StepHandler<ForwardStep> = {
  run: ({ fixture, adapter, layer: built, root, backend, device }, carry, step, index) => {
    if (step.target !== undefined && adapter.withTarget === undefined) {
      return { failure: `${fixture.layer}: a forward step with a target, but the layer is no loss` }
    }
    const layer = step.target === undefined ? built : adapter.withTarget!(built, step.target)
    const draws = adapter.draws?.(step)
    const ctx: Ctx = {
      training: step.training ?? fixture.training,
      key: foldIn(root, index),
      ...(draws === undefined ? {} : { draws }),
      ...(backend === undefined ? {} : { backend }),
    }
    const r =
      device === undefined
        ? layer.apply(carry.params, carry.state, step.input, ctx)
        : applyOnDevice(layer, device, carry.params, carry.state, step.input, ctx)
    if (E.isLeft(r)) return { failure: r.left.message }
    const out = compare('output', r.right.output, step.output, fixture.tolerance)
    const outFailed = failed(out)
    if (outFailed) return outFailed
    let compared = 'values' in out ? out.values : 0
    if (step.stateAfter) {
      if (!adapter.stateView) return { failure: `${fixture.layer} exposes no state to compare` }
      const st = compareValues('state', adapter.stateView(r.right.state), step.stateAfter, fixture.tolerance)
      const stFailed = failed(st)
      if (stFailed) return stFailed
      compared += 'values' in st ? st.values : 0
    }
    const record: ForwardRecord = {
      index,
      layer,
      step,
      ctx,
      params: carry.params,
      stateBefore: carry.state,
      output: r.right.output,
    }
    return { carry: { ...carry, state: r.right.state, forwards: [...carry.forwards, record] }, compared }
  },
}

/** CustomLinear's weight update; checks `paramsAfter`. */
const update: StepHandler<UpdateStep> = {
  run: ({ fixture, adapter, layer }, carry, step) => {
    if (!adapter.update || !adapter.paramsView) return { failure: `${fixture.layer} has no update` }
    const r = adapter.update(layer, carry.params, step.dw)
    if (E.isLeft(r)) return { failure: r.left.message }
    const c = compareValues('params', adapter.paramsView(r.right), step.paramsAfter, fixture.tolerance)
    return failed(c) ?? { carry: { ...carry, params: r.right }, compared: 'values' in c ? c.values : 0 }
  },
}

/** The layer's `reset` of its temporal state. */
const reset: StepHandler<ResetStep> = {
  run: ({ layer }, carry) => ({ carry: { ...carry, state: layer.reset(carry.state) }, compared: 0 }),
}

/**
 * The gradients of `L = sum_t sum(output_t * cotangents[t])` over the forward steps so far,
 * through the public API: `valueAndGrad` of a function that re-runs the layer's step over those
 * steps (the same params, initial state and contexts), carrying the state on the device, so the
 * gradients flow through time. Checks `gradInputs` and `gradParams`.
 */
const backward: StepHandler<BackwardStep> = {
  run: ({ fixture, backend }, carry, step) => {
    const forwards = carry.forwards
    if (forwards.length === 0 || forwards.length !== step.cotangents.length) {
      return { failure: `backward: ${step.cotangents.length} cotangents for ${forwards.length} forward steps` }
    }
    if (forwards.some((f) => f.layer.step === undefined)) return { failure: `${fixture.layer} has no step to differentiate` }
    const first = forwards[0]
    const x0 = first.step.input
    const prepared = first.layer.step!.prepare(first.params, first.stateBefore, { shape: x0.shape, dtype: dtypeOf(x0) }, first.ctx)
    if (E.isLeft(prepared)) return { failure: prepared.left.message }
    const vars = { params: prepared.right.params, inputs: forwards.map((f) => f.step.input) }
    const loss = <B>(d: Device<B>, v: { readonly params: unknown; readonly inputs: readonly DeviceTensor<B>[] }) => {
      let state = onDevice(d, prepared.right.state)
      let total: B | undefined
      forwards.forEach((f, t) => {
        const r = f.layer.step!.run(d, v.params as never, state as never, v.inputs[t], f.ctx)
        const term = d.sumAlongAxis(d.mul(r.output.buffer, d.upload(flatData(step.cotangents[t]))), {
          outer: 1,
          axis: d.lengthOf(r.output.buffer),
          inner: 1,
        })
        total = total === undefined ? term : d.axpy(total, term, { alpha: 1 })
        state = r.state as never
      })
      return new DeviceTensor(total!, [1])
    }
    const r = valueAndGrad<typeof vars>(loss as never, backend)(vars)
    if (E.isLeft(r)) return { failure: r.left.message }
    let compared = 0
    for (let t = 0; t < step.gradInputs.length; t++) {
      const c = compare(`gradInputs[${t}]`, r.right.grad.inputs[t], step.gradInputs[t], fixture.tolerance)
      const bad = failed(c)
      if (bad) return bad
      compared += 'values' in c ? c.values : 0
    }
    const grads = r.right.grad.params as Readonly<Record<string, Tensor>>
    const c = compareValues('gradParams', grads, step.gradParams, fixture.tolerance)
    return failed(c) ?? { carry, compared: compared + ('values' in c ? c.values : 0) }
  },
}

/**
 * One update of the case's optimizer with the step's gradients, from the runner's own params
 * (not the recorded ones) and the state carried; checks every parameter against `paramsAfter`.
 */
const optimizerStep: OptimizerStepHandler = {
  run: ({ fixture, optimizer }, carry, step) => {
    const r = optimizer.update(step.grads, carry.state as OptimizerState, carry.params)
    if (E.isLeft(r)) return { failure: r.left.message }
    const c = compareValues('params', r.right.params as Readonly<Record<string, Tensor>>, step.paramsAfter, fixture.tolerance)
    return failed(c) ?? { carry: { params: r.right.params, state: r.right.state }, compared: 'values' in c ? c.values : 0 }
  },
}

/** The step ops the runner runs. */
export const stepHandlers: StepHandlers = { forward, update, reset, backward, optimizerStep }
