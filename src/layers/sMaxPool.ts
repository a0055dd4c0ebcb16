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
 * @module
 */
import { rejectConfig } from '../errors.js'
import { configChoice, configObject } from '../layer/check.js'
import type { Layer, NoParams } from '../layer/layer.js'
import { type PoolSpec, pooledShape, poolMode, poolSpec } from '../ops/pool.js'
import type { Rank4 } from '../tensor/tensor.js'
import { accumulate, accumulatingPool, type PoolState } from './internal/accumulatingPool.js'

const name = 'SMaxPool'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** SMaxPool configuration. */
export interface SMaxPoolConfig {
  /** The pooling wrapped: max or average, any kernel, stride and padding. */
  readonly child: PoolSpec
  /** `'braincog'`: BrainCog's `1000 * S` formula (default); `'exact'`: the gate itself (max child only). */
  readonly mode?: 'braincog' | 'exact'
}

/** SMaxPool state: the accumulated input, `null` for zeros. */
export type SMaxPoolState = PoolState

/** BrainCog's scale that puts the count above the spike in one number. */
const SCALE = 1000

// ---------------------------------------------------------------------------------------------
// constructor
// ---------------------------------------------------------------------------------------------

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
  const c = configObject<SMaxPoolConfig>(name, config, true, ['child', 'mode'])
  const { op, window } = poolSpec(c.child, name, 'config.child')
  const mode = configChoice(name, 'config.mode', c.mode ?? 'braincog', ['braincog', 'exact'] as const)
  if (mode === 'exact' && op !== 'maxPool2d') rejectConfig(name, 'config.child.op', '"maxPool2d" with mode "exact"', op)
  const pooling = poolMode(op)

  // -------------------------------------------------------------------------------------------
  // layer
  // -------------------------------------------------------------------------------------------

  return accumulatingPool(
    name,
    (shape) => pooledShape(name, 'input', shape, window),
    (d, x, sum, [n, ch, height, width]) => {
      const total = accumulate(d, sum, x)
      const view = { planes: n * ch, height, width, window }
      if (mode === 'exact') return { out: d.maxPool2dBy(total, x, view), next: total }
      // BrainCog's child(x + 1000 S) - child(1000 S), with its roundings step by step
      const scaled = d.scale(total, { alpha: SCALE })
      const shifted = d.axpy(x, scaled, { alpha: 1 })
      const top = d.pool2d(shifted, { ...view, mode: pooling })
      const base = d.pool2d(scaled, { ...view, mode: pooling })
      const out = d.axpy(top, base, { alpha: -1 })
      for (const b of [scaled, shifted, top, base]) d.free(b)
      return { out, next: total }
    },
  )
}
