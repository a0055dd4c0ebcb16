/**
 * `scan`: runs a layer (or pipeline) over the time steps of time-major input `[T, ...]`.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { fail, type LayerError } from '../errors.js'
import type { Axes, Data, Shape, Tensor } from '../tensor/tensor.js'
import { alloc, dtypeOf, flatData, sizeOf, wrap } from '../tensor/tensor.js'
import { showShape } from './check.js'
import { type Ctx, childCtx } from './context.js'
import type { Layer } from './layer.js'

/** Time-major axes: a leading time axis before the axes of one step. */
export type TimeMajor<A extends Axes> = readonly [string, ...A]

/** The context of step `t` of a scan: the key folded with `t`; `draws`, if given, picked at `t`. */
export const stepCtx = (ctx: Ctx, t: number): Ctx =>
  ctx.draws === undefined ? childCtx(ctx, t) : { ...childCtx(ctx, t), draws: ctx.draws.pick(t) as Tensor }

/**
 * Lifts a layer to time-major input: `[T, ...in]` to `[T, ...out]`, carrying state from step
 * to step and returning the final state. Step `t` runs with {@link stepCtx}, so a scan over T
 * steps gives exactly what T single `apply` calls with those contexts give. `draws` for a scan
 * are stacked per step, `[T, ...]`.
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
): Layer<P, S, TimeMajor<In>, TimeMajor<Out>> => {
  const name = `scan(${layer.name})`
  const splitTime = (shape: Shape): E.Either<LayerError, Shape> =>
    shape.length >= 1 ? E.right(shape.slice(1)) : fail(name, 'input', 'time-major [T, ...]', showShape(shape))

  const outputShape = (shape: Shape): E.Either<LayerError, Shape> =>
    E.chain((inner: Shape) => E.map((out: Shape) => [shape[0], ...out])(layer.outputShape(inner)))(splitTime(shape))

  return {
    name,
    outputShape,
    init: (key, shape, dtype) =>
      E.chain((inner: Shape) =>
        E.map((r: { readonly params: P; readonly state: S; readonly outputShape: Shape }) => ({
          ...r,
          outputShape: [shape[0], ...r.outputShape],
        }))(layer.init(key, inner, dtype)),
      )(splitTime(shape)),
    apply: (params, state, input, ctx) => {
      const shape = input.shape
      const T = shape[0]
      if (shape.length < 1) return fail(name, 'input', 'time-major [T, ...]', showShape(shape))
      if (ctx.draws !== undefined && ctx.draws.shape[0] !== T) {
        return fail(name, 'ctx.draws', `a leading time axis of ${T}`, showShape(ctx.draws.shape))
      }
      const outShape = outputShape(shape)
      if (E.isLeft(outShape)) return outShape
      const stepSize = sizeOf(outShape.right.slice(1))
      let out: Data | undefined
      let s = state
      for (let t = 0; t < T; t++) {
        const r = layer.apply(params, s, input.pick(t) as Tensor<In>, stepCtx(ctx, t))
        if (E.isLeft(r)) return r
        out ??= alloc(T * stepSize, dtypeOf(r.right.output))
        out.set(flatData(r.right.output), t * stepSize)
        s = r.right.state
      }
      return E.right({
        output: wrap(out ?? alloc(0, dtypeOf(input)), outShape.right) as unknown as Tensor<TimeMajor<Out>>,
        state: s,
      })
    },
    reset: (state) => layer.reset(state),
  }
}
