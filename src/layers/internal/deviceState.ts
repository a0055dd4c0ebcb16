/**
 * Pieces the layers' device forms (`lower`) share: a program for a layer without temporal
 * state, and a state tensor held on the device as one buffer (or `null`).
 *
 * Ownership as in `DeviceProgram`: a step owns its input and its state buffer.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import type { Device, DeviceProgram } from '../../device/device.js'
import type { Shape, Tensor } from '../../tensor/tensor.js'
import { flatData, wrap } from '../../tensor/tensor.js'

/**
 * The program of a layer whose state does not change (it stays on the host, as given): each
 * step maps the input buffer to the output with `run`, and the input is freed unless `run`
 * hands it on as the output (an identity). `held` are the program's own buffers (its params),
 * freed by `dispose`.
 */
export const statelessProgram = <S, B>(
  device: Device<B>,
  outputShape: Shape,
  run: (x: B) => B,
  held: readonly B[] = [],
): DeviceProgram<S, B, S> => {
  return {
    outputShape,
    enter: (state) => E.right(state),
    step: (state, x) => {
      const output = run(x)
      if (output !== x) device.free(x)
      return E.right({ output, state })
    },
    exit: (state) => state,
    discard: () => undefined,
    dispose: () => held.forEach((b) => device.free(b)),
  }
}

/** A state tensor moved onto the device: its buffer, `null` for `null`. */
export const enterTensor = <B>(device: Device<B>, t: Tensor | null): B | null =>
  t === null ? null : device.upload(flatData(t))

/** A state buffer read back as a tensor of `shape` (the step's shape) and freed; `null` stays `null`. */
export const exitTensor = <B>(device: Device<B>, b: B | null, shape: Shape): Tensor | null => {
  if (b === null) return null
  const data = device.read(b)
  device.free(b)
  return wrap(data, shape)
}

/** Frees a state buffer, if there is one. */
export const freeTensor = <B>(device: Device<B>, b: B | null): void => {
  if (b !== null) device.free(b)
}
