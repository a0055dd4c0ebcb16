/** clipByGlobalNorm: clip_grad_norm_'s total norm and scale, trees, the untouched case, errors. */
import { describe, expect, it } from 'vitest'
import { clipByGlobalNorm, orThrow, tensor, toArray } from '../../src/index.js'
import { snapshot, unchangedSince } from '../../props/support.js'
import { expectLayerError } from '../layers/layerError.js'

describe('clipByGlobalNorm', () => {
  it('scales every leaf by maxNorm / (norm + 1e-6) over the total 2-norm of a pipeline tree', () => {
    const grads = [{ weight: tensor([1, 2, 2], [3], 'float64'), bias: null }, { p: tensor([4], [1], 'float64') }, 7] as const
    const before = snapshot(grads)
    const r = orThrow(clipByGlobalNorm(grads, 2.5))
    expect(r.norm).toBe(5)
    const c = 2.5 / (5 + 1e-6)
    expect(toArray(r.grads[0].weight)).toEqual([1 * c, 2 * c, 2 * c])
    expect(r.grads[0].bias).toBeNull()
    expect(toArray(r.grads[1].p)).toEqual([4 * c])
    expect(r.grads[2]).toBe(7)
    expect(unchangedSince(grads, before)).toBe(true)
  })

  it('returns the same tree when maxNorm / (norm + 1e-6) >= 1', () => {
    const grads = { w: tensor([3, 4], [2]) }
    expect(orThrow(clipByGlobalNorm(grads, 6)).grads).toBe(grads)
    expect(orThrow(clipByGlobalNorm(grads, 5 + 1e-6)).grads).toBe(grads)
    // at maxNorm = norm, PyTorch scales too, by 5 / (5 + 1e-6) < 1
    const at = orThrow(clipByGlobalNorm(grads, 5))
    expect(at.grads).not.toBe(grads)
    expect(toArray(at.grads.w)).toEqual([3, 4].map((g) => Math.fround(g * Math.fround(5 / (5 + 1e-6)))))
  })

  it('keeps float32 leaves float32, scaled by the float32 coefficient', () => {
    const r = orThrow(clipByGlobalNorm({ w: tensor([0.3, 0.4], [2]) }, 0.1))
    const c = Math.fround(0.1 / (0.5000000074505806 + 1e-6))
    expect(r.grads.w.data).toBeInstanceOf(Float32Array)
    expect(Array.from(r.grads.w.data)).toEqual([Math.fround(Math.fround(0.3) * c), Math.fround(Math.fround(0.4) * c)])
  })

  it('zeroes the gradients for an infinite norm and makes them NaN for a NaN norm, as PyTorch', () => {
    const inf = orThrow(clipByGlobalNorm({ w: tensor([Infinity, 1], [2]) }, 1))
    expect(inf.norm).toBe(Infinity)
    expect(toArray(inf.grads.w)[1]).toBe(0)
    const nan = orThrow(clipByGlobalNorm({ w: tensor([NaN, 1], [2]) }, 1))
    expect(toArray(nan.grads.w).every(Number.isNaN)).toBe(true)
  })

  it('rejects a bad maxNorm and broken tensors', () => {
    expectLayerError(clipByGlobalNorm({}, -1), { layer: 'clipByGlobalNorm', argument: 'maxNorm' })
    expectLayerError(clipByGlobalNorm({}, NaN), { layer: 'clipByGlobalNorm', argument: 'maxNorm' })
    const broken = { data: new Float32Array(2), shape: [3], stride: [1], offset: 0 }
    expectLayerError(clipByGlobalNorm({ a: [broken] }, 1), { layer: 'clipByGlobalNorm', argument: 'grads.a[0]' })
  })
})
