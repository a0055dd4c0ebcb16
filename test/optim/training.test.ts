/**
 * The optimizers in a training loop: gradients straight from `valueAndGrad` (their type fits
 * `update`'s), the state carried, a schedule and clipping in between, and a checkpoint of it all.
 */
import { describe, expect, it } from 'vitest'
import type { Tensor } from '../../src/index.js'
import {
  adam,
  clipByGlobalNorm,
  cosineSchedule,
  DeviceTensor,
  orThrow,
  sgd,
  tensor,
  toArray,
  toSafetensors,
  treeFromSafetensors,
  valueAndGrad,
} from '../../src/index.js'

/** f(w) = w . w, as a [1, 2] @ [2, 1] product: its gradient is 2 w. */
const loss = valueAndGrad<{ readonly w: Tensor }>(
  (d, p) => new DeviceTensor(d.matmul(p.w.buffer, p.w.buffer, null, { m: 1, k: 2, n: 1 }), [1]),
)

describe('a training loop', () => {
  it('SGD at lr 0.25 halves w each step on w . w', () => {
    const opt = sgd({ lr: 0.25 })
    let params = { w: tensor([4, -8], [2], 'float64') }
    let state = opt.init(params)
    for (let i = 0; i < 3; i++) {
      const { grad } = orThrow(loss(params))
      ;({ params, state } = orThrow(opt.update(grad, state, params)))
    }
    expect(toArray(params.w)).toEqual([0.5, -1])
    expect(state.step).toBe(3)
  })

  it('Adam with a cosine schedule and clipping drives the loss down, and resumes from a checkpoint', () => {
    const opt = adam({ lr: cosineSchedule({ base: 0.5, steps: 40, warmup: 2 }) })
    let params = { w: tensor([3, -2], [2]) }
    let state = opt.init(params)
    const first = orThrow(loss(params)).value
    let saved: Uint8Array | undefined
    for (let i = 0; i < 40; i++) {
      const { grad } = orThrow(loss(params))
      const clipped = orThrow(clipByGlobalNorm(grad, 1))
      ;({ params, state } = orThrow(opt.update(clipped.grads, state, params)))
      if (i === 19) saved = orThrow(toSafetensors({ params, state }))
    }
    expect(orThrow(loss(params)).value).toBeLessThan(first * 1e-3)
    // resume at step 20 from the checkpoint: the same bits at the end
    const template = { params: { w: tensor([0, 0], [2]) }, state: opt.init({ w: tensor([0, 0], [2]) }) }
    let resumed = orThrow(treeFromSafetensors(saved!, template))
    expect(resumed.state.step).toBe(20)
    for (let i = 20; i < 40; i++) {
      const { grad } = orThrow(loss(resumed.params))
      const clipped = orThrow(clipByGlobalNorm(grad, 1))
      resumed = orThrow(opt.update(clipped.grads, resumed.state, resumed.params))
    }
    expect(toArray(resumed.params.w)).toEqual(toArray(params.w))
  })
})
