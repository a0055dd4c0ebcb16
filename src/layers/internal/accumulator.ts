/**
 * The accumulated input `S` that LIPool and SMaxPool carry from step to step: the checks of a
 * step's input against it, and `S + x`.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import type { Backend } from '../../backend/backend.js'
import type { Device } from '../../device/device.js'
import type { LayerError } from '../../errors.js'
import { expectSameShape, expectTensor } from '../../layer/check.js'
import type { Data, DType, Shape, Tensor } from '../../tensor/tensor.js'
import { alloc } from '../../tensor/tensor.js'

/**
 * Checks one step: `input` is a tensor whose shape the layer accepts (`outputShape`) and, when
 * a sum is held, of the sum's shape. Gives the step's output shape.
 */
export const checkStep = (
  layer: string,
  input: unknown,
  sum: Tensor | null,
  outputShape: (shape: Shape) => E.Either<LayerError, Shape>,
): E.Either<LayerError, Shape> => {
  const tensor = expectTensor(layer, 'input', input)
  if (E.isLeft(tensor)) return tensor
  const out = outputShape(tensor.right.shape)
  if (E.isLeft(out)) return out
  return E.map(() => out.right)(checkSum(layer, sum, tensor.right.shape))
}

/** A held sum must have the step input's shape. */
export const checkSum = (layer: string, sum: Tensor | null, shape: Shape): E.Either<LayerError, unknown> =>
  sum === null ? E.right(undefined) : expectSameShape(layer, 'state.sum', sum.shape, shape)

/** `S + x` as a new array; `x`'s copy when nothing is held yet (`prior` undefined). */
export const accumulate = (backend: Backend, prior: Data | undefined, x: Data, dtype: DType): Data => {
  const total = alloc(x.length, dtype)
  if (prior === undefined) total.set(x)
  else backend.axpy(total, prior, 1, x)
  return total
}

/**
 * {@link accumulate} on a device: `x + sum` (the same sums, rounded to `x`'s precision), or `x`
 * itself when nothing is held (`sum` null). Frees nothing: the caller owns `x`, `sum` and the
 * result, which may be `x`.
 */
export const accumulateOn = <B>(device: Device<B>, sum: B | null, x: B): B =>
  sum === null ? x : device.axpy(x, 1, sum)
