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
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { layerFailure, type LayerError, rejectConfig } from '../errors.js'
import { configBoolean, configObject, showShape } from '../layer/check.js'
import type { Layer, NoParams } from '../layer/layer.js'
import { type PoolSpec, pooledShape, poolMode, poolSpec } from '../ops/pool.js'
import type { Rank4, Shape } from '../tensor/tensor.js'
import { accumulate, accumulatingPool, type PoolState } from './internal/accumulatingPool.js'

const name = 'LIPool'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

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
export type LIPoolState = PoolState

// ---------------------------------------------------------------------------------------------
// constructor
// ---------------------------------------------------------------------------------------------

/**
 * Builds a lateral-inhibition pooling layer. Throws a `ConfigError` for an invalid or
 * overlapping/padded child (unless `allowOverlap`), or one whose strides differ between the
 * two axes (the upsampling takes one factor).
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
  const c = configObject<LIPoolConfig>(name, config, true, ['child', 'allowOverlap'])
  const { op, window } = poolSpec(c.child, name, 'config.child')
  const allowOverlap = configBoolean(name, 'config.allowOverlap', c.allowOverlap ?? false)
  const factor = window.strideH
  if (window.strideW !== factor) {
    rejectConfig(name, 'config.child.stride', 'the same stride on both axes (the upsampling factor)', [window.strideH, window.strideW])
  }
  /** Windows that tile the input (stride == kernel, no padding) take the fused kernel. */
  const tiles =
    window.kernelH === factor && window.kernelW === factor && window.padH === 0 && window.padW === 0
  if (!allowOverlap && !tiles) {
    rejectConfig(name, 'config.child', 'a non-overlapping window (stride == kernelSize, padding 0)', c.child)
  }
  const mode = poolMode(op)

  // -------------------------------------------------------------------------------------------
  // layer
  // -------------------------------------------------------------------------------------------

  const outputShape = (shape: Shape): E.Either<LayerError, Shape> => {
    const pooled = pooledShape(name, 'input', shape, window)
    if (E.isLeft(pooled)) return pooled
    // the upsampled output must cover the input exactly, else the subtraction misaligns
    return pooled.right[2] * factor === shape[2] && pooled.right[3] * factor === shape[3]
      ? pooled
      : layerFailure(name, 'input', `H and W that the window (stride ${factor}) tiles exactly`, showShape(shape))
  }

  return accumulatingPool(name, outputShape, (d, x, sum, [n, ch, height, width]) => {
    const planes = n * ch
    if (tiles) {
      // non-overlapping windows: one fused kernel, no intermediate arrays
      const r = d.liPoolStep(sum, x, { planes, height, width, k: factor, mode })
      return { out: r.out, next: r.nextSum }
    }
    const total = accumulate(d, sum, x)
    const out = d.pool2d(total, { planes, height, width, window, mode })
    const [h, w] = [height / factor, width / factor]
    const up = d.upsampleNearest(out, { planes, height: h, width: w, factor })
    const next = d.axpy(total, up, { alpha: -1 })
    d.free(up)
    if (total !== x) d.free(total)
    return { out, next }
  })
}
