/**
 * Shape plumbing: `flatten` (PyTorch's `nn.Flatten`) and `reshapeTo`, which change how a tensor
 * is viewed and nothing else (no copy on the device; `apply` returns a fresh tensor), and
 * `meanOverTime`, BrainCog's readout before the loss.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { chain } from '../either.js'
import { describeValue, layerFailure, type LayerError, rejectConfig } from '../errors.js'
import { DeviceTensor } from '../kernel/device.js'
import { configFail, configInt, configObject, expectMinRank, MAX_RANK, showShape } from '../layer/check.js'
import { defineLayer } from '../layer/define.js'
import type { Layer, NoConfig, NoParams, NoState } from '../layer/layer.js'
import { empty } from '../layer/layer.js'
import { record } from '../layer/schema.js'
import type { Axes, Shape } from '../tensor/tensor.js'
import { sizeOf } from '../tensor/tensor.js'
import { readShape } from '../tensor/view.js'

/** A layer without params or state that only reshapes: `to` gives the new shape of a valid input's. */
const reshaping = (
  name: string,
  outputShape: (shape: Shape) => E.Either<LayerError, Shape>,
): Layer<NoParams, NoState, Axes, Axes> =>
  defineLayer<NoParams, NoState>({
    name,
    outputShape,
    params: record({}),
    state: record({}),
    init: () => ({ params: empty, state: empty }),
    run: (_d, _params, state, x) => ({
      output: new DeviceTensor(x.buffer, E.getOrElseW((): Shape => [])(outputShape(x.shape))),
      state,
    }),
  })

/** `flatten` configuration: PyTorch's `start_dim` and `end_dim` (negative counts from the end). */
export interface FlattenConfig {
  /** First axis merged (default 1: keep the batch axis). */
  readonly startDim?: number
  /** Last axis merged (default -1). */
  readonly endDim?: number
}

/**
 * PyTorch's `nn.Flatten(startDim, endDim)`: axes `startDim..endDim` merged into one, in
 * row-major order. Shapes: `[N, d1, ..., dk]` to `[N, d1 * ... * dk]` with the defaults.
 *
 * @example
 * import { flatten, orThrow } from 'braincog-fn'
 * orThrow(flatten().outputShape([8, 32, 7, 7])) // [8, 1568]
 */
export const flatten = (config: FlattenConfig = {}): Layer<NoParams, NoState, Axes, Axes> => {
  const name = 'Flatten'
  const c = configObject<FlattenConfig>(name, config, false, ['startDim', 'endDim'])
  const start = configInt(name, 'config.startDim', c.startDim ?? 1, -64, 64)
  const end = configInt(name, 'config.endDim', c.endDim ?? -1, -64, 64)
  return reshaping(name, (shape) => {
    const rank = shape.length
    const [a, b] = [start < 0 ? rank + start : start, end < 0 ? rank + end : end]
    if (a < 0 || b >= rank || a > b) {
      return layerFailure(name, 'input', `a rank where startDim ${start} <= endDim ${end} are axes`, showShape(shape))
    }
    return E.right([...shape.slice(0, a), sizeOf(shape.slice(a, b + 1)), ...shape.slice(b + 1)])
  })
}

const targetExpected = `an array of at most ${MAX_RANK} integers >= 0 (one may be -1) whose product is a safe integer`

/** A target shape read once and copied: a shape, but for one entry that may be -1 (inferred). */
const targetShape = (name: string, value: unknown): readonly number[] => {
  let entries: unknown[] | undefined
  try {
    entries = Array.isArray(value) ? Array.from(value as readonly unknown[]) : undefined
  } catch (e) {
    configFail(name, 'config.shape', targetExpected, `a value whose property access threw (${describeValue(e)})`)
  }
  if (entries === undefined) return rejectConfig(name, 'config.shape', targetExpected, value)
  if (entries.filter((d) => d === -1).length > 1) rejectConfig(name, 'config.shape', 'at most one -1', entries)
  // the -1 as 1: what is left must be a shape (rank, integers, a safe size)
  const s = readShape(entries.map((d) => (d === -1 ? 1 : d)))
  if (!s.ok) return rejectConfig(name, 'config.shape', targetExpected, entries)
  return Object.freeze(entries as number[])
}

/** `reshapeTo` configuration. */
export interface ReshapeConfig {
  /** The output shape; one entry may be -1, inferred from the input's size. */
  readonly shape: readonly number[]
}

/**
 * Views the input as `shape` (row-major; one entry may be -1). Shapes: any input of the same
 * size in. A `shape` that is not an array of at most 32 integers >= 0 (and one -1) of a safe
 * size throws a `ConfigError`; the layer keeps its own copy.
 *
 * @example
 * import { orThrow, reshapeTo } from 'braincog-fn'
 * orThrow(reshapeTo({ shape: [-1, 32, 7, 7] }).outputShape([8, 1568])) // [8, 32, 7, 7]
 */
export const reshapeTo = (config: ReshapeConfig): Layer<NoParams, NoState, Axes, Axes> => {
  const name = 'Reshape'
  const c = configObject<ReshapeConfig>(name, config, true, ['shape'])
  const target = targetShape(name, c.shape)
  const known = sizeOf(target.filter((d) => d !== -1))
  return reshaping(name, (shape) => {
    const size = sizeOf(shape)
    const free = target.includes(-1)
    if (free ? known === 0 || size % known !== 0 : size !== known) {
      return layerFailure(name, 'input', `a size that fits [${target.join(', ')}]`, `${describeValue(size)} (${showShape(shape)})`)
    }
    return E.right(target.map((d) => (d === -1 ? size / known : d)))
  })
}

/**
 * BrainCog's readout before the loss: the mean over the leading (time) axis, `x.mean(0)`.
 * Shapes: `[T, ...]` in (T >= 1), `[...]` out. It takes no options: a config other than
 * `undefined` or `{}` throws a `ConfigError`.
 *
 * @example
 * import { evaluate, meanOverTime, orThrow, tensor, toNested } from 'braincog-fn'
 * toNested(orThrow(meanOverTime().apply({}, {}, tensor([1, 2, 3, 6], [2, 2]), evaluate())).output) // [2, 4]
 */
export const meanOverTime = (config?: NoConfig): Layer<NoParams, NoState, Axes, Axes> => {
  const name = 'MeanOverTime'
  configObject<NoConfig>(name, config, false, [])
  const outputShape = (shape: Shape): E.Either<LayerError, Shape> =>
    chain(() =>
      shape[0] >= 1 ? E.right(shape.slice(1)) : layerFailure(name, 'input', 'a time axis of at least 1 step', showShape(shape)),
    )(expectMinRank(name, 'input', shape, 1, '[T, ...]'))
  return defineLayer<NoParams, NoState>({
    name,
    outputShape,
    params: record({}),
    state: record({}),
    init: () => ({ params: empty, state: empty }),
    run: (d, _params, state, x) => {
      const steps = x.shape[0]
      const rest = x.shape.slice(1)
      const sum = d.sumAlongAxis(x.buffer, { outer: 1, axis: steps, inner: sizeOf(rest) })
      const mean = d.scale(sum, { alpha: 1 / steps })
      d.free(sum)
      return { output: new DeviceTensor(mean, rest), state }
    },
  })
}

/** `repeatSteps` configuration. */
export interface RepeatStepsConfig {
  /** The number of time steps T, >= 1. */
  readonly steps: number
}

/**
 * Direct (constant) encoding: the input repeated over `steps` time steps, `[...]` to
 * `[T, ...]`, BrainCog's `x.repeat(T, ...)` before a network run on `[T, N, ...]`. Its gradient
 * sums the T steps' cotangents (in float64, rounded once: PyTorch's float32 sum may differ by
 * its rounding). In a `sequential`, the time-merged per-sample layers right after
 * it (`customLinear`, `conv2d`, the pools, `relu`) run once on its input and are repeated after
 * them: the same output bits, 1/T of their work (their gradients sum the steps first, so they
 * differ from T copies' in rounding only). A `scan` after them reads their output itself at
 * every step: no `[T, ...]` copies are made, and the steps' cotangents are added as they come
 * (float32, a rounding per step). Layers that see the whole batch (a batch norm) still run on
 * T copies; put them before it where the model allows.
 *
 * @example
 * import { orThrow, repeatSteps } from 'braincog-fn'
 * orThrow(repeatSteps({ steps: 4 }).outputShape([8, 16, 28, 28])) // [4, 8, 16, 28, 28]
 */
export const repeatSteps = (config: RepeatStepsConfig): Layer<NoParams, NoState, Axes, Axes> => {
  const name = 'RepeatSteps'
  const c = configObject<RepeatStepsConfig>(name, config, true, ['steps'])
  const steps = configInt(name, 'config.steps', c.steps, 1, 65536)
  const layer = defineLayer<NoParams, NoState>({
    name,
    outputShape: (shape) =>
      shape.length >= MAX_RANK
        ? layerFailure(name, 'input', `a rank below ${MAX_RANK} (the output has one more axis)`, showShape(shape))
        : Number.isSafeInteger(steps * sizeOf(shape))
          ? E.right([steps, ...shape])
          : layerFailure(name, 'input', `a size that ${steps} copies keep below 2^53`, showShape(shape)),
    params: record({}),
    state: record({}),
    init: () => ({ params: empty, state: empty }),
    run: (d, _params, state, x) => ({
      // a broadcast, not T concatenated copies: its gradient is one sum over the steps (float64,
      // rounded once), not T - 1 passes of additions
      output: new DeviceTensor(
        d.broadcastAlongAxis(x.buffer, { outer: 1, axis: steps, inner: sizeOf(x.shape) }),
        [steps, ...x.shape],
      ),
      state,
    }),
  })
  // any input shape: `sequential` may run it after the per-sample layers that follow it
  return { ...layer, step: { ...layer.step, repeats: steps } }
}

/**
 * ReLU, PyTorch's `nn.ReLU`: `max(x, 0)` elementwise, any shape. The activation of the ANNs
 * that ANN-to-SNN conversion turns into spiking networks. It takes no options: a config other
 * than `undefined` or `{}` throws a `ConfigError`.
 *
 * @example
 * import { evaluate, orThrow, relu, tensor, toNested } from 'braincog-fn'
 * toNested(orThrow(relu().apply({}, {}, tensor([-1, 2], [2]), evaluate())).output) // [0, 2]
 */
export const relu = (config?: NoConfig): Layer<NoParams, NoState, Axes, Axes> => {
  configObject<NoConfig>('ReLU', config, false, [])
  return defineLayer<NoParams, NoState>({
    name: 'ReLU',
    outputShape: (shape) => E.right(shape),
    params: record({}),
    state: record({}),
    perSample: true,
    init: () => ({ params: empty, state: empty }),
    run: (d, _params, state, x) => ({ output: new DeviceTensor(d.relu(x.buffer), x.shape), state }),
  })
}
