/**
 * `sequential`: a pipeline of layers that threads each layer's params and state.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { chain } from '../either.js'
import { ConfigError, describeValue, layerFailure, type LayerError, layerError } from '../errors.js'
import type { DeviceTensor } from '../kernel/device.js'
import { buffersOf } from '../kernel/tree.js'
import { split } from '../random/key.js'
import type { Axes, Shape } from '../tensor/tensor.js'
import { expectResult, expectShape, initResult } from './check.js'
import { childCtx } from './context.js'
import { applyStep, shapeAndInit } from './define.js'
import { stepOf } from './hostStep.js'
import type { AnyLayer, Init, InOf, Layer, LayerStep, OutOf, ParamsOf, Prepared, StateOf } from './layer.js'

/** The params of a pipeline: one entry per layer. */
export type PipelineParams<Ls extends readonly AnyLayer[]> = { readonly [K in keyof Ls]: ParamsOf<Ls[K]> }
/** The state of a pipeline: one entry per layer. */
export type PipelineState<Ls extends readonly AnyLayer[]> = { readonly [K in keyof Ls]: StateOf<Ls[K]> }

type First<Ls extends readonly AnyLayer[]> = Ls extends readonly [infer F, ...AnyLayer[]] ? F : AnyLayer
type Last<Ls extends readonly AnyLayer[]> = Ls extends readonly [...AnyLayer[], infer L] ? L : AnyLayer

/** The layer type of `sequential(...layers)`. */
export type Pipeline<Ls extends readonly AnyLayer[]> = Layer<
  PipelineParams<Ls>,
  PipelineState<Ls>,
  InOf<First<Ls>> & Axes,
  OutOf<Last<Ls>> & Axes
>

const methods = ['outputShape', 'init', 'apply', 'reset'] as const

/** Why `v` is not a layer, or the layer's members read once. */
export const readLayer = (v: unknown): { readonly layer: AnyLayer } | { readonly problem: string } => {
  try {
    if (typeof v !== 'object' || v === null) return { problem: describeValue(v) }
    const l = v as Readonly<Record<string, unknown>>
    const name = l.name
    if (typeof name !== 'string') return { problem: `${describeValue(v)} (no name)` }
    const fns = methods.map((m) => l[m])
    const missing = methods.find((_, i) => typeof fns[i] !== 'function')
    if (missing !== undefined) return { problem: `${describeValue(v)} (without ${missing})` }
    const step = l.step
    if (step !== undefined) {
      const s = step as Readonly<Record<string, unknown>> | null
      if (typeof s !== 'object' || s === null || typeof s.prepare !== 'function' || typeof s.run !== 'function') {
        return { problem: `${describeValue(v)} (a step without prepare and run)` }
      }
    }
    // the members as read, bound to the layer: later calls never read the caller's object again
    const bound = Object.fromEntries(methods.map((m, i) => [m, (fns[i] as (...a: unknown[]) => unknown).bind(v)]))
    return { layer: Object.freeze({ name, ...bound, step }) as unknown as AnyLayer }
  } catch (e) {
    return { problem: `a value whose property access threw (${describeValue(e)})` }
  }
}

/** True for a value with the layer contract's methods (what `sequential` and `scan` accept). Never throws. */
export const isLayer = (v: unknown): v is AnyLayer => 'layer' in readLayer(v)

/**
 * The layer `v`, its members read once (a frozen copy whose methods are the layer's, bound to
 * it); a `ConfigError` unless `v` is a layer (a name, the four methods, and a step, where given,
 * with `prepare` and `run`).
 */
export const expectLayer = (fn: string, argument: string, v: unknown): AnyLayer => {
  const r = readLayer(v)
  if ('layer' in r) return r.layer
  throw new ConfigError(layerError(fn, argument, 'a layer (name, outputShape, init, apply, reset)', r.problem))
}

/** Entry `i` of a caller's array, read once (`undefined` where it cannot be read). */
const entryOf = (v: unknown, i: number): unknown => {
  try {
    return Array.isArray(v) ? (v as readonly unknown[])[i] : undefined
  } catch {
    return undefined
  }
}

/** Checks a pipeline's params or state: one entry per layer, each read once. */
const entries = (name: string, argument: string, v: unknown, n: number): E.Either<LayerError, readonly unknown[]> => {
  const expected = `an array of ${n} entries, one per layer`
  try {
    return Array.isArray(v) && v.length === n
      ? E.right(Array.from({ length: n }, (_, i) => (v as readonly unknown[])[i]))
      : layerFailure(name, argument, expected, describeValue(v))
  } catch (e) {
    return layerFailure(name, argument, expected, `a value whose property access threw (${describeValue(e)})`)
  }
}

/** A shape a layer of the pipeline returned, checked. */
const shapeResult = (name: string, argument: string, r: unknown): E.Either<LayerError, Shape> =>
  expectResult(name, argument, r, (v) => expectShape(name, argument, v))

/** Whether a step can take the input of a `repeatSteps` held back before it (`onRepeated`, `overRepeats`). */
const takesRepeats = (s: LayerStep<unknown, unknown>): boolean =>
  s.onRepeated !== undefined || s.overRepeats !== undefined

/**
 * Composes layers left to right. Params and state are tuples with one entry per layer; layer
 * `i` gets `init` key `split(key, n)[i]` and, in `apply`, the context key folded with `i`
 * (caller-supplied `draws` are not passed into a pipeline). A layer that is not a layer
 * throws a `ConfigError` here.
 *
 * Shapes: input of the first layer in, output of the last layer out.
 *
 * @example
 * import { customLinear, orThrow, sequential, votingLayer } from 'braincog-fn'
 * const net = sequential(customLinear({ inFeatures: 4, outFeatures: 6 }), votingLayer({ voterNum: 3 }))
 * orThrow(net.outputShape([8, 4])) // [8, 2]
 */
export const sequential = <const Ls extends readonly AnyLayer[]>(...given: Ls): Pipeline<Ls> => {
  if (given.length === 0) throw new ConfigError(layerError('sequential', 'layers', 'at least one layer', 'none'))
  // each layer read once: its members, bound to it
  const layers = given.map((l, i) => expectLayer('sequential', `layers[${i}]`, l))
  const name = `sequential(${layers.map((l) => l.name).join(', ')})`
  const steps = layers.map(stepOf)
  const n = layers.length

  const outputShape = (inputShape: Shape): E.Either<LayerError, Shape> =>
    layers.reduce<E.Either<LayerError, Shape>>(
      (shape, layer, i) => chain((s: Shape) => shapeResult(name, `layers[${i}].outputShape()`, layer.outputShape(s)))(shape),
      E.right(inputShape),
    )

  const init = (key: Parameters<AnyLayer['init']>[0], inputShape: Shape, dtype: Parameters<AnyLayer['init']>[2]) => {
    const keys = split(key, n)
    const params: unknown[] = []
    const state: unknown[] = []
    let shape: Shape = inputShape
    for (let i = 0; i < n; i++) {
      const r = initResult<unknown, unknown>(name, `layers[${i}].init()`, layers[i].init(keys[i], shape, dtype))
      if (E.isLeft(r)) return r
      params.push(r.right.params)
      state.push(r.right.state)
      shape = r.right.outputShape
    }
    return E.right({ params, state, outputShape: shape } as unknown as Init<PipelineParams<Ls>, PipelineState<Ls>>)
  }

  const step: LayerStep<readonly unknown[], readonly unknown[]> = {
    prepare: (params, state, input, ctx) => {
      const p = entries(name, 'params', params, n)
      if (E.isLeft(p)) return p
      const s = entries(name, 'state', state, n)
      if (E.isLeft(s)) return s
      const ps: unknown[] = []
      const ss: unknown[] = []
      let shape = input.shape
      for (let i = 0; i < n; i++) {
        const r = steps[i].prepare(p.right[i], s.right[i], { shape, dtype: input.dtype }, childCtx(ctx, i))
        if (E.isLeft(r)) return r
        ps.push(r.right.params)
        ss.push(r.right.state)
        shape = r.right.outputShape
      }
      return E.right({ params: ps, state: ss, outputShape: shape } as Prepared<readonly unknown[], readonly unknown[]>)
    },
    run: (d, params, state, x, ctx) => {
      const next: unknown[] = []
      const between: DeviceTensor<unknown>[] = []
      let h = x as DeviceTensor<unknown>
      // a repeatSteps held back while the per-sample layers after it run on its input, once
      // instead of T times (the same bits: each of their rows is computed alone), and until a
      // step that reads every copy takes the input itself (a scan); -1: none
      let held = -1
      const repeatHeld = (): void => {
        const r = steps[held].run(d, params[held] as never, state[held] as never, h as never, childCtx(ctx, held))
        h = r.output as DeviceTensor<unknown>
        between.push(h)
        held = -1
      }
      for (let i = 0; i < n; i++) {
        const sub = childCtx(ctx, i)
        const once = steps[i].onRepeated
        if (held >= 0 && once !== undefined) {
          const r = once(d, params[i] as never, state[i] as never, h as never, sub)
          next.push(r.state)
          h = r.output as DeviceTensor<unknown>
          between.push(h)
          continue
        }
        const over = steps[i].overRepeats
        if (held >= 0 && over !== undefined) {
          const r = over(d, params[i] as never, state[i] as never, h as never, steps[held].repeats!, sub)
          next.push(r.state)
          h = r.output as DeviceTensor<unknown>
          between.push(h)
          held = -1
          continue
        }
        if (held >= 0) repeatHeld()
        // a recording sees every layer's own output: nothing is held back then
        const holds = steps[i].repeats !== undefined && i + 1 < n && takesRepeats(steps[i + 1])
        if (holds && ctx.recorder === undefined) {
          held = i
          next.push(state[i])
          continue
        }
        const r = steps[i].run(d, params[i] as never, state[i] as never, h as never, sub)
        if (sub.recorder !== undefined) sub.recorder.sink(sub.recorder.path.join('.'), sub.recorder.step, r.output as DeviceTensor<unknown>, r.state)
        next.push(r.state)
        h = r.output as DeviceTensor<unknown>
        between.push(h)
      }
      if (held >= 0) repeatHeld()
      // an output between two layers is dead unless a layer kept it in its state
      const alive = new Set([...buffersOf(next), ...buffersOf(state), ...buffersOf(params), h.buffer, x.buffer])
      for (const b of new Set(between.map((t) => t.buffer))) if (!alive.has(b)) d.free(b as never)
      return { output: h as never, state: next as never }
    },
    ...(steps.every((s) => s.perSample === true) ? { perSample: true } : {}),
  }

  return {
    name,
    ...shapeAndInit(name, outputShape, init),
    apply: applyStep(name, step) as unknown as Pipeline<Ls>['apply'],
    // a state that is not one reads as undefined entries: reset never throws
    reset: (state) => layers.map((layer, i): unknown => layer.reset(entryOf(state, i))) as unknown as PipelineState<Ls>,
    step: step as unknown as LayerStep<PipelineParams<Ls>, PipelineState<Ls>>,
  }
}
