/** cosineSchedule: PyTorch's CosineAnnealingLR closed form, the warmup, the end; as an optimizer's lr. */
import { describe, expect, it } from 'vitest'
import { adam, cosineSchedule, orThrow, sgd, tensor, toArray } from '../../src/index.js'
import { expectConfigError } from '../layers/layerError.js'

describe('cosineSchedule', () => {
  it("is CosineAnnealingLR's closed form eta_min + (base - eta_min) (1 + cos(pi t / T)) / 2", () => {
    const lr = cosineSchedule({ base: 0.1, steps: 8, min: 0.01 })
    for (let t = 0; t <= 8; t++) expect(lr(t)).toBe(0.01 + ((0.1 - 0.01) * (1 + Math.cos((Math.PI * t) / 8))) / 2)
    expect(lr(0)).toBe(0.1)
    expect(lr(4)).toBeCloseTo(0.055, 15)
    expect(lr(8)).toBe(0.01)
  })

  it('stays at min past the last step (PyTorch would rise again)', () => {
    const lr = cosineSchedule({ base: 1, steps: 4 })
    expect([lr(4), lr(5), lr(100)]).toEqual([0, 0, 0])
  })

  it('warms up linearly to base, then decays over the remaining steps', () => {
    const lr = cosineSchedule({ base: 0.2, steps: 10, warmup: 4 })
    ;[0.05, 0.1, 0.15, 0.2].forEach((want, step) => expect(lr(step)).toBeCloseTo(want, 15))
    expect(lr(4)).toBe(0.2)
    expect(lr(7)).toBeCloseTo(0.1, 15)
    expect(lr(10)).toBe(0)
  })

  it("gives each update the rate of the optimizer's step, 0 for the first", () => {
    const seen: number[] = []
    const lr = (step: number) => {
      seen.push(step)
      return 0.5 ** step
    }
    const opt = sgd({ lr })
    let params = { w: tensor([0], [1], 'float64') }
    let state = opt.init(params)
    for (let i = 0; i < 3; i++) ({ params, state } = orThrow(opt.update({ w: tensor([1], [1], 'float64') }, state, params)))
    expect(seen).toEqual([0, 1, 2])
    expect(toArray(params.w)).toEqual([-(1 + 0.5 + 0.25)])
    // Adam too: lr(step) of a schedule, not a constant
    const a = adam({ lr: cosineSchedule({ base: 0.1, steps: 2 }) })
    const p = { w: tensor([1], [1], 'float64') }
    const s1 = orThrow(a.update({ w: tensor([1], [1], 'float64') }, a.init(p), p))
    const s2 = orThrow(a.update({ w: tensor([1], [1], 'float64') }, s1.state, s1.params))
    const s3 = orThrow(a.update({ w: tensor([1], [1], 'float64') }, s2.state, s2.params))
    // rates 0.1, 0.05, 0: the third update does not move
    expect(toArray(s3.params.w)).toEqual(toArray(s2.params.w))
  })

  it('rejects bad configurations when built', () => {
    expectConfigError(() => cosineSchedule({ base: -1, steps: 10 }), { layer: 'cosineSchedule', argument: 'config.base' })
    expectConfigError(() => cosineSchedule({ base: 1, steps: 0 }), { layer: 'cosineSchedule', argument: 'config.steps' })
    expectConfigError(() => cosineSchedule({ base: 1, steps: 2.5 }), { layer: 'cosineSchedule', argument: 'config.steps' })
    expectConfigError(() => cosineSchedule({ base: 1, steps: 4, warmup: 4 }), {
      layer: 'cosineSchedule',
      argument: 'config.warmup',
      expected: '[0, 4)',
    })
    expectConfigError(() => cosineSchedule({ base: 1, steps: 4, min: NaN }), { layer: 'cosineSchedule', argument: 'config.min' })
    expectConfigError(() => cosineSchedule({ base: 1, steps: 4, tMax: 3 } as never), {
      layer: 'cosineSchedule',
      argument: 'config.tMax',
    })
  })
})
