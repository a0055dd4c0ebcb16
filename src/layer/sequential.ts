/**
 * `sequential`: a pipeline of layers that threads each layer's params and state.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { ConfigError, describe, fail, type LayerError, layerError } from '../errors.js'
import type { DeviceTensor } from '../kernel/device.js'
import { buffersOf } from '../kernel/tree.js'
import { split } from '../random/key.js'
import type { Axes, Shape } from '../tensor/tensor.js'
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

/** True for a value with the layer contract's methods (what `sequential` and `scan` accept). */
export const isLayer = (v: unknown): v is AnyLayer => {
  if (typeof v !== 'object' || v === null) return false
  const l = v as Readonly<Record<string, unknown>>
  return (
    typeof l.name === 'string' &&
    ['outputShape', 'init', 'apply', 'reset'].every((m) => typeof l[m] === 'function')
  )
}

/** Throws a `ConfigError` unless `v` is a layer. */
export const expectLayer = (fn: string, argument: string, v: unknown): AnyLayer => {
  if (isLayer(v)) return v
  throw new ConfigError(layerError(fn, argument, 'a layer (outputShape, init, apply, reset)', describe(v)))
}

/** Checks a pipeline's params or state: one entry per layer. */
const entries = (name: string, argument: string, v: unknown, n: number): E.Either<LayerError, readonly unknown[]> =>
  Array.isArray(v) && v.length === n
    ? E.right(v as readonly unknown[])
    : fail(name, argument, `an array of ${n} entries, one per layer`, describe(v))

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
export const sequential = <const Ls extends readonly AnyLayer[]>(...layers: Ls): Pipeline<Ls> => {
  if (layers.length === 0) throw new ConfigError(layerError('sequential', 'layers', 'at least one layer', 'none'))
  layers.forEach((l, i) => expectLayer('sequential', `layers[${i}]`, l))
  const name = `sequential(${layers.map((l) => l.name).join(', ')})`
  const steps = layers.map(stepOf)
  const n = layers.length

  const outputShape = (inputShape: Shape): E.Either<LayerError, Shape> =>
    layers.reduce<E.Either<LayerError, Shape>>(
      (shape, layer) => E.chain((s: Shape) => layer.outputShape(s))(shape),
      E.right(inputShape),
    )

  const init = (key: Parameters<AnyLayer['init']>[0], inputShape: Shape, dtype: Parameters<AnyLayer['init']>[2]) => {
    const keys = split(key, n)
    const params: unknown[] = []
    const state: unknown[] = []
    let shape: Shape = inputShape
    for (let i = 0; i < n; i++) {
      const r = layers[i].init(keys[i], shape, dtype) as E.Either<LayerError, Init<unknown, unknown>>
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
      for (let i = 0; i < n; i++) {
        const sub = childCtx(ctx, i)
        const r = steps[i].run(d, params[i] as never, state[i] as never, h as never, sub)
        if (sub.recorder !== undefined) sub.recorder.sink(sub.recorder.path.join('.'), sub.recorder.step, r.output as DeviceTensor<unknown>, r.state)
        next.push(r.state)
        h = r.output as DeviceTensor<unknown>
        if (i < n - 1) between.push(h)
      }
      // an output between two layers is dead unless a layer kept it in its state
      const alive = new Set([...buffersOf(next), ...buffersOf(state), ...buffersOf(params), h.buffer, x.buffer])
      for (const b of new Set(between.map((t) => t.buffer))) if (!alive.has(b)) d.free(b as never)
      return { output: h as never, state: next as never }
    },
  }

  return {
    name,
    ...shapeAndInit(name, outputShape, init),
    apply: applyStep(name, step) as unknown as Pipeline<Ls>['apply'],
    reset: (state) => layers.map((layer, i): unknown => layer.reset(state[i])) as unknown as PipelineState<Ls>,
    step: step as unknown as LayerStep<PipelineParams<Ls>, PipelineState<Ls>>,
  }
}
