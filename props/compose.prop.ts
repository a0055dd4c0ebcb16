/** Composition: `sequential` threads params and state, `scan` equals single steps, `reset` reaches every layer. */
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { keyArb, tensorArb } from '../src/arbitraries/index.js'
import type { Tensor } from '../src/index.js'
import { childCtx, equals, ifNeuron, key, orThrow, scan, sequential, stepCtx, train, wrap } from '../src/index.js'
import { deepEqual, snapshot, unchangedSince } from './support.js'

const first = ifNeuron({ threshold: 1 })
const second = ifNeuron({ threshold: 0.75, reset: 'hard' })
const net = sequential(first, second)

const sequenceArb = fc
  .tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }))
  .chain(([T, n]) => fc.tuple(tensorArb([T, n], { min: 0, max: 1.5 }), keyArb()))

describe('sequential', () => {
  it('equals applying its layers one after the other, threading each state', () => {
    fc.assert(
      fc.property(sequenceArb, ([xs, k]) => {
        const shape = xs.shape.slice(1)
        const init = orThrow(net.init(k, shape))
        const ctx = train(k)
        let pipelineState = init.state
        let [s0, s1] = init.state
        for (let t = 0; t < xs.shape[0]; t++) {
          const x = xs.pick(t) as Tensor
          const whole = orThrow(net.apply(init.params, pipelineState, x, ctx))
          const a = orThrow(first.apply(init.params[0], s0, x, childCtx(ctx, 0)))
          const b = orThrow(second.apply(init.params[1], s1, a.output, childCtx(ctx, 1)))
          expect(equals(whole.output, b.output)).toBe(true)
          expect(deepEqual(whole.state, [a.state, b.state])).toBe(true)
          pipelineState = whole.state
          s0 = a.state
          s1 = b.state
        }
      }),
    )
  })

  it('infers the shapes it returns, without running', () => {
    fc.assert(
      fc.property(sequenceArb, ([xs, k]) => {
        const shape = xs.shape.slice(1)
        const init = orThrow(net.init(k, shape))
        expect(orThrow(net.outputShape(shape))).toEqual(init.outputShape)
        expect(orThrow(scan(net).outputShape(xs.shape))).toEqual(xs.shape)
      }),
    )
  })

  it('resets every layer and modifies nothing it is given', () => {
    fc.assert(
      fc.property(sequenceArb, ([xs, k]) => {
        const s = scan(net)
        const init = orThrow(s.init(k, xs.shape))
        const before = snapshot({ xs, init })
        const run = orThrow(s.apply(init.params, init.state, xs, train(k)))
        expect(unchangedSince({ xs, init }, before)).toBe(true)
        expect(deepEqual(s.reset(run.state), init.state)).toBe(true)
      }),
    )
  })
})

describe('scan', () => {
  it('over T steps equals T single calls of the pipeline', () => {
    fc.assert(
      fc.property(sequenceArb, ([xs, k]) => {
        const shape = xs.shape.slice(1)
        const init = orThrow(net.init(k, shape))
        const ctx = train(k)
        const whole = orThrow(scan(net).apply(init.params, init.state, xs, ctx))
        let state = init.state
        for (let t = 0; t < xs.shape[0]; t++) {
          const one = orThrow(net.apply(init.params, state, xs.pick(t) as Tensor, stepCtx(ctx, t)))
          expect(equals(one.output, whole.output.pick(t) as Tensor)).toBe(true)
          state = one.state
        }
        expect(deepEqual(state, whole.state)).toBe(true)
      }),
    )
  })

  it('reports a step error as a value naming the inner layer', () => {
    const s = scan(net)
    const init = orThrow(s.init(key(1), [3, 2]))
    const midway = orThrow(s.apply(init.params, init.state, wrap(new Float32Array(6), [3, 2]), train()))
    const r = s.apply(init.params, midway.state, wrap(new Float32Array(9), [3, 3]), train())
    expect(E.isLeft(r) && r.left.layer).toBe('IFNeuron')
    expect(E.isLeft(r) && r.left.message).toMatch(/IFNeuron: state.v: expected the input's shape \[3\] .*got \[2\]/)
  })
})
