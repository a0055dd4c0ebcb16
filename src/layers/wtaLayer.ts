/**
 * WTALayer: BrainCog's `braincog.base.connection.layer.WTALayer`, a stochastic winner-take-all
 * (lateral inhibition) over channels: at each position only the channels whose randomly scaled
 * input `x * u` ranks in the top `k` keep their value (Zeng et al., "BrainCog", Patterns 2023;
 * used in BrainCog's unsupervised STDP networks). The noise `u ~ U[0, 1)` breaks ties between
 * equal spikes at random.
 *
 * Shapes: `[N, C, ...]` in (channels on axis 1), the same shape out. No params, no state.
 *
 * Device form: none; inside `scanOnDevice` it runs on the host (a readback and an upload per step).
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import type { Backend } from '../backend/backend.js'
import { backendOf } from '../backend/select.js'
import { fail, type LayerError, rejectConfig } from '../errors.js'
import { configInt, expectMinRank, expectSameShape, showShape } from '../layer/check.js'
import type { Ctx } from '../layer/context.js'
import type { Layer, NoParams, NoState } from '../layer/layer.js'
import { none } from '../layer/layer.js'
import type { Axes, Data, DType, Shape, Tensor } from '../tensor/tensor.js'
import { alloc, dtypeOf, flatData, wrap } from '../tensor/tensor.js'

const name = 'WTALayer'

/** WTALayer configuration. */
export interface WTALayerConfig {
  /** Winners per position (default 1), an integer >= 1 and at most the channel count. */
  readonly k?: number
  /**
   * `false` (default, BrainCog): keep every channel whose `x * u` reaches the k-th largest, so
   * ties at the k-th value can let more than k through. `true`: at most k survive; among channels
   * tied at the k-th value, the lowest channel indices win.
   */
  readonly exact?: boolean
}

/**
 * The noise `u`: caller-supplied draws (checked to match `x`), else uniform draws from the key,
 * drawn by the backend's `uniformFill` (the same bits as `uniform(ctx.key, size, dtype)`).
 */
const noiseFor = (ctx: Ctx, backend: Backend, shape: Shape, size: number, dtype: DType): E.Either<LayerError, Data> => {
  if (ctx.draws !== undefined) {
    return E.map(() => flatData(ctx.draws as Tensor))(expectSameShape(name, 'ctx.draws', ctx.draws.shape, shape))
  }
  if (ctx.key !== undefined) {
    const u = alloc(size, dtype)
    backend.uniformFill(u, ctx.key)
    return E.right(u)
  }
  return fail(name, 'ctx.key', 'a key, or ctx.draws (uniform [0, 1) noise shaped like the input)', 'neither')
}

/**
 * Builds a WTALayer: `y = x` where `x * u` is at least the k-th largest of `x * u` along axis 1,
 * `0` elsewhere, with `u` uniform in [0, 1) from `ctx.draws` (shaped like `x`) or else drawn from
 * `ctx.key`. It draws in training and eval alike, as BrainCog does.
 *
 * Differences from BrainCog: the noise comes from the explicit key (or the caller), not
 * PyTorch's global generator; the `exact` option caps the winners at k; masked outputs are exactly 0 (BrainCog's
 * `x * mask` turns an infinite or NaN input into NaN). Rejects (as `LayerError`): rank < 2, fewer
 * than k channels, `ctx.draws` not shaped like the input, neither key nor draws. `k < 1` throws a
 * `ConfigError` at build.
 *
 * @example
 * import { evaluate, orThrow, tensor, wtaLayer } from 'braincog-fn'
 * const wta = wtaLayer({ k: 1 })
 * const x = tensor([1, 1, 0], [1, 3])
 * const u = tensor([0.2, 0.7, 0.5], [1, 3])
 * orThrow(wta.apply({}, {}, x, { ...evaluate(), draws: u })).output // [[0, 1, 0]]
 */
export const wtaLayer = (config: WTALayerConfig = {}): Layer<NoParams, NoState, Axes, Axes> => {
  const k = configInt(name, 'config.k', config.k ?? 1)
  const exact = config.exact ?? false
  if (typeof exact !== 'boolean') rejectConfig(name, 'config.exact', 'a boolean', exact)

  const outputShape = (shape: Shape): E.Either<LayerError, Shape> => {
    const rank = expectMinRank(name, 'input', shape, 2, '[N, C, ...]')
    if (E.isLeft(rank)) return rank
    return shape[1] >= k ? E.right(shape) : fail(name, 'input', `at least k = ${k} channels on axis 1`, showShape(shape))
  }

  return {
    name,
    outputShape,
    init: (_key, shape) => E.map((out: Shape) => ({ params: none, state: none, outputShape: out }))(outputShape(shape)),
    apply: (_params, state, input, ctx) => {
      const ok = outputShape(input.shape)
      if (E.isLeft(ok)) return ok
      const dtype = dtypeOf(input)
      const backend = backendOf(ctx)
      const noise = noiseFor(ctx, backend, input.shape, input.size, dtype)
      if (E.isLeft(noise)) return noise
      const x = flatData(input)
      const [outer, channels] = input.shape
      const inner = channels === 0 || outer === 0 ? 0 : input.size / (outer * channels)
      if (k === 1 && !exact) {
        // BrainCog's default: one fused kernel (score, column max, select)
        const y = alloc(x.length, dtype)
        backend.keepMaxAlongAxis(y, x, noise.right, outer, channels, inner)
        return E.right({ output: wrap(y, input.shape), state })
      }
      // the score is rounded to the input's precision, as PyTorch's `x * rand` is
      const score = alloc(x.length, dtype)
      backend.mul(score, x, noise.right)
      const kth = alloc(outer * inner, dtype)
      backend.kthLargestAlongAxis(kth, score, outer, channels, inner, k)
      const y = alloc(x.length, dtype)
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          const threshold = kth[o * inner + i]
          const at = (c: number): number => (o * channels + c) * inner + i
          // exact mode: every channel strictly above the threshold wins (fewer than k of them);
          // the remaining places go to the channels tied at the threshold, lowest index first
          let tiesLeft = k
          if (exact) {
            for (let c = 0; c < channels; c++) if (score[at(c)] > threshold) tiesLeft--
          }
          for (let c = 0; c < channels; c++) {
            const s = score[at(c)]
            let wins = s >= threshold
            if (exact && s === threshold) wins = tiesLeft-- > 0
            if (wins) y[at(c)] = x[at(c)]
          }
        }
      }
      return E.right({ output: wrap(y, input.shape), state })
    },
    reset: (state) => state,
  }
}
