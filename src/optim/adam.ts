/**
 * Adam and AdamW: `torch.optim.Adam` and `torch.optim.AdamW` (PyTorch 1.13, their default
 * single-tensor path), amsgrad included, as pure optimizers. The two differ only in the weight
 * decay: Adam's is an L2 term in the gradient, AdamW's is decoupled (the params shrink first).
 *
 * @module
 */
import { describeValue, rejectConfig } from '../errors.js'
import { configBoolean, configFail, configNumber, configObject } from '../layer/check.js'
import type { AdamAttrs } from '../kernel/kernels.js'
import { type Device, DeviceTensor } from '../kernel/device.js'
import { resolveBackend } from '../layer/context.js'
import { Session } from '../layer/run.js'
import { type Data, flatData, wrap } from '../tensor/tensor.js'
import {
  configKeys,
  configLearningRate,
  configTrainable,
  type DeviceLeafKernel,
  type KernelFor,
  type LeafKernel,
  type LearningRate,
  type Optimizer,
  optimizerFrom,
  type Spec,
  type Trainable,
} from './optimizer.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** Adam and AdamW configuration: PyTorch's arguments in camelCase. */
export interface AdamConfig {
  /** The learning rate (>= 0, default 1e-3), or a schedule of the optimizer's step. */
  readonly lr?: LearningRate
  /** Decay rates of the first and second moments, each in [0, 1) (default [0.9, 0.999]). */
  readonly betas?: readonly [number, number]
  /** Added to the bias-corrected square root of the second moment (>= 0, default 1e-8). */
  readonly eps?: number
  /** Weight decay (>= 0): Adam's L2 term (default 0); AdamW's decoupled decay (default 1e-2). */
  readonly weightDecay?: number
  /** Keep the running maximum of the second moment (default false). */
  readonly amsgrad?: boolean
  /** Which tensors to update (default: all). */
  readonly trainable?: Trainable
}

/** The Adam/AdamW buffers, PyTorch's state names: `expAvg` (first moment), `expAvgSq` (second moment). */
export type AdamBuffers = 'expAvg' | 'expAvgSq'

/** The Adam/AdamW buffer of amsgrad: `maxExpAvgSq`, the running maximum of `expAvgSq` (`null` without amsgrad). */
export type AmsgradBuffer = 'maxExpAvgSq'

// ---------------------------------------------------------------------------------------------
// kernels
// ---------------------------------------------------------------------------------------------

/** An optimizer's options, as the scalars of its updates need them. */
interface AdamOptions {
  readonly beta1: number
  readonly beta2: number
  readonly eps: number
  readonly weightDecay: number
  readonly decoupled: boolean
  readonly amsgrad: boolean
}

/** The scalars of one update, computed in float64 as PyTorch does (from the Python floats). */
const scalarsOf = (
  t: number,
  lr: number,
  { beta1, beta2, eps, weightDecay, decoupled, amsgrad }: AdamOptions,
): AdamAttrs => ({
  beta1,
  beta2,
  eps,
  l2: decoupled ? 0 : weightDecay,
  shrink: decoupled ? 1 - lr * weightDecay : 1,
  step: -(lr / (1 - beta1 ** t)),
  bc2Sqrt: Math.sqrt(1 - beta2 ** t),
  amsgrad,
})

/** The update of one tensor as the `adam` kernel on a device: fresh buffers (the arguments unchanged). */
const onDeviceOf =
  (attrs: AdamAttrs): DeviceLeafKernel =>
  (device, p, g, b) => {
    const r = device.adam(p, g, b[0], b[1], attrs.amsgrad ? b[2] : null, attrs)
    if (attrs.amsgrad) return { param: r.param, buffers: [r.expAvg, r.expAvgSq, r.maxExpAvgSq] }
    // without amsgrad the kernel's fourth output is empty
    device.free(r.maxExpAvgSq)
    return { param: r.param, buffers: [r.expAvg, r.expAvgSq] }
  }

/**
 * The update of one host tensor as {@link onDeviceOf} on the default device (WebAssembly where
 * it loads: the arithmetic is memory-bound, and a JavaScript loop is several times slower), its
 * results read back as fresh arrays.
 */
const onHostOf =
  (attrs: AdamAttrs): LeafKernel =>
  (p, g, b) => {
    const session = new Session<unknown>(resolveBackend(undefined) as Device<unknown>)
    try {
      const up = (data: Data): unknown => session.upload(wrap(data, [data.length]))
      const r = onDeviceOf(attrs)(session.device, up(p), up(g), b.map(up))
      session.own([r.param, ...r.buffers])
      const read = (buffer: unknown): Data => flatData(session.output(new DeviceTensor(buffer, [p.length]), true))
      return { param: read(r.param), buffers: r.buffers.map(read) }
    } finally {
      session.close()
    }
  }

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/** The optimizer type of {@link adam} and {@link adamW}. */
export type AdamOptimizer = Optimizer<AdamBuffers, AmsgradBuffer>

const build = (name: 'Adam' | 'AdamW', config: AdamConfig | undefined, decoupled: boolean): AdamOptimizer => {
  const c = configObject<AdamConfig>(name, config, false, ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'trainable'])
  configKeys(name, c, ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad', 'trainable'])
  const lr = configLearningRate(name, c.lr ?? 1e-3)
  // the pair read once: a getter that throws is a ConfigError, never a TypeError
  const given: unknown = c.betas ?? [0.9, 0.999]
  let betas: readonly unknown[] = []
  try {
    const pair = given as readonly unknown[]
    betas = Array.isArray(given) && pair.length === 2 ? [pair[0], pair[1]] : []
  } catch (e) {
    configFail(name, 'config.betas', 'two numbers [beta1, beta2]', `a value whose property access threw (${describeValue(e)})`)
  }
  if (betas.length !== 2) rejectConfig(name, 'config.betas', 'two numbers [beta1, beta2]', given)
  const beta1 = configNumber(name, 'config.betas[0]', betas[0], { min: 0, max: 1 })
  const beta2 = configNumber(name, 'config.betas[1]', betas[1], { min: 0, max: 1 })
  if (beta1 === 1) rejectConfig(name, 'config.betas[0]', 'a finite number in [0, 1)', beta1)
  if (beta2 === 1) rejectConfig(name, 'config.betas[1]', 'a finite number in [0, 1)', beta2)
  const eps = configNumber(name, 'config.eps', c.eps ?? 1e-8, { min: 0 })
  const weightDecay = configNumber(name, 'config.weightDecay', c.weightDecay ?? (decoupled ? 1e-2 : 0), { min: 0 })
  const amsgrad = configBoolean(name, 'config.amsgrad', c.amsgrad ?? false)
  const trainable = configTrainable(name, c.trainable)
  const options: AdamOptions = { beta1, beta2, eps, weightDecay, decoupled, amsgrad }
  const kernel: KernelFor = (t, rate) => onHostOf(scalarsOf(t, rate, options))
  const spec: Spec<AdamBuffers | AmsgradBuffer> = {
    name,
    buffers: ['expAvg', 'expAvgSq', 'maxExpAvgSq'],
    kept: amsgrad ? ['expAvg', 'expAvgSq', 'maxExpAvgSq'] : ['expAvg', 'expAvgSq'],
    lr,
    trainable,
    kernel,
    deviceKernel: (t, rate) => onDeviceOf(scalarsOf(t, rate, options)),
  }
  return optimizerFrom(spec)
}

/**
 * Adam as `torch.optim.Adam` (1.13) computes it, per element, at update `t = 1, 2, ...`, with
 * `m = v = vmax = 0` after `init`:
 *
 * ```
 * g = g + weightDecay * p                      if weightDecay != 0 (L2)
 * m = b1 * m + (1 - b1) * g
 * v = b2 * v + (1 - b2) * g * g
 * vmax = max(vmax, v)                          if amsgrad (of the raw v)
 * denom = sqrt(amsgrad ? vmax : v) / sqrt(1 - b2^t) + eps
 * p = p - (lr / (1 - b1^t)) * m / denom
 * ```
 *
 * `eps` is outside the square root, and amsgrad keeps the maximum of the raw second moment,
 * bias-corrected afterwards (PyTorch's code; its docstring says otherwise). The scalars
 * (`1 - b^t`, `lr / bc1`, `sqrt(bc2)`) are float64; float32 params are updated op by op with
 * PyTorch's float32 rounding (on x86-64, bit for bit PyTorch's in our checks), float64 params
 * in float64. The state is `{ step, expAvg, expAvgSq, maxExpAvgSq }` (trees shaped like the
 * params; `maxExpAvgSq` `null` without amsgrad). Differences from PyTorch: nothing is mutated;
 * no `maximize`, `foreach`, `fused` or `capturable`, and no parameter groups (`trainable` picks
 * the tensors).
 *
 * Rejects, with a `ConfigError`: `lr`, `eps` or `weightDecay` negative or not finite, a beta
 * outside [0, 1), and unknown options.
 *
 * @example
 * import { adam, orThrow, tensor, toNested } from 'braincog-fn'
 * const opt = adam({ lr: 0.1 })
 * const params = { w: tensor([1, 2], [2]) }
 * const r = orThrow(opt.update({ w: tensor([0.5, -3], [2]) }, opt.init(params), params))
 * // the first step moves every element by lr * sign(g) (up to eps)
 * toNested(r.params.w) // [0.9, 2.1]
 */
export const adam = (config?: AdamConfig): AdamOptimizer => build('Adam', config, false)

/**
 * AdamW as `torch.optim.AdamW` (1.13) computes it: first the decoupled weight decay
 * `p = p * (1 - lr * weightDecay)`, then {@link adam}'s update with the gradient as given (no
 * L2 term). `weightDecay` defaults to 1e-2, as in PyTorch; everything else as `adam`.
 *
 * @example
 * import { adamW, orThrow, tensor, toNested } from 'braincog-fn'
 * const opt = adamW({ lr: 0.1, weightDecay: 0.5 })
 * const params = { w: tensor([2], [1]) }
 * const r = orThrow(opt.update({ w: tensor([0], [1]) }, opt.init(params), params))
 * toNested(r.params.w) // [1.9]: a zero gradient, only the decay 2 * (1 - 0.1 * 0.5)
 */
export const adamW = (config?: AdamConfig): AdamOptimizer => build('AdamW', config, true)
