/**
 * The generic laws, run over every layer in the descriptor table:
 * output shape as inferred; nothing passed in is modified; the same key gives the same bits; a
 * strided view gives what its contiguous copy gives; float64 agrees with float32; a T-step scan
 * equals T single steps; `reset` restores the initial state (and is the identity for layers
 * without temporal state).
 */
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { keyArb, stridedViewArb, tensorArb } from '../src/arbitraries/index.js'
import type { AnyLayer, Ctx, Key, Shape, Tensor } from '../src/index.js'
import { astype, equals, foldIn, orThrow, scan, stepCtx, train, wrap } from '../src/index.js'
import type { LayerDescriptor } from './descriptors/descriptor.js'
import { allDescriptors } from './descriptors/index.js'
import { deepEqual, mapTensors, snapshot, treeMaxDiff, unchangedSince } from './support.js'

const inputOf = (d: LayerDescriptor, shape: Shape): fc.Arbitrary<Tensor> => (d.input ?? tensorArb)(shape)

/** A shape, an input of that shape, and a key. */
const caseArb = (d: LayerDescriptor) =>
  d.inputShape.chain((shape) => fc.tuple(fc.constant(shape), inputOf(d, shape), keyArb()))

/** `T` inputs of one shape, stacked as `[T, ...shape]`. */
const sequenceArb = (d: LayerDescriptor) =>
  d.inputShape.chain((shape) =>
    fc.tuple(fc.constant(shape), fc.array(inputOf(d, shape), { minLength: 1, maxLength: 4 }), keyArb()),
  )

const stack = (steps: readonly Tensor[], shape: Shape): Tensor => {
  const size = steps[0].size
  const data = new Float32Array(steps.length * size)
  steps.forEach((t, i) => data.set(astype(t, 'float32').data, i * size))
  return wrap(data, [steps.length, ...shape])
}

const start = (layer: AnyLayer, k: Key, shape: Shape) => orThrow(layer.init(foldIn(k, 1), shape))
const ctxOf = (k: Key): Ctx => train(foldIn(k, 2))

describe.each(allDescriptors.map((d) => [d.name, d] as const))('laws: %s', (_name, d) => {
  const layer = d.make()

  it('output shape is the inferred one', () => {
    fc.assert(
      fc.property(caseArb(d), ([shape, x, k]) => {
        const { params, state, outputShape } = start(layer, k, shape)
        const { output } = orThrow(layer.apply(params, state, x, ctxOf(k)))
        expect(output.shape).toEqual(outputShape)
        expect(orThrow(layer.outputShape(shape))).toEqual(outputShape)
      }),
    )
  })

  it('modifies nothing passed in', () => {
    fc.assert(
      fc.property(caseArb(d), ([shape, x, k]) => {
        const { params, state } = start(layer, k, shape)
        const before = snapshot({ x, params, state })
        const first = orThrow(layer.apply(params, state, x, ctxOf(k)))
        const afterFirst = snapshot(first.state)
        orThrow(layer.apply(params, first.state, x, ctxOf(foldIn(k, 9))))
        expect(unchangedSince({ x, params, state }, before)).toBe(true)
        expect(unchangedSince(first.state, afterFirst)).toBe(true)
      }),
    )
  })

  it('gives the same bits for the same key', () => {
    fc.assert(
      fc.property(caseArb(d), ([shape, x, k]) => {
        const { params, state } = start(layer, k, shape)
        const a = orThrow(layer.apply(params, state, x, ctxOf(k)))
        const b = orThrow(layer.apply(params, state, x, ctxOf(k)))
        expect(equals(a.output, b.output)).toBe(true)
        expect(deepEqual(a.state, b.state)).toBe(true)
      }),
    )
  })

  it('gives a strided view the result of its contiguous copy', () => {
    fc.assert(
      fc.property(
        caseArb(d).chain(([shape, x, k]) =>
          fc.tuple(fc.constant(shape), fc.constant(x), stridedViewArb(x), fc.constant(k)),
        ),
        ([shape, x, view, k]) => {
          const { params, state } = start(layer, k, shape)
          const a = orThrow(layer.apply(params, state, x, ctxOf(k)))
          const b = orThrow(layer.apply(params, state, view, ctxOf(k)))
          expect(equals(a.output, b.output)).toBe(true)
          expect(deepEqual(a.state, b.state)).toBe(true)
        },
      ),
    )
  })

  it('agrees in float64 with float32', () => {
    const tolerance = d.f64Tolerance ?? 1e-4
    fc.assert(
      fc.property(caseArb(d), ([shape, x, k]) => {
        const { params, state } = start(layer, k, shape)
        const to64 = (tree: unknown) => mapTensors(tree, (t) => astype(t, 'float64'))
        const a = orThrow(layer.apply(params, state, x, ctxOf(k)))
        const b = orThrow(layer.apply(to64(params), to64(state), astype(x, 'float64'), ctxOf(k)))
        expect(b.output.data).toBeInstanceOf(Float64Array)
        expect(treeMaxDiff(a.output, b.output)).toBeLessThanOrEqual(tolerance)
        expect(treeMaxDiff(a.state, b.state)).toBeLessThanOrEqual(tolerance)
      }),
    )
  })

  it('scans T steps exactly as T single calls', () => {
    const scanned = scan(layer)
    fc.assert(
      fc.property(sequenceArb(d), ([shape, steps, k]) => {
        const xs = stack(steps, shape)
        const { params, state } = start(layer, k, shape)
        const ctx = ctxOf(k)
        const whole = orThrow(scanned.apply(params, state, xs, ctx))
        let s = state
        steps.forEach((_, t) => {
          const one = orThrow(layer.apply(params, s, xs.pick(t) as Tensor, stepCtx(ctx, t)))
          expect(equals(one.output, whole.output.pick(t) as Tensor)).toBe(true)
          s = one.state
        })
        expect(deepEqual(s, whole.state)).toBe(true)
      }),
      { numRuns: 50 },
    )
  })

  it(d.stateful ? 'reset restores the initial state' : 'reset is the identity (no temporal state)', () => {
    fc.assert(
      fc.property(sequenceArb(d), ([shape, steps, k]) => {
        const { params, state } = start(layer, k, shape)
        let s = state
        steps.forEach((x, t) => {
          s = orThrow(layer.apply(params, s, x, ctxOf(foldIn(k, t)))).state
        })
        expect(deepEqual(layer.reset(s), d.stateful ? state : s)).toBe(true)
      }),
      { numRuns: 50 },
    )
  })

  it('answers a rank-0 input with a value, as its shape inference does, never a throw', () => {
    fc.assert(
      fc.property(caseArb(d), ([shape, , k]) => {
        const { params, state } = start(layer, k, shape)
        const inferred = layer.outputShape([])
        const r = layer.apply(params, state, wrap(new Float32Array(1), []), ctxOf(k))
        expect(E.isLeft(r)).toBe(E.isLeft(inferred))
        if (E.isLeft(r) && E.isLeft(inferred)) {
          expect(r.left.layer).toBe(inferred.left.layer)
          expect(r.left.argument).toBe(inferred.left.argument)
        }
      }),
      { numRuns: 10 },
    )
  })
})
