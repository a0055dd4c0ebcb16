/** CustomLinear: linear in x, the plain sum of products, and `update` respects the mask. */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { tensorArb } from '../src/arbitraries/index.js'
import type { CustomLinearParams, Tensor } from '../src/index.js'
import { customLinear, customLinearParams, evaluate, generate, maxAbsDiff, orThrow, toArray } from '../src/index.js'
import { snapshot, unchangedSince } from './support.js'

const IN = 4
const OUT = 3
const layer = customLinear({ inFeatures: IN, outFeatures: OUT })
const f64 = { dtype: 'float64' } as const

const apply = (params: CustomLinearParams, x: Tensor): Tensor => orThrow(layer.apply(params, {}, x, evaluate())).output

const rowsArb = fc.integer({ min: 1, max: 5 })
const weightArb = tensorArb([IN, OUT], f64)
const maskArb = fc
  .array(fc.boolean(), { minLength: IN * OUT, maxLength: IN * OUT })
  .map((bits) => generate([IN, OUT], (i) => (bits[i] ? 1 : 0), 'float64') as Tensor)

describe('CustomLinear properties', () => {
  it('is linear in x: f(a x + b y) = a f(x) + b f(y)', () => {
    fc.assert(
      fc.property(
        rowsArb.chain((n) => fc.tuple(tensorArb([n, IN], f64), tensorArb([n, IN], f64))),
        weightArb,
        fc.integer({ min: -4, max: 4 }),
        fc.integer({ min: -4, max: 4 }),
        ([x, y], weight, a, b) => {
          const params = orThrow(customLinearParams({ weight }))
          const xs = toArray(x)
          const ys = toArray(y)
          const mix = generate(x.shape, (i) => a * xs[i] + b * ys[i], 'float64')
          const fx = toArray(apply(params, x))
          const fy = toArray(apply(params, y))
          const expected = generate([x.shape[0], OUT], (i) => a * fx[i] + b * fy[i], 'float64')
          expect(maxAbsDiff(apply(params, mix), expected)).toBeLessThanOrEqual(1e-9)
        },
      ),
    )
  })

  it('is x @ W (+ bias) over the last axis, for any leading shape', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 2 }).chain((lead) => tensorArb([...lead, IN], f64)),
        weightArb,
        tensorArb([OUT], f64),
        (x, weight, bias) => {
          const withBias = customLinear({ inFeatures: IN, outFeatures: OUT, bias: true })
          const params = orThrow(customLinearParams({ weight, bias }))
          const y = orThrow(withBias.apply(params, {}, x, evaluate())).output
          expect(y.shape).toEqual([...x.shape.slice(0, -1), OUT])
          const xs = toArray(x)
          const expected = generate(y.shape, (i) => {
            const row = Math.floor(i / OUT)
            const j = i % OUT
            let sum = bias.get(j)
            for (let p = 0; p < IN; p++) sum += xs[row * IN + p] * weight.get(p, j)
            return sum
          }, 'float64')
          expect(maxAbsDiff(y, expected)).toBeLessThanOrEqual(1e-12)
        },
      ),
    )
  })

  it('update never changes a masked-out weight, adds dw elsewhere, and leaves dw alone', () => {
    fc.assert(
      fc.property(weightArb, maskArb, tensorArb([IN, OUT], f64), (weight, mask, dw) => {
        const params = orThrow(customLinearParams({ weight, mask }))
        const before = snapshot({ params, dw })
        const next = orThrow(layer.update(params, dw)).weight
        for (let i = 0; i < IN; i++) {
          for (let j = 0; j < OUT; j++) {
            const expected = mask.get(i, j) === 0 ? weight.get(i, j) : weight.get(i, j) + dw.get(i, j)
            expect(next.get(i, j)).toBe(expected)
          }
        }
        expect(unchangedSince({ params, dw }, before)).toBe(true)
      }),
    )
  })

  it('update without a mask is W + dw', () => {
    fc.assert(
      fc.property(weightArb, tensorArb([IN, OUT], f64), (weight, dw) => {
        const next = orThrow(layer.update(orThrow(customLinearParams({ weight })), dw)).weight
        const w = toArray(weight)
        const d = toArray(dw)
        expect(toArray(next)).toEqual(w.map((v, i) => v + d[i]))
      }),
    )
  })
})
