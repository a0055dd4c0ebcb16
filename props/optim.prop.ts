/**
 * Optimizers: laws over SGD, Adam and AdamW in every configuration. A zero rate leaves the
 * params; plain SGD is `p - lr g` exactly; the update is elementwise (each element's result
 * depends only on its own history), so permuting, splitting or joining the leaves permutes,
 * splits or joins the results, bit for bit; float32 tracks float64 within rounding; updates
 * are pure and deterministic, and a state survives `structuredClone`.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { tensorArb } from '../src/arbitraries/index.js'
import type { DType, Optimizer, Tensor } from '../src/index.js'
import { dtypeOf, flatData, orThrow, sgd, tensor, trainableExcept } from '../src/index.js'
import { recipeArb } from './optimRecipes.js'
import { snapshot, unchangedSince } from './support.js'

const STEPS = 3

/** Params and STEPS gradients for each of two leaves of sizes n1, n2. */
const problemArb = (dtype: DType = 'float32') =>
  fc
    .tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 6 }))
    .chain(([n1, n2]) =>
      fc.record({
        a: tensorArb([n1], { dtype }),
        b: tensorArb([n2], { dtype }),
        grads: fc.array(fc.record({ a: tensorArb([n1], { dtype }), b: tensorArb([n2], { dtype }) }), {
          minLength: STEPS,
          maxLength: STEPS,
        }),
      }),
    )

/** Runs every step; the params after each. */
const runAll = <P>(opt: Optimizer, params: P, grads: readonly unknown[]): P[] => {
  let p = params
  let s = opt.init(p)
  const out: P[] = []
  for (const g of grads) {
    const r = orThrow(opt.update(g as never, s, p))
    p = r.params
    s = r.state
    out.push(p)
  }
  return out
}

const values = (t: Tensor): number[] => Array.from(flatData(t))

const concat = (a: Tensor, b: Tensor): Tensor => tensor([...values(a), ...values(b)], [a.size + b.size], dtypeOf(a))

describe('optimizer properties', () => {
  it('with lr 0 leave every param exactly where it is', () => {
    fc.assert(
      fc.property(recipeArb, problemArb(), (recipe, pr) => {
        const params = { a: pr.a, b: pr.b }
        for (const p of runAll(recipe.make(0), params, pr.grads)) {
          expect(values(p.a)).toEqual(values(pr.a))
          expect(values(p.b)).toEqual(values(pr.b))
        }
      }),
    )
  })

  it('SGD without momentum or decay is p - lr * g exactly, in float32 and float64', () => {
    const caseArb = fc
      .tuple(fc.constantFrom<DType>('float32', 'float64'), fc.double({ min: 1e-4, max: 2, noNaN: true }))
      .chain(([dtype, lr]) => problemArb(dtype).map((pr) => ({ dtype, lr, pr })))
    fc.assert(
      fc.property(caseArb, ({ dtype, lr, pr }) => {
        const [after] = runAll(sgd({ lr }), { a: pr.a }, [{ a: pr.grads[0].a }])
        const p = values(pr.a)
        const g = values(pr.grads[0].a)
        const want =
          dtype === 'float64' ? p.map((v, i) => v - lr * g[i]) : p.map((v, i) => Math.fround(v - Math.fround(lr) * g[i]))
        expect(values(after.a)).toEqual(want)
      }),
    )
  })

  it('is elementwise: joining two leaves into one, or reversing a leaf, does the same to the results', () => {
    fc.assert(
      fc.property(recipeArb, problemArb(), (recipe, pr) => {
        const opt = recipe.make(0.05)
        const split = runAll(opt, { a: pr.a, b: pr.b }, pr.grads)
        const joined = runAll(
          opt,
          { c: concat(pr.a, pr.b) },
          pr.grads.map((g) => ({ c: concat(g.a, g.b) })),
        )
        const reverse = (t: Tensor) => tensor(values(t).reverse(), t.shape, 'float32')
        const reversed = runAll(opt, [reverse(pr.b)], pr.grads.map((g) => [reverse(g.b)]))
        split.forEach((p, t) => {
          expect(values(joined[t].c)).toEqual([...values(p.a), ...values(p.b)])
          expect(values(reversed[t][0]).reverse()).toEqual(values(p.b))
        })
      }),
    )
  })

  it('in float32 track the float64 run within float32 rounding', () => {
    fc.assert(
      fc.property(recipeArb, problemArb('float64'), (recipe, pr) => {
        const opt = recipe.make(0.01)
        const to32 = (t: Tensor) => tensor(values(t), t.shape, 'float32')
        const wide = runAll(opt, { a: pr.a }, pr.grads.map((g) => ({ a: g.a })))
        const narrow = runAll(opt, { a: to32(pr.a) }, pr.grads.map((g) => ({ a: to32(g.a) })))
        wide.forEach((p, t) => {
          const w = values(p.a)
          values(narrow[t].a).forEach((v, i) => {
            expect(Math.abs(v - w[i])).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(w[i])))
          })
        })
      }),
    )
  })

  it('are pure and deterministic, and a cloned state and params continue bit for bit', () => {
    fc.assert(
      fc.property(recipeArb, problemArb(), (recipe, pr) => {
        const opt = recipe.make(0.1)
        const params = { a: pr.a, b: pr.b }
        const first = orThrow(opt.update(pr.grads[0], opt.init(params), params))
        const before = snapshot({ pr, first })
        const again = orThrow(opt.update(pr.grads[1], first.state, first.params))
        const twice = orThrow(opt.update(pr.grads[1], first.state, first.params))
        const [grads, state, params1] = structuredClone([pr.grads[1], first.state, first.params] as const)
        const cloned = orThrow(opt.update(grads, state, params1))
        expect(unchangedSince({ pr, first }, before)).toBe(true)
        for (const r of [twice, cloned]) {
          expect(values(r.params.a)).toEqual(values(again.params.a))
          expect(values(r.params.b)).toEqual(values(again.params.b))
        }
        expect(again.state.step).toBe(2)
      }),
    )
  })

  it('return frozen tensors as the same objects, and need no gradient for them', () => {
    fc.assert(
      fc.property(recipeArb, problemArb(), (recipe, pr) => {
        const [after] = runAll(recipe.make(0.1, trainableExcept('b')), { a: pr.a, b: pr.b }, [{ a: pr.grads[0].a }])
        expect(after.b).toBe(pr.b)
      }),
    )
  })
})
