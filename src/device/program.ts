/**
 * Device programs for any layer: its own lowering where it has one, else a program that runs
 * the layer on the host between a readback and an upload; and the chaining of programs that
 * `sequential` lowers to.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import type { LayerError } from '../errors.js'
import type { Ctx } from '../layer/context.js'
import { childCtx } from '../layer/context.js'
import type { AnyLayer } from '../layer/layer.js'
import type { Shape, Tensor } from '../tensor/tensor.js'
import { flatData, wrap } from '../tensor/tensor.js'
import type { Device, DeviceProgram } from './device.js'

/**
 * The layer's program on `device` for steps of `stepShape`: its own lowering when it has one
 * for this configuration and mode, else {@link hostProgram}.
 */
export const programFor = <B>(
  layer: AnyLayer,
  device: Device<B>,
  params: unknown,
  stepShape: Shape,
  outputShape: Shape,
  ctx: Ctx,
): DeviceProgram<unknown, B> => {
  return layer.lower?.(device, params, stepShape, ctx) ?? hostProgram(layer, device, params, stepShape, outputShape)
}

/**
 * Runs `layer.apply` on the host: reads the step's input back, applies the layer with the
 * step's context (its backend included), and uploads the output. The state stays on the host.
 * Correct for every layer; it costs a readback and an upload per step, which is what a layer
 * without a lowering costs inside an otherwise resident scan.
 */
export const hostProgram = <B>(
  layer: AnyLayer,
  device: Device<B>,
  params: unknown,
  stepShape: Shape,
  outputShape: Shape,
): DeviceProgram<unknown, B> => {
  type Stepped = { readonly output: Tensor; readonly state: unknown }
  return {
    outputShape,
    enter: (state) => E.right(state),
    step: (state, x, ctx) => {
      const input = wrap(device.read(x), stepShape)
      device.free(x)
      return E.map((r: Stepped) => ({
        output: device.upload(flatData(r.output)),
        state: r.state,
      }))(layer.apply(params, state, input, ctx) as E.Either<LayerError, Stepped>)
    },
    exit: (state) => state,
    discard: () => undefined,
    dispose: () => undefined,
  }
}

/**
 * The program of a pipeline: each step runs the programs in order, program `i` with the
 * context `childCtx(ctx, i)` (as `sequential`'s `apply` does); the state is one entry per
 * program. On an error the states still held are discarded.
 */
export const chainPrograms = <B>(
  programs: readonly DeviceProgram<unknown, B>[],
): DeviceProgram<readonly unknown[], B, readonly unknown[]> => {
  const discardFrom = (states: readonly unknown[], from: number): void => {
    for (let i = from; i < programs.length; i++) programs[i].discard(states[i])
  }
  return {
    outputShape: programs[programs.length - 1].outputShape,
    enter: (state) => {
      const entered: unknown[] = []
      for (let i = 0; i < programs.length; i++) {
        const r = programs[i].enter(state[i])
        if (E.isLeft(r)) {
          entered.forEach((s, j) => programs[j].discard(s))
          return r
        }
        entered.push(r.right)
      }
      return E.right(entered)
    },
    step: (state, x, ctx) => {
      const next: unknown[] = []
      let h = x
      for (let i = 0; i < programs.length; i++) {
        const r = programs[i].step(state[i], h, childCtx(ctx, i))
        if (E.isLeft(r)) {
          next.forEach((s, j) => programs[j].discard(s))
          discardFrom(state, i + 1)
          return r
        }
        next.push(r.right.state)
        h = r.right.output
      }
      return E.right({ output: h, state: next })
    },
    exit: (state) => programs.map((p, i) => p.exit(state[i])),
    discard: (state) => discardFrom(state, 0),
    dispose: () => programs.forEach((p) => p.dispose()),
  }
}
