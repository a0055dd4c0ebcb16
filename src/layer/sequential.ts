/**
 * `sequential`: a pipeline of layers that threads each layer's params and state.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { chainPrograms, programFor } from '../device/program.js'
import type { LayerError } from '../errors.js'
import { split } from '../random/key.js'
import type { Axes, Shape, Tensor } from '../tensor/tensor.js'
import { childCtx } from './context.js'
import type { AnyLayer, InOf, Init, Layer, OutOf, ParamsOf, StateOf, Step } from './layer.js'

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

/**
 * Composes layers left to right. Params and state are tuples with one entry per layer; layer
 * `i` gets `init` key `split(key, n)[i]` and, in `apply`, the context key folded with `i`
 * (caller-supplied `draws` are not passed into a pipeline).
 *
 * Shapes: input of the first layer in, output of the last layer out.
 *
 * @example
 * import { customLinear, orThrow, sequential, votingLayer } from 'braincog-fn'
 * const net = sequential(customLinear({ inFeatures: 4, outFeatures: 6 }), votingLayer({ voterNum: 3 }))
 * orThrow(net.outputShape([8, 4])) // [8, 2]
 */
export const sequential = <const Ls extends readonly AnyLayer[]>(...layers: Ls): Pipeline<Ls> => {
  if (layers.length === 0) throw new RangeError('sequential: expected at least one layer, got none')
  const name = `sequential(${layers.map((l) => l.name).join(', ')})`

  const outputShape = (inputShape: Shape): E.Either<LayerError, Shape> =>
    layers.reduce<E.Either<LayerError, Shape>>(
      (shape, layer) => E.chain((s: Shape) => layer.outputShape(s))(shape),
      E.right(inputShape),
    )

  return {
    name,
    outputShape,
    init: (key, inputShape, dtype) => {
      const keys = split(key, layers.length)
      const params: unknown[] = []
      const state: unknown[] = []
      let shape: Shape = inputShape
      for (let i = 0; i < layers.length; i++) {
        const r = layers[i].init(keys[i], shape, dtype) as E.Either<LayerError, Init<unknown, unknown>>
        if (E.isLeft(r)) return r
        params.push(r.right.params)
        state.push(r.right.state)
        shape = r.right.outputShape
      }
      return E.right({ params, state, outputShape: shape } as unknown as Init<PipelineParams<Ls>, PipelineState<Ls>>)
    },
    apply: (params, state, input, ctx) => {
      const next: unknown[] = []
      let x: Tensor = input
      for (let i = 0; i < layers.length; i++) {
        const r = layers[i].apply(params[i], state[i], x, childCtx(ctx, i)) as E.Either<LayerError, Step<unknown>>
        if (E.isLeft(r)) return r
        next.push(r.right.state)
        x = r.right.output
      }
      return E.right({ output: x, state: next } as unknown as Step<PipelineState<Ls>, OutOf<Last<Ls>> & Axes>)
    },
    reset: (state) => layers.map((layer, i): unknown => layer.reset(state[i])) as unknown as PipelineState<Ls>,
    // each layer's own program, or the host for a layer without one; null when none has one,
    // so a pipeline of host-only layers is not wrapped for nothing
    lower: (device, params, stepShape, ctx) => {
      const programs = []
      let shape = stepShape
      for (let i = 0; i < layers.length; i++) {
        const out = layers[i].outputShape(shape)
        if (E.isLeft(out)) {
          // free the params the programs so far uploaded
          programs.forEach((p) => p.dispose())
          return null
        }
        programs.push(programFor(layers[i], device, params[i], shape, out.right, childCtx(ctx, i)))
        shape = out.right
      }
      if (layers.every((layer) => layer.lower === undefined)) return null
      return chainPrograms(programs) as never
    },
  }
}
