/** Composition: `sequential` threads params and state, `scan` equals single steps, `reset` reaches every layer. */
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { keyArb, tensorArb } from '../src/arbitraries/index.js'
import type { Tensor } from '../src/index.js'
import {
  type AnyLayer,
  childCtx,
  conv2d,
  cpu,
  customLinear,
  type Device,
  deviceFrom,
  equals,
  flatData,
  flatten,
  ifNeuron,
  key,
  lifNode,
  lossAndGrad,
  maxPool,
  meanOverTime,
  mseLoss,
  orThrow,
  recording,
  relu,
  repeatSteps,
  residentBackend,
  scan,
  scanOnDevice,
  sequential,
  stepCtx,
  timeMerged,
  train,
  wrap,
} from '../src/index.js'
import { deepEqual, sameBits, snapshot, unchangedSince } from './support.js'

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

describe('sequential after repeatSteps', () => {
  // the per-sample layers after a repeatSteps run once on its input, then repeat; a flatten
  // (a reshape, not marked per sample) after the repeat makes the same pipeline run them on T * N rows
  const pipelines = {
    dense: (f: number) => [customLinear({ inFeatures: f, outFeatures: 3, bias: true }), relu()],
    conv: () => [
      conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3, padding: 1 }),
      maxPool({ kernelSize: 2 }),
      relu(),
    ],
  }
  const caseArb = fc
    .record({
      kind: fc.constantFrom('dense' as const, 'conv' as const),
      T: fc.integer({ min: 1, max: 5 }),
      n: fc.integer({ min: 1, max: 4 }),
      f: fc.integer({ min: 1, max: 6 }),
    })
    .chain((c) => {
      const shape = c.kind === 'dense' ? [c.n, c.f] : [c.n, 1, 4, 4]
      return fc.tuple(fc.constant(c), tensorArb(shape, { min: -2, max: 2 }), keyArb())
    })
  const devices: readonly Device[] = [cpu as Device, residentBackend() as Device]
  /** `device` with every kernel it runs noted in `kernels`, and the rows of each matmul and conv2d in `rows`. */
  const counting = (device: Device, rows: number[], kernels: string[] = []): Device =>
    deviceFrom(
      {
        name: `counting(${device.name})`,
        dtypeOf: (b) => device.dtypeOf(b),
        lengthOf: (b) => device.lengthOf(b),
        upload: (data) => device.upload(data),
        read: (b) => device.read(b),
        free: (b) => device.free(b),
        ...(device.addInPlace === undefined ? {} : { addInPlace: (t, x) => device.addInPlace!(t, x) }),
      },
      (name, args) => {
        kernels.push(name)
        if (name === 'matmul') rows.push((args[3] as { readonly m: number }).m)
        if (name === 'conv2d') rows.push((args[3] as { readonly n: number }).n)
        return device.run(name, args)
      },
    )

  interface Calls {
    readonly rows: readonly number[]
    readonly kernels: readonly string[]
  }

  /**
   * `held` (repeatSteps first) against `plain`, the same pipeline with an identity flatten
   * right after the repeat (so nothing is held back), on every device: the same output bits and
   * loss, the params' gradients within float32 rounding (they add the steps' in another order);
   * `calls` sees the kernels of each forward.
   */
  const agreeWithCopies = (
    held: AnyLayer,
    plain: AnyLayer,
    x: Tensor,
    k: ReturnType<typeof key>,
    calls: (heldCalls: Calls, plainCalls: Calls) => void,
  ): void => {
    const init = orThrow(held.init(k, x.shape))
    const [p0, ...rest] = init.params as readonly unknown[]
    const plainParams = [p0, {}, ...rest] as never
    const [s0, ...restState] = init.state as readonly unknown[]
    const plainState = [s0, {}, ...restState] as never
    for (const device of devices) {
      const heldCalls = { rows: [] as number[], kernels: [] as string[] }
      const plainCalls = { rows: [] as number[], kernels: [] as string[] }
      const on = (c: typeof heldCalls) => train(k, counting(device, c.rows, c.kernels))
      const a = orThrow(held.apply(init.params, init.state, x, on(heldCalls)))
      const b = orThrow(plain.apply(plainParams, plainState, x, on(plainCalls)))
      expect(sameBits(a.output, b.output)).toBe(true)
      calls(heldCalls, plainCalls)
      const target = wrap(new Float32Array(a.output.size).fill(0.25), a.output.shape)
      const ga = orThrow(lossAndGrad(held, mseLoss())(init.params, init.state, x, target, train(k, device)))
      const gb = orThrow(lossAndGrad(plain, mseLoss())(plainParams, plainState, x, target, train(k, device)))
      expect(ga.loss).toBe(gb.loss)
      const [, ...gbRest] = gb.grads as readonly unknown[]
      const [, ...gaRest] = ga.grads as readonly unknown[]
      gaRest.forEach((g, i) => {
        for (const name of ['weight', 'bias'] as const) {
          const u = (g as Record<string, unknown> | null)?.[name]
          if (u === undefined || u === null) continue
          const ua = flatData(u as never)
          const ub = flatData((gbRest[i + 1] as Record<string, never>)[name])
          const scale = 1 + Math.max(...Array.from(ub, Math.abs))
          ua.forEach((v, j) => expect(Math.abs(v - ub[j])).toBeLessThanOrEqual(1e-5 * scale))
        }
      })
    }
  }

  /** The pipeline `repeat, ...layers, ...tail` and the same with the flatten barrier after the repeat. */
  const heldAndPlain = (T: number, layers: readonly AnyLayer[], tail: readonly AnyLayer[]) => {
    const repeat = repeatSteps({ steps: T })
    return {
      held: sequential(repeat, ...layers, ...tail) as AnyLayer,
      plain: sequential(repeat, timeMerged(flatten({ startDim: 1, endDim: 1 })), ...layers, ...tail) as AnyLayer,
    }
  }

  it('runs them once with the bits of T copies, and their gradients within float32 rounding', () => {
    fc.assert(
      fc.property(caseArb, ([c, x, k]) => {
        const inner = c.kind === 'dense' ? pipelines.dense(c.f) : pipelines.conv()
        const { held, plain } = heldAndPlain(c.T, inner.map((l) => timeMerged(l as AnyLayer)), [meanOverTime()])
        agreeWithCopies(held, plain, x, k, (a, b) => {
          expect(a.rows).toEqual([c.n])
          expect(b.rows).toEqual([c.T * c.n])
        })
      }),
      { numRuns: 40 },
    )
  })

  it('hands a scan after them their output itself: no T copies, the bits of T copies, the gradients within rounding', () => {
    fc.assert(
      fc.property(caseArb, fc.boolean(), ([c, x, k], summed) => {
        const inner = c.kind === 'dense' ? pipelines.dense(c.f) : pipelines.conv()
        // every step's output, or their sum read off a scanOnDevice (its steps run on the pipeline's device)
        const lif = lifNode({ threshold: 0.5 })
        const tail = summed ? [scanOnDevice(lif, cpu, { read: 'sum' })] : [scan(lif), meanOverTime()]
        const { held, plain } = heldAndPlain(c.T, inner.map((l) => timeMerged(l as AnyLayer)), tail)
        agreeWithCopies(held, plain, x, k, (a, b) => {
          expect(a.rows).toEqual([c.n])
          expect(a.kernels.filter((name) => name === 'broadcastAlongAxis')).toEqual([])
          expect(a.kernels.filter((name) => name === 'neuron')).toHaveLength(c.T)
          expect(b.kernels).toContain('broadcastAlongAxis')
        })
      }),
      { numRuns: 40 },
    )
  })

  it('runs them on T * N rows where a recording sees every layer', () => {
    const net = sequential(repeatSteps({ steps: 3 }), timeMerged(customLinear({ inFeatures: 2, outFeatures: 2 })))
    const init = orThrow(net.init(key(0), [4, 2]))
    const x = wrap(new Float32Array(8).fill(1), [4, 2])
    const rows: number[] = []
    const applied = orThrow(net.apply(init.params, init.state, x, train(key(1), counting(cpu as Device, rows))))
    const recorded = orThrow(recording(net)(init.params, init.state, x, train(key(1), counting(cpu as Device, rows))))
    expect(rows).toEqual([4, 12])
    expect(recorded.records.get('0')!.outputs[0].shape).toEqual([3, 4, 2])
    expect(sameBits(recorded.records.get('1')!.outputs[0], applied.output)).toBe(true)
  })
})
