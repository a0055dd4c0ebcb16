/**
 * Poisson (rate) encoding: analog intensities in [0, 1] as spike trains over time.
 *
 * The usual front end of a spiking network (BrainCog's `PoissonEncoder`: `rand_like(x) <= x`
 * at every step): each value is read as a firing probability per step, and every step draws an
 * independent Bernoulli spike. The mean of the train over T steps estimates the value, with
 * standard deviation `sqrt(p (1 - p) / T)`.
 *
 * Randomness comes only from the key: step `t` draws from `foldIn(key, t)`, so the same key
 * gives the same bits, and the first `T'` steps of a `T`-step train are exactly the `T'`-step
 * train (accuracy against T can be read off one long run).
 *
 * @module
 */
import type { TimeMajor } from '../layer/scan.js'
import { foldIn, type Key, uniform } from '../random/key.js'
import type { Axes, Tensor } from '../tensor/tensor.js'
import { describeValue } from '../errors.js'
import { readKey } from '../random/readKey.js'
import { dtypeOf, flatData, wrap } from '../tensor/tensor.js'
import { allocate, ArgumentError, MAX_RANK, orRange, readTensor } from '../tensor/view.js'

/**
 * Spike trains `[T, ...shape]` of 0/1 for rates of any `shape`: step `t`, element `i` spikes
 * when the `i`-th uniform draw of `foldIn(key, t)` is below `rates[i]`.
 *
 * Rates are probabilities per step: `<= 0` (and NaN) never fire, `>= 1` fire at every step
 * (BrainCog clips the same way, implicitly). The output has the dtype of `rates`; `rates` may
 * be any strided view and is not modified. Differences from BrainCog: BrainCog draws from
 * torch's global generator and fires when `u <= x`; here `u < x`, so a zero rate is silent.
 *
 * `rates` may also be the record a structured clone makes of a tensor. Throws a `RangeError`
 * (`poissonEncode: …`) when `k` is not a key, `rates` not a tensor, `steps` not an integer >= 0,
 * or the train would pass 2^32 elements (or not fit in memory). An empty train (`T = 0` or
 * empty rates, whatever T) comes back at once.
 *
 * @example
 * import { key, poissonEncode, tensor } from 'braincog-fn'
 * const spikes = poissonEncode(key(0), tensor([0, 0.5, 1], [3]), 100)
 * spikes.shape // [100, 3]: column 0 all 0, column 2 all 1, column 1 about half 1
 */
export const poissonEncode = <A extends Axes>(k: Key, rates: Tensor<A>, steps: number): Tensor<TimeMajor<A>> => {
  const fn = 'poissonEncode'
  const key = readKey(k)
  if (key === undefined) throw new ArgumentError(fn, 'k', 'a key (key(seed))', describeValue(k))
  const r = orRange(fn, 'rates', readTensor(rates))
  if (typeof steps !== 'number' || !Number.isSafeInteger(steps) || steps < 0) {
    throw new ArgumentError(fn, 'steps', 'an integer >= 0', describeValue(steps))
  }
  const shape = [steps, ...r.shape]
  if (shape.length > MAX_RANK) throw new ArgumentError(fn, 'rates', `rank < ${MAX_RANK} (the train adds an axis)`, `rank ${r.shape.length}`)
  const p = flatData(r)
  const n = p.length
  const out = allocate(fn, 'steps', steps * n, dtypeOf(r))
  // empty rates: nothing to draw, whatever the number of steps
  if (n === 0) return wrap(out, shape) as unknown as Tensor<TimeMajor<A>>
  for (let t = 0; t < steps; t++) {
    // float32 draws for every dtype: float32 and float64 rates give the same spikes
    const u = uniform(foldIn(key, t), n)
    const at = t * n
    for (let i = 0; i < n; i++) if (u[i] < p[i]) out[at + i] = 1
  }
  return wrap(out, shape) as unknown as Tensor<TimeMajor<A>>
}
