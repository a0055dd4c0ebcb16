/**
 * `timeMerged`: a layer without temporal state run once over a whole sequence, its time and
 * batch axes merged (BrainCog's `layer_by_layer`, SpikingJelly's `SeqToANNContainer`), so a
 * convolution or a batch norm runs once per sequence, not T times.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { chain } from '../either.js'
import { layerFailure, type LayerError } from '../errors.js'
import { DeviceTensor } from '../kernel/device.js'
import type { Axes, Shape, Tensor } from '../tensor/tensor.js'
import { reshape } from '../tensor/tensor.js'
import { expectResult, expectShape, initResult, showShape } from './check.js'
import type { Ctx } from './context.js'
import { applyStep, shapeAndInit } from './define.js'
import { stepOf } from './hostStep.js'
import type { Layer, LayerStep } from './layer.js'
import { expectLayer } from './sequential.js'

/** `[T, N, ...rest]` as `[T * N, ...rest]`, or why the shape has no two leading axes (or T * N is past 2^53). */
const merged = (name: string, shape: Shape, argument = 'input'): E.Either<LayerError, Shape> =>
  shape.length >= 2 && Number.isSafeInteger(shape[0] * shape[1])
    ? E.right([shape[0] * shape[1], ...shape.slice(2)])
    : layerFailure(name, argument, 'time-major [T, N, ...] (T * N below 2^53)', showShape(shape))

/**
 * Runs `layer` on time-major `[T, N, ...]` as on `[T * N, ...]` in one call, and gives its
 * output back as `[T, N, ...out]` (the layer must keep its leading axis). The layer's state is
 * updated once per call (a batch norm's running statistics see the whole sequence as one batch,
 * as BrainCog's and SpikingJelly's do); a layer with temporal state (a neuron) belongs in
 * `scan` instead. `ctx.draws`, if given, are merged the same way.
 *
 * @example
 * import { conv2d, orThrow, timeMerged } from 'braincog-fn'
 * const conv = timeMerged(conv2d({ inChannels: 1, outChannels: 16, kernelSize: 5, padding: 2 }))
 * orThrow(conv.outputShape([4, 8, 1, 28, 28])) // [4, 8, 16, 28, 28]
 */
export const timeMerged = <P, S>(given: Layer<P, S>): Layer<P, S, Axes, Axes> => {
  // the layer read once (its members, bound to it): never the caller's object again
  const layer = expectLayer('timeMerged', 'layer', given) as unknown as Layer<P, S>
  const name = `timeMerged(${layer.name})`
  const inner = stepOf(layer) as LayerStep<P, S>
  // a hand-written layer may answer anything: its shapes and inits are checked
  const innerShape = (m: Shape): E.Either<LayerError, Shape> =>
    expectResult(name, 'layer.outputShape()', layer.outputShape(m), (v) => expectShape(name, 'layer.outputShape()', v))

  const split = (shape: Shape, out: Shape): E.Either<LayerError, Shape> =>
    out[0] === shape[0] * shape[1]
      ? E.right([shape[0], shape[1], ...out.slice(1)])
      : layerFailure(name, 'layer', 'a layer that keeps the leading (T * N) axis', showShape(out))

  const outputShape = (shape: Shape): E.Either<LayerError, Shape> =>
    chain((m: Shape) => chain((out: Shape) => split(shape, out))(innerShape(m)))(merged(name, shape))

  // draws that cannot be merged go on as they are: the layer's own check rejects their shape
  const ctxFor = (ctx: Ctx): Ctx => {
    if (ctx.draws === undefined) return ctx
    const m = merged(name, ctx.draws.shape, 'ctx.draws')
    return E.isLeft(m) ? ctx : { ...ctx, draws: reshape(ctx.draws, m.right) as Tensor }
  }

  const step: LayerStep<P, S> = {
    prepare: (params, state, input, ctx) => {
      const m = merged(name, input.shape)
      if (E.isLeft(m)) return m
      return chain((p: { readonly params: P; readonly state: S; readonly outputShape: Shape }) =>
        E.map((out: Shape) => ({ ...p, outputShape: out }))(split(input.shape, p.outputShape)),
      )(inner.prepare(params, state, { shape: m.right, dtype: input.dtype }, ctxFor(ctx)))
    },
    run: (d, params, state, x, ctx) => {
      const [t, n] = x.shape
      const r = inner.run(d, params, state, new DeviceTensor(x.buffer, [t * n, ...x.shape.slice(2)]), ctxFor(ctx))
      return { output: new DeviceTensor(r.output.buffer, [t, n, ...r.output.shape.slice(1)]), state: r.state }
    },
    // on [T, N, ...] that repeats one [N, ...], a per-sample layer's T * N rows repeat its N rows
    ...(inner.perSample === true ? { onRepeated: inner.run.bind(inner) } : {}),
  }

  return {
    name,
    ...shapeAndInit<P, S>(name, outputShape, (key, shape, dtype) =>
      chain((m: Shape) =>
        chain((r: { readonly params: P; readonly state: S; readonly outputShape: Shape }) =>
          E.map((out: Shape) => ({ params: r.params, state: r.state, outputShape: out }))(split(shape, r.outputShape)),
        )(initResult<P, S>(name, 'layer.init()', layer.init(key, m, dtype))),
      )(merged(name, shape)),
    ),
    apply: applyStep(name, step),
    reset: (state) => layer.reset(state),
    step,
  }
}
