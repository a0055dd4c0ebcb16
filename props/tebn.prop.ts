/**
 * TEBN invariants: for any number of time steps, TEBN is batch norm over the flattened time
 * axis (statistics over T, B, H, W) times `p[t]`, in training and eval, with the same running
 * statistics; the `[T, B, C, H, W]` layout gives what `[(T*B), C, H, W]` gives.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { tensorArb } from '../src/arbitraries/index.js'
import { key, maxAbsDiff, orThrow, reshape, tebn, thresholdDependentBatchNorm2d, wrap } from '../src/index.js'
import { deepEqual, treeMaxDiff } from './support.js'

const C = 2

/** step T, batch B, spatial sizes, and matching float64 input, weight, bias, p. */
const caseArb = fc
  .tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.nat(2))
  .map(([t, b, h, w]) => [t, b, h, w + 1] as const)
  .filter(([t, b, h, w]) => t * b * h * w >= 2)
  .chain(([t, b, h, w]) =>
    fc.record({
      x: tensorArb([t * b, C, h, w], { dtype: 'float64', min: -3, max: 3 }),
      weight: tensorArb([C], { dtype: 'float64' }),
      bias: tensorArb([C], { dtype: 'float64' }),
      p: tensorArb([t], { dtype: 'float64' }),
      training: fc.boolean(),
      step: fc.constant(t),
    }),
  )

describe('TEBN', () => {
  it('equals batch norm over the flattened time axis times p[t], for any T, with the same running statistics', () => {
    fc.assert(
      fc.property(caseArb, ({ x, weight, bias, p, training, step }) => {
        const layer = tebn({ numFeatures: C, step })
        const bn = thresholdDependentBatchNorm2d({ numFeatures: C, alpha: 1 })
        const init = orThrow(layer.init(key(0), x.shape, 'float64'))
        const ours = orThrow(layer.apply({ weight, bias, p }, init.state, x, { training }))
        const ref = orThrow(bn.apply({ weight, bias }, init.state, x, { training }))
        const block = x.size / step
        const expected = wrap(
          Float64Array.from(ref.output.data, (v, i) => v * p.data[Math.floor(i / block)]),
          x.shape,
        )
        expect(maxAbsDiff(ours.output, expected)).toBeLessThanOrEqual(1e-12)
        expect(treeMaxDiff(ours.state, ref.state)).toBe(0)
      }),
      { numRuns: 200 },
    )
  })

  it('gives [T, B, C, H, W] the result of [(T*B), C, H, W]', () => {
    fc.assert(
      fc.property(caseArb, ({ x, weight, bias, p, training, step }) => {
        const layer = tebn({ numFeatures: C, step })
        const [tb, , h, w] = x.shape
        const x5 = reshape(x, [step, tb / step, C, h, w])
        const init = orThrow(layer.init(key(0), x5.shape, 'float64'))
        const a = orThrow(layer.apply({ weight, bias, p }, init.state, x, { training }))
        const b = orThrow(layer.apply({ weight, bias, p }, init.state, x5, { training }))
        expect(b.output.shape).toEqual(x5.shape)
        expect(deepEqual(reshape(b.output, x.shape), a.output)).toBe(true)
        expect(deepEqual(a.state, b.state)).toBe(true)
      }),
    )
  })

  it('starts with p = ones([step]), weight ones, bias zeros', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), (step) => {
        const { params } = orThrow(tebn({ numFeatures: C, step }).init(key(0), [step, C, 1, 1]))
        expect(Array.from(params.p.data)).toEqual(new Array(step).fill(1))
        expect(Array.from(params.weight.data)).toEqual([1, 1])
        expect(Array.from(params.bias.data)).toEqual([0, 0])
      }),
    )
  })
})
