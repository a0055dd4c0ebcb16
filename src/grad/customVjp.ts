/**
 * `customVjp`: a function of device buffers whose backward pass is given rather than derived,
 * for functions whose useful gradient is not their derivative (surrogate spikes, straight-
 * through estimators, gradient clipping). Outside a gradient it is just its forward function.
 *
 * @module
 */
import type { Device } from '../kernel/device.js'
import { type Tape, tapes, type Traced } from './tape.js'

/** The two halves of a {@link customVjp} function. */
export interface CustomVjpSpec {
  /** The function: outputs from inputs, built from kernels. */
  forward<B>(device: Device<B>, inputs: readonly B[]): readonly B[]
  /**
   * The inputs' cotangents (null: zero) from the outputs' (null: zero), given the call's
   * inputs and outputs; linear in the cotangents.
   */
  backward<B>(device: Device<B>, cotangents: readonly (B | null)[], inputs: readonly B[], outputs: readonly B[]): readonly (B | null)[]
}

/**
 * A function with a custom gradient. Called on a gradient tracer (inside `vjp` or
 * `valueAndGrad`), the forward pass runs untraced and the call records `backward` as its rule;
 * called on any other device it is `forward`.
 *
 * @example
 * import { customVjp } from 'braincog-fn'
 * // the identity whose gradient is halved
 * const halfGrad = customVjp({
 *   forward: (d, [x]) => [d.scale(x, { alpha: 1 })],
 *   backward: (d, [g]) => [g === null ? null : d.scale(g, { alpha: 0.5 })],
 * })
 */
export const customVjp =
  (spec: CustomVjpSpec) =>
  <B>(device: Device<B>, inputs: readonly B[]): readonly B[] => {
    const tape = tapes.get(device as Device<unknown>) as Tape<unknown> | undefined
    if (tape === undefined) return spec.forward(device, inputs)
    const traced = inputs as unknown as readonly Traced<unknown>[]
    const values = traced.map((t) => t.value)
    // untraced, the tape owning what it makes; the inputs and outputs are the rule's residuals
    const outputs = spec.forward(tape.untraced, values)
    return tape.record(
      traced,
      outputs,
      (d, cotangents) => spec.backward(d, cotangents, values, outputs),
      [...values, ...outputs],
    ) as unknown as readonly B[]
  }
