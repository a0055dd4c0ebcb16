/**
 * The layer LIPool and SMaxPool share: a pooling of `[N, C, H, W]` that carries the
 * accumulated input `S` (shaped like the input, `null` for zeros) from step to step. Each
 * layer gives only its step's arithmetic: from this step's input and the held sum, the output
 * and the next sum.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import type { LayerError } from '../../errors.js'
import { type Device, DeviceTensor } from '../../kernel/device.js'
import { defineLayer } from '../../layer/define.js'
import type { Layer, NoParams } from '../../layer/layer.js'
import { empty } from '../../layer/layer.js'
import { likeInput, nullable, record } from '../../layer/schema.js'
import type { Rank4, Shape, Tensor } from '../../tensor/tensor.js'

/** The state of an accumulating pool: the accumulated input, `null` for zeros. */
export interface PoolState {
  /** The accumulator, shaped like the input `[N, C, H, W]`. */
  readonly sum: Tensor<Rank4> | null
}

/** One step's buffers: the output and the sum for the next step. */
export interface PoolStep<B> {
  readonly out: B
  readonly next: B
}

/**
 * An accumulating pool named `name`: `outputShape` accepts (or rejects) an input, and `step`
 * computes one step on a device from the input `x` and the held sum (`null` for zeros) of an
 * input of `shape` (the step borrows both and frees its own temporaries).
 */
export const accumulatingPool = (
  name: string,
  outputShape: (shape: Shape) => E.Either<LayerError, Shape>,
  step: <B>(d: Device<B>, x: B, sum: B | null, shape: Shape) => PoolStep<B>,
): Layer<NoParams, PoolState, Rank4, Rank4> =>
  defineLayer<NoParams, PoolState, Rank4, Rank4>({
    name,
    outputShape,
    params: record({}),
    state: record({ sum: nullable(likeInput) }) as never,
    init: () => ({ params: empty, state: { sum: null } }),
    run: (d, _params, state, x) => {
      const { out, next } = step(d, x.buffer, state.sum === null ? null : state.sum.buffer, x.shape)
      const shape = outputShape(x.shape)
      return {
        output: new DeviceTensor(out, E.isRight(shape) ? shape.right : []),
        state: { sum: new DeviceTensor(next, x.shape) },
      }
    },
    reset: () => ({ sum: null }),
  })

/** `S + x` on a device, or `x` itself when nothing is held (the caller must not free it then). */
export const accumulate = <B>(d: Device<B>, sum: B | null, x: B): B => (sum === null ? x : d.axpy(sum, x, { alpha: 1 }))
