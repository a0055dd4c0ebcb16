/**
 * The gradient laws, run over every layer of the descriptor table (and two small pipelines):
 *
 * 1. forward bits: `vjp`'s output and state are `apply`'s, bit for bit, in float32 and float64,
 *    on `cpu` and on `wasm`;
 * 2. the pullback agrees with float64 central finite differences of
 *    `L = sum(output * cot) + sum(state' * cotState)` (apply's output and new state) along a
 *    random and a coordinate direction of the input and of every params and state tensor: for
 *    smooth layers on every direction, for piecewise ones (max pools, winner selection) away from
 *    ties (detected, skipped and counted, at least 80% checked); for the neurons, whose spike is
 *    a step function, against a hand-written BPTT of BrainCog's formulas instead;
 * 3. the pullback is linear in its cotangents (output's and state's);
 * 4. BPTT through `scan` equals a chain of T one-step `vjp`s whose pullbacks pass the state
 *    cotangent backward by hand;
 * 5. nothing passed in is changed, no result aliases an argument, and the same arguments give
 *    the same bits (vjp twice, pullback twice);
 *
 * and two sets about particular kernels: max-pool backward routes a window's cotangent to its
 * first maximal cell at ties (overlapping windows accumulating), average pooling spreads
 * `cot / (kh kw)`; `customVjp` records exactly its backward inside `vjp`/`valueAndGrad` and is its
 * plain forward outside.
 *
 * `GRAD_STATS=1` prints the finite-difference counts (checked, skipped at kinks) per layer.
 */
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { afterAll, describe, expect, it } from 'vitest'
import { keyArb, spikeTrainArb, tensorArb } from '../src/arbitraries/index.js'
import type { AnyLayer, Ctx, Device, DType, Key, OnDevice, Shape, Tensor } from '../src/index.js'
import {
  astype,
  avgPool2d,
  cpu,
  customLinear,
  customLinearParams,
  customVjp,
  defineLayer,
  DeviceTensor,
  empty,
  evaluate,
  flatData,
  foldIn,
  layerNorm,
  lifNode,
  liPool,
  maxPool2d,
  nDropout,
  onDevice,
  orThrow,
  record,
  scan,
  sequential,
  sizeOf,
  sMaxPool,
  stepCtx,
  train,
  valueAndGrad,
  vjp,
  wasmBackend,
  wrap,
} from '../src/index.js'
import type { LayerDescriptor, NeuronModel } from './descriptors/descriptor.js'
import { lifCase } from './descriptors/ifNode.js'
import { allDescriptors } from './descriptors/index.js'
import {
  at,
  buffersIn,
  combine,
  coordinateDirection,
  denseDirection,
  dot,
  fdCheck,
  type FdCount,
  gridTensor,
  isTensor,
  mapTree,
  moved,
  neuronBptt,
  replaceAt,
  rng,
  type Rng,
  separatedArb,
  stepFor,
  tensorLeaves,
} from './gradSupport.js'
import { sameBits, snapshot, unchangedSince } from './support.js'

// `npm test` builds the module first (pretest); a missing module is a failure, not a skip
const wasm = wasmBackend() as Device
const devices = [
  ['cpu', cpu as Device],
  ['wasm', wasm],
] as const
const dtypes: readonly DType[] = ['float32', 'float64']

// ---------------------------------------------------------------------------------------------
// the table: every descriptor, and two pipelines with a stateful layer
// ---------------------------------------------------------------------------------------------

const lead = fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 2 })

/** Smooth: a linear map, a layer norm and a dropout that holds its mask in the state. */
const smoothPipeline: LayerDescriptor = {
  name: 'sequential(CustomLinear 3->4 bias, LayerNorm C=4, NDropout p=0.5)',
  make: () =>
    sequential(
      customLinear({ inFeatures: 3, outFeatures: 4, bias: true }),
      layerNorm({ normalizedShape: 4 }),
      nDropout({ p: 0.5 }),
    ),
  inputShape: lead.map((l) => [...l, 3]),
  stateful: true,
}

/** Spiking: a linear map into BrainCog's default LIFNode. */
const spikingPipeline: LayerDescriptor = {
  name: 'sequential(CustomLinear 3->4 bias, LIFNode)',
  make: () => sequential(customLinear({ inFeatures: 3, outFeatures: 4, bias: true }), lifNode()),
  inputShape: lead.map((l) => [...l, 3]),
  stateful: true,
}

const pipelines = [smoothPipeline, spikingPipeline]
const everything = [...allDescriptors, ...pipelines]
const kindOf = (d: LayerDescriptor) => d.gradient?.kind ?? 'smooth'

// ---------------------------------------------------------------------------------------------
// cases
// ---------------------------------------------------------------------------------------------

const inputOf = (d: LayerDescriptor, shape: Shape): fc.Arbitrary<Tensor> => (d.input ?? tensorArb)(shape)

/** A case: a shape, an input, maybe a warm-up input (a state past `init`), the mode, a key, a seed. */
interface Case {
  readonly shape: Shape
  readonly x: Tensor
  readonly warm: Tensor | null
  readonly training: boolean
  readonly k: Key
  readonly seed: number
}

const caseArb = (
  d: LayerDescriptor,
  input: (shape: Shape) => fc.Arbitrary<Tensor> = (s) => inputOf(d, s),
): fc.Arbitrary<Case> =>
  d.inputShape.chain((shape) =>
    fc.record({
      shape: fc.constant(shape),
      x: input(shape),
      warm: fc.option(input(shape), { freq: 2 }),
      training: fc.boolean(),
      k: keyArb(),
      seed: fc.integer(),
    }),
  )

const ctxFor = (training: boolean, k: Key, backend: Device): Ctx =>
  training ? train(k, backend) : evaluate(backend, k)

/** Params from `init` in `dtype`, the state after the warm-up step (in training) if any, the input and the context. */
const setup = (layer: AnyLayer, c: Case, dtype: DType, backend: Device) => {
  const init = orThrow(layer.init(foldIn(c.k, 1), c.shape, dtype))
  const state =
    c.warm === null
      ? (init.state as unknown)
      : orThrow(layer.apply(init.params, init.state, astype(c.warm, dtype), train(foldIn(c.k, 3), backend))).state
  return {
    params: init.params as unknown,
    state,
    x: astype(c.x, dtype),
    ctx: ctxFor(c.training, foldIn(c.k, 2), backend),
  }
}

/** A random tensor (grid values in [-1, 1]) for every tensor of a tree: a cotangent shaped like it. */
const cotangentLike = (next: Rng, tree: unknown): unknown =>
  mapTree(tree, (t) => gridTensor(next, t.shape, dtypeOfTensor(t)))
const dtypeOfTensor = (t: Tensor): DType => (t.data instanceof Float64Array ? 'float64' : 'float32')

/** Numbers equal as numbers (`+0 == -0`), tensors of one dtype and shape; the rest as `sameBits`. */
const sameNumbers = (a: unknown, b: unknown): boolean => {
  if (isTensor(a) && isTensor(b)) {
    if (dtypeOfTensor(a) !== dtypeOfTensor(b) || a.shape.join() !== b.shape.join()) return false
    const x = flatData(a)
    const y = flatData(b)
    return x.every((v, i) => v === y[i] || (Number.isNaN(v) && Number.isNaN(y[i])))
  }
  if (isTensor(a) || isTensor(b)) return false
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => sameNumbers(v, b[i]))
  if (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null) {
    const ka = Object.keys(a).sort()
    const kb = Object.keys(b).sort()
    return ka.join() === kb.join() && ka.every((k) => sameNumbers((a as never)[k], (b as never)[k]))
  }
  return Object.is(a, b) || a === b
}

const stack = (steps: readonly Tensor[], dtype: DType): Tensor => {
  const size = steps[0].size
  const data = dtype === 'float64' ? new Float64Array(steps.length * size) : new Float32Array(steps.length * size)
  steps.forEach((t, i) => data.set(flatData(t), i * size))
  return wrap(data, [steps.length, ...steps[0].shape]) as Tensor
}

/** Step t of a time-major tensor, as a contiguous tensor of its own. */
const stepOf = (t: Tensor, i: number): Tensor => astype(t.pick(i) as Tensor, dtypeOfTensor(t))

/** `f` of the tensors at the same places in two trees of one structure (`x`'s; other leaves kept). */
const zipTensors = (x: unknown, y: unknown, f: (a: Tensor, b: Tensor) => Tensor): unknown =>
  tensorLeaves(x).reduce((out, { path, tensor }) => replaceAt(out, path, f(tensor, at(y, path) as Tensor)), x)

const stats = new Map<string, FdCount>()
/** The largest deviation seen, as a fraction of its allowed bound, per law (printed with GRAD_STATS). */
const worst = new Map<string, number>()
const note = (law: string, ratio: number): void => {
  worst.set(law, Math.max(worst.get(law) ?? 0, ratio))
}
afterAll(() => {
  if (process.env.GRAD_STATS === undefined) return
  for (const [law, ratio] of worst) console.info(`${law}: worst deviation ${ratio.toExponential(2)} of its bound`)
  for (const [name, c] of stats) {
    const total = c.checked + c.kinks
    const rate = ((100 * c.kinks) / Math.max(total, 1)).toFixed(1)
    console.info(`${name}: ${c.checked}/${total} directional checks, ${c.kinks} skipped at kinks (${rate}%)`)
  }
})

// ---------------------------------------------------------------------------------------------
// laws over the table
// ---------------------------------------------------------------------------------------------

describe.each(everything.map((d) => [d.name, d] as const))('gradient laws: %s', (_name, d) => {
  const layer = d.make()

  const bits = "vjp's output and state are apply's, bit for bit, in float32 and float64, on %s"
  it.each(devices)(bits, (_device, backend) => {
    fc.assert(
      fc.property(caseArb(d), (c) => {
        for (const dtype of dtypes) {
          const s = setup(layer, c, dtype, backend)
          const a = orThrow(layer.apply(s.params, s.state, s.x, s.ctx))
          const v = orThrow(vjp(layer, s.params, s.state, s.x, s.ctx))
          expect(sameBits(v.output, a.output)).toBe(true)
          expect(sameBits(v.state, a.state)).toBe(true)
        }
      }),
      { numRuns: 50 },
    )
  })

  // pullback(a c1 + b c2) against a pullback(c1) + b pullback(c2), tensor by tensor. The
  // combined cotangent is exact in both dtypes (grid values times multiples of 1/8), so only the
  // rules' own rounding differs: a few roundings of the dtype's epsilon, relative to the terms
  // the cotangents are made of. Those can be far larger than a cotangent that cancels: batch
  // norm's input cotangent over two values per channel is about (1 + var / eps) times smaller than
  // its terms. So the bound is relative to the largest cotangent of the whole pullback (input,
  // params, state: max_i |a p1_i| + |b p2_i| over all of them), which carries the terms' size.
  // Seen over nine seeds: up to 4e-15 in float64, 1e-6 in float32 (float32 matmuls accumulate in float32).
  // Bounds: 1e-13 and 1e-5.
  const linearTolerance: Readonly<Record<DType, number>> = { float64: 1e-13, float32: 1e-5 }
  it.each(dtypes)('is linear in the cotangents of output and state (%s)', (dtype) => {
    const scalar = fc.integer({ min: -16, max: 16 }).map((k) => k / 8)
    fc.assert(
      fc.property(caseArb(d), scalar, scalar, (c, a, b) => {
        const s = setup(layer, c, dtype, cpu)
        const r = orThrow(vjp(layer, s.params, s.state, s.x, s.ctx))
        const next = rng(c.seed)
        const [c1, c2] = [gridTensor(next, r.output.shape, dtype), gridTensor(next, r.output.shape, dtype)]
        const [s1, s2] = [cotangentLike(next, r.state), cotangentLike(next, r.state)]
        const mixed = zipTensors(s1, s2, (x, y) => combine(a, x, b, y))
        const lhs = orThrow(r.pullback(combine(a, c1, b, c2), mixed))
        const p1 = orThrow(r.pullback(c1, s1))
        const p2 = orThrow(r.pullback(c2, s2))
        const leaves = tensorLeaves(lhs)
        expect(leaves.map((l) => l.path.join('.'))).toEqual(tensorLeaves(p1).map((l) => l.path.join('.')))
        let size = 0
        const deviations = leaves.map(({ path, tensor }) => {
          const x = flatData(tensor)
          const y1 = flatData(at(p1, path) as Tensor)
          const y2 = flatData(at(p2, path) as Tensor)
          let worst = 0
          for (let i = 0; i < x.length; i++) {
            size = Math.max(size, Math.abs(a * y1[i]) + Math.abs(b * y2[i]))
            worst = Math.max(worst, Math.abs(x[i] - (a * y1[i] + b * y2[i])))
          }
          return { path: path.join('.'), worst }
        })
        const bound = linearTolerance[dtype] * size
        for (const { path, worst } of deviations) {
          if (size > 0) note(`linearity ${dtype}`, worst / bound)
          if (!(worst <= bound)) expect({ path, worst, size }).toBe('linear')
        }
      }),
      { numRuns: 50 },
    )
  })

  it.each(dtypes)('BPTT through scan equals T one-step vjps chained by hand (%s)', (dtype) => {
    const scanned = scan(layer)
    const sequenceArb = d.inputShape.chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        xs: fc.array(inputOf(d, shape), { minLength: 1, maxLength: 4 }),
        warm: fc.option(inputOf(d, shape), { freq: 2 }),
        training: fc.boolean(),
        k: keyArb(),
        seed: fc.integer(),
      }),
    )
    fc.assert(
      fc.property(sequenceArb, (c) => {
        const s = setup(layer, { ...c, x: c.xs[0] }, dtype, cpu)
        const xs = stack(
          c.xs.map((x) => astype(x, dtype)),
          dtype,
        )
        const whole = orThrow(vjp(scanned, s.params, s.state, xs, s.ctx))
        const next = rng(c.seed)
        const cot = gridTensor(next, whole.output.shape, dtype)
        const cotFinal = cotangentLike(next, whole.state)
        const g = orThrow(whole.pullback(cot, cotFinal))

        // forward by hand: step t with stepCtx(ctx, t), the state threaded
        const steps: { readonly pullback: (typeof whole)['pullback'] }[] = []
        const outputs: Tensor[] = []
        let state = s.state
        c.xs.forEach((_, t) => {
          const r = orThrow(vjp(layer, s.params, state, stepOf(xs, t), stepCtx(s.ctx, t)))
          steps.push(r)
          outputs.push(r.output)
          state = r.state
        })
        expect(sameBits(stack(outputs, dtype), whole.output)).toBe(true)
        expect(sameBits(state, whole.state)).toBe(true)

        // backward by hand: last step first, each pullback given the next step's state cotangent
        let cotState: unknown = cotFinal
        let params: unknown
        const inputs: Tensor[] = []
        for (let t = c.xs.length - 1; t >= 0; t--) {
          const gt = orThrow(steps[t].pullback(stepOf(cot, t), cotState))
          inputs[t] = gt.input
          params = params === undefined ? gt.params : zipTensors(params, gt.params, (p, q) => combine(1, p, 1, q))
          cotState = gt.state
        }
        // the same kernel calls in the same order: params' and state's cotangents bit for bit.
        // The input's are the same numbers, but a zero's sign may differ: scan's cotangent of its
        // stacked input adds each step's to the other steps' zeros (slice's adjoint), and
        // 0 + -0 is +0 (NDropout's dropped cells, cot * 0, are -0 for a negative cot)
        expect(sameNumbers(stack(inputs, dtype), g.input)).toBe(true)
        expect(sameBits(params, g.params)).toBe(true)
        expect(sameBits(cotState, g.state)).toBe(true)
      }),
      { numRuns: 50 },
    )
  })

  it('changes nothing passed in, aliases nothing, and gives the same bits for the same arguments', () => {
    fc.assert(
      fc.property(caseArb(d), fc.constantFrom(...dtypes), fc.constantFrom(...devices), (c, dtype, [, backend]) => {
        const s = setup(layer, c, dtype, backend)
        const first = orThrow(vjp(layer, s.params, s.state, s.x, s.ctx))
        const next = rng(c.seed)
        const cot = gridTensor(next, first.output.shape, dtype)
        const cotState = cotangentLike(next, first.state)
        const given = { x: s.x, params: s.params, state: s.state, cot, cotState }
        const before = snapshot(given)
        const results = snapshot({ output: first.output, state: first.state })
        const g1 = orThrow(first.pullback(cot, cotState))
        const g2 = orThrow(first.pullback(cot, cotState))
        const second = orThrow(vjp(layer, s.params, s.state, s.x, s.ctx))
        const g3 = orThrow(second.pullback(cot, cotState))
        expect(unchangedSince(given, before)).toBe(true)
        expect(unchangedSince({ output: first.output, state: first.state }, results)).toBe(true)
        expect(sameBits(second.output, first.output)).toBe(true)
        expect(sameBits(second.state, first.state)).toBe(true)
        expect(sameBits(g2, g1)).toBe(true)
        expect(sameBits(g3, g1)).toBe(true)
        const lent = buffersIn(given)
        for (const b of buffersIn({ output: first.output, state: first.state, g1 })) expect(lent.has(b)).toBe(false)
      }),
      { numRuns: 50 },
    )
  })
})

// ---------------------------------------------------------------------------------------------
// finite differences (float64)
// ---------------------------------------------------------------------------------------------

const fdDescriptors = [...allDescriptors, smoothPipeline].filter((d) => kindOf(d) !== 'spikes')

describe.each(fdDescriptors.map((d) => [d.name, d] as const))('finite differences: %s', (name, d) => {
  const layer = d.make()
  const piecewise = kindOf(d) === 'piecewise'
  const detached = new Set(d.detachedState ?? [])

  it(
    piecewise
      ? 'the pullback agrees with central differences away from ties (at least 80% of directions checked)'
      : 'the pullback agrees with central differences on every direction',
    () => {
      const count: FdCount = { checked: 0, kinks: 0 }
      stats.set(name, count)
      // inputs distinct and well separated (piecewise layers: sometimes with one exact tie);
      // params drawn at random; the state past a warm-up step, or init's
      const arb = caseArb(d, (shape) => separatedArb(shape, piecewise))
      fc.assert(
        fc.property(arb, (c) => {
          const next = rng(c.seed)
          const s = setup(layer, c, 'float64', cpu)
          const params = mapTree(s.params, (t) => gridTensor(next, t.shape, 'float64', -2, 2))
          const vars = { input: s.x, params, state: s.state }
          const r = orThrow(vjp(layer, params, s.state, s.x, s.ctx))
          // L = sum(out * cot) + sum over the new state's tensors of sum(state' * cotState),
          // except the entries the layer detaches by design
          const cot = gridTensor(next, r.output.shape, 'float64')
          let cotState = mapTree(r.state, () => null)
          for (const { path, tensor } of tensorLeaves(r.state)) {
            if (detached.has(String(path[path.length - 1]))) continue
            cotState = replaceAt(cotState, path, gridTensor(next, tensor.shape, 'float64'))
          }
          const seeded = tensorLeaves(cotState)
          const g = orThrow(r.pullback(cot, cotState))
          const grads = { input: g.input, params: g.params, state: g.state }
          const terms = (out: Tensor, state: unknown) =>
            seeded.reduce(
              (acc, { path, tensor }) => {
                const t = dot(at(state, path) as Tensor, flatData(tensor))
                return { value: acc.value + t.value, scale: acc.scale + t.scale }
              },
              dot(out, flatData(cot)),
            )
          const loss = (v: typeof vars): number => {
            const o = orThrow(layer.apply(v.params, v.state, v.input, s.ctx))
            return terms(o.output, o.state).value
          }
          const f0 = loss(vars)
          const lossScale = terms(r.output, r.state).scale
          for (const { path, tensor } of tensorLeaves(vars)) {
            const grad = at(grads, path) as Tensor
            const h = stepFor(tensor, d.fdStep)
            for (const dir of [denseDirection(next, tensor.size), coordinateDirection(next, tensor.size)]) {
              const { value, scale } = dot(grad, dir)
              const f = (step: number) => loss(replaceAt(vars, path, moved(tensor, dir, step)) as typeof vars)
              const check = fdCheck(f, f0, h, value, scale, lossScale)
              if (check.kink) {
                count.kinks++
                continue
              }
              count.checked++
              const law = `finite differences${piecewise ? ' (piecewise)' : ''}`
              note(law, Math.abs(check.fd - check.analytic) / check.tolerance)
              if (!check.ok) expect({ path: path.join('.'), ...check }).toBe('within tolerance')
            }
          }
        }),
        { numRuns: 100 },
      )
      const total = count.checked + count.kinks
      if (piecewise) expect(count.checked / total).toBeGreaterThanOrEqual(0.8)
      else expect(count.kinks).toBe(0)
    },
  )
})

// ---------------------------------------------------------------------------------------------
// neurons: a hand-written BPTT, not finite differences
// ---------------------------------------------------------------------------------------------

/** Off the table: a non-dyadic tau and threshold, so the forward's roundings matter. */
const extraNeurons: readonly LayerDescriptor[] = [
  lifCase('LIFNode AtanGrad tau=3 threshold=0.3 alpha=3', { surrogate: 'AtanGrad', tau: 3, threshold: 0.3, alpha: 3 }),
]

/** Grid floats, or coarse multiples of 1/8 that hit the threshold and the surrogates' edges exactly. */
const neuronInput = (shape: Shape): fc.Arbitrary<Tensor> =>
  fc.oneof(
    tensorArb(shape),
    fc
      .array(fc.integer({ min: -12, max: 12 }), { minLength: sizeOf(shape), maxLength: sizeOf(shape) })
      .map((k) => wrap(Float64Array.from(k, (v) => v / 8), shape) as Tensor),
  )

// float64: the reference and the kernel compute the same formulas, at most an ulp apart per
// operation: 1e-12. float32: the kernel stores each step's cotangents in float32 (2^-24 relative
// per store, compounded over at most 6 steps), the reference keeps float64: 1e-5 relative, 1e-6 absolute.
const bpttTolerance: Readonly<Record<DType, { readonly atol: number; readonly rtol: number }>> = {
  float64: { atol: 1e-12, rtol: 1e-12 },
  float32: { atol: 1e-6, rtol: 1e-5 },
}

const close = (actual: ArrayLike<number>, expected: ArrayLike<number>, dtype: DType): boolean => {
  const { atol, rtol } = bpttTolerance[dtype]
  if (actual.length !== expected.length) return false
  let ok = true
  for (let i = 0; i < actual.length; i++) {
    const bound = atol + rtol * Math.abs(expected[i])
    const deviation = Math.abs(actual[i] - expected[i])
    note(`BPTT ${dtype}`, deviation / bound)
    if (!(deviation <= bound)) ok = false
  }
  return ok
}

const spiking = [...allDescriptors.filter((d) => kindOf(d) === 'spikes'), ...extraNeurons]

describe.each(spiking.map((d) => [d.name, d] as const))('BPTT of BrainCog formulas: %s', (_name, d) => {
  const layer = scan(d.make())
  const m = (d.gradient as { readonly neuron: NeuronModel }).neuron

  it.each(dtypes)('spikes, potential and every cotangent match a hand-written BPTT over T steps (%s)', (dtype) => {
    const arb = d.inputShape.chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        xs: fc.array(neuronInput(shape), { minLength: 1, maxLength: 6 }),
        warm: fc.option(neuronInput([1, ...shape]), { freq: 2 }),
        cotV: fc.boolean(),
        k: keyArb(),
        seed: fc.integer(),
      }),
    )
    fc.assert(
      fc.property(arb, (c) => {
        const n = sizeOf(c.shape)
        const init = orThrow(layer.init(c.k, [1, ...c.shape], dtype))
        const state =
          c.warm === null
            ? init.state
            : orThrow(layer.apply(init.params, init.state, astype(c.warm, dtype), train(c.k))).state
        const xs = stack(
          c.xs.map((x) => astype(x, dtype)),
          dtype,
        )
        const r = orThrow(vjp(layer, init.params, state, xs, train(c.k, cpu)))
        const next = rng(c.seed)
        const cot = gridTensor(next, xs.shape, dtype)
        const cotV = c.cotV ? gridTensor(next, c.shape, dtype) : null
        const g = orThrow(r.pullback(cot, { v: cotV }))
        const v0 = (state as { readonly v: Tensor | null }).v
        const flat = (t: Tensor | null) => (t === null ? null : flatData(t))
        const ref = neuronBptt(m, dtype, n, flatData(xs), flat(v0), flatData(cot), flat(cotV))
        expect(Array.from(flatData(r.output))).toEqual(Array.from(ref.spikes))
        expect(Array.from(flatData((r.state as { readonly v: Tensor }).v))).toEqual(Array.from(ref.v))
        expect(close(flatData(g.input), ref.gradInputs, dtype)).toBe(true)
        const gv0 = (g.state as { readonly v: Tensor | null }).v
        if (v0 === null) expect(gv0).toBeNull()
        else expect(close(flatData(gv0!), ref.gradV0, dtype)).toBe(true)
      }),
      { numRuns: 60 },
    )
  })
})

describe('BPTT of BrainCog formulas: sequential(CustomLinear, LIFNode AtanGrad tau=4)', () => {
  const IN = 3
  const OUT = 4
  const LIF: NeuronModel = {
    model: 'lif',
    tau: 4,
    threshold: 0.5,
    fireAt: '>',
    reset: 'hard',
    vReset: 0,
    surrogate: 'AtanGrad',
    alpha: 2,
  }
  const neuron = lifNode({ tau: 4, surrogate: 'AtanGrad' })
  const net = scan(sequential(customLinear({ inFeatures: IN, outFeatures: OUT, bias: true }), neuron))

  // grid values: x W + b is exact in float64 (products on a 2^-20 grid, sums of 4), so the
  // reference's pre-activations are the kernel's and the spikes cannot differ by a rounding
  it('input, weight and bias cotangents are the neuron BPTT composed with the linear map (float64)', () => {
    const arb = fc.record({
      rows: fc.integer({ min: 1, max: 3 }),
      T: fc.integer({ min: 1, max: 6 }),
      seed: fc.integer(),
    })
    fc.assert(
      fc.property(arb, ({ rows, T, seed }) => {
        const next = rng(seed)
        const weight = gridTensor(next, [IN, OUT], 'float64', -1, 1)
        const bias = gridTensor(next, [OUT], 'float64', -0.5, 0.5)
        const params = [orThrow(customLinearParams({ weight, bias })), empty] as const
        const state = [empty, { v: null }] as const
        const xs = gridTensor(next, [T, rows, IN], 'float64', -1, 2)
        const r = orThrow(vjp(net, params, state, xs, train(undefined, cpu)))
        const cot = gridTensor(next, [T, rows, OUT], 'float64')
        const g = orThrow(r.pullback(cot))

        const x = flatData(xs)
        const w = flatData(weight)
        const b = flatData(bias)
        const pre = new Float64Array(T * rows * OUT)
        for (let i = 0; i < T * rows; i++)
          for (let o = 0; o < OUT; o++) {
            let acc = b[o]
            for (let j = 0; j < IN; j++) acc += x[i * IN + j] * w[j * OUT + o]
            pre[i * OUT + o] = acc
          }
        const ref = neuronBptt(LIF, 'float64', rows * OUT, pre, null, flatData(cot), null)
        expect(Array.from(flatData(r.output))).toEqual(Array.from(ref.spikes))
        const gPre = ref.gradInputs
        const dx = new Float64Array(T * rows * IN)
        const dw = new Float64Array(IN * OUT)
        const db = new Float64Array(OUT)
        for (let i = 0; i < T * rows; i++)
          for (let o = 0; o < OUT; o++) {
            db[o] += gPre[i * OUT + o]
            for (let j = 0; j < IN; j++) {
              dx[i * IN + j] += gPre[i * OUT + o] * w[j * OUT + o]
              dw[j * OUT + o] += x[i * IN + j] * gPre[i * OUT + o]
            }
          }
        const gp = g.params as unknown as readonly [{ readonly weight: Tensor; readonly bias: Tensor }, unknown]
        expect(close(flatData(g.input), dx, 'float64')).toBe(true)
        expect(close(flatData(gp[0].weight), dw, 'float64')).toBe(true)
        expect(close(flatData(gp[0].bias), db, 'float64')).toBe(true)
      }),
      { numRuns: 60 },
    )
  })
})

// ---------------------------------------------------------------------------------------------
// pooling: routing at ties, spreading over windows
// ---------------------------------------------------------------------------------------------

const dim = (max: number) => fc.integer({ min: 1, max })

const squareWindow = (kernel: number, stride: number, padding: number) => ({
  kernelH: kernel,
  kernelW: kernel,
  strideH: stride,
  strideW: stride,
  padH: padding,
  padW: padding,
})

/** A window (kernel, stride, padding up to half the kernel) and an [N, C, H, W] it fits. */
const windowArb = fc
  .oneof(
    fc.constant({ kernel: 3, stride: 2, padding: 1 }),
    fc
      .record({ kernel: fc.integer({ min: 1, max: 3 }), stride: fc.integer({ min: 1, max: 3 }) })
      .chain((w) => fc.integer({ min: 0, max: Math.floor(w.kernel / 2) }).map((padding) => ({ ...w, padding }))),
  )
  .chain((w) =>
    fc
      .tuple(dim(2), dim(2), dim(6), dim(6))
      .filter(([, , h, wd]) => Math.min(h, wd) + 2 * w.padding >= w.kernel)
      .map((shape) => ({ ...w, shape: shape as Shape })),
  )

/** SMaxPool's exact gate over a k x k max window. */
const smaxExact = (k: number): AnyLayer => sMaxPool({ child: { op: 'maxPool2d', kernelSize: k }, mode: 'exact' })

/** Inputs full of ties: one constant, spikes, small integers; or grid floats. */
const tiedArb = (shape: Shape): fc.Arbitrary<Tensor> =>
  fc.oneof(
    fc.integer({ min: -2, max: 2 }).map((v) => wrap(new Float64Array(sizeOf(shape)).fill(v), shape) as Tensor),
    spikeTrainArb(shape, 0.5, 'float64'),
    fc
      .array(fc.integer({ min: 0, max: 2 }), { minLength: sizeOf(shape), maxLength: sizeOf(shape) })
      .map((v) => wrap(Float64Array.from(v), shape) as Tensor),
    tensorArb(shape, { dtype: 'float64' }),
  )

/** A window, a tied input it fits, a dtype and a seed for the cotangent. */
const poolCaseArb = windowArb.chain((w) =>
  fc.record({ w: fc.constant(w), x: tiedArb(w.shape), dtype: fc.constantFrom(...dtypes), seed: fc.integer() }),
)

/** A one-kernel layer: `pool2d` of `[N, C, H, W]` (what maxPool2d and avgPool2d run). */
const poolLayer = (mode: 'max' | 'avg', kernel: number, stride: number, padding: number): AnyLayer => {
  const window = squareWindow(kernel, stride, padding)
  const size = (s: number) => Math.floor((s + 2 * padding - kernel) / stride) + 1
  const outShape = ([n, c, h, w]: Shape): Shape => [n, c, size(h), size(w)]
  return defineLayer({
    name: `Pool(${mode})`,
    outputShape: (shape) => E.right(outShape(shape)),
    params: record({}),
    state: record({}),
    init: () => ({ params: empty, state: empty }),
    run: (d, _p, state, x) => {
      const [n, c, height, width] = x.shape
      const y = d.pool2d(x.buffer, { planes: n * c, height, width, window, mode })
      return { output: new DeviceTensor(y, outShape(x.shape)), state }
    },
  })
}

/** The cells of each output window in row-major order, clipped to the image, per plane. */
const windowsOf = (h: number, w: number, kernel: number, stride: number, padding: number): number[][] => {
  const oh = Math.floor((h + 2 * padding - kernel) / stride) + 1
  const ow = Math.floor((w + 2 * padding - kernel) / stride) + 1
  const out: number[][] = []
  for (let i = 0; i < oh; i++)
    for (let j = 0; j < ow; j++) {
      const cells: number[] = []
      for (let y = i * stride - padding; y < i * stride - padding + kernel; y++)
        for (let z = j * stride - padding; z < j * stride - padding + kernel; z++) {
          if (y >= 0 && y < h && z >= 0 && z < w) cells.push(y * w + z)
        }
      out.push(cells)
    }
  return out
}

describe('pooling gradients', () => {
  const routing = 'max pooling sends each window its cotangent to the first maximal cell (row-major), windows adding up, on %s'
  it.each(devices)(routing, (_device, backend) => {
    fc.assert(
      fc.property(
        poolCaseArb,
        ({ w, x: x64, dtype, seed }) => {
          const layer = poolLayer('max', w.kernel, w.stride, w.padding)
          const x = astype(x64, dtype)
          const ctx = evaluate(backend)
          const r = orThrow(vjp(layer, empty, empty, x, ctx))
          const op = orThrow(maxPool2d(x, { kernelSize: w.kernel, stride: w.stride, padding: w.padding }, backend))
          expect(sameBits(r.output, op)).toBe(true)
          const cot = gridTensor(rng(seed), r.output.shape, dtype)
          const g = flatData(orThrow(r.pullback(cot)).input)
          const [n, c, h, wd] = w.shape
          const windows = windowsOf(h, wd, w.kernel, w.stride, w.padding)
          const xv = flatData(x)
          const cv = flatData(cot)
          const expected = dtype === 'float64' ? new Float64Array(x.size) : new Float32Array(x.size)
          for (let p = 0; p < n * c; p++)
            windows.forEach((cells, o) => {
              let first = cells[0]
              for (const cell of cells) if (xv[p * h * wd + cell] > xv[p * h * wd + first]) first = cell
              expected[p * h * wd + first] += cv[p * windows.length + o]
            })
          expect(Array.from(g)).toEqual(Array.from(expected))
        },
      ),
      { numRuns: 100 },
    )
  })

  it('3x3 stride 2 padding 1: a spike every window holds takes all their cotangents; equal cells give each its first', () => {
    const layer = poolLayer('max', 3, 2, 1)
    const spike = wrap(Float64Array.from([0, 0, 0, 0, 1, 0, 0, 0, 0]), [1, 1, 3, 3]) as Tensor
    const cot = wrap(Float64Array.from([1, 2, 4, 8]), [1, 1, 2, 2]) as Tensor
    const g = (x: Tensor) => {
      const r = orThrow(vjp(layer, empty, empty, x, evaluate(cpu)))
      return Array.from(flatData(orThrow(r.pullback(cot)).input))
    }
    expect(g(spike)).toEqual([0, 0, 0, 0, 15, 0, 0, 0, 0])
    // all equal: window (i, j) starts at row 2i - 1, column 2j - 1, clipped to the image, so
    // its first cell is (0, 0), (0, 1), (1, 0), (1, 1): no two windows share one
    const flat = wrap(new Float64Array(9).fill(0.5), [1, 1, 3, 3]) as Tensor
    expect(g(flat)).toEqual([1, 2, 0, 4, 8, 0, 0, 0, 0])
    const flat4 = wrap(new Float64Array(16).fill(1), [1, 1, 4, 4]) as Tensor
    expect(g(flat4)).toEqual([1, 2, 0, 0, 4, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
  })

  const spreading = 'average pooling spreads cot / (kh kw) over every window, padded ones included, on %s'
  it.each(devices)(spreading, (_device, backend) => {
    fc.assert(
      fc.property(
        poolCaseArb,
        ({ w, x: x64, dtype, seed }) => {
          const layer = poolLayer('avg', w.kernel, w.stride, w.padding)
          const x = astype(x64, dtype)
          const r = orThrow(vjp(layer, empty, empty, x, evaluate(backend)))
          const op = orThrow(avgPool2d(x, { kernelSize: w.kernel, stride: w.stride, padding: w.padding }, backend))
          expect(sameBits(r.output, op)).toBe(true)
          const cot = gridTensor(rng(seed), r.output.shape, dtype)
          const g = flatData(orThrow(r.pullback(cot)).input)
          const [n, c, h, wd] = w.shape
          const windows = windowsOf(h, wd, w.kernel, w.stride, w.padding)
          const cv = flatData(cot)
          const expected = dtype === 'float64' ? new Float64Array(x.size) : new Float32Array(x.size)
          for (let p = 0; p < n * c; p++)
            windows.forEach((cells, o) => {
              const share = cv[p * windows.length + o] / (w.kernel * w.kernel)
              for (const cell of cells) expected[p * h * wd + cell] += share
            })
          expect(Array.from(g)).toEqual(Array.from(expected))
        },
      ),
      { numRuns: 100 },
    )
  })

  it('LIPool (max, spikes) and SMaxPool exact route a first step to the first maximal cell; the key gets nothing', () => {
    fc.assert(
      fc.property(
        fc.tuple(dim(2), dim(2), dim(3), dim(3)),
        fc.constantFrom(...dtypes),
        fc.integer(),
        fc.constantFrom(...devices),
        ([n, c, a, b], dtype, seed, [, backend]) => {
          const k = 2
          const shape = [n, c, k * a, k * b]
          const next = rng(seed)
          const x = wrap(Float64Array.from({ length: sizeOf(shape) }, () => (next() < 0.5 ? 1 : 0)), shape) as Tensor
          const xd = astype(x, dtype)
          const windows = windowsOf(k * a, k * b, k, k, 0)
          const size = k * a * k * b
          for (const layer of [liPool({ child: { op: 'maxPool2d', kernelSize: k } }), smaxExact(k)]) {
            const r = orThrow(vjp(layer, empty, { sum: null }, xd, train(undefined, backend)))
            const cot = gridTensor(next, r.output.shape, dtype)
            const g = orThrow(r.pullback(cot))
            const expected = new Float64Array(x.size)
            for (let p = 0; p < n * c; p++)
              windows.forEach((cells, o) => {
                let first = cells[0]
                for (const cell of cells) if (x.data[p * size + cell] > x.data[p * size + first]) first = cell
                expected[p * size + first] += flatData(cot)[p * windows.length + o]
              })
            expect(Array.from(flatData(g.input))).toEqual(Array.from(expected))
          }
        },
      ),
      { numRuns: 100 },
    )
  })

  it('maxPool2dBy passes each window the largest value among its top-key cells, and routes back to the first of them', () => {
    fc.assert(
      fc.property(
        windowArb.chain((w) =>
          fc.record({ w: fc.constant(w), key: tiedArb(w.shape), value: tiedArb(w.shape), seed: fc.integer() }),
        ),
        ({ w, key: keyT, value, seed }) => {
          const [n, c, h, wd] = w.shape
          const window = squareWindow(w.kernel, w.stride, w.padding)
          const windows = windowsOf(h, wd, w.kernel, w.stride, w.padding)
          const cot = gridTensor(rng(seed), [n * c * windows.length], 'float64')
          type KV = { readonly key: Tensor; readonly value: Tensor }
          const f = <B,>(d: Device<B>, p: OnDevice<KV, B>) => {
            const out = d.maxPool2dBy(p.key.buffer, p.value.buffer, { planes: n * c, height: h, width: wd, window })
            const weighted = d.mul(out, onDevice(d, { cot }).cot.buffer)
            return new DeviceTensor(d.sumAlongAxis(weighted, { outer: 1, axis: windows.length * n * c, inner: 1 }), [1])
          }
          const { value: total, grad } = orThrow(valueAndGrad<KV>(f, cpu)({ key: keyT, value }))
          const kv = flatData(keyT)
          const vv = flatData(value)
          const expected = new Float64Array(value.size)
          let sum = 0
          for (let p = 0; p < n * c; p++)
            windows.forEach((cells, o) => {
              let best = cells[0]
              for (const cell of cells) {
                const [kc, kb] = [kv[p * h * wd + cell], kv[p * h * wd + best]]
                if (kc > kb || (kc === kb && vv[p * h * wd + cell] > vv[p * h * wd + best])) best = cell
              }
              expected[p * h * wd + best] += cot.data[p * windows.length + o]
              sum += vv[p * h * wd + best] * cot.data[p * windows.length + o]
            })
          expect(total).toBeCloseTo(sum, 12)
          expect(Array.from(flatData(grad.value))).toEqual(Array.from(expected))
          expect(Array.from(flatData(grad.key)).every((v) => v === 0)).toBe(true)
        },
      ),
      { numRuns: 100 },
    )
  })
})

// ---------------------------------------------------------------------------------------------
// customVjp
// ---------------------------------------------------------------------------------------------

describe('customVjp', () => {
  /** `x * y` whose backward is `[alpha g, beta g]` (not its derivative), counting its calls. */
  const product = (alpha: number, beta: number) => {
    const seen = {
      forward: 0,
      backward: 0,
      devices: [] as string[],
      inputs: [] as unknown[],
      outputs: [] as unknown[],
      cots: [] as unknown[],
    }
    const f = customVjp({
      forward: (d, [x, y]) => {
        seen.forward++
        seen.devices.push(d.name)
        return [d.mul(x, y)]
      },
      backward: (d, [g], inputs, outputs) => {
        seen.backward++
        seen.devices.push(d.name)
        seen.inputs.push(inputs.map((b) => Array.from(d.read(b) as ArrayLike<number>)))
        seen.outputs.push(outputs.map((b) => Array.from(d.read(b) as ArrayLike<number>)))
        seen.cots.push(g === null ? null : Array.from(d.read(g) as ArrayLike<number>))
        return [g === null ? null : d.scale(g, { alpha }), g === null ? null : d.scale(g, { alpha: beta })]
      },
    })
    return { f, seen }
  }
  const scalar = fc.double({ min: -4, max: 4, noNaN: true })
  const anyDtype = fc.constantFrom(...dtypes)
  const anyDevice = fc.constantFrom(...devices)
  const f64 = { dtype: 'float64' } as const
  const vector = dim(8).chain((n) => fc.tuple(tensorArb([n], f64), tensorArb([n], f64), tensorArb([n], f64)))

  it('inside valueAndGrad: the chain rule around it, and exactly its backward for it, run once on the inner device', () => {
    fc.assert(
      fc.property(vector, scalar, scalar, ([x, y, c], alpha, beta) => {
        const { f, seen } = product(alpha, beta)
        const n = x.size
        // L = sum(2 * f(3 x, y) * c)
        type XY = { readonly x: Tensor; readonly y: Tensor }
        const loss = <B,>(d: Device<B>, p: OnDevice<XY, B>) => {
          const u = d.scale(p.x.buffer, { alpha: 3 })
          const [z] = f(d, [u, p.y.buffer])
          const w = d.mul(d.scale(z, { alpha: 2 }), onDevice(d, { c }).c.buffer)
          return new DeviceTensor(d.sumAlongAxis(w, { outer: 1, axis: n, inner: 1 }), [1])
        }
        const { value, grad } = orThrow(valueAndGrad<XY>(loss, cpu)({ x, y }))
        const [xs, ys, cs] = [flatData(x), flatData(y), flatData(c)]
        expect(seen.forward).toBe(1)
        expect(seen.backward).toBe(1)
        expect(seen.devices).toEqual(['cpu', 'cpu'])
        expect(seen.inputs[0]).toEqual([Array.from(xs, (v) => 3 * v), Array.from(ys)])
        expect(seen.outputs[0]).toEqual([Array.from(xs, (v, i) => 3 * v * ys[i])])
        expect(seen.cots[0]).toEqual(Array.from(cs, (v) => 2 * v))
        expect(Array.from(flatData(grad.x))).toEqual(Array.from(cs, (v) => 3 * (alpha * (2 * v))))
        expect(Array.from(flatData(grad.y))).toEqual(Array.from(cs, (v) => beta * (2 * v)))
        expect(value).toBeCloseTo(Array.from(xs).reduce((s, v, i) => s + 2 * (3 * v * ys[i]) * cs[i], 0), 9)
      }),
    )
  })

  it("inside a layer's step under vjp: its backward, both uses of one input added; outside: its forward, bit for bit", () => {
    fc.assert(
      fc.property(vector, scalar, scalar, anyDtype, anyDevice, (xyc, alpha, beta, dtype, dev) => {
        const [x64, , c64] = xyc
        const backend = dev[1]
        const { f, seen } = product(alpha, beta)
        const square = defineLayer({
          name: 'Square',
          outputShape: (shape) => E.right(shape),
          params: record({}),
          state: record({}),
          init: () => ({ params: empty, state: empty }),
          run: (d, _p, state, x) => ({ output: new DeviceTensor(f(d, [x.buffer, x.buffer])[0], x.shape), state }),
        })
        const x = astype(x64, dtype)
        const c = astype(c64, dtype)
        const plain = orThrow(square.apply(empty, empty, x, evaluate(backend)))
        expect(seen).toMatchObject({ forward: 1, backward: 0 })
        const r = orThrow(vjp(square, empty, empty, x, evaluate(backend)))
        expect(sameBits(r.output, plain.output)).toBe(true)
        const round = dtype === 'float32' ? Math.fround : (v: number) => v
        const xs = flatData(x)
        expect(Array.from(flatData(plain.output))).toEqual(Array.from(xs, (v) => round(v * v)))
        const g = orThrow(r.pullback(c))
        expect(seen).toMatchObject({ forward: 2, backward: 1 })
        expect(seen.devices.every((name) => !name.startsWith('grad('))).toBe(true)
        const expected = Array.from(flatData(c), (v) => round(round(alpha * v) + round(beta * v)))
        expect(Array.from(flatData(g.input))).toEqual(expected)
      }),
    )
  })

  it('called on a plain device, it is its forward: same bits, no backward', () => {
    fc.assert(
      fc.property(vector, scalar, fc.constantFrom(...devices), ([x, y], alpha, [, backend]) => {
        const { f, seen } = product(alpha, alpha)
        const d = backend as Device<unknown>
        const [out] = f(d, [d.upload(flatData(x)), d.upload(flatData(y))])
        const direct = d.mul(d.upload(flatData(x)), d.upload(flatData(y)))
        expect(Array.from(d.read(out) as ArrayLike<number>)).toEqual(Array.from(d.read(direct) as ArrayLike<number>))
        expect(seen).toMatchObject({ forward: 1, backward: 0 })
      }),
    )
  })
})

describe('broadcastAlongAxis', () => {
  it('differentiates: the cotangent summed along the repeated axis reaches the value repeated', () => {
    const sizes = fc.record({
      outer: fc.integer({ min: 1, max: 3 }),
      axis: fc.integer({ min: 1, max: 5 }),
      inner: fc.integer({ min: 1, max: 9 }),
    })
    fc.assert(
      fc.property(sizes, fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.constantFrom(...devices), (size, seed, [, d]) => {
        const { outer, axis, inner } = size
        const next = rng(seed)
        // values on a 1/64 grid: every sum below is exact in float32, whatever its order
        const grid = (n: number) => Float64Array.from({ length: n }, () => Math.round((next() * 2 - 1) * 64) / 64)
        const x = wrap(Float32Array.from(grid(outer * inner)), [outer * inner])
        const c = Float32Array.from(grid(outer * axis * inner))
        const f = <B,>(dev: Device<B>, p: OnDevice<{ x: Tensor }, B>) => {
          const repeated = dev.broadcastAlongAxis(p.x.buffer, { outer, axis, inner })
          const weighted = dev.mul(repeated, onDevice(dev, { c: wrap(c, [c.length]) }).c.buffer)
          return new DeviceTensor(dev.sumAlongAxis(weighted, { outer: 1, axis: c.length, inner: 1 }), [1])
        }
        const { grad } = orThrow(valueAndGrad<{ x: Tensor }>(f, d)({ x }))
        const expected = new Float32Array(outer * inner)
        for (let o = 0; o < outer; o++) {
          for (let a = 0; a < axis; a++) {
            for (let i = 0; i < inner; i++) expected[o * inner + i] += c[(o * axis + a) * inner + i]
          }
        }
        expect(Array.from(flatData(grad.x))).toEqual(Array.from(expected))
      }),
      { numRuns: 100 },
    )
  })
})
