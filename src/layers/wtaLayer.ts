/**
 * WTALayer: BrainCog's `braincog.base.connection.layer.WTALayer`, a stochastic winner-take-all
 * (lateral inhibition) over channels: at each position only the channels whose randomly scaled
 * input `x * u` ranks in the top `k` keep their value (Zeng et al., "BrainCog", Patterns 2023;
 * used in BrainCog's unsupervised STDP networks). The noise `u ~ U[0, 1)` breaks ties between
 * equal spikes at random.
 *
 * Shapes: `[N, C, ...]` in (channels on axis 1), the same shape out. No params, no state.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { chain } from '../either.js'
import { layerFailure, type LayerError } from '../errors.js'
import { DeviceTensor } from '../kernel/device.js'
import { uploadTensor } from '../kernel/tree.js'
import { configBoolean, configInt, configObject, expectDtype, expectMinRank, expectSameShape, showShape } from '../layer/check.js'
import { defineLayer } from '../layer/define.js'
import type { Layer, NoParams, NoState } from '../layer/layer.js'
import { empty } from '../layer/layer.js'
import { record } from '../layer/schema.js'
import type { Axes, Shape } from '../tensor/tensor.js'
import { sizeOf } from '../tensor/tensor.js'

const name = 'WTALayer'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// constructor
// ---------------------------------------------------------------------------------------------

/**
 * Builds a WTALayer: `y = x` where `x * u` is at least the k-th largest of `x * u` along axis 1,
 * `0` elsewhere, with `u` uniform in [0, 1) from `ctx.draws` (shaped like `x`) or else drawn from
 * `ctx.key`. It draws in training and eval alike, as BrainCog does (so an eval context needs a
 * key too: `evaluate(undefined, key(0))`).
 *
 * Differences from BrainCog: the noise comes from the explicit key (or the caller), not
 * PyTorch's global generator; the `exact` option caps the winners at k; masked outputs are
 * exactly 0 (BrainCog's `x * mask` turns an infinite or NaN input into NaN). Rejects (as
 * `LayerError`): rank < 2, fewer than k channels, `ctx.draws` not shaped like the input, neither
 * key nor draws. `k < 1` throws a `ConfigError` at build.
 *
 * @example
 * import { evaluate, orThrow, tensor, wtaLayer } from 'braincog-fn'
 * const wta = wtaLayer({ k: 1 })
 * const x = tensor([1, 1, 0], [1, 3])
 * const u = tensor([0.2, 0.7, 0.5], [1, 3])
 * orThrow(wta.apply({}, {}, x, { ...evaluate(), draws: u })).output // [[0, 1, 0]]
 */
export const wtaLayer = (config: WTALayerConfig = {}): Layer<NoParams, NoState, Axes, Axes> => {
  const c = configObject<WTALayerConfig>(name, config, false, ['k', 'exact'])
  const k = configInt(name, 'config.k', c.k ?? 1)
  const exact = configBoolean(name, 'config.exact', c.exact ?? false)

  // -------------------------------------------------------------------------------------------
  // layer
  // -------------------------------------------------------------------------------------------

  const outputShape = (shape: Shape): E.Either<LayerError, Shape> => {
    const rank = expectMinRank(name, 'input', shape, 2, '[N, C, ...]')
    if (E.isLeft(rank)) return rank
    return shape[1] >= k ? E.right(shape) : layerFailure(name, 'input', `at least k = ${k} channels on axis 1`, showShape(shape))
  }

  return defineLayer<NoParams, NoState>({
    name,
    outputShape,
    params: record({}),
    state: record({}),
    init: () => ({ params: empty, state: empty }),
    check: (_params, _state, input, ctx) => {
      if (ctx.draws !== undefined) {
        return chain(() => expectDtype(name, 'ctx.draws', ctx.draws!, input.dtype))(
          expectSameShape(name, 'ctx.draws', ctx.draws.shape, input.shape),
        )
      }
      return ctx.key !== undefined
        ? E.right(undefined)
        : layerFailure(name, 'ctx.key', 'a key, or ctx.draws (uniform [0, 1) noise shaped like the input)', 'neither')
    },
    run: (d, _params, state, x, ctx) => {
      const size = sizeOf(x.shape)
      const dtype = d.dtypeOf(x.buffer)
      // the noise: the caller's draws, else drawn from the key (the same bits as `uniform`)
      const noise =
        ctx.draws !== undefined ? uploadTensor(d, ctx.draws) : d.uniform({ length: size, key: ctx.key!, dtype })
      const [outer, channels] = x.shape
      const inner = size === 0 ? 0 : size / (outer * channels)
      const y = d.winnerTakeAll(x.buffer, noise, { outer, axis: channels, inner, k, exact })
      d.free(noise)
      return { output: new DeviceTensor(y, x.shape), state }
    },
  })
}
