/**
 * `scanOnDevice` keeps its tensors on the device: one upload per step's input plus the params
 * once, reads of what was asked for plus the final state, and every buffer it made freed again,
 * on success and on every error path. Counted with a wrapping device (which also throws on any
 * use of a buffer after it was freed, and on a double free).
 */
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import type { AnyLayer, Ctx, Layer, NoParams, Tensor } from '../../src/index.js'
import {
  copy,
  cpu,
  customLinear,
  layerFailure,
  ifNeuron,
  key,
  nDropout,
  empty as none,
  orThrow,
  scan,
  scanOnDevice,
  sequential,
  sMaxPool,
  tensor,
  train,
  uniform,
  votingLayer,
  wrap,
  wtaLayer,
  zeros,
} from '../../src/index.js'
import { ConfigError } from '../../src/index.js'
import { sameBits } from '../../props/support.js'
import { expectLayerError } from '../layers/layerError.js'
import { countingDevice } from './countingDevice.js'

const ctx: Ctx = train(key(7), cpu)
const reads = ['all', 'last', 'sum'] as const

/** `[T, ...shape]` of values in [-1, 1) drawn from `seed`. */
const inputs = (shape: readonly number[], seed: number): Tensor => {
  const size = shape.reduce((a, b) => a * b, 1)
  return tensor(Array.from(uniform(key(seed), size, 'float64'), (u) => Math.round((2 * u - 1) * 1024) / 1024), shape)
}

/** Runs `layer` over `xs` on a counting host device and with `scan`; checks the bits agree. */
const run = (layer: AnyLayer, xs: Tensor, read: (typeof reads)[number], state?: unknown, c: Ctx = ctx) => {
  const init = orThrow(layer.init(key(1), xs.shape.slice(1)))
  const s = state ?? init.state
  const { device, books } = countingDevice(cpu)
  const got = scanOnDevice(layer, device, { read }).apply(init.params, s, xs, c)
  const want = scan(layer).apply(init.params, s, xs, c)
  return { got, want, books }
}

/** A host-only layer that copies its input and fails at step `at` (its state counts steps). */
const failAt = (at: number): Layer<NoParams, { readonly n: number }> => ({
  name: 'FailAt',
  outputShape: (shape) => E.right(shape),
  init: (_key, shape) => E.right({ params: none, state: { n: 0 }, outputShape: shape }),
  apply: (_params, state, input) =>
    state.n === at
      ? layerFailure('FailAt', 'input', `at most ${at} steps`, `step ${state.n}`)
      : E.right({ output: copy(input), state: { n: state.n + 1 } }),
  reset: () => ({ n: 0 }),
})

describe('scanOnDevice: a pipeline stays on the device', () => {
  const T = 5

  it.each(reads)("CustomLinear + IFNeuron + VotingLayer, read '%s': T + params uploads, the asked reads", (read) => {
    const net = sequential(
      customLinear({ inFeatures: 3, outFeatures: 4, bias: true }),
      ifNeuron({ threshold: 0.5 }),
      votingLayer({ voterNum: 2 }),
    )
    const { got, want, books } = run(net, inputs([T, 2, 3], 1), read)
    const g = orThrow(got)
    const w = orThrow(want)
    expect(sameBits(g.state, w.state)).toBe(true)
    if (read === 'all') expect(sameBits(g.output, w.output)).toBe(true)
    if (read === 'last') expect(sameBits(g.output, copy(w.output.pick(T - 1) as Tensor))).toBe(true)
    expect(books.uploads).toBe(T + 2) // inputs, weight, bias
    expect(books.reads).toBe(1 + 1) // the outputs (all steps in one readAll), IFNeuron's potential
    expect(books.live.size).toBe(0)
    expect(books.frees).toBe(books.made)
  })

  it.each(reads)("NDropout + SMaxPool + IFNeuron, read '%s': only the inputs go up (the mask is drawn there)", (read) => {
    const net = sequential(
      nDropout({ p: 0.25 }),
      sMaxPool({ child: { op: 'maxPool2d', kernelSize: 2 } }),
      ifNeuron({ threshold: 0.5 }),
    )
    const { got, want, books } = run(net, inputs([T, 1, 2, 4, 4], 2), read)
    expect(sameBits(orThrow(got).state, orThrow(want).state)).toBe(true)
    expect(books.uploads).toBe(T) // the inputs: the mask is drawn by a kernel, BrainCog's formula needs no zeros
    expect(books.reads).toBe(1 + 3) // the outputs, the mask, the sum, the potential
    expect(books.live.size).toBe(0)
  })

  it('held state goes up once on enter and comes back once on exit', () => {
    const net = sequential(ifNeuron(), sMaxPool({ child: { op: 'maxPool2d', kernelSize: 2 }, mode: 'exact' }))
    const xs = inputs([T, 1, 1, 2, 2], 3)
    const warm = orThrow(scan(net).apply([none, none], [{ v: null }, { sum: null }], xs, ctx)).state
    const { got, want, books } = run(net, xs, 'sum', warm)
    expect(sameBits(orThrow(got).state, orThrow(want).state)).toBe(true)
    expect(books.uploads).toBe(T + 2)
    expect(books.reads).toBe(1 + 2)
    expect(books.live.size).toBe(0)
  })

  it("WTALayer (k > 1) in the pipeline gives scan's bits, its noise drawn on the device", () => {
    const net = sequential(customLinear({ inFeatures: 3, outFeatures: 4 }), wtaLayer({ k: 2 }), ifNeuron())
    for (const read of reads) {
      const { got, want, books } = run(net, inputs([T, 3, 3], 4), read)
      const g = orThrow(got)
      const w = orThrow(want)
      expect(sameBits(g.state, w.state)).toBe(true)
      if (read === 'all') expect(sameBits(g.output, w.output)).toBe(true)
      expect(books.uploads).toBe(T + 1)
      expect(books.reads).toBe(1 + 1)
      expect(books.live.size).toBe(0)
    }
  })

  it('no steps: nothing moves; the state is checked and comes back as given, as from scan', () => {
    const held = { v: zeros([2, 3]) }
    const { got, want, books } = run(ifNeuron(), zeros([0, 2, 3]), 'last', held)
    expect(orThrow(want).state).toBe(held)
    expect(orThrow(got).state).toBe(held)
    expect(sameBits(orThrow(got).output, zeros([2, 3]))).toBe(true)
    expect(books.made).toBe(0)
    const bad = run(ifNeuron(), zeros([0, 2, 3]), 'last', { v: zeros([9]) })
    expect(bad.got).toEqual(bad.want)
    expectLayerError(bad.got, { layer: 'IFNeuron', argument: 'state.v' })
  })
})

describe('scanOnDevice: errors free every buffer', () => {
  it.each(reads)("a state of the wrong shape (read '%s'): the layer's error, nothing left", (read) => {
    const net = sequential(customLinear({ inFeatures: 3, outFeatures: 4 }), ifNeuron(), votingLayer({ voterNum: 2 }))
    const state = [none, { v: zeros([7]) }, none]
    const { got, want, books } = run(net, inputs([3, 2, 3], 5), read, state)
    expect(got).toEqual(want)
    expectLayerError(got, { layer: 'IFNeuron', argument: 'state.v' })
    expect(books.live.size).toBe(0)
  })

  it('a wrong state in a later layer: rejected before anything is uploaded', () => {
    const net = sequential(ifNeuron(), sMaxPool({ child: { op: 'maxPool2d', kernelSize: 2 } }))
    const state = [{ v: zeros([1, 1, 2, 2]) }, { sum: zeros([1, 1, 4, 4]) }]
    const { got, books } = run(net, inputs([2, 1, 1, 2, 2], 6), 'all', state)
    expectLayerError(got, { layer: 'SMaxPool', argument: 'state.sum' })
    expect(books.made).toBe(0)
  })

  it.each(reads)("a step failing midway (read '%s'): outputs kept so far, states old and new, all freed", (read) => {
    const net = sequential(
      customLinear({ inFeatures: 3, outFeatures: 4 }),
      ifNeuron(),
      failAt(2),
      ifNeuron({ threshold: 0.25 }),
      votingLayer({ voterNum: 2 }),
    )
    const { got, want, books } = run(net, inputs([4, 2, 3], 7), read)
    expect(got).toEqual(want)
    expectLayerError(got, { layer: 'FailAt', argument: 'input' })
    expect(books.live.size).toBe(0)
  })

  it('a mask that cannot be drawn (no key, no draws): rejected before anything runs', () => {
    const net = sequential(customLinear({ inFeatures: 3, outFeatures: 4 }), ifNeuron(), nDropout({ p: 0.5 }))
    const { got, want, books } = run(net, inputs([3, 2, 3], 8), 'all', undefined, { training: true, backend: cpu })
    expect(got).toEqual(want)
    expectLayerError(got, { layer: 'NDropout', argument: 'ctx.key' })
    expect(books.live.size).toBe(0)
  })

  it('ctx.draws without T steps: rejected before anything is uploaded', () => {
    const drop = nDropout({ p: 0.5 })
    const draws = zeros([2, 2, 3])
    const { got, want, books } = run(drop, inputs([3, 2, 3], 9), 'all', undefined, { ...ctx, draws })
    expectLayerError(want, { argument: 'ctx.draws', layer: 'scan(NDropout)' })
    expectLayerError(got, { argument: 'ctx.draws', layer: 'scanOnDevice(NDropout, traced(cpu))' })
    expect(books.made).toBe(0)
  })

  it('ctx.draws per step: the mask drawn at step 0 is the one given', () => {
    const drop = nDropout({ p: 0.5 })
    const draws = wrap(Float32Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? 0 : 2)), [2, 2, 3])
    const { got, want, books } = run(drop, inputs([2, 2, 3], 10), 'all', undefined, { ...ctx, draws })
    expect(sameBits(orThrow(got).output, orThrow(want).output)).toBe(true)
    expect(sameBits(orThrow(got).state, orThrow(want).state)).toBe(true)
    expect(books.live.size).toBe(0)
  })

  it('input that is not time-major: a LayerError naming the scan, nothing uploaded', () => {
    const { device, books } = countingDevice(cpu)
    const scanned = scanOnDevice(ifNeuron(), device)
    const r = scanned.apply(none, { v: null }, wrap(new Float32Array(1), []) as never, ctx)
    expectLayerError(r, { layer: 'scanOnDevice(IFNeuron, traced(cpu))', argument: 'input' })
    expect(books.made).toBe(0)
  })

  it('an input whose steps the layer rejects: its error, nothing uploaded', () => {
    const { device, books } = countingDevice(cpu)
    const fc = customLinear({ inFeatures: 3, outFeatures: 2 })
    const params = orThrow(fc.init(key(0), [3])).params
    const r = scanOnDevice(fc, device).apply(params, none, zeros([2, 4]), ctx)
    expect(r).toEqual(scan(fc).apply(params, none, zeros([2, 4]), ctx))
    expectLayerError(r, { layer: 'CustomLinear', argument: 'input' })
    expect(books.made).toBe(0)
  })

  it('options.read other than all, last, sum: a ConfigError when the scan is built', () => {
    const { device } = countingDevice(cpu)
    expect(() => scanOnDevice(ifNeuron(), device, { read: 'first' as never })).toThrow(ConfigError)
    expect(() => scanOnDevice(ifNeuron(), device, { read: 'first' as never })).toThrow(/options\.read/)
  })

  it('options.state other than read, reset: a ConfigError when the scan is built', () => {
    const { device } = countingDevice(cpu)
    expect(() => scanOnDevice(ifNeuron(), device, { state: 'keep' as never })).toThrow(/options\.state/)
  })

  it("scan's options: only state, 'read' or 'reset'; anything else a ConfigError when built", () => {
    expect(() => scan(ifNeuron(), { state: 'keep' as never })).toThrow(/scan: options\.state/)
    expect(() => scan(ifNeuron(), { read: 'last' } as never)).toThrow(/options\.read/)
    expect(() => scan(ifNeuron(), 'reset' as never)).toThrow(ConfigError)
    expect(() => scan(ifNeuron(), JSON.parse('{"state":"reset"}'))).not.toThrow()
  })

  // scan reads all steps; scanOnDevice their sum
  const resetRuns = [0, 4].flatMap((T) => (['scan', 'scanOnDevice'] as const).map((runner) => [T, runner] as const))
  it.each(resetRuns)("state 'reset' (T = %i, %s): the output without it, the reset state, no state read back", (T, runner) => {
    const net = sequential(customLinear({ inFeatures: 3, outFeatures: 4 }), ifNeuron(), nDropout({ p: 0.5 }))
    const xs = inputs([T, 2, 3], 9)
    const init = orThrow(net.init(key(1), [2, 3]))
    const warm = orThrow(scan(net).apply(init.params, init.state, inputs([2, 2, 3], 10), ctx)).state
    const { device, books } = countingDevice(cpu)
    const [got, want] =
      runner === 'scan'
        ? [scan(net, { state: 'reset' }).apply(init.params, warm, xs, { ...ctx, backend: device }), scan(net).apply(init.params, warm, xs, ctx)]
        : [
            scanOnDevice(net, device, { read: 'sum', state: 'reset' }).apply(init.params, warm, xs, ctx),
            scanOnDevice(net, cpu, { read: 'sum' }).apply(init.params, warm, xs, ctx),
          ]
    expect(sameBits(orThrow(got).output, orThrow(want).output)).toBe(true)
    expect(orThrow(got).state).toEqual(net.reset(warm))
    expect(books.reads).toBe(T === 0 ? 0 : 1) // the output only
    expect(books.live.size).toBe(0)
  })
})
