/**
 * Learning-rate schedules: functions of the optimizer's step, given as an optimizer's `lr`.
 *
 * @module
 */
import { describeValue, rejectConfig } from '../errors.js'
import { ArgumentError } from '../tensor/view.js'
import { configInt, configNumber, configObject } from '../layer/check.js'
import { configKeys, type Schedule } from './optimizer.js'

const name = 'cosineSchedule'

/** {@link cosineSchedule}'s configuration. */
export interface CosineScheduleConfig {
  /** The peak rate (>= 0): reached at the end of the warmup, where the cosine starts. */
  readonly base: number
  /** The total number of steps, warmup included (an integer >= 1); from then on the rate is `min`. */
  readonly steps: number
  /** The final rate (>= 0, default 0): PyTorch's `eta_min`. */
  readonly min?: number
  /** Steps of linear warmup before the cosine (an integer in [0, steps), default 0). */
  readonly warmup?: number
}

/**
 * A cosine decay from `base` to `min` over `steps` steps, after an optional linear warmup. With
 * `s` the optimizer's step (0 for its first update) and `w` the warmup:
 *
 * ```
 * s < w:           base * (s + 1) / w
 * w <= s < steps:  min + (base - min) * (1 + cos(pi * (s - w) / (steps - w))) / 2
 * s >= steps:      min
 * ```
 *
 * Without warmup this is PyTorch's `CosineAnnealingLR(T_max = steps, eta_min = min)` in its
 * closed form, stepped once per update; past `steps` PyTorch's rate rises again (the cosine is
 * periodic), this one stays at `min`.
 *
 * Rejects, with a `ConfigError`: `base` or `min` negative or not finite, `steps` not an integer
 * >= 1, `warmup` not an integer in [0, steps), unknown options. The schedule throws a
 * `RangeError` (`cosineSchedule: step: …`) for a step that is not an integer >= 0.
 *
 * @example
 * import { adam, cosineSchedule } from 'braincog-fn'
 * const lr = cosineSchedule({ base: 0.1, steps: 10 })
 * lr(0) // 0.1
 * lr(5) // 0.05
 * lr(10) // 0
 * const warm = cosineSchedule({ base: 0.1, steps: 12, warmup: 2 })
 * warm(0) // 0.05
 * warm(2) // 0.1
 * const opt = adam({ lr }) // the rate of each update follows the optimizer's step
 */
export const cosineSchedule = (config: CosineScheduleConfig): Schedule => {
  const c = configObject<CosineScheduleConfig>(name, config, true, ['base', 'steps', 'min', 'warmup'])
  configKeys(name, c, ['base', 'steps', 'min', 'warmup'])
  const base = configNumber(name, 'config.base', c.base, { min: 0 })
  const steps = configInt(name, 'config.steps', c.steps, 1)
  const min = configNumber(name, 'config.min', c.min ?? 0, { min: 0 })
  const warmup = configInt(name, 'config.warmup', c.warmup ?? 0, 0)
  if (warmup >= steps) rejectConfig(name, 'config.warmup', `an integer in [0, steps) = [0, ${steps})`, warmup)
  const span = steps - warmup
  return (step) => {
    if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) {
      throw new ArgumentError(name, 'step', "an integer >= 0 (the optimizer's step)", describeValue(step))
    }
    if (step < warmup) return (base * (step + 1)) / warmup
    if (step >= steps) return min
    return min + ((base - min) * (1 + Math.cos((Math.PI * (step - warmup)) / span))) / 2
  }
}
