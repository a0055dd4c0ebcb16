/**
 * IFNeuron: spikes are 0 or 1; with the soft reset, the potential conserves charge (the input
 * integrated so far equals the spikes emitted times the threshold plus the potential left), so
 * spike counts track the input's rate; the hard reset leaves vReset where a spike was.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { tensorArb } from '../src/arbitraries/index.js'
import { ifNeuron, orThrow, scan, sizeOf, toArray, train } from '../src/index.js'

const caseArb = fc
  .tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 6 }), fc.double({ min: 0.25, max: 2, noNaN: true }))
  .chain(([T, n, threshold]) =>
    fc.tuple(fc.constant({ T, n, threshold }), tensorArb([T, n], { min: -1, max: 2, dtype: 'float64' })),
  )

describe('IFNeuron properties', () => {
  it('soft reset conserves charge: sum of inputs = threshold * spikes + final potential', () => {
    fc.assert(
      fc.property(caseArb, ([{ T, n, threshold }, x]) => {
        const r = orThrow(scan(ifNeuron({ threshold })).apply({}, { v: null }, x, train()))
        const spikes = toArray(r.output)
        expect(spikes.every((s) => s === 0 || s === 1)).toBe(true)
        const xs = toArray(x)
        const v = toArray(r.state.v!)
        for (let i = 0; i < n; i++) {
          let input = 0
          let count = 0
          for (let t = 0; t < T; t++) {
            input += xs[t * n + i]
            count += spikes[t * n + i]
          }
          expect(Math.abs(input - (count * threshold + v[i]))).toBeLessThanOrEqual(1e-9 * (1 + Math.abs(input)) * T)
        }
      }),
    )
  })

  it('hard reset: where a neuron fired, its potential is vReset; elsewhere it integrated', () => {
    fc.assert(
      fc.property(caseArb, fc.double({ min: -1, max: 0.2, noNaN: true }), ([{ n, threshold }, x], vReset) => {
        const layer = ifNeuron({ threshold, reset: 'hard', vReset })
        const first = x.pick(0)
        const r = orThrow(layer.apply({}, { v: null }, first, train()))
        const xs = toArray(first)
        const spikes = toArray(r.output)
        const v = toArray(r.state.v!)
        expect(spikes.length).toBe(sizeOf([n]))
        for (let i = 0; i < n; i++) {
          expect(spikes[i]).toBe(xs[i] >= threshold ? 1 : 0)
          expect(v[i]).toBe(xs[i] >= threshold ? vReset : xs[i])
        }
      }),
    )
  })
})
