/**
 * A step for a layer written without one (a user's layer with only `apply`): it reads its input
 * back to the host, applies the layer there and uploads the output, keeping params and state on
 * the host. So every layer composes in `sequential` and `scan` and runs on any device (at a
 * readback and an upload per call); it has no gradient.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import type { LayerError } from '../errors.js'
import { DeviceTensor } from '../kernel/device.js'
import { readTensor, uploadTensor } from '../kernel/tree.js'
import type { AnyLayer, LayerStep, Step } from './layer.js'

/** A host value travelling through a device tree untouched (tree mapping sees a leaf). */
export class HostValue<T> {
  constructor(readonly value: T) {}
}

/** Thrown inside a device step that failed on the host; runners turn it back into the `LayerError`. */
export class StepFailure extends Error {
  constructor(readonly error: LayerError) {
    super(error.message)
    this.name = 'StepFailure'
  }
}

/** Runs `body`, returning a {@link StepFailure}'s error as a left. */
export const catchStepFailure = <A>(body: () => E.Either<LayerError, A>): E.Either<LayerError, A> => {
  try {
    return body()
  } catch (e) {
    if (e instanceof StepFailure) return E.left(e.error)
    throw e
  }
}

/** The step of `layer`: its own, or one that runs its `apply` on the host. */
export const stepOf = (layer: AnyLayer): LayerStep<unknown, unknown> => layer.step ?? hostStep(layer)

const hostStep = (layer: AnyLayer): LayerStep<unknown, unknown> => ({
  prepare: (params, state, input) =>
    E.map((outputShape: readonly number[]) => ({
      params: new HostValue(params),
      state: new HostValue(state),
      outputShape,
    }))(layer.outputShape(input.shape) as E.Either<LayerError, readonly number[]>),
  run: (d, params, state, x, ctx) => {
    const p = (params as unknown as HostValue<unknown>).value
    const s = (state as unknown as HostValue<unknown>).value
    const r = layer.apply(p, s, readTensor(d, x), ctx) as E.Either<LayerError, Step<unknown>>
    if (E.isLeft(r)) throw new StepFailure(r.left)
    const output = r.right.output
    return { output: new DeviceTensor(uploadTensor(d, output), output.shape), state: new HostValue(r.right.state) as never }
  },
})
