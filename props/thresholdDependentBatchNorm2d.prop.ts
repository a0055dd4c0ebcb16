/**
 * ThresholdDependentBatchNorm2d invariants: training with unit weight and zero bias gives each
 * channel mean ~0 and variance ~1; the running statistics follow PyTorch's momentum formula;
 * eval with fresh running statistics is `x / sqrt(1 + eps)`; the weight starts at
 * alpha * threshold; the time-aware mode is the default mode over T*N samples.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { tensorArb } from '../src/arbitraries/index.js'
import type { BatchNormState, Tensor } from '../src/index.js'
import {
  evaluate,
  full,
  generate,
  key,
  maxAbsDiff,
  orThrow,
  reshape,
  tensor,
  thresholdDependentBatchNorm2d,
  train,
  zeros,
} from '../src/index.js'
import { deepEqual } from './support.js'

/** Per-channel mean and biased variance of [N, C, H, W], computed directly. */
const channelStats = (x: Tensor): { mean: number[]; variance: number[]; count: number } => {
  const [n, c, h, w] = x.shape
  const mean: number[] = []
  const variance: number[] = []
  for (let ch = 0; ch < c; ch++) {
    const values: number[] = []
    for (let a = 0; a < n; a++) for (let y = 0; y < h; y++) for (let z = 0; z < w; z++) values.push(x.get(a, ch, y, z))
    const mu = values.reduce((s, v) => s + v, 0) / values.length
    mean.push(mu)
    variance.push(values.reduce((s, v) => s + (v - mu) ** 2, 0) / values.length)
  }
  return { mean, variance, count: n * h * w }
}

/** A float64 batch [N, C, H, W] with at least two values per channel. */
const batchArb = (c: number) =>
  fc
    .tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }))
    .filter(([n, h, w]) => n * h * w >= 2)
    .chain(([n, h, w]) => tensorArb([n, c, h, w], { dtype: 'float64', min: -3, max: 3 }))

const unitParams = (c: number) => ({ weight: full([c], 1, 'float64'), bias: zeros([c], 'float64') })

describe('ThresholdDependentBatchNorm2d', () => {
  it('in training, with unit weight and zero bias, gives each channel mean 0 and variance v / (v + eps) ~ 1', () => {
    const C = 3
    const eps = 1e-5
    const bn = thresholdDependentBatchNorm2d({ numFeatures: C, alpha: 1, eps })
    fc.assert(
      fc.property(batchArb(C), (x) => {
        const { state } = orThrow(bn.init(key(0), x.shape, 'float64'))
        const { output } = orThrow(bn.apply(unitParams(C), state, x, train()))
        const batch = channelStats(x)
        const out = channelStats(output)
        for (let ch = 0; ch < C; ch++) {
          const v = batch.variance[ch]
          expect(Math.abs(out.mean[ch])).toBeLessThanOrEqual(1e-9)
          expect(Math.abs(out.variance[ch] - v / (v + eps))).toBeLessThanOrEqual(1e-9)
          if (v > 0.01) expect(Math.abs(out.variance[ch] - 1)).toBeLessThanOrEqual(1e-3)
        }
      }),
      { numRuns: 200 },
    )
  })

  it('moves the running statistics by the momentum formula (unbiased variance) and counts the batch', () => {
    const C = 2
    fc.assert(
      fc.property(
        batchArb(C),
        fc.double({ min: 0, max: 1, noNaN: true }),
        tensorArb([C], { dtype: 'float64' }),
        tensorArb([C], { dtype: 'float64', min: 0.1, max: 3 }),
        fc.nat(100),
        (x, momentum, runningMean, runningVar, numBatchesTracked) => {
          const bn = thresholdDependentBatchNorm2d({ numFeatures: C, alpha: 0.7, momentum })
          const state: BatchNormState = { runningMean, runningVar, numBatchesTracked }
          const params = orThrow(bn.init(key(0), x.shape, 'float64')).params
          const next = orThrow(bn.apply(params, state, x, train())).state
          const { mean, variance, count } = channelStats(x)
          const expectMean = tensor(
            mean.map((m, c) => (1 - momentum) * runningMean.get(c) + momentum * m),
            [C],
            'float64',
          )
          const expectVar = tensor(
            variance.map((v, c) => (1 - momentum) * runningVar.get(c) + (momentum * v * count) / (count - 1)),
            [C],
            'float64',
          )
          expect(maxAbsDiff(next.runningMean, expectMean)).toBeLessThanOrEqual(1e-12)
          expect(maxAbsDiff(next.runningVar, expectVar)).toBeLessThanOrEqual(1e-12)
          expect(next.numBatchesTracked).toBe(numBatchesTracked + 1)
        },
      ),
      { numRuns: 200 },
    )
  })

  it('in eval with fresh running statistics is x / sqrt(1 + eps), and leaves the state as it was', () => {
    const C = 3
    fc.assert(
      fc.property(batchArb(C), fc.constantFrom(1e-5, 1e-3, 0.5), (x, eps) => {
        const bn = thresholdDependentBatchNorm2d({ numFeatures: C, alpha: 1, eps })
        const { state } = orThrow(bn.init(key(0), x.shape, 'float64'))
        const r = orThrow(bn.apply(unitParams(C), state, x, evaluate()))
        const expected = generate(x.shape, (i) => x.data[i] / Math.sqrt(1 + eps), 'float64')
        expect(maxAbsDiff(r.output, expected)).toBeLessThanOrEqual(1e-12)
        expect(deepEqual(r.state, state)).toBe(true)
      }),
    )
  })

  it('starts with weight alpha * threshold and bias 0', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.double({ min: -4, max: 4, noNaN: true }),
        fc.double({ min: 0, max: 4, noNaN: true }),
        (C, alpha, threshold) => {
          const bn = thresholdDependentBatchNorm2d({ numFeatures: C, alpha, threshold })
          const { params } = orThrow(bn.init(key(0), [2, C, 1, 1], 'float64'))
          expect(Array.from(params.weight.data)).toEqual(new Array(C).fill(alpha * threshold))
          expect(Array.from(params.bias.data)).toEqual(new Array(C).fill(0))
        },
      ),
    )
  })

  it('time-aware [T, N, C, H, W] is the default mode on the [T*N, C, H, W] batch (normalizes over time too)', () => {
    const C = 2
    const timeAware = thresholdDependentBatchNorm2d({ numFeatures: C, alpha: 1.5, timeAware: true })
    const plain = thresholdDependentBatchNorm2d({ numFeatures: C, alpha: 1.5 })
    fc.assert(
      fc.property(
        fc
          .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }))
          .filter(([t, n, hw]) => t * n * hw >= 2)
          .chain(([t, n, hw]) => tensorArb([t, n, C, hw, 1])),
        fc.boolean(),
        (x, training) => {
          const [t, n, , h, w] = x.shape
          const flat = reshape(x, [t * n, C, h, w])
          const a = orThrow(timeAware.init(key(0), x.shape))
          const b = orThrow(plain.init(key(0), flat.shape))
          const ra = orThrow(timeAware.apply(a.params, a.state, x, { training }))
          const rb = orThrow(plain.apply(b.params, b.state, flat, { training }))
          expect(ra.output.shape).toEqual(x.shape)
          expect(deepEqual(reshape(ra.output, flat.shape), rb.output)).toBe(true)
          expect(deepEqual(ra.state, rb.state)).toBe(true)
        },
      ),
    )
  })
})
