/**
 * SGD: `torch.optim.SGD` (PyTorch 1.13, its default single-tensor path), with momentum,
 * dampening, Nesterov momentum and L2 weight decay, as a pure optimizer.
 *
 * @module
 */
import { rejectConfig } from '../errors.js'
import { configBoolean, configNumber, configObject } from '../layer/check.js'
import type { Data } from '../tensor/tensor.js'
import {
  configKeys,
  configLearningRate,
  configTrainable,
  type KernelFor,
  type LearningRate,
  type Optimizer,
  intoFresh,
  optimizerFrom,
  type Spec,
  type Trainable,
} from './optimizer.js'

const name = 'SGD'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** SGD configuration: `torch.optim.SGD`'s arguments in camelCase. */
export interface SgdConfig {
  /** The learning rate (>= 0), or a schedule of the optimizer's step. PyTorch requires it; so do we. */
  readonly lr: LearningRate
  /** Momentum factor (>= 0, default 0: no momentum buffer). */
  readonly momentum?: number
  /** Dampening of the momentum (default 0); not applied on the first step, as in PyTorch. */
  readonly dampening?: number
  /** L2 penalty added to the gradient (>= 0, default 0). */
  readonly weightDecay?: number
  /** Nesterov momentum (default false); needs momentum > 0 and dampening 0. */
  readonly nesterov?: boolean
  /** Which tensors to update (default: all). */
  readonly trainable?: Trainable
}

/** The SGD optimizer's buffer: PyTorch's `momentum_buffer` (`null` in the state without momentum). */
export type SgdBuffers = 'momentumBuffer'

// ---------------------------------------------------------------------------------------------
// kernels
// ---------------------------------------------------------------------------------------------

const f = Math.fround

interface SgdScalars {
  readonly lr: number
  readonly momentum: number
  readonly dampening: number
  readonly weightDecay: number
  readonly nesterov: boolean
}

/**
 * The update on float32 data, rounded as PyTorch's CPU kernels round: `add(x, alpha=a)` is one
 * fused multiply-add (`x * a + y`, rounded once: exact in float64 then rounded), `mul` rounds
 * once, and the scalars are float32.
 */
const sgd32 =
  (c: SgdScalars, first: boolean) =>
  (p: Data, g: Data, b: readonly Data[], outP: Data, outB: readonly Data[]): void => {
    const wd = f(c.weightDecay)
    const mom = f(c.momentum)
    const keep = f(1 - c.dampening)
    const step = f(-c.lr)
    const decay = c.weightDecay !== 0
    const momentum = c.momentum !== 0
    const buf = momentum ? b[0] : p
    const out = momentum ? outB[0] : outP
    for (let i = 0; i < p.length; i++) {
      const pi = p[i]
      let d = g[i]
      if (decay) d = f(d + wd * pi)
      if (momentum) {
        const m = first ? d : f(f(mom * buf[i]) + keep * d)
        out[i] = m
        d = c.nesterov ? f(d + mom * m) : m
      }
      outP[i] = f(pi + step * d)
    }
  }

/** The update on float64 data. */
const sgd64 =
  (c: SgdScalars, first: boolean) =>
  (p: Data, g: Data, b: readonly Data[], outP: Data, outB: readonly Data[]): void => {
    const { weightDecay: wd, momentum: mom, nesterov } = c
    const keep = 1 - c.dampening
    const step = -c.lr
    const buf = mom !== 0 ? b[0] : p
    const out = mom !== 0 ? outB[0] : outP
    for (let i = 0; i < p.length; i++) {
      const pi = p[i]
      let d = g[i]
      if (wd !== 0) d = d + wd * pi
      if (mom !== 0) {
        const m = first ? d : mom * buf[i] + keep * d
        out[i] = m
        d = nesterov ? d + mom * m : m
      }
      outP[i] = pi + step * d
    }
  }

// ---------------------------------------------------------------------------------------------
// constructor
// ---------------------------------------------------------------------------------------------

/**
 * Stochastic gradient descent as `torch.optim.SGD` (1.13) computes it, per element, at update
 * `t = 1, 2, ...` (`b` the momentum buffer):
 *
 * ```
 * g = g + weightDecay * p                      if weightDecay != 0
 * b = g  (t = 1: a copy, no dampening)         if momentum != 0
 * b = momentum * b + (1 - dampening) * g       (t > 1)
 * g = nesterov ? g + momentum * b : b
 * p = p - lr * g
 * ```
 *
 * The state is `{ step, momentumBuffer }`, `momentumBuffer` a tree shaped like the params
 * (`null` without momentum). Float32 params are updated with PyTorch's float32 rounding (its CPU
 * kernels' fused multiply-adds included: on x86-64 the results are PyTorch's bit for bit in our
 * checks); float64 params in float64. Differences from PyTorch: nothing is mutated; there is no
 * `maximize`, no parameter groups (use two optimizers, or `trainable`), and the momentum buffer
 * exists (as zeros) from `init` on, where PyTorch creates it at the first step.
 *
 * Rejects, with a `ConfigError`: `lr` not a finite number >= 0 (or a function), `momentum` or
 * `weightDecay` negative or not finite, a non-finite `dampening`, `nesterov` without momentum > 0
 * and dampening 0, and unknown options.
 *
 * @example
 * import { orThrow, sgd, tensor, toNested } from 'braincog-fn'
 * const opt = sgd({ lr: 0.1, momentum: 0.9 })
 * const params = { w: tensor([1, 2], [2]) }
 * const grads = { w: tensor([1, -1], [2]) }
 * const s1 = orThrow(opt.update(grads, opt.init(params), params))
 * toNested(s1.params.w) // [0.9, 2.1]
 * const s2 = orThrow(opt.update(grads, s1.state, s1.params))
 * toNested(s2.params.w) // [0.71, 2.29]: b = 0.9 * 1 + 1
 * s2.state.step // 2
 */
export const sgd = (config: SgdConfig): Optimizer<never, SgdBuffers> => {
  const c = configObject<SgdConfig>(name, config, true, ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'trainable'])
  configKeys(name, c, ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov', 'trainable'])
  if (c.lr === undefined) rejectConfig(name, 'config.lr', 'a learning rate (PyTorch requires one too)', undefined)
  const lr = configLearningRate(name, c.lr)
  const momentum = configNumber(name, 'config.momentum', c.momentum ?? 0, { min: 0 })
  const dampening = configNumber(name, 'config.dampening', c.dampening ?? 0)
  const weightDecay = configNumber(name, 'config.weightDecay', c.weightDecay ?? 0, { min: 0 })
  const nesterov = configBoolean(name, 'config.nesterov', c.nesterov ?? false)
  if (nesterov && (momentum <= 0 || dampening !== 0)) {
    rejectConfig(name, 'config.nesterov', 'momentum > 0 and dampening 0 for Nesterov momentum', { momentum, dampening })
  }
  const trainable = configTrainable(name, c.trainable)
  const scalars = (rate: number): SgdScalars => ({ lr: rate, momentum, dampening, weightDecay, nesterov })
  const kernel: KernelFor = (t, rate, dtype) =>
    intoFresh(dtype, momentum === 0 ? 0 : 1, (dtype === 'float64' ? sgd64 : sgd32)(scalars(rate), t === 1))
  const spec: Spec<SgdBuffers> = {
    name,
    buffers: ['momentumBuffer'],
    kept: momentum !== 0 ? ['momentumBuffer'] : [],
    lr,
    trainable,
    kernel,
  }
  return optimizerFrom(spec)
}
