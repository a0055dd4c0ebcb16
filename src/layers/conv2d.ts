/**
 * Conv2d: PyTorch's `torch.nn.Conv2d`, the convolution every BrainCog image network puts
 * between its spiking layers: a cross-correlation (the kernel is not flipped) with zero padding,
 * strides, dilation and channel groups.
 *
 * Shapes: `[N, inChannels, H, W]` in, `[N, outChannels, Ho, Wo]` out with
 * `Ho = floor((H + 2 padding - dilation (k - 1) - 1) / stride) + 1` (likewise Wo). Params:
 * `weight [out, in / groups, kh, kw]`, `bias [out] | null`. No state. Over time-major input
 * `[T, N, ...]`, wrap it in `timeMerged` to run one convolution over all T*N images.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { chain } from '../either.js'
import { describeValue, layerFailure, type LayerError } from '../errors.js'
import { DeviceTensor } from '../kernel/device.js'
import { type ConvAttrs, convOutputSize } from '../kernel/kernels.js'
import { configBoolean, configFail, configInt, configObject, expectAxisSize, expectRank, MAX_ELEMENTS, showShape } from '../layer/check.js'
import { defineLayer } from '../layer/define.js'
import type { Layer, NoState } from '../layer/layer.js'
import { empty } from '../layer/layer.js'
import { nullable, record, tensorOf } from '../layer/schema.js'
import { rejectConfig } from '../errors.js'
import type { Size2 } from '../ops/pool.js'
import { type Key, split, uniform } from '../random/key.js'
import type { Data, DType, Rank1, Rank4, Shape, Tensor } from '../tensor/tensor.js'
import { alloc, wrap } from '../tensor/tensor.js'

const name = 'Conv2d'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** Conv2d configuration: PyTorch's arguments, camelCase. */
export interface Conv2dConfig {
  /** Input channels. */
  readonly inChannels: number
  /** Output channels. */
  readonly outChannels: number
  /** Kernel size, one integer or `[kh, kw]`. */
  readonly kernelSize: Size2
  /** Stride (default 1). */
  readonly stride?: Size2
  /** Zero padding on each side (default 0). */
  readonly padding?: Size2
  /** Dilation (default 1). */
  readonly dilation?: Size2
  /** Channel groups, dividing both channel counts (default 1). */
  readonly groups?: number
  /** Whether there is a bias (default `true`, as PyTorch). */
  readonly bias?: boolean
}

/** Conv2d params. */
export interface Conv2dParams {
  /** `[out, in / groups, kh, kw]`. */
  readonly weight: Tensor<Rank4>
  /** `[out]`, or `null` without a bias. */
  readonly bias: Tensor<Rank1> | null
}

/** One integer or `[h, w]`, each at least `min`, as a pair (a pair's entries read once). */
const pairOf = (argument: string, v: unknown, min: number): readonly [number, number] => {
  const expected = `an integer in [${min}, 65536] or [h, w] of them`
  const ok = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= min && x <= 2 ** 16
  if (ok(v)) return [v, v]
  let entries: readonly unknown[] | undefined
  try {
    const a = v as readonly unknown[]
    entries = Array.isArray(v) && a.length === 2 ? [a[0], a[1]] : undefined
  } catch (e) {
    configFail(name, argument, expected, `a value whose property access threw (${describeValue(e)})`)
  }
  if (entries !== undefined && ok(entries[0]) && ok(entries[1])) return [entries[0], entries[1]]
  return rejectConfig(name, argument, expected, v)
}

// ---------------------------------------------------------------------------------------------
// constructor
// ---------------------------------------------------------------------------------------------

/**
 * Builds a Conv2d layer. `init` draws weight and bias uniform in `±1/sqrt(in/groups * kh * kw)`
 * from the key (PyTorch's default initialization). Bad configuration throws a `ConfigError`.
 *
 * Rejects (as `LayerError`): input not `[N, inChannels, H, W]`, or too small for the dilated
 * kernel; params not of the shapes above or of another dtype than the input. Throws a
 * `ConfigError` for sizes that are not integers in range (kernel, stride, padding and dilation
 * at most 65536), groups that do not divide both channel counts, and a weight over 2^32
 * elements.
 *
 * @example
 * import { conv2d, key, orThrow, train, zeros } from 'braincog-fn'
 * const conv = conv2d({ inChannels: 1, outChannels: 16, kernelSize: 5, padding: 2 })
 * const { params, state } = orThrow(conv.init(key(0), [8, 1, 28, 28]))
 * params.weight.shape // [16, 1, 5, 5]
 * orThrow(conv.apply(params, state, zeros([8, 1, 28, 28]), train())).output.shape // [8, 16, 28, 28]
 */
export const conv2d = (config: Conv2dConfig): Layer<Conv2dParams, NoState, Rank4, Rank4> => {
  const c = configObject<Conv2dConfig>(name, config, true, [
    'inChannels',
    'outChannels',
    'kernelSize',
    'stride',
    'padding',
    'dilation',
    'groups',
    'bias',
  ])
  const inChannels = configInt(name, 'config.inChannels', c.inChannels)
  const outChannels = configInt(name, 'config.outChannels', c.outChannels)
  const [kh, kw] = pairOf('config.kernelSize', c.kernelSize, 1)
  const [sh, sw] = pairOf('config.stride', c.stride ?? 1, 1)
  const [ph, pw] = pairOf('config.padding', c.padding ?? 0, 0)
  const [dh, dw] = pairOf('config.dilation', c.dilation ?? 1, 1)
  const groups = configInt(name, 'config.groups', c.groups ?? 1)
  if (inChannels % groups !== 0 || outChannels % groups !== 0) {
    rejectConfig(name, 'config.groups', `a divisor of inChannels ${inChannels} and outChannels ${outChannels}`, groups)
  }
  const withBias = configBoolean(name, 'config.bias', c.bias ?? true)
  const weightShape: Shape = [outChannels, inChannels / groups, kh, kw]
  if (weightShape.reduce((a, b) => a * b, 1) > MAX_ELEMENTS) {
    const sizes = `${outChannels} * ${inChannels / groups} * ${kh} * ${kw}`
    configFail(name, 'config.kernelSize', 'outChannels * inChannels / groups * kh * kw <= 2^32 (the weight)', sizes)
  }
  const fanIn = (inChannels / groups) * kh * kw

  // -------------------------------------------------------------------------------------------
  // layer
  // -------------------------------------------------------------------------------------------

  const attrsOf = (shape: Shape): ConvAttrs => ({
    n: shape[0],
    c: inChannels,
    h: shape[2],
    w: shape[3],
    o: outChannels,
    kh,
    kw,
    sh,
    sw,
    ph,
    pw,
    dh,
    dw,
    groups,
  })

  const outputShape = (shape: Shape): E.Either<LayerError, Shape> => {
    const ok = chain((s: Shape) => expectAxisSize(name, 'input', s, 1, inChannels, 'inChannels'))(
      expectRank(name, 'input', shape, 4, '[N, C, H, W]'),
    )
    if (E.isLeft(ok)) return ok
    const [oh, ow] = convOutputSize(attrsOf(shape))
    return oh >= 1 && ow >= 1
      ? E.right([shape[0], outChannels, oh, ow])
      : layerFailure(name, 'input', `H and W that fit the dilated kernel [${dh * (kh - 1) + 1}, ${dw * (kw - 1) + 1}] with padding [${ph}, ${pw}]`, showShape(shape))
  }

  /** `n` draws uniform in `±1/sqrt(fanIn)`. */
  const draw = (key: Key, n: number, dtype: DType): Data => {
    const bound = 1 / Math.sqrt(fanIn)
    const u = uniform(key, n, 'float64')
    const out = alloc(n, dtype)
    for (let i = 0; i < n; i++) out[i] = (2 * u[i] - 1) * bound
    return out
  }

  return defineLayer<Conv2dParams, NoState, Rank4, Rank4>({
    name,
    outputShape,
    // the wasm kernel's scatter or GEMM is chosen per image, and either gives the same bits
    perSample: true,
    params: record({ weight: tensorOf(weightShape), bias: nullable(tensorOf([outChannels])) }) as never,
    state: record({}),
    init: (key, _shape, dtype) => {
      const [wKey, bKey] = split(key)
      return {
        params: {
          weight: wrap(draw(wKey, weightShape.reduce((a, b) => a * b, 1), dtype), weightShape) as Tensor<Rank4>,
          bias: withBias ? (wrap(draw(bKey, outChannels, dtype), [outChannels]) as Tensor<Rank1>) : null,
        },
        state: empty,
      }
    },
    run: (d, p, state, x) => {
      const attrs = attrsOf(x.shape)
      const [oh, ow] = convOutputSize(attrs)
      const y = d.conv2d(x.buffer, p.weight.buffer, p.bias === null ? null : p.bias.buffer, attrs)
      return { output: new DeviceTensor(y, [x.shape[0], outChannels, oh, ow]), state }
    },
  })
}
