/**
 * Devices: where a time scan keeps its tensors between layers and steps.
 *
 * The `Backend` kernels take and give host arrays, so a backend whose memory is elsewhere
 * (a GPU) pays an upload and a readback on every call. A {@link Device} instead hands out
 * opaque buffers that stay where they were made: kernels take buffers and return new buffers,
 * and only {@link Device.read} brings values back. A layer that knows how to run one step on
 * buffers offers a {@link Lowering}; {@link scanOnDevice} runs a whole `[T, ...]` scan that way
 * and reads back only what the caller asks for.
 *
 * Ownership is linear, so that a device can free memory without a garbage collector: a
 * program's `step` owns the input buffer and the state it is given (it frees them or passes
 * them on), and the caller owns the output and the new state it returns. Device kernels never
 * free or change their arguments.
 *
 * @module
 */
import type { Either } from 'fp-ts/lib/Either.js'
import type { PoolMode, PoolWindow, Stats } from '../backend/backend.js'
import type { LayerError } from '../errors.js'
import type { Ctx } from '../layer/context.js'
import type { Data, DType, Shape } from '../tensor/tensor.js'

/**
 * A set of kernels over buffers of type `B` that live on one device. Every kernel returns a
 * new buffer and leaves its arguments as they were; sizes are given as in `Backend`.
 */
export interface Device<B = unknown> {
  /** The device's name, e.g. `host(wasm)` or `gpu(webgl2)`. */
  readonly name: string
  /** The precision buffers hold: `float32` on a GPU; the host device keeps the data's own. */
  dtypeOf(buffer: B): DType
  /** The number of values in a buffer. */
  lengthOf(buffer: B): number
  /** A new buffer holding a copy of `data`. */
  upload(data: Data): B
  /** A new host array holding the buffer's values (the buffer stays valid). */
  read(buffer: B): Data
  /** Frees a buffer; it must not be used again. */
  free(buffer: B): void
  /**
   * A new host array holding the buffers' values one after another (the buffers stay valid):
   * what `read` of each gives, concatenated, in as few readbacks as the device can (a GPU
   * gathers them into one buffer first, since every readback waits for the GPU).
   */
  readAll(buffers: readonly B[]): Data

  /** `[m, k] @ [k, n] (+ bias [n])`, as `Backend.matmul`. */
  matmul(a: B, b: B, m: number, k: number, n: number, bias?: B): B
  /**
   * One integrate-and-fire step: `v = (v ?? 0) + x`, then `Backend.fire`. Returns the spikes
   * and the new potential.
   */
  fire(
    v: B | null,
    x: B,
    threshold: number,
    reset: 'soft' | 'hard',
    vReset: number,
  ): {
    /** The spikes, 0 or 1. */
    readonly spikes: B
    /** The potential after the step's resets. */
    readonly v: B
  }
  /** One LIPool step, as `Backend.liPoolStep` (`sum` null for zeros). */
  liPoolStep(
    sum: B | null,
    x: B,
    planes: number,
    height: number,
    width: number,
    k: number,
    mode: PoolMode,
  ): {
    /** The pooled output. */
    readonly out: B
    /** The accumulator for the next step. */
    readonly nextSum: B
  }
  /** 2-D pooling of `planes` images, as `Backend.pool2d`. */
  pool2d(x: B, planes: number, height: number, width: number, window: PoolWindow, mode: PoolMode): B
  /** Max pooling ranked by `key`, as `Backend.maxPool2dBy`. */
  maxPool2dBy(key: B, value: B, planes: number, height: number, width: number, window: PoolWindow): B
  /** `a + alpha * b`, as `Backend.axpy`. */
  axpy(a: B, alpha: number, b: B): B
  /** `a * b` elementwise. */
  mul(a: B, b: B): B
  /** `x * scale[c] + shift[c]` for x viewed as `[outer, channels, inner]`, as `Backend.channelAffine`. */
  channelAffine(x: B, outer: number, channels: number, inner: number, scale: Stats, shift: Stats): B
  /** Means of groups along rows, as `Backend.groupMean`: `[rows, length]` in, `[rows, groups]` out. */
  groupMean(x: B, rows: number, length: number, size: number): B
}

/**
 * A layer compiled for one device, input shape and context mode: params already on the
 * device, ready to run step after step. `DS` is its state on the device (buffers).
 */
export interface DeviceProgram<S, B, DS = unknown> {
  /** The shape of one step's output. */
  readonly outputShape: Shape
  /** The layer's state moved onto the device, or why it does not fit the input shape. */
  enter(state: S): Either<LayerError, DS>
  /**
   * One step. Takes ownership of `x` and `state` (on an error too: then it has freed them);
   * the caller owns what it returns. `ctx` is the step's context, exactly as the layer's
   * `apply` would get it.
   */
  step(
    state: DS,
    x: B,
    ctx: Ctx,
  ): Either<
    LayerError,
    {
      /** The step's output. */
      readonly output: B
      /** The state for the next step. */
      readonly state: DS
    }
  >
  /** Reads the state back to the host and frees its buffers. */
  exit(state: DS): S
  /** Frees the state's buffers without reading them. */
  discard(state: DS): void
  /** Frees what the program holds (its params on the device). */
  dispose(): void
}

/**
 * How a layer runs on a device: given its params, the shape of one step's input and the
 * context (training or eval), a program (it learns the dtype from the buffers it is given);
 * `null` where this configuration or mode has no device form, and then {@link scanOnDevice}
 * runs the layer on the host for that part.
 */
export type Lowering<P, S> = <B>(
  device: Device<B>,
  params: P,
  stepShape: Shape,
  ctx: Ctx,
) => DeviceProgram<S, B> | null
