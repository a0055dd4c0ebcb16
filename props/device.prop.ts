/**
 * Device scans against `scan`, over every layer in the descriptor table and over pipelines of
 * lowered layers (some mixed with host-only ones): `scanOnDevice(layer, cpu)` gives
 * `scan(layer)`'s bits exactly (outputs and final state: dtype, shape, values), in training and
 * eval, in float32 and float64, on strided inputs and from warmed-up states; `read: 'last'` is
 * the last step's output and `read: 'sum'` the step-order `axpy` sum of the outputs.
 */
import fc from 'fast-check'
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import { keyArb, spikeTrainArb, stridedViewArb, tensorArb } from '../src/arbitraries/index.js'
import type { AnyLayer, Ctx, Data, Device, DType, Key, Shape, Tensor } from '../src/index.js'
import {
  alloc,
  bestBackend,
  wasmBackend,
  astype,
  cpu,
  customLinear,
  dtypeOf,
  flatData,
  foldIn,
  ifNeuron,
  layerNorm,
  liPool,
  nDropout,
  orThrow,
  scan,
  scanOnDevice,
  sequential,
  sizeOf,
  sMaxPool,
  tebn,
  tensor,
  thresholdDependentBatchNorm2d,
  train,
  uniform,
  votingLayer,
  withTraining,
  wrap,
  wtaLayer,
} from '../src/index.js'
import type { LayerDescriptor } from './descriptors/descriptor.js'
import { allDescriptors } from './descriptors/index.js'
import { mapTensors, sameBits } from './support.js'

// ---------------------------------------------------------------------------------------------
// pipelines of lowered layers (and some host-only ones among them)
// ---------------------------------------------------------------------------------------------

const dim = (min: number, max: number) => fc.integer({ min, max })
/** `[N, C, H, W]` with the given ranges. */
const nchw = (n: fc.Arbitrary<number>, c: fc.Arbitrary<number>, h: fc.Arbitrary<number>, w: fc.Arbitrary<number>) =>
  fc.tuple(n, c, h, w).map((s): Shape => s)

const pipelines: readonly LayerDescriptor[] = [
  {
    name: 'pipeline CustomLinear 3->4 bias, IFNeuron, VotingLayer 2',
    make: () =>
      sequential(
        customLinear({ inFeatures: 3, outFeatures: 4, bias: true }),
        ifNeuron({ threshold: 0.5 }),
        votingLayer({ voterNum: 2 }),
      ),
    inputShape: fc.array(dim(1, 3), { maxLength: 2 }).map((lead) => [...lead, 3]),
    stateful: true,
  },
  {
    name: 'pipeline tdBN, IFNeuron, LIPool max 2x2',
    make: () =>
      sequential(
        thresholdDependentBatchNorm2d({ numFeatures: 2, alpha: 1 }),
        ifNeuron({ threshold: 0.3 }),
        liPool({ child: { op: 'maxPool2d', kernelSize: 2 } }),
      ),
    inputShape: nchw(dim(2, 3), fc.constant(2), dim(1, 2).map((h) => 2 * h), dim(1, 2).map((w) => 2 * w)),
    stateful: true,
  },
  {
    name: 'pipeline NDropout, SMaxPool braincog k3 s2 p1, IFNeuron',
    make: () =>
      sequential(
        nDropout({ p: 0.3 }),
        sMaxPool({ child: { op: 'maxPool2d', kernelSize: 3, stride: 2, padding: 1 } }),
        ifNeuron({ reset: 'hard', vReset: 0.25 }),
      ),
    inputShape: nchw(dim(1, 2), dim(1, 2), dim(1, 5), dim(1, 5)),
    input: (s) => spikeTrainArb(s, 0.4),
    stateful: true,
  },
  {
    name: 'pipeline TEBN step 2, IFNeuron, SMaxPool exact 2x2',
    make: () =>
      sequential(
        tebn({ numFeatures: 2, step: 2 }),
        ifNeuron(),
        sMaxPool({ child: { op: 'maxPool2d', kernelSize: 2 }, mode: 'exact' }),
      ),
    inputShape: nchw(dim(1, 2).map((b) => 2 * b), fc.constant(2), dim(2, 4), dim(2, 4)),
    stateful: true,
  },
  {
    name: 'pipeline CustomLinear, WTALayer k=2 (host), IFNeuron',
    make: () => sequential(customLinear({ inFeatures: 3, outFeatures: 4 }), wtaLayer({ k: 2 }), ifNeuron()),
    inputShape: dim(1, 3).map((n) => [n, 3]),
    stateful: true,
  },
  {
    name: 'pipeline LIPool allowOverlap 3x3/2 p1 (host), NDropout, SMaxPool avg k2 s1',
    make: () =>
      sequential(
        liPool({ child: { op: 'maxPool2d', kernelSize: 3, stride: 2, padding: 1 }, allowOverlap: true }),
        nDropout({ p: 0.5 }),
        sMaxPool({ child: { op: 'avgPool2d', kernelSize: 2, stride: 1 } }),
      ),
    inputShape: nchw(dim(1, 2), dim(1, 2), dim(2, 3).map((h) => 2 * h), dim(2, 3).map((w) => 2 * w)),
    stateful: true,
  },
  {
    name: 'pipeline LayerNorm (host), IFNeuron',
    make: () => sequential(layerNorm({ normalizedShape: 4 }), ifNeuron()),
    inputShape: fc.array(dim(1, 3), { maxLength: 2 }).map((lead) => [...lead, 4]),
    stateful: true,
  },
]

// ---------------------------------------------------------------------------------------------
// cases
// ---------------------------------------------------------------------------------------------

/** The reference kernels, and where they load the WebAssembly ones: copying, and resident (the default device). */
const backends: readonly Device<unknown>[] = [
  cpu as Device<unknown>,
  ...(wasmBackend() === undefined ? [] : [wasmBackend() as Device<unknown>]),
  ...(bestBackend() === cpu ? [] : [bestBackend()]),
]

interface Case {
  readonly shape: Shape
  /** The scan's input `[T, ...shape]`, maybe a strided view. */
  readonly xs: Tensor
  /** Steps run on the host first (training), so that scans also start from held state. */
  readonly warm: readonly Tensor[]
  readonly key: Key
  readonly dtype: DType
  readonly training: boolean
  /** The kernels of the context and of the host device alike. */
  readonly backend: Device<unknown>
  /** Replace the params' values by draws (init's are often constants: ones, zeros). */
  readonly noisyParams: boolean
}

const stack = (steps: readonly Tensor[], shape: Shape, dtype: DType): Tensor => {
  const size = sizeOf(shape)
  const data = alloc(steps.length * size, dtype)
  steps.forEach((t, i) => data.set(flatData(astype(t, dtype)), i * size))
  return wrap(data, [steps.length, ...shape])
}

const caseArb = (d: LayerDescriptor): fc.Arbitrary<Case> => {
  const inputOf = d.input ?? ((s: Shape) => tensorArb(s))
  return d.inputShape
    .chain((shape) =>
      fc.record({
        shape: fc.constant(shape),
        steps: fc.array(inputOf(shape), { minLength: 0, maxLength: 4 }),
        warm: fc.array(inputOf(shape), { maxLength: 2 }),
        key: keyArb(),
        dtype: fc.constantFrom<DType>('float32', 'float64'),
        training: fc.boolean(),
        backend: fc.constantFrom(...backends),
        noisyParams: fc.boolean(),
        strided: fc.boolean(),
      }),
    )
    .chain((c) => {
      const xs = stack(c.steps, c.shape, c.dtype)
      return (c.strided ? stridedViewArb(xs) : fc.constant(xs)).map((view) => ({
        shape: c.shape,
        xs: view,
        warm: c.warm.map((t) => astype(t, c.dtype)),
        key: c.key,
        dtype: c.dtype,
        training: c.training,
        backend: c.backend,
        noisyParams: c.noisyParams,
      }))
    })
}

/** Params and a starting state: `init`, then the warm-up steps on the host. */
const start = (layer: AnyLayer, c: Case): { readonly params: unknown; readonly state: unknown } => {
  const init = orThrow(layer.init(foldIn(c.key, 1), c.shape, c.dtype))
  let n = 0
  // every value drawn in [-2, 2) on a grid of 2^-10 (exact in float32)
  const noisy = (t: Tensor): Tensor => {
    const u = uniform(foldIn(foldIn(c.key, 4), n++), t.size, 'float64')
    return tensor(Array.from(u, (v) => Math.floor((4 * v - 2) * 1024) / 1024), t.shape, dtypeOf(t))
  }
  const params = c.noisyParams ? mapTensors(init.params, noisy) : init.params
  const state = init.state
  let s: unknown = state
  c.warm.forEach((x, t) => {
    const r = layer.apply(params, s, x, train(foldIn(foldIn(c.key, 3), t), c.backend))
    if (E.isRight(r)) s = r.right.state
  })
  return { params, state: s }
}

const ctxOf = (c: Case): Ctx => withTraining(c.training)(train(foldIn(c.key, 2), c.backend))

/** The last step's output of a scan's `[T, ...]` output (zeros of the input's dtype for T = 0). */
const lastOf = (all: Tensor, stepShape: Shape, dtype: DType): Tensor => {
  const T = all.shape[0]
  return T === 0 ? wrap(alloc(sizeOf(stepShape), dtype), stepShape) : (all.pick(T - 1) as Tensor)
}

/** The step-order sum `((o0 + o1) + o2) + ...` with the backend's `axpy`, in the outputs' dtype. */
const sumOf = (all: Tensor, stepShape: Shape, dtype: DType): Tensor => {
  const T = all.shape[0]
  if (T === 0) return wrap(alloc(sizeOf(stepShape), dtype), stepShape)
  let acc: Data = flatData(all.pick(0) as Tensor).slice()
  for (let t = 1; t < T; t++) {
    acc = cpu.axpy(acc, flatData(all.pick(t) as Tensor), { alpha: 1 })
  }
  return wrap(acc, stepShape)
}

/** Runs both scans on a case and checks the device one against `scan` for `read`. */
const check = (layer: AnyLayer, c: Case, read: 'all' | 'last' | 'sum'): void => {
  const { params, state } = start(layer, c)
  const ctx = ctxOf(c)
  const want = scan(layer).apply(params, state, c.xs, ctx)
  const got = scanOnDevice(layer, c.backend, { read }).apply(params, state, c.xs, ctx)
  if (E.isLeft(want)) {
    expect(got).toEqual(want)
    return
  }
  expect(E.isRight(got), E.isLeft(got) ? got.left.message : '').toBe(true)
  if (E.isLeft(got)) return
  const stepShape = want.right.output.shape.slice(1)
  const expected =
    read === 'all'
      ? want.right.output
      : read === 'last'
        ? lastOf(want.right.output, stepShape, c.dtype)
        : sumOf(want.right.output, stepShape, c.dtype)
  expect(sameBits(got.right.output, expected)).toBe(true)
  expect(sameBits(got.right.state, want.right.state)).toBe(true)
}

describe.each([...allDescriptors, ...pipelines].map((d) => [d.name, d] as const))('device scan: %s', (_name, d) => {
  const layer = d.make()

  it("read 'all' gives scan's outputs and final state, bit for bit", () => {
    fc.assert(fc.property(caseArb(d), (c) => check(layer, c, 'all')))
  })

  it("read 'last' gives the last step's output of scan", () => {
    fc.assert(fc.property(caseArb(d), (c) => check(layer, c, 'last')))
  })

  it("read 'sum' gives the step-order sum of scan's outputs", () => {
    fc.assert(fc.property(caseArb(d), (c) => check(layer, c, 'sum')))
  })
})
