/**
 * CustomLinear: BrainCog's `braincog.base.connection.layer.CustomLinear`, a bias-free linear map
 * `x @ W` whose weight is changed by explicit updates (`update(dw)`), optionally masked so that
 * some connections never learn. BrainCog uses it for plasticity rules (STDP and friends) that
 * compute `dw` themselves rather than by back-propagation (Zeng et al., "BrainCog: A spiking
 * neural network based, brain-inspired cognitive intelligence engine", Patterns 2023).
 *
 * Shapes: `[in]`, `[N, in]` or any `[..., in]` in, `[..., out]` out. Params: `weight [in, out]`,
 * `mask [in, out] | null`, `bias [out] | null`. No state.
 *
 * Device form (`lower`, see `scanOnDevice`): always (for valid params), weight and bias uploaded once.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import type { Backend } from '../backend/backend.js'
import { backendOf } from '../backend/select.js'
import type { Device, DeviceProgram } from '../device/device.js'
import { type LayerError, rejectConfig } from '../errors.js'
import { configInt, expectAxisSize, expectMinRank, expectRank, expectSameShape, expectTensor } from '../layer/check.js'
import type { Layer, NoState } from '../layer/layer.js'
import { none } from '../layer/layer.js'
import { type Key, split, uniform } from '../random/key.js'
import type { Axes, Data, DType, Rank1, Rank2, Shape, Tensor } from '../tensor/tensor.js'
import { alloc, dtypeOf, flatData, sizeOf, wrap } from '../tensor/tensor.js'
import { statelessProgram } from './internal/deviceState.js'

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
  /** `[in, out]`. */
  readonly weight: Tensor<Rank2>
  /** `[in, out]` of 0/1 (or any gains) multiplying `dw` in `update`; `null`: every weight learns. */
  readonly mask: Tensor<Rank2> | null
  /** `[out]`, added after the product; `null`: none. */
  readonly bias: Tensor<Rank1> | null
}

/** The CustomLinear layer: the layer contract plus BrainCog's `update`. */
export interface CustomLinearLayer extends Layer<CustomLinearParams, NoState, Axes, Axes> {
  /**
   * New params with `weight + dw * mask` (`weight + dw` without a mask); `dw [in, out]` and the
   * params are left untouched. BrainCog multiplies the caller's `dw` by the mask in place.
   */
  update(params: CustomLinearParams, dw: Tensor, backend?: Backend): E.Either<LayerError, CustomLinearParams>
}

// ---------------------------------------------------------------------------------------------
// params
// ---------------------------------------------------------------------------------------------

/** `value` is a tensor of exactly `shape`. */
const tensorOfShape = (argument: string, value: unknown, shape: Shape): E.Either<LayerError, unknown> =>
  E.chain((t: Tensor) => expectSameShape(name, argument, t.shape, shape))(expectTensor(name, argument, value))

/** Checks weight/mask/bias against each other and, when given, the expected `[in, out]`. */
const checkParams = (
  weight: unknown,
  mask: unknown,
  bias: unknown,
  expected?: Shape,
): E.Either<LayerError, CustomLinearParams> => {
  const w = E.chain((t: Tensor) => expectRank(name, 'params.weight', t.shape, 2, '[in, out]'))(
    expectTensor(name, 'params.weight', weight),
  )
  if (E.isLeft(w)) return w
  const shape = w.right
  const checks = [
    expected === undefined ? E.right(shape) : tensorOfShape('params.weight', weight, expected),
    mask == null ? E.right(shape) : tensorOfShape('params.mask', mask, shape),
    bias == null ? E.right(shape) : tensorOfShape('params.bias', bias, [shape[1]]),
  ]
  const bad = checks.find(E.isLeft)
  if (bad !== undefined) return bad
  return E.right({
    weight: weight as Tensor<Rank2>,
    mask: (mask ?? null) as Tensor<Rank2> | null,
    bias: (bias ?? null) as Tensor<Rank1> | null,
  })
}

/**
 * What the forward pass multiplies by: the weight as it is (the mask only gates `update`) and
 * the bias, if any. `apply` and the device form both take them from here.
 */
const forwardOperands = (params: CustomLinearParams): { readonly weight: Data; readonly bias: Data | undefined } => ({
  weight: flatData(params.weight),
  bias: params.bias === null ? undefined : flatData(params.bias),
})

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
}): E.Either<LayerError, CustomLinearParams> => checkParams(args.weight, args.mask, args.bias)

// ---------------------------------------------------------------------------------------------
// layer
// ---------------------------------------------------------------------------------------------

/**
 * Builds a CustomLinear layer: `y = x @ weight (+ bias)` over the last axis of `x`.
 *
 * Differences from BrainCog: BrainCog takes the weight as given; `init` here draws it uniform in
 * `[-1/sqrt(in), 1/sqrt(in))` from the key (PyTorch's `nn.Linear` bound), with no mask, so the
 * layer works in generic pipelines; build params from your own weight with
 * {@link customLinearParams}. An optional bias (same bound) goes beyond BrainCog. `update`
 * returns new params and never modifies `dw`. Float32 products accumulate in float64.
 *
 * Rejects (as `LayerError`): input of rank 0 or whose last axis is not `inFeatures`; params whose
 * weight is not `[inFeatures, outFeatures]`, whose mask is not the weight's shape, or whose bias
 * is not `[outFeatures]`; `dw` not the weight's shape. `inFeatures`/`outFeatures` below 1 throw
 * a `ConfigError` when the layer is built.
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
  const inFeatures = configInt(name, 'config.inFeatures', config.inFeatures)
  const outFeatures = configInt(name, 'config.outFeatures', config.outFeatures)
  const withBias = config.bias ?? false
  if (typeof withBias !== 'boolean') rejectConfig(name, 'config.bias', 'a boolean', withBias)
  const weightShape: Shape = [inFeatures, outFeatures]

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

  const init = (key: Key, shape: Shape, dtype: DType = 'float32') =>
    E.map((out: Shape) => {
      const [wKey, bKey] = split(key)
      const params: CustomLinearParams = {
        weight: wrap(draw(wKey, inFeatures * outFeatures, dtype), [inFeatures, outFeatures]),
        mask: null,
        bias: withBias ? wrap(draw(bKey, outFeatures, dtype), [outFeatures]) : null,
      }
      return { params, state: none, outputShape: out }
    })(outputShape(shape))

  return {
    name,
    outputShape,
    init,
    apply: (params, state, input, ctx) => {
      const p = checkParams(params.weight, params.mask, params.bias, weightShape)
      if (E.isLeft(p)) return p
      const out = outputShape(input.shape)
      if (E.isLeft(out)) return out
      const rows = input.size / inFeatures
      const y = alloc(rows * outFeatures, dtypeOf(input))
      const { weight, bias } = forwardOperands(params)
      backendOf(ctx).matmul(y, flatData(input), weight, rows, inFeatures, outFeatures, bias)
      return E.right({ output: wrap(y, out.right), state })
    },
    reset: (state) => state,
    // weight and bias uploaded once, `device.matmul` per step; invalid params run on the host,
    // where `apply` reports them
    lower: <B>(device: Device<B>, params: CustomLinearParams, stepShape: Shape): DeviceProgram<NoState, B> | null => {
      const p = checkParams(params.weight, params.mask, params.bias, weightShape)
      const out = outputShape(stepShape)
      if (E.isLeft(p) || E.isLeft(out)) return null
      const rows = sizeOf(stepShape) / inFeatures
      const operands = forwardOperands(params)
      const weight = device.upload(operands.weight)
      const bias = operands.bias === undefined ? undefined : device.upload(operands.bias)
      return statelessProgram<NoState, B>(
        device,
        out.right,
        (x) => device.matmul(x, weight, rows, inFeatures, outFeatures, bias),
        bias === undefined ? [weight] : [weight, bias],
      )
    },
    update: (params, dw, backend) => {
      const p = checkParams(params.weight, params.mask, params.bias, weightShape)
      if (E.isLeft(p)) return p
      const d = expectTensor(name, 'dw', dw)
      if (E.isLeft(d)) return d
      const ok = expectSameShape(name, 'dw', dw.shape, weightShape)
      if (E.isLeft(ok)) return ok
      // update runs outside apply, so it has no ctx: the caller may name a backend directly
      const be = backendOf({ training: true, backend })
      const w = flatData(params.weight)
      const dtype = dtypeOf(params.weight)
      let step = flatData(dw)
      if (params.mask !== null) {
        // BrainCog rounds dw * mask to the weight's precision before adding: so do we
        const masked = alloc(w.length, dtype)
        be.mul(masked, step, flatData(params.mask))
        step = masked
      }
      const next = alloc(w.length, dtype)
      be.axpy(next, w, 1, step)
      return E.right({ ...params, weight: wrap(next, [inFeatures, outFeatures]) })
    },
  }
}
