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
import * as E from 'fp-ts/lib/Either.js'
import { backendOf } from '../backend/select.js'
import { type LayerError, rejectConfig } from '../errors.js'
import { configChoice } from '../layer/check.js'
import type { Layer, NoParams } from '../layer/layer.js'
import { none } from '../layer/layer.js'
import { accumulate, checkStep } from './internal/accumulator.js'
import { type PoolSpec, pool2d, pooledShape, poolSpec, poolWindow } from '../ops/pool.js'
import type { Data, Rank4, Shape, Tensor } from '../tensor/tensor.js'
import { alloc, dtypeOf, flatData, sizeOf, wrap } from '../tensor/tensor.js'

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
      const next = { sum: wrap(sum, input.shape) as Tensor<Rank4> }
      const [n, c, h, w] = input.shape

      if (mode === 'exact') {
        const out = alloc(sizeOf(outShape.right), dtype)
        backend.maxPool2dBy(out, sum, x, n * c, h, w, poolWindow(child))
        return E.right({ output: wrap(out, outShape.right) as Tensor<Rank4>, state: next })
      }

      // BrainCog's rounding, step by step: scaled = fl(1000 * S), shifted = fl(x + scaled)
      const scaled = alloc(x.length, dtype)
      backend.axpy(scaled, alloc(x.length, dtype), SCALE, sum)
      const shifted = alloc(x.length, dtype)
      backend.axpy(shifted, x, 1, scaled)
      const top = pool2d(wrap(shifted, input.shape), child, backend)
      if (E.isLeft(top)) return top
      const base = pool2d(wrap(scaled, input.shape), child, backend)
      if (E.isLeft(base)) return base
      const out: Data = alloc(base.right.size, dtype)
      backend.axpy(out, flatData(top.right), -1, flatData(base.right))
      return E.right({ output: wrap(out, outShape.right) as Tensor<Rank4>, state: next })
    },
    reset: () => ({ sum: null }),
  }
}
