/**
 * LIPool invariants: after every step, the sum of all outputs so far equals the child pooling of
 * the sum of all inputs so far (exactly for spikes, within rounding for floats); with spikes
 * and a max child every output is 0 or 1; after `reset` the layer behaves as a fresh one.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { spikeTrainArb, tensorArb } from '../src/arbitraries/index.js'
import type { DType, PoolSpec, Tensor } from '../src/index.js'
import { equals, generate, key, liPool, maxAbsDiff, orThrow, pool2d, train, zeros } from '../src/index.js'

/** A window k, a child op, and T inputs of one shape [N, C, k*h, k*w]. */
const runArb = (input: (shape: number[]) => fc.Arbitrary<Tensor>, ops: readonly PoolSpec['op'][]) =>
  fc
    .record({
      k: fc.integer({ min: 1, max: 3 }),
      op: fc.constantFrom(...ops),
      n: fc.integer({ min: 1, max: 2 }),
      c: fc.integer({ min: 1, max: 2 }),
      h: fc.integer({ min: 1, max: 3 }),
      w: fc.integer({ min: 1, max: 3 }),
      T: fc.integer({ min: 1, max: 8 }),
    })
    .chain(({ k, op, n, c, h, w, T }) => {
      const shape = [n, c, k * h, k * w]
      return fc.record({
        child: fc.constant<PoolSpec>({ op, kernelSize: k }),
        xs: fc.array(input(shape), { minLength: T, maxLength: T }),
      })
    })

const add = (a: Tensor, b: Tensor, dtype: DType): Tensor => generate(a.shape, (i) => a.data[i] + b.data[i], dtype)

/** Runs the layer over `xs`, checking `check(sum of outputs, child(sum of inputs), output)` at each step. */
const everyStep = (
  child: PoolSpec,
  xs: readonly Tensor[],
  dtype: DType,
  check: (outputs: Tensor, pooledInputs: Tensor, output: Tensor) => void,
): void => {
  const layer = liPool({ child })
  let { state } = orThrow(layer.init(key(0), xs[0].shape))
  let inputs: Tensor = zeros(xs[0].shape, dtype)
  let outputs: Tensor | undefined
  for (const x of xs) {
    const r = orThrow(layer.apply({}, state, x, train()))
    state = r.state
    inputs = add(inputs, x, dtype)
    outputs = outputs === undefined ? r.output : add(outputs, r.output, dtype)
    check(outputs, orThrow(pool2d(inputs, child)), r.output)
  }
}

describe('LIPool', () => {
  it('for spikes: the outputs so far sum to maxPool of the inputs so far, exactly, and each output is 0 or 1', () => {
    fc.assert(
      fc.property(runArb((s) => spikeTrainArb(s, 0.4), ['maxPool2d']), ({ child, xs }) => {
        everyStep(child, xs, 'float32', (outputs, pooled, output) => {
          expect(equals(outputs, pooled)).toBe(true)
          expect(Array.from(output.data).every((v) => v === 0 || v === 1)).toBe(true)
        })
      }),
      { numRuns: 200 },
    )
  })

  it('for floats (max or average child): the same holds within rounding', () => {
    fc.assert(
      fc.property(runArb((s) => tensorArb(s, { dtype: 'float64' }), ['maxPool2d', 'avgPool2d']), ({ child, xs }) => {
        everyStep(child, xs, 'float64', (outputs, pooled) => {
          expect(maxAbsDiff(outputs, pooled)).toBeLessThanOrEqual(1e-12)
        })
      }),
      { numRuns: 200 },
    )
  })

  it('after reset behaves as a fresh layer', () => {
    fc.assert(
      fc.property(
        runArb((s) => spikeTrainArb(s, 0.5), ['maxPool2d', 'avgPool2d']),
        fc.nat(7),
        ({ child, xs }, cut) => {
          const layer = liPool({ child })
          const fresh = orThrow(layer.init(key(0), xs[0].shape)).state
          let state = fresh
          const at = cut % xs.length
          for (const x of xs.slice(0, at)) state = orThrow(layer.apply({}, state, x, train())).state
          state = layer.reset(state)
          let clean = fresh
          for (const x of xs.slice(at)) {
            const a = orThrow(layer.apply({}, state, x, train()))
            const b = orThrow(layer.apply({}, clean, x, train()))
            expect(equals(a.output, b.output)).toBe(true)
            state = a.state
            clean = b.state
          }
        },
      ),
    )
  })
})
