/**
 * LIPool: BrainCog's `LIPool`, lateral-inhibition pooling for SNNs converted from ANNs (Li et
 * al., "A Free Lunch From ANN: Towards Efficient, Accurate Spiking Neural Networks Calibration",
 * ICML 2021, and BrainCog's conversion toolkit).
 *
 * The state `S` is the accumulated input minus the upsampled past outputs. Each step:
 * `S += x; out = child(S); S -= upsample(out)`. Because the windows do not overlap, the running
 * sum of the outputs equals `child` of the running sum of the inputs after every step, so a
 * max-pooled spike train carries exactly the max of the input rates (no spike is passed twice).
 *
 * Shapes: `[N, C, H, W]` in, `[N, C, H/k, W/k]` out, k the child's window. State: `sum`, the
 * `[N, C, H, W]` accumulator, `null` (meaning zeros) after `init` and `reset`.
 *
 * Differences from BrainCog: BrainCog hard-wires an upsampling factor of 2, so only windows of
 * stride 2 work; here the output is upsampled by the child's stride, so any non-overlapping
 * window (`kernelSize == stride`, no padding; max or average) works. Overlapping or padded
 * children are rejected when the layer is built, since they break the conservation above,
 * unless `allowOverlap` is set: then, as in BrainCog, any child whose output upsampled by its
 * stride covers the input runs (e.g. a ResNet stem's 3x3/2 max pool with padding 1), and equals
 * BrainCog's LIPool for stride 2. An input the upsampled output does not cover exactly is an
 * error at `apply` (BrainCog would fail or silently misalign).
 *
 * Device form (`lower`, see `scanOnDevice`): for non-overlapping children (the fused
 * `liPoolStep`, the accumulator kept on the device); overlapping or padded ones run on the host.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { backendOf } from '../backend/select.js'
import type { Device, DeviceProgram } from '../device/device.js'
import { fail, type LayerError, rejectConfig } from '../errors.js'
import { showShape } from '../layer/check.js'
import type { Layer, NoParams } from '../layer/layer.js'
import { none } from '../layer/layer.js'
import { accumulate, checkStep, checkSum } from './internal/accumulator.js'
import { enterTensor, exitTensor, freeTensor } from './internal/deviceState.js'
import { type PoolSpec, pool2d, pooledShape, poolSpec, upsampleNearest } from '../ops/pool.js'
import type { Rank4, Shape, Tensor } from '../tensor/tensor.js'
import { alloc, dtypeOf, flatData, sizeOf, wrap } from '../tensor/tensor.js'

/** LIPool configuration. */
export interface LIPoolConfig {
  /** The pooling wrapped: non-overlapping (`stride` = `kernelSize`, `padding` 0), max or average. */
  readonly child: PoolSpec
  /**
   * Accept overlapping or padded children as BrainCog does (default `false`): the output is
   * upsampled by the stride, and outputs no longer sum to the pooled sum of the inputs.
   */
  readonly allowOverlap?: boolean
}

/** LIPool state: the accumulated input minus the upsampled outputs, `null` for zeros. */
export interface LIPoolState {
  /** The accumulator, shaped like the input `[N, C, H, W]`. */
  readonly sum: Tensor<Rank4> | null
}

/**
 * Builds a lateral-inhibition pooling layer. Throws a `ConfigError` for an invalid or
 * overlapping/padded child.
 *
 * @example
 * import { key, liPool, orThrow, tensor, toNested, train } from 'braincog-fn'
 * const pool = liPool({ child: { op: 'maxPool2d', kernelSize: 2 } })
 * const { params, state } = orThrow(pool.init(key(0), [1, 1, 2, 2]))
 * const x = tensor([1, 1, 0, 0], [1, 1, 2, 2]) // two neurons of one window spike together
 * const s1 = orThrow(pool.apply(params, state, x, train()))
 * toNested(s1.output) // [[[[1]]]]: one spike passes, not two
 */
export const liPool = (config: LIPoolConfig): Layer<NoParams, LIPoolState, Rank4, Rank4> => {
  const name = 'LIPool'
  const child = poolSpec(config?.child, name, 'config.child')
  const allowOverlap = config.allowOverlap ?? false
  if (typeof allowOverlap !== 'boolean') rejectConfig(name, 'config.allowOverlap', 'a boolean', allowOverlap)
  const k = child.kernelSize
  const factor = child.stride
  if (!allowOverlap && (child.stride !== k || child.padding !== 0)) {
    rejectConfig(
      name,
      'config.child',
      `a non-overlapping window (stride == kernelSize ${k}, padding 0)`,
      `stride ${child.stride}, padding ${child.padding}`,
    )
  }

  /** Windows that tile the input (stride == kernel, no padding) take the fused kernel. */
  const tiles = child.stride === k && child.padding === 0
  const mode = child.op === 'maxPool2d' ? 'max' : 'avg'

  const outputShape = (shape: Shape): E.Either<LayerError, Shape> => {
    const pooled = pooledShape(name, 'input', shape, child)
    if (E.isLeft(pooled)) return pooled
    // the upsampled output must cover the input exactly, else the subtraction misaligns
    return pooled.right[2] * factor === shape[2] && pooled.right[3] * factor === shape[3]
      ? pooled
      : fail(name, 'input', `H and W that the window (stride ${factor}) tiles exactly`, showShape(shape))
  }

  return {
    name,
    outputShape,
    init: (_key, shape) =>
      E.map((out: Shape) => ({ params: none, state: { sum: null }, outputShape: out }))(outputShape(shape)),
    apply: (_params, state, input, ctx) => {
      const ok = checkStep(name, input, state.sum, outputShape)
      if (E.isLeft(ok)) return ok
      const backend = backendOf(ctx)
      const x = flatData(input)
      const dtype = dtypeOf(input)
      const prior = state.sum === null ? undefined : flatData(state.sum)
      if (tiles) {
        // non-overlapping windows: one fused kernel, no intermediate arrays
        const [n, c, h, w] = input.shape
        const out = alloc(sizeOf(ok.right), dtype)
        const sum = alloc(x.length, dtype)
        backend.liPoolStep(out, sum, prior, x, n * c, h, w, k, mode)
        return E.right({
          output: wrap(out, ok.right) as Tensor<Rank4>,
          state: { sum: wrap(sum, input.shape) as Tensor<Rank4> },
        })
      }
      const total = accumulate(backend, prior, x, dtype)
      const out = pool2d(wrap(total, input.shape), child, backend)
      if (E.isLeft(out)) return out
      const up = upsampleNearest(out.right, factor, backend)
      if (E.isLeft(up)) return up
      const sum = alloc(x.length, dtype)
      backend.axpy(sum, total, -1, flatData(up.right))
      return E.right({ output: out.right, state: { sum: wrap(sum, input.shape) as Tensor<Rank4> } })
    },
    reset: () => ({ sum: null }),
    // the fused kernel only (tiling windows), the accumulator as one device buffer (null for
    // zeros); the other windows take three kernels and an upsampling: they run on the host
    lower: <B>(
      device: Device<B>,
      _params: NoParams,
      stepShape: Shape,
    ): DeviceProgram<LIPoolState, B, B | null> | null => {
      const out = outputShape(stepShape)
      if (!tiles || E.isLeft(out)) return null
      const [n, c, h, w] = stepShape
      return {
        outputShape: out.right,
        enter: (state) => E.map(() => enterTensor(device, state.sum))(checkSum(name, state.sum, stepShape)),
        step: (sum, x) => {
          const next = device.liPoolStep(sum, x, n * c, h, w, k, mode)
          device.free(x)
          freeTensor(device, sum)
          return E.right({ output: next.out, state: next.nextSum })
        },
        exit: (sum) => ({ sum: exitTensor(device, sum, stepShape) as Tensor<Rank4> | null }),
        discard: (sum) => freeTensor(device, sum),
        dispose: () => undefined,
      }
    },
  }
}
