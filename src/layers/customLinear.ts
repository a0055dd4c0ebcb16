/**
 * CustomLinear: BrainCog's `braincog.base.connection.layer.CustomLinear`, a bias-free linear map
 * `x @ W` whose weight is changed by explicit updates (`update(dw)`), optionally masked so that
 * some connections never learn. BrainCog uses it for plasticity rules (STDP and friends) that
 * compute `dw` themselves rather than by back-propagation (Zeng et al., "BrainCog: A spiking
 * neural network based, brain-inspired cognitive intelligence engine", Patterns 2023).
 *
 * The weight is `[in, out]`, as BrainCog's CustomLinear stores it (`x @ W`): the transpose of
 * PyTorch's `nn.Linear` weight `[out, in]`.
 *
 * Shapes: `[in]`, `[N, in]` or any `[..., in]` in, `[..., out]` out. Params: `weight [in, out]`,
 * `mask [in, out] | null`, `bias [out] | null`. No state.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { chain } from '../either.js'
import { describeValue, layerFailure, type LayerError } from '../errors.js'
import { type Device, DeviceTensor } from '../kernel/device.js'
import {
  configBoolean,
  configFail,
  expectBackend,
  configInt,
  configObject,
  expectAxisSize,
  expectDtype,
  expectMinRank,
  expectRank,
  expectTensor,
  expectTensorOfShape,
  MAX_ELEMENTS,
} from '../layer/check.js'
import { defineLayer } from '../layer/define.js'
import type { Layer, NoState } from '../layer/layer.js'
import { empty } from '../layer/layer.js'
import { Session } from '../layer/run.js'
import { nullable, record, type Schema, tensorOf } from '../layer/schema.js'
import { type Key, split, uniform } from '../random/key.js'
import type { Axes, Data, DType, Rank1, Rank2, Shape, Tensor } from '../tensor/tensor.js'
import { alloc, dtypeOf, sizeOf, wrap } from '../tensor/tensor.js'

const name = 'CustomLinear'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** CustomLinear configuration. */
export interface CustomLinearConfig {
  /** Size of the input's last axis. */
  readonly inFeatures: number
  /** Size of the output's last axis. */
  readonly outFeatures: number
  /** Whether `init` creates a bias (default `false`, as BrainCog, which has none). */
  readonly bias?: boolean
}

/** CustomLinear params. `mask` only gates `update`; the forward pass ignores it, as in BrainCog. */
export interface CustomLinearParams {
  /** `[in, out]` (the transpose of `nn.Linear`'s `[out, in]`). */
  readonly weight: Tensor<Rank2>
  /** `[in, out]` of 0/1 (or any gains) multiplying `dw` in `update`; `null`: every weight learns. */
  readonly mask: Tensor<Rank2> | null
  /** `[out]`, added after the product; `null`: none. */
  readonly bias: Tensor<Rank1> | null
}

/** The CustomLinear layer: the layer contract plus BrainCog's `update`. */
export interface CustomLinearLayer extends Layer<CustomLinearParams, NoState, Axes, Axes> {
  /**
   * New params with `weight + dw * mask` (`weight + dw` without a mask), on `backend` (default:
   * as `apply`'s); `dw [in, out]` and the params are left untouched. BrainCog multiplies the
   * caller's `dw` by the mask in place.
   */
  update(params: CustomLinearParams, dw: Tensor, backend?: Device<unknown>): E.Either<LayerError, CustomLinearParams>
}

/** The params schema for a weight of `[in, out]`. */
const paramsOf = (inFeatures: number, outFeatures: number): Schema<CustomLinearParams> =>
  record({
    weight: tensorOf([inFeatures, outFeatures]),
    mask: nullable(tensorOf([inFeatures, outFeatures])),
    bias: nullable(tensorOf([outFeatures])),
  }) as Schema<CustomLinearParams>

/**
 * Validated CustomLinear params from BrainCog's constructor arguments (`weight`, optional
 * `mask`), plus an optional bias. The tensors are used as given (not copied).
 *
 * @example
 * import { customLinearParams, orThrow, tensor } from 'braincog-fn'
 * const params = orThrow(customLinearParams({ weight: tensor([1, 0, 0, 1, 1, 1], [3, 2]) }))
 * params.mask // null
 */
export const customLinearParams = (args: {
  readonly weight: Tensor
  readonly mask?: Tensor | null
  readonly bias?: Tensor | null
}): E.Either<LayerError, CustomLinearParams> => {
  const a = snapshot(args)
  if (E.isLeft(a)) return a
  const w = chain((t: Tensor) => E.map(() => t)(expectRank(name, 'params.weight', t.shape, 2, '[in, out]')))(
    expectTensor(name, 'params.weight', a.right.weight),
  )
  if (E.isLeft(w)) return w
  const [inFeatures, outFeatures] = w.right.shape
  return paramsOf(inFeatures, outFeatures)(a.right, 'params', { layer: name, input: [inFeatures], dtype: dtypeOf(w.right) })
}

/**
 * The params as given, read once into a plain object (so the weight read for its shape is the
 * one checked); anything but a plain object goes on as it is, for the schema to reject.
 */
const snapshot = (p: unknown): E.Either<LayerError, Readonly<Record<string, unknown>>> => {
  if (typeof p !== 'object' || p === null) return layerFailure(name, 'params', '{ weight, mask?, bias? }', describeValue(p))
  try {
    const proto = Object.getPrototypeOf(p) as unknown
    if (proto !== Object.prototype && proto !== null) return E.right(p as Readonly<Record<string, unknown>>)
    const o = p as Readonly<Record<string, unknown>>
    return E.right(Object.fromEntries(Object.keys(o).map((k) => [k, o[k]])))
  } catch (e) {
    return layerFailure(name, 'params', '{ weight, mask?, bias? }', `a value whose property access threw (${describeValue(e)})`)
  }
}

// ---------------------------------------------------------------------------------------------
// constructor
// ---------------------------------------------------------------------------------------------

/**
 * Builds a CustomLinear layer: `y = x @ weight (+ bias)` over the last axis of `x`.
 *
 * Differences from BrainCog: BrainCog takes the weight as given; `init` here draws it uniform in
 * `[-1/sqrt(in), 1/sqrt(in))` from the key (PyTorch's `nn.Linear` bound), with no mask, so the
 * layer works in generic pipelines; build params from your own weight with
 * {@link customLinearParams}. An optional bias (same bound) goes beyond BrainCog. `update`
 * returns new params and never modifies `dw`. Float32 products accumulate in float32, as
 * PyTorch's do.
 *
 * Rejects (as `LayerError`): input of rank 0 or whose last axis is not `inFeatures`; params whose
 * weight is not `[inFeatures, outFeatures]`, whose mask is not the weight's shape, or whose bias
 * is not `[outFeatures]`, or of another dtype than the input; `dw` not the weight's shape.
 * `inFeatures`/`outFeatures` below 1 throw a `ConfigError` when the layer is built.
 *
 * @example
 * import { customLinear, customLinearParams, evaluate, orThrow, tensor } from 'braincog-fn'
 * const fc = customLinear({ inFeatures: 2, outFeatures: 2 })
 * const weight = tensor([1, 2, 3, 4], [2, 2])
 * const params = orThrow(customLinearParams({ weight, mask: tensor([1, 0, 0, 1], [2, 2]) }))
 * orThrow(fc.apply(params, {}, tensor([1, 1], [2]), evaluate())).output // [4, 6]
 * const next = orThrow(fc.update(params, tensor([1, 1, 1, 1], [2, 2])))
 * next.weight // [[2, 2], [3, 5]]: the masked-out weights did not move
 */
export const customLinear = (config: CustomLinearConfig): CustomLinearLayer => {
  const c = configObject<CustomLinearConfig>(name, config, true, ['inFeatures', 'outFeatures', 'bias'])
  const inFeatures = configInt(name, 'config.inFeatures', c.inFeatures)
  const outFeatures = configInt(name, 'config.outFeatures', c.outFeatures)
  const withBias = configBoolean(name, 'config.bias', c.bias ?? false)
  if (inFeatures * outFeatures > MAX_ELEMENTS) {
    configFail(name, 'config.outFeatures', 'inFeatures * outFeatures <= 2^32 (the weight)', `${inFeatures} * ${outFeatures}`)
  }
  const weightShape: Shape = [inFeatures, outFeatures]
  const params = paramsOf(inFeatures, outFeatures)

  // -------------------------------------------------------------------------------------------
  // layer
  // -------------------------------------------------------------------------------------------

  const outputShape = (shape: Shape): E.Either<LayerError, Shape> => {
    const rank = expectMinRank(name, 'input', shape, 1, '[..., in]')
    if (E.isLeft(rank)) return rank
    const size = expectAxisSize(name, 'input', shape, -1, inFeatures, 'inFeatures')
    return E.map(() => [...shape.slice(0, -1), outFeatures])(size)
  }

  /** `n` draws uniform in [-1/sqrt(in), 1/sqrt(in)), PyTorch's `nn.Linear` bound. */
  const draw = (key: Key, n: number, dtype: DType): Data => {
    const bound = 1 / Math.sqrt(inFeatures)
    const u = uniform(key, n, 'float64')
    const out = alloc(n, dtype)
    for (let i = 0; i < n; i++) out[i] = (2 * u[i] - 1) * bound
    return out
  }

  const layer = defineLayer<CustomLinearParams, NoState>({
    name,
    outputShape,
    params,
    state: record({}),
    perSample: true,
    init: (key, _shape, dtype) => {
      const [wKey, bKey] = split(key)
      return {
        params: {
          weight: wrap(draw(wKey, inFeatures * outFeatures, dtype), [inFeatures, outFeatures]),
          mask: null,
          bias: withBias ? wrap(draw(bKey, outFeatures, dtype), [outFeatures]) : null,
        },
        state: empty,
      }
    },
    run: (d, p, state, x) => {
      const rows = sizeOf(x.shape) / inFeatures
      const y = d.matmul(x.buffer, p.weight.buffer, p.bias === null ? null : p.bias.buffer, {
        m: rows,
        k: inFeatures,
        n: outFeatures,
      })
      return { output: new DeviceTensor(y, [...x.shape.slice(0, -1), outFeatures]), state }
    },
  })

  const update = (
    p: CustomLinearParams,
    dw: Tensor,
    backend?: Device<unknown>,
  ): E.Either<LayerError, CustomLinearParams> => {
    const given = snapshot(p)
    if (E.isLeft(given)) return given
    const w = expectTensor(name, 'params.weight', given.right.weight)
    if (E.isLeft(w)) return w
    const checked = params(given.right, 'params', { layer: name, input: weightShape, dtype: dtypeOf(w.right) })
    if (E.isLeft(checked)) return checked
    const delta = chain((t: Tensor) => E.map(() => t)(expectDtype(name, 'dw', t, dtypeOf(w.right), "the weight's")))(
      expectTensorOfShape(name, 'dw', dw, weightShape),
    )
    if (E.isLeft(delta)) return delta
    const device = expectBackend(name, 'backend', backend)
    if (E.isLeft(device)) return device
    const { weight, mask } = checked.right
    const session = new Session(device.right)
    try {
      const d = session.device
      const step = session.upload(delta.right)
      // BrainCog rounds dw * mask to the weight's precision before adding: so do we
      const masked = mask === null ? step : d.mul(step, session.upload(mask))
      const next = d.axpy(session.upload(weight), masked, { alpha: 1 })
      session.own([masked])
      return E.right({ ...checked.right, weight: session.output(new DeviceTensor(next, weightShape), true) as Tensor<Rank2> })
    } finally {
      session.close()
    }
  }

  return { ...layer, update }
}
