/**
 * NDropout: BrainCog's `braincog.base.connection.layer.NDropout`, dropout for spiking networks.
 * A spiking network sees each sample for T time steps; ordinary dropout would silence different
 * neurons at every step, so NDropout draws one mask per sample and keeps it for all T steps until
 * `reset` (Zeng et al., "BrainCog", Patterns 2023).
 *
 * Shapes: any `[...]` in, the same shape out. State: the mask (`null` before the first training
 * step and after `reset`), of values 0 and `1 / (1 - p)`.
 *
 * Device form (`lower`, see `scanOnDevice`): always; in training the mask is uploaded once
 * (drawn on the host, as `apply` draws it) and kept on the device, in eval the input passes on.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { backendOf } from '../backend/select.js'
import type { Device, DeviceProgram } from '../device/device.js'
import { fail, type LayerError } from '../errors.js'
import { configNumber, expectSameShape, showShape } from '../layer/check.js'
import type { Ctx } from '../layer/context.js'
import type { Layer, NoParams } from '../layer/layer.js'
import { none } from '../layer/layer.js'
import { uniform } from '../random/key.js'
import type { Axes, Data, DType, Shape, Tensor } from '../tensor/tensor.js'
import { alloc, copy, dtypeOf, flatData, sizeOf, wrap } from '../tensor/tensor.js'
import { enterTensor, exitTensor, freeTensor, statelessProgram } from './internal/deviceState.js'

const name = 'NDropout'

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

/**
 * A new mask shaped like the input, with values 0 and `scale`: from `ctx.draws` (checked, then
 * snapped to exactly 0 or `scale`), else kept with probability `1 - p` from `ctx.key`.
 */
const drawMask = (ctx: Ctx, shape: Shape, dtype: DType, p: number, scale: number): E.Either<LayerError, Data> => {
  const mask = alloc(sizeOf(shape), dtype)
  if (ctx.draws !== undefined) {
    const ok = expectSameShape(name, 'ctx.draws', ctx.draws.shape, shape)
    if (E.isLeft(ok)) return ok
    const given = flatData(ctx.draws)
    for (let i = 0; i < given.length; i++) {
      const v = given[i]
      if (v !== 0 && !(scale > 0 && Math.abs(v - scale) <= MASK_SLACK * scale)) {
        return fail(name, 'ctx.draws', `mask values 0 or 1 / (1 - p) = ${scale}`, `${v} at flat index ${i}`)
      }
      mask[i] = v === 0 ? 0 : scale
    }
    return E.right(mask)
  }
  if (ctx.key === undefined) {
    return fail(name, 'ctx.key', 'a key, or ctx.draws (the mask), to draw a new mask in training', 'neither')
  }
  const u = uniform(ctx.key, mask.length, 'float64')
  for (let i = 0; i < mask.length; i++) mask[i] = u[i] < 1 - p ? scale : 0
  return E.right(mask)
}

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
  const p = configNumber(name, 'config.p', config.p, { min: 0, max: 1 })
  // p = 1: PyTorch's dropout returns zeros rather than 0 * infinity
  const scale = p === 1 ? 0 : 1 / (1 - p)

  /** A held mask must have the input's shape. */
  const checkHeld = (mask: Tensor | null, shape: Shape): E.Either<LayerError, unknown> => {
    if (mask === null || E.isRight(expectSameShape(name, 'input', shape, mask.shape))) return E.right(undefined)
    const held = `shape [${mask.shape.join(', ')}] (the held mask's; reset for a new one)`
    return fail(name, 'input', held, showShape(shape))
  }

  /** A new mask for inputs of `shape` and `dtype` (the scale rounded to that precision). */
  const newMask = (ctx: Ctx, shape: Shape, dtype: DType): E.Either<LayerError, Data> =>
    drawMask(ctx, shape, dtype, p, dtype === 'float32' ? Math.fround(scale) : scale)

  return {
    name,
    outputShape: (shape) => E.right(shape),
    init: (_key, shape) => E.right({ params: none, state: { mask: null }, outputShape: shape }),
    apply: (_params, state, input, ctx) => {
      if (!ctx.training) return E.right({ output: copy(input), state })
      const dtype = dtypeOf(input)
      let mask: Tensor
      if (state.mask !== null) {
        const ok = checkHeld(state.mask, input.shape)
        if (E.isLeft(ok)) return ok
        mask = state.mask
      } else {
        const drawn = newMask(ctx, input.shape, dtype)
        if (E.isLeft(drawn)) return drawn
        mask = wrap(drawn.right, input.shape)
      }
      const y = alloc(input.size, dtype)
      backendOf(ctx).mul(y, flatData(input), flatData(mask))
      return E.right({ output: wrap(y, input.shape), state: { mask } })
    },
    reset: () => ({ mask: null }),
    // eval: the identity, the input buffer handed on as the output; training: the mask as one
    // device buffer, uploaded when it is entered or drawn (on the first step, from that step's
    // context, as `apply` draws it)
    lower: <B>(device: Device<B>, _params: NoParams, stepShape: Shape, ctx: Ctx): DeviceProgram<NDropoutState, B> => {
      if (!ctx.training) return statelessProgram<NDropoutState, B>(device, stepShape, (x) => x)
      const program: DeviceProgram<NDropoutState, B, B | null> = {
        outputShape: stepShape,
        enter: (state) => E.map(() => enterTensor(device, state.mask))(checkHeld(state.mask, stepShape)),
        step: (held, x, stepCtx) => {
          let mask = held
          if (mask === null) {
            const drawn = newMask(stepCtx, stepShape, device.dtypeOf(x))
            if (E.isLeft(drawn)) {
              device.free(x)
              return drawn
            }
            mask = device.upload(drawn.right)
          }
          const output = device.mul(x, mask)
          device.free(x)
          return E.right({ output, state: mask })
        },
        exit: (mask) => ({ mask: exitTensor(device, mask, stepShape) }),
        discard: (mask) => freeTensor(device, mask),
        dispose: () => undefined,
      }
      return program
    },
  }
}
