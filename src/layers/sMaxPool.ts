/**
 * SMaxPool: BrainCog's `SMaxPool`, spike max pooling for SNNs converted from ANNs (Rueckauer
 * et al., "Conversion of Continuous-Valued Deep Networks to Efficient Event-Driven Networks for
 * Image Classification", Frontiers in Neuroscience 2017: gate each pooling window to the neuron
 * that has fired most so far).
 *
 * State `S` accumulates the input (`S += x`, this step included). Mode `'braincog'` (default)
 * computes what BrainCog does, `child(x + 1000 * S) - child(1000 * S)`, for any child pooling.
 * For spikes and a max child that passes, per window, the spike of the neuron with the largest
 * count, but only while `1000 * S` keeps its units: in float32 it breaks once counts reach about
 * 16 000 (2^24 / 1000), earlier for non-spike inputs. Mode `'exact'` computes that gate directly,
 * with no scaling: per window, the largest `x` among the neurons whose count `S` is the window's
 * largest. Ties in `S` pass the largest of the tied neurons' inputs, i.e. a spike if any tied
 * neuron fires now, which is what `'braincog'` gives for spikes too; padding never counts.
 * `'exact'` needs a max child (rejected at build otherwise): with an average child BrainCog's
 * formula is just the average of `x` (the `1000 * S` terms cancel), so there is no gate to make
 * exact.
 *
 * Shapes: `[N, C, H, W]` in, the child's output shape out. State: `sum`, the `[N, C, H, W]`
 * accumulated input, `null` (meaning zeros) after `init` and `reset`.
 *
 * Device form (`lower`, see `scanOnDevice`): both modes, any child, the sum kept on the device.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { backendOf } from '../backend/select.js'
import type { Device, DeviceProgram } from '../device/device.js'
import { hostDevice } from '../device/host.js'
import { type LayerError, rejectConfig } from '../errors.js'
import { configChoice } from '../layer/check.js'
import type { Layer, NoParams } from '../layer/layer.js'
import { none } from '../layer/layer.js'
import { accumulate, accumulateOn, checkStep, checkSum } from './internal/accumulator.js'
import { enterTensor, exitTensor, freeTensor } from './internal/deviceState.js'
import { type PoolSpec, pooledShape, poolSpec, poolWindow } from '../ops/pool.js'
import type { Rank4, Shape, Tensor } from '../tensor/tensor.js'
import { alloc, dtypeOf, flatData, wrap } from '../tensor/tensor.js'

/** SMaxPool configuration. */
export interface SMaxPoolConfig {
  /** The pooling wrapped: max or average, any kernel, stride and padding. */
  readonly child: PoolSpec
  /** `'braincog'`: BrainCog's `1000 * S` formula (default); `'exact'`: the gate itself (max child only). */
  readonly mode?: 'braincog' | 'exact'
}

/** SMaxPool state: the accumulated input, `null` for zeros. */
export interface SMaxPoolState {
  /** The accumulator, shaped like the input `[N, C, H, W]`. */
  readonly sum: Tensor<Rank4> | null
}

/** BrainCog's scale that puts the count above the spike in one number. */
const SCALE = 1000

/**
 * Builds a spike max-pooling layer. Throws a `ConfigError` for an invalid child or mode, or for
 * mode `'exact'` with an average child.
 *
 * @example
 * import { key, orThrow, sMaxPool, tensor, toNested, train } from 'braincog-fn'
 * const pool = sMaxPool({ child: { op: 'maxPool2d', kernelSize: 2 } })
 * const { params, state } = orThrow(pool.init(key(0), [1, 1, 2, 2]))
 * const first = tensor([1, 0, 0, 0], [1, 1, 2, 2])
 * const s1 = orThrow(pool.apply(params, state, first, train())) // output 1: neuron 0 leads
 * const s2 = orThrow(pool.apply(params, s1.state, first, train())) // output 1, counts [2, 0, 0, 0]
 * const s3 = orThrow(pool.apply(params, s2.state, tensor([0, 1, 0, 0], [1, 1, 2, 2]), train()))
 * toNested(s3.output) // [[[[0]]]]: neuron 1 fires, but neuron 0 still leads the count
 */
export const sMaxPool = (config: SMaxPoolConfig): Layer<NoParams, SMaxPoolState, Rank4, Rank4> => {
  const name = 'SMaxPool'
  const child = poolSpec(config?.child, name, 'config.child')
  const mode = configChoice(name, 'config.mode', config?.mode ?? 'braincog', ['braincog', 'exact'] as const)
  if (mode === 'exact' && child.op !== 'maxPool2d') {
    rejectConfig(name, 'config.child.op', '"maxPool2d" with mode "exact"', child.op)
  }
  const outputShape = (shape: Shape): E.Either<LayerError, Shape> => pooledShape(name, 'input', shape, child)
  const window = poolWindow(child)
  const poolMode = child.op === 'maxPool2d' ? 'max' : 'avg'

  /**
   * One step's output from its input `x` and the sum `total` (this step included), on any
   * device (`apply` runs it on the host device): the gate itself (`'exact'`), or BrainCog's
   * `child(x + 1000 * S) - child(1000 * S)` with its roundings, step by step: scaled =
   * fl(0 + 1000 * S) (`zeros()`, a zero buffer shaped like `x`, owned by the caller), shifted =
   * fl(x + scaled). Frees only its own temporaries.
   */
  const gate = <B>(device: Device<B>, x: B, total: B, zeros: () => B, shape: Shape): B => {
    const [n, c, h, w] = shape
    if (mode === 'exact') return device.maxPool2dBy(total, x, n * c, h, w, window)
    const scaled = device.axpy(zeros(), SCALE, total)
    const shifted = device.axpy(x, 1, scaled)
    const top = device.pool2d(shifted, n * c, h, w, window, poolMode)
    const base = device.pool2d(scaled, n * c, h, w, window, poolMode)
    const out = device.axpy(top, -1, base)
    for (const b of [scaled, shifted, top, base]) device.free(b)
    return out
  }

  return {
    name,
    outputShape,
    init: (_key, shape) =>
      E.map((out: Shape) => ({ params: none, state: { sum: null }, outputShape: out }))(outputShape(shape)),
    apply: (_params, state, input, ctx) => {
      const outShape = checkStep(name, input, state.sum, outputShape)
      if (E.isLeft(outShape)) return outShape
      const backend = backendOf(ctx)
      const x = flatData(input)
      const dtype = dtypeOf(input)
      const sum = accumulate(backend, state.sum === null ? undefined : flatData(state.sum), x, dtype)
      const out = gate(hostDevice(backend), x, sum, () => alloc(x.length, dtype), input.shape)
      return E.right({
        output: wrap(out, outShape.right) as Tensor<Rank4>,
        state: { sum: wrap(sum, input.shape) as Tensor<Rank4> },
      })
    },
    reset: () => ({ sum: null }),
    // the sum as one device buffer (null for zeros); BrainCog's mode uploads one zero buffer,
    // on the first step (it takes the input's precision), kept until `dispose`
    lower: <B>(
      device: Device<B>,
      _params: NoParams,
      stepShape: Shape,
    ): DeviceProgram<SMaxPoolState, B, B | null> | null => {
      const out = outputShape(stepShape)
      if (E.isLeft(out)) return null
      let zeros: B | undefined
      const zerosLike = (x: B): B => (zeros ??= device.upload(alloc(device.lengthOf(x), device.dtypeOf(x))))
      return {
        outputShape: out.right,
        enter: (state) => E.map(() => enterTensor(device, state.sum))(checkSum(name, state.sum, stepShape)),
        step: (sum, x) => {
          const total = accumulateOn(device, sum, x)
          const output = gate(device, x, total, () => zerosLike(x), stepShape)
          if (total !== x) device.free(x)
          freeTensor(device, sum)
          return E.right({ output, state: total })
        },
        exit: (sum) => ({ sum: exitTensor(device, sum, stepShape) as Tensor<Rank4> | null }),
        discard: (sum) => freeTensor(device, sum),
        dispose: () => {
          if (zeros !== undefined) device.free(zeros)
          zeros = undefined
        },
      }
    },
  }
}
