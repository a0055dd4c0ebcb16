/**
 * A step for a layer written without one (a user's layer with only `apply`): it reads its input
 * back to the host, applies the layer there and uploads the output, keeping params and state on
 * the host. So every layer composes in `sequential` and `scan` and runs on any device (at a
 * readback and an upload per call); it has no gradient.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { chain } from '../either.js'
import type { LayerError } from '../errors.js'
import { DeviceTensor } from '../kernel/device.js'
import { readTensor, uploadTensor } from '../kernel/tree.js'
import type { Shape, Tensor } from '../tensor/tensor.js'
import { expectResult, expectSameShape, expectShape, expectTensor, readFields } from './check.js'
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

/**
 * The step of a hand-written layer: its results are checked (an `Either` from `outputShape`, a
 * `Step` whose output is a tensor of the shape `outputShape` gave from `apply`), since such a
 * layer may return anything.
 */
const hostStep = (layer: AnyLayer): LayerStep<unknown, unknown> => {
  const outputShape = (shape: Shape): E.Either<LayerError, Shape> =>
    expectResult(layer.name, 'outputShape()', layer.outputShape(shape), (v) => expectShape(layer.name, 'outputShape()', v))
  return {
    prepare: (params, state, input) =>
      E.map((shape: Shape) => ({ params: new HostValue(params), state: new HostValue(state), outputShape: shape }))(
        outputShape(input.shape),
      ),
    run: (d, params, state, x, ctx) => {
      const p = (params as unknown as HostValue<unknown>).value
      const s = (state as unknown as HostValue<unknown>).value
      const r = chain((step: Step<unknown>) =>
        E.map(() => step)(
          chain((want: Shape) => expectSameShape(layer.name, 'apply().output', step.output.shape, want))(outputShape(x.shape)),
        ),
      )(stepResult(layer, layer.apply(p, s, readTensor(d, x), ctx)))
      if (E.isLeft(r)) throw new StepFailure(r.left)
      const { output } = r.right
      return { output: new DeviceTensor(uploadTensor(d, output), output.shape), state: new HostValue(r.right.state) as never }
    },
  }
}

/** What a hand-written layer's `apply` returned, checked: a `Step` whose output is a tensor of its `outputShape`. */
const stepResult = (layer: AnyLayer, r: unknown): E.Either<LayerError, Step<unknown>> =>
  expectResult(layer.name, 'apply()', r, (v) =>
    chain((f: { readonly output: unknown; readonly state: unknown }) =>
      E.map((output: Tensor) => ({ output, state: f.state }))(expectTensor(layer.name, 'apply().output', f.output)),
    )(readFields(layer.name, 'apply()', v, ['output', 'state'])),
  )
