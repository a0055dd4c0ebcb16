/**
 * `scanOnDevice`: a time scan whose tensors stay on a device between layers and steps.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { fail, type LayerError } from '../errors.js'
import { showShape } from '../layer/check.js'
import type { Layer } from '../layer/layer.js'
import { type TimeMajor, scan, stepCtx } from '../layer/scan.js'
import type { Axes, Data, Shape, Tensor } from '../tensor/tensor.js'
import { alloc, dtypeOf, flatData, sizeOf, wrap } from '../tensor/tensor.js'
import type { Device } from './device.js'
import { programFor } from './program.js'

/**
 * What a device scan reads back as its output: every step's output (`'all'`, `[T, ...out]`,
 * what `scan` returns), only the last step's (`'last'`, `[...out]`), or the sum over the steps
 * (`'sum'`, `[...out]`, accumulated on the device in step order: spike counts, say).
 */
export type DeviceRead = 'all' | 'last' | 'sum'

/** Options of {@link scanOnDevice}. */
export interface ScanOnDeviceOptions<R extends DeviceRead = DeviceRead> {
  /** What to read back as the output; default `'all'`. */
  readonly read?: R
  /**
   * The state returned: `'read'` (default) the final state, read back as `scan` returns it;
   * `'reset'` `layer.reset(state)`, nothing read back, for calls that each start a fresh
   * sample (evaluation), where reading the final state back (a membrane potential, an
   * accumulator per input cell) would cost as much as the output.
   */
  readonly state?: 'read' | 'reset'
}

/** The output axes of a device scan reading `R`. */
export type DeviceScanOut<Out extends Axes, R extends DeviceRead> = R extends 'all' ? TimeMajor<Out> : Out

/**
 * Keeps the step outputs a scan reads back: every one (`'all'`, read in one `readAll`), the
 * latest (`'last'`), or their running sum (`'sum'`, one `axpy` per step, in step order).
 * Owns what it was given; `read` and `discard` free it all.
 */
const collector = <B>(device: Device<B>, read: DeviceRead) => {
  const kept: B[] = []
  const free = (): void => {
    kept.forEach((b) => device.free(b))
    kept.length = 0
  }
  return {
    add: (out: B): void => {
      if (read === 'all' || kept.length === 0) kept.push(out)
      else if (read === 'last') {
        device.free(kept[0])
        kept[0] = out
      } else {
        const sum = device.axpy(kept[0], 1, out)
        device.free(kept[0])
        device.free(out)
        kept[0] = sum
      }
    },
    /** The outputs' values (steps one after another for `'all'`), then everything freed. */
    read: (): Data => {
      const data = read === 'all' ? device.readAll(kept) : device.read(kept[0])
      free()
      return data
    },
    discard: free,
  }
}

/**
 * Runs `layer` (usually a `sequential` pipeline) over time-major input `[T, ...in]` as `scan`
 * does, but with its tensors on `device`: each step's input is uploaded once, the layers hand
 * buffers to each other on the device, the state stays there from the first step to the last,
 * and only what `read` names and (unless `state: 'reset'`) the final state come back.
 *
 * A layer with a device form (its `lower`) runs on the device; one without (or in a mode
 * without one) runs on the host between a readback and an upload, so every pipeline runs, and
 * `device.name` plus the layers' `lower` say which parts stay resident.
 *
 * Semantics are `scan(layer)`'s exactly: same shapes, same contexts per step (key folded with
 * `t`, `draws` stacked per step), same final state. On `hostDevice(backend)` with
 * `ctx.backend` the same backend, the bits are `scan`'s bits (layers run on the host use
 * `ctx.backend`, lowered ones the device); on a GPU device values are float32 (compare with a
 * tolerance). A kernel that throws (rather than failing over, as the GPU device's do) leaves
 * the scan's device buffers to the device's owner to free.
 *
 * Shapes: `[T, ...in]` in; out `[T, ...out]` (`read: 'all'`) or `[...out]` (`'last'`, `'sum'`;
 * zeros when T is 0).
 *
 * @example
 * import { cpu, hostDevice, ifNeuron, key, orThrow, scanOnDevice, tensor, train } from 'braincog-fn'
 * const counts = scanOnDevice(ifNeuron(), hostDevice(cpu), { read: 'sum' })
 * const { params, state } = orThrow(counts.init(key(0), [4, 2]))
 * const x = tensor([0.6, 1, 0.6, 1, 0.6, 1, 0.6, 1], [4, 2])
 * Array.from(orThrow(counts.apply(params, state, x, train())).output.data) // [2, 4]
 */
export const scanOnDevice = <P, S, In extends Axes, Out extends Axes, B, R extends DeviceRead = 'all'>(
  layer: Layer<P, S, In, Out>,
  device: Device<B>,
  options: ScanOnDeviceOptions<R> = {},
): Layer<P, S, TimeMajor<In>, DeviceScanOut<Out, R>> => {
  const read: DeviceRead = options.read ?? 'all'
  if (read !== 'all' && read !== 'last' && read !== 'sum') {
    throw new TypeError(`scanOnDevice: options.read: expected 'all', 'last' or 'sum', got ${JSON.stringify(read)}`)
  }
  const finalState = options.state ?? 'read'
  if (finalState !== 'read' && finalState !== 'reset') {
    throw new TypeError(`scanOnDevice: options.state: expected 'read' or 'reset', got ${JSON.stringify(finalState)}`)
  }
  const name = `scanOnDevice(${layer.name}, ${device.name})`
  const timed = scan(layer)
  const outputShape = (shape: Shape): E.Either<LayerError, Shape> =>
    E.map((out: Shape) => (read === 'all' ? out : out.slice(1)))(timed.outputShape(shape))

  const apply = (params: P, state: S, input: Tensor<TimeMajor<In>>, ctx: Parameters<typeof layer.apply>[3]) => {
    const shape = input.shape
    if (shape.length < 1) return fail(name, 'input', 'time-major [T, ...]', showShape(shape))
    const T = shape[0]
    if (ctx.draws !== undefined && ctx.draws.shape[0] !== T) {
      return fail(name, 'ctx.draws', `a leading time axis of ${T}`, showShape(ctx.draws.shape))
    }
    const stepShape = shape.slice(1)
    const stepOut = layer.outputShape(stepShape)
    if (E.isLeft(stepOut)) return stepOut
    if (T === 0) {
      // no step runs: as from `scan`, the state comes back as given (unchecked), nothing uploaded
      const emptyShape = read === 'all' ? [0, ...stepOut.right] : stepOut.right
      const empty = wrap(alloc(sizeOf(emptyShape), dtypeOf(input)), emptyShape)
      const next = finalState === 'read' ? state : layer.reset(state)
      return E.right({ output: empty as unknown as Tensor<DeviceScanOut<Out, R>>, state: next })
    }
    const program = programFor(layer, device, params, stepShape, stepOut.right, ctx)
    try {
      const entered = program.enter(state)
      if (E.isLeft(entered)) return entered
      let s = entered.right
      const outputs = collector(device, read)
      for (let t = 0; t < T; t++) {
        const r = program.step(s, device.upload(flatData(input.pick(t) as Tensor)), stepCtx(ctx, t))
        if (E.isLeft(r)) {
          outputs.discard()
          return r
        }
        s = r.right.state
        outputs.add(r.right.output)
      }
      const data = outputs.read()
      let next: S
      if (finalState === 'read') next = program.exit(s) as S
      else {
        program.discard(s)
        next = layer.reset(state)
      }
      const outShape = read === 'all' ? [T, ...stepOut.right] : stepOut.right
      return E.right({ output: wrap(data, outShape) as unknown as Tensor<DeviceScanOut<Out, R>>, state: next })
    } finally {
      program.dispose()
    }
  }

  return {
    name,
    outputShape,
    init: (key, shape, dtype) =>
      E.chain((r: { readonly params: P; readonly state: S }) =>
        E.map((out: Shape) => ({ params: r.params, state: r.state, outputShape: out }))(outputShape(shape)),
      )(timed.init(key, shape, dtype)),
    apply,
    reset: (state) => layer.reset(state),
  }
}
