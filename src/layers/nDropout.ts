/**
 * NDropout: BrainCog's `braincog.base.connection.layer.NDropout`, dropout for spiking networks
 * whose mask is drawn once per sample and reused at every time step (a neuron dropped at step 0
 * stays dropped for the whole sample, so the spike trains keep their rate code), until `reset`.
 *
 * Shapes: any `[...]` in, the same shape out. No params. State: the mask held since the first
 * training step, or `null`.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { chain } from '../either.js'
import { layerFailure, type LayerError } from '../errors.js'
import { DeviceTensor } from '../kernel/device.js'
import { configNumber, configObject, expectDtype, expectSameShape } from '../layer/check.js'
import type { Ctx } from '../layer/context.js'
import { defineLayer } from '../layer/define.js'
import type { Layer, NoParams } from '../layer/layer.js'
import { empty } from '../layer/layer.js'
import { likeInput, nullable, record } from '../layer/schema.js'
import type { Axes, Data, DType, Tensor } from '../tensor/tensor.js'
import { alloc, flatData, sizeOf } from '../tensor/tensor.js'

const name = 'NDropout'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** NDropout configuration. */
export interface NDropoutConfig {
  /** Drop probability, in [0, 1]. `p = 1` drops everything (as PyTorch). */
  readonly p: number
}

/** NDropout state: the mask held since the first training step, or `null`. */
export interface NDropoutState {
  /** The mask of the current samples (0 or `1/(1-p)`), shaped like the input. */
  readonly mask: Tensor | null
}

/** Relative slack for supplied masks written at another precision (a float32 `1 / 0.7`). */
const MASK_SLACK = 1e-6

// ---------------------------------------------------------------------------------------------
// constructor
// ---------------------------------------------------------------------------------------------

/**
 * Builds an NDropout layer. Training: on the first step (state mask `null`) a mask is drawn
 * (from `ctx.draws` if given, else from `ctx.key`) and kept in the state; every later step
 * multiplies by the same mask, until `reset`. Eval: the identity (a copy), state unchanged.
 * Through `scan` over time-major `[T, N, ...]`, all T steps of a sample share one mask.
 *
 * Differences from BrainCog: the mask is drawn from the explicit key, not a global generator;
 * `ctx.draws` is read only when a mask is drawn (ignored while one is held), and its non-zero
 * entries are stored as exactly `1 / (1 - p)` in the input's dtype; an input whose
 * shape differs from the held mask's is a `LayerError` (BrainCog fails with a broadcast error
 * or silently broadcasts). Also rejected: training with neither key nor draws when a mask must
 * be drawn, draws not shaped like the input or with values other than 0 and `1 / (1 - p)`.
 * `p` outside [0, 1] throws a `ConfigError` at build.
 *
 * @example
 * import { key, nDropout, orThrow, train, full } from 'braincog-fn'
 * const drop = nDropout({ p: 0.5 })
 * const { params, state } = orThrow(drop.init(key(0), [2, 3]))
 * const s1 = orThrow(drop.apply(params, state, full([2, 3], 1), train(key(1))))
 * const s2 = orThrow(drop.apply(params, s1.state, full([2, 3], 1), train(key(2))))
 * // s1.output and s2.output are equal (values 0 or 2): the mask is reused
 */
export const nDropout = (config: NDropoutConfig): Layer<NoParams, NDropoutState, Axes, Axes> => {
  const c = configObject<NDropoutConfig>(name, config, true, ['p'])
  const p = configNumber(name, 'config.p', c.p, { min: 0, max: 1 })
  // p = 1: PyTorch's dropout returns zeros rather than 0 * infinity
  const scale = p === 1 ? 0 : 1 / (1 - p)

  // -------------------------------------------------------------------------------------------
  // layer
  // -------------------------------------------------------------------------------------------

  /** The mask's non-zero value in `dtype`. */
  const valueIn = (dtype: DType): number => (dtype === 'float32' ? Math.fround(scale) : scale)

  /** A caller-supplied mask's values: each 0 or `1 / (1 - p)` (within float32 slack). */
  const checkDraws = (draws: Tensor, dtype: DType): E.Either<LayerError, unknown> => {
    const value = valueIn(dtype)
    const given = flatData(draws)
    for (let i = 0; i < given.length; i++) {
      const v = given[i]
      if (v !== 0 && !(value > 0 && Math.abs(v - value) <= MASK_SLACK * value)) {
        return layerFailure(name, 'ctx.draws', `mask values 0 or 1 / (1 - p) = ${value}`, `${v} at flat index ${i}`)
      }
    }
    return E.right(undefined)
  }

  /** A caller-supplied mask snapped to exactly 0 and the mask value. */
  const snapped = (draws: Tensor, dtype: DType): Data => {
    const given = flatData(draws)
    const mask = alloc(given.length, dtype)
    const value = valueIn(dtype)
    for (let i = 0; i < given.length; i++) mask[i] = given[i] === 0 ? 0 : value
    return mask
  }

  return defineLayer<NoParams, NDropoutState>({
    name,
    outputShape: (shape) => E.right(shape),
    params: record({}),
    state: record({ mask: nullable(likeInput) }),
    init: () => ({ params: empty, state: { mask: null } }),
    // a mask is drawn only in training, when none is held
    check: (_params, state, input, ctx: Ctx) => {
      if (!ctx.training || state.mask !== null) return E.right(undefined)
      if (ctx.draws !== undefined) {
        return chain(() => checkDraws(ctx.draws!, input.dtype))(
          chain(() => expectDtype(name, 'ctx.draws', ctx.draws!, input.dtype))(
            expectSameShape(name, 'ctx.draws', ctx.draws.shape, input.shape),
          ),
        )
      }
      return ctx.key !== undefined
        ? E.right(undefined)
        : layerFailure(name, 'ctx.key', 'a key, or ctx.draws (the mask), to draw a new mask in training', 'neither')
    },
    run: (d, _params, state, x, ctx) => {
      if (!ctx.training) return { output: x, state }
      const dtype = d.dtypeOf(x.buffer)
      const mask =
        state.mask !== null
          ? state.mask.buffer
          : ctx.draws !== undefined
            ? d.upload(snapped(ctx.draws, dtype))
            : d.bernoulliMask({ length: sizeOf(x.shape), key: ctx.key!, keep: 1 - p, value: valueIn(dtype), dtype })
      return { output: new DeviceTensor(d.mul(x.buffer, mask), x.shape), state: { mask: new DeviceTensor(mask, x.shape) } }
    },
    reset: () => ({ mask: null }),
  })
}
