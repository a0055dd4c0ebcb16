/**
 * Rows for the layers: every constructor (configs with one option made bad, an unknown option, a
 * throwing getter, no object at all) and every method of the layers the descriptor table builds
 * (`outputShape`, `init`, `apply`, `reset`, and CustomLinear's `update` and `customLinearParams`).
 */
import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import type { AnyLayer, Ctx, Key, Shape, Tensor } from '../../../src/index.js'
import * as lib from '../../../src/index.js'
import { allDescriptors } from '../../descriptors/index.js'
import type { LayerDescriptor } from '../../descriptors/descriptor.js'
import type { Case, Row } from '../engine.js'
import {
  badCtxArb,
  badDeviceArb,
  badDtypeArb,
  badKeyArb,
  badShapeArb,
  badTensorArb,
  cloneOf,
  emptyLike,
  emptyTensor,
  extremeShapeArb,
  junkArb,
  keyArb,
  neutralCtx,
  neutralKey,
  neutralTensorArb,
  smallShapeArb,
  tensorOfShape,
  withSpecialValues,
  withThrowingGetter,
} from '../junk.js'
import { dtypeOfTensor, sameShape, storages, tensorProblem } from '../oracle.js'
import { opaqueValue } from '../snapshot.js'
import { sameBits } from '../../support.js'
import { deviceArb } from './basics.js'
import { args, row, wild } from './common.js'

// ---------------------------------------------------------------------------------------------
// params and state
// ---------------------------------------------------------------------------------------------

const isPlainObject = (v: unknown): v is Readonly<Record<string, unknown>> => {
  if (typeof v !== 'object' || v === null) return false
  const p = Object.getPrototypeOf(v) as unknown
  return p === Object.prototype || p === null
}

const keysOf = (v: unknown): readonly string[] => (isPlainObject(v) ? Object.keys(v).sort() : [])

/** Params and states of every kind of layer: another layer's are bad where their keys differ. */
const foreign: readonly unknown[] = [
  { weight: lib.zeros([3, 2]), mask: null, bias: null },
  { weight: lib.zeros([4]), bias: lib.zeros([4]) },
  { weight: lib.zeros([2]), bias: lib.zeros([2]), p: lib.zeros([3]) },
  { v: null },
  { mask: null },
  { sum: null },
  { runningMean: lib.zeros([3]), runningVar: lib.zeros([3]), numBatchesTracked: 0 },
]

/** A params or state record made bad: an unknown key, another layer's, no object at all, a getter that throws. */
const badRecord = (v: unknown): fc.Arbitrary<unknown> => {
  const keys = keysOf(v)
  return fc.oneof(
    fc.constant({ ...(isPlainObject(v) ? v : {}), zzz: 1 }),
    fc.constantFrom(...foreign).filter((f) => keysOf(f).join() !== keys.join()),
    junkArb.filter((j) => j !== undefined && !(isPlainObject(j) && Object.keys(j).every((k) => keys.includes(k)))),
    ...(keys.length > 0 ? [fc.constantFrom(...keys).map((k) => withThrowingGetter(v as object, k))] : []),
  )
}

/** Other forms of a record: its structured clone, and the clone without its null entries (as JSON may give it). */
const neutralRecord = (v: unknown): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.constant(null).map(() => cloneOf(v)),
    fc.constant(null).map(() => (isPlainObject(v) ? Object.fromEntries(Object.entries(cloneOf(v)).filter(([, x]) => x !== null)) : cloneOf(v))),
  )

// ---------------------------------------------------------------------------------------------
// the methods of a built layer
// ---------------------------------------------------------------------------------------------

const int = (min: number, max: number) => fc.integer({ min, max })

/**
 * A descriptor whose errors may also name the layers inside (a combinator's), or whose inputs
 * have one dtype (a loss layer takes predictions of its target's dtype, whatever dtype `init`
 * was told: init has no say in it, so the rows draw that one).
 */
type Described = LayerDescriptor & { readonly inner?: readonly string[]; readonly dtype?: 'float32' | 'float64' }

/** The training layers (convolution, shape plumbing, pooling, ReLU, timeMerged, losses as layers). */
function trainingDescriptors(): readonly Described[] {
  const labels = lib.tensor([0, 2], [2])
  return [
    {
      name: 'Conv2d 2->3 k2 p1',
      make: () => lib.conv2d({ inChannels: 2, outChannels: 3, kernelSize: 2, padding: 1 }),
      inputShape: fc.tuple(int(0, 2), int(1, 4), int(1, 4)).map(([n, h, w]) => [n, 2, h, w]),
      stateful: false,
    },
    {
      name: 'Conv2d 2->4 groups 2, strided, dilated, no bias',
      make: () => lib.conv2d({ inChannels: 2, outChannels: 4, kernelSize: [2, 1], stride: [2, 1], dilation: [1, 2], groups: 2, bias: false }),
      inputShape: fc.tuple(int(1, 2), int(2, 5), int(1, 4)).map(([n, h, w]) => [n, 2, h, w]),
      stateful: false,
    },
    { name: 'Flatten', make: () => lib.flatten(), inputShape: smallShapeArb.filter((s) => s.length >= 2), stateful: false },
    {
      name: 'Flatten 0..-2',
      make: () => lib.flatten({ startDim: 0, endDim: -2 }),
      inputShape: smallShapeArb.filter((s) => s.length >= 2),
      stateful: false,
    },
    {
      name: 'Reshape [-1, 6]',
      make: () => lib.reshapeTo({ shape: [-1, 6] }),
      inputShape: fc.oneof(int(0, 3).map((n) => [n, 2, 3]), int(0, 3).map((n) => [n, 6]), int(1, 2).map((n) => [3 * n, 2])),
      stateful: false,
    },
    {
      name: 'MeanOverTime',
      make: () => lib.meanOverTime(),
      inputShape: fc.tuple(int(1, 3), smallShapeArb.filter((s) => s.length <= 3)).map(([t, s]) => [t, ...s]),
      stateful: false,
    },
    { name: 'RepeatSteps 3', make: () => lib.repeatSteps({ steps: 3 }), inputShape: smallShapeArb, stateful: false },
    { name: 'ReLU', make: () => lib.relu(), inputShape: smallShapeArb, stateful: false },
    {
      name: 'MaxPool2d 2',
      make: () => lib.maxPool({ kernelSize: 2 }),
      inputShape: fc.tuple(int(0, 2), int(1, 2), int(2, 5), int(2, 5)),
      stateful: false,
    },
    {
      name: 'AvgPool2d 3 s2 p1',
      make: () => lib.avgPool({ kernelSize: 3, stride: 2, padding: 1 }),
      inputShape: fc.tuple(int(1, 2), int(1, 2), int(1, 5), int(1, 5)),
      stateful: false,
    },
    {
      name: 'timeMerged(Conv2d)',
      make: () => lib.timeMerged(lib.conv2d({ inChannels: 1, outChannels: 2, kernelSize: 2 })),
      // the merged call's errors are the inner layer's, as a pipeline's are
      inner: ['Conv2d'],
      inputShape: fc.tuple(int(1, 3), int(0, 2), int(2, 4), int(2, 4)).map(([t, n, h, w]) => [t, n, 1, h, w]),
      stateful: false,
    },
    {
      name: 'timeMerged(NDropout)',
      make: () => lib.timeMerged(lib.nDropout({ p: 0.5 })),
      inputShape: fc.tuple(int(1, 3), int(0, 2), int(1, 3)).map(([t, n, f]) => [t, n, f]),
      inner: ['NDropout'],
      stateful: true,
    },
    {
      name: 'timeMerged(ThresholdDependentBatchNorm2d)',
      make: () => lib.timeMerged(lib.thresholdDependentBatchNorm2d({ numFeatures: 2, alpha: 1 })),
      inner: ['ThresholdDependentBatchNorm2d'],
      // more than one value per channel in training
      inputShape: fc.tuple(int(1, 2), int(1, 2), int(2, 3), int(1, 3)).map(([t, n, h, w]) => [t, n, 2, h, w]),
      stateful: false,
    },
    {
      name: 'withTarget(CrossEntropyLoss)',
      make: () => lib.withTarget(lib.crossEntropyLoss({ labelSmoothing: 0.1 }), labels),
      inputShape: fc.constant([2, 3]),
      dtype: 'float32',
      stateful: false,
    },
    {
      name: 'withTarget(MSELoss)',
      make: () => lib.withTarget(lib.mseLoss(), lib.tensor([1, 0, 0, 1], [2, 2])),
      inputShape: fc.constant([2, 2]),
      dtype: 'float32',
      stateful: false,
    },
  ]
}

/** The descriptors of the layers the method rows run: the law table's, plus IFNode and LIFNode. */
export const descriptors: readonly Described[] = [
  ...allDescriptors,
  { name: 'IFNode', make: () => lib.ifNode(), inputShape: smallShapeArb.filter((s) => s.length > 0), stateful: true },
  {
    name: 'LIFNode SigmoidGrad',
    make: () => lib.lifNode({ tau: 3, surrogate: 'SigmoidGrad' }),
    inputShape: smallShapeArb.filter((s) => s.length > 0),
    stateful: true,
  },
  ...trainingDescriptors(),
]

const dtypeArb = fc.constantFrom<'float32' | 'float64'>('float32', 'float64')
const wildCtx = fc.oneof(
  fc.constant(null).map(() => lib.train()),
  fc.constant(null).map(() => lib.evaluate()),
  deviceArb.map((d) => lib.evaluate(d)),
  fc.tuple(keyArb, deviceArb).map(([k, d]) => lib.train(k, d)),
  // draws of a shape no input has: used (and rejected) or ignored, never a crash
  fc.tuple(keyArb, fc.oneof(extremeShapeArb, fc.constant([2 ** 40, 2 ** 40, 0]))).map(([k, s]) => ({ ...lib.train(k), draws: lib.zeros(s) })),
)

/** The output a layer promises for an input tensor (as the call received it). */
const promised = (layer: AnyLayer, input: unknown): { readonly shape: Shape; readonly dtype: 'float32' | 'float64' } | undefined => {
  try {
    const t = lib.revive(input)
    const s = layer.outputShape(t.shape) as E.Either<lib.LayerError, Shape>
    return E.isRight(s) ? { shape: s.right, dtype: dtypeOfTensor(t) } : undefined
  } catch {
    return undefined
  }
}

/** What is wrong with an `apply` answer: the output's shape and dtype, and storage shared with an argument. */
const stepProblem = (layer: AnyLayer, v: unknown, c: Case, inputAt: number): string | undefined => {
  const step = v as lib.Step<unknown>
  const want = promised(layer, c.args[inputAt])
  if (want === undefined) return 'an answer for an input the layer rejects'
  const p = tensorProblem(step.output, want.shape, want.dtype)
  if (p !== undefined) return `output: ${p}`
  const given = storages(c.args)
  return Array.from(storages(step.output)).some((b) => given.has(b)) ? 'the output shares storage with an argument' : undefined
}

/** A valid call of a descriptor's layer: params, state (fresh or after a step), input, context. */
const dtypesOf = (d: Described) => (d.dtype === undefined ? dtypeArb : fc.constant(d.dtype))

const applyArgs = (layer: AnyLayer, d: Described) =>
  fc.tuple(d.inputShape, keyArb, dtypesOf(d), fc.boolean(), keyArb, fc.boolean()).chain(([shape, k, dtype, training, k2, warm]) =>
    (d.input?.(shape) ?? tensorOfShape(shape)).map((x0): readonly unknown[] => {
      const x = lib.astype(x0, dtype)
      const init = lib.orThrow(layer.init(k, shape, dtype) as E.Either<lib.LayerError, lib.Init<unknown, unknown>>)
      const ctx = training ? lib.train(k2) : lib.evaluate(undefined, k2)
      const state = warm
        ? lib.orThrow(layer.apply(init.params, init.state, x, ctx) as E.Either<lib.LayerError, lib.Step<unknown>>).state
        : init.state
      return [init.params, state, x, ctx]
    }),
  )

const inputAlternatives = (shape: fc.Arbitrary<Shape>) => ({
  bad: badTensorArb,
  neutral: (t: unknown) => neutralTensorArb(t as Tensor),
  wild: (t: unknown) =>
    fc.oneof(
      fc.constant(emptyTensor(emptyLike((t as Tensor).shape))),
      withSpecialValues(t as Tensor),
      shape.chain((s) => tensorOfShape(s)),
      smallShapeArb.chain((s) => tensorOfShape(s, 'float64')),
    ),
})

const ctxAlternatives = { bad: badCtxArb, neutral: (c: unknown) => fc.constant(neutralCtx(c as Ctx)), wild: () => wildCtx }

/** The rows of one built layer's methods. */
const methodRows = (d: Described): readonly Row[] => {
  const layer = opaqueValue(d.make() as object) as AnyLayer
  const names = [layer.name, ...(d.inner ?? [])]
  const covers = (m: string) => [`${d.name}.${m}`]
  const stateful = d.stateful
  const shape0 = fc.sample(d.inputShape, { numRuns: 1, seed: 1 })[0]
  const fresh = lib.orThrow(layer.init(lib.key(0), shape0, 'float32') as E.Either<lib.LayerError, lib.Init<unknown, unknown>>)
  return [
    row({
      name: `${d.name}.outputShape`,
      covers: covers('outputShape'),
      kind: 'either',
      names,
      valid: args(d.inputShape),
      alternatives: [{ bad: badShapeArb, wild: () => fc.oneof(smallShapeArb, extremeShapeArb) }],
      call: ([s]) => layer.outputShape(s as Shape),
      check: (v) => (Array.isArray(v) && v.every((x) => Number.isSafeInteger(x) && x >= 0) ? undefined : 'not a shape'),
      runs: 30,
    }),
    row({
      name: `${d.name}.init`,
      covers: covers('init'),
      kind: 'either',
      names,
      valid: args(keyArb, d.inputShape, dtypesOf(d)),
      alternatives: [
        { bad: badKeyArb, neutral: (k) => fc.constant(neutralKey(k as Key)) },
        { bad: badShapeArb, wild: () => fc.oneof(smallShapeArb, extremeShapeArb) },
        { bad: badDtypeArb },
      ],
      call: ([k, s, t]) => layer.init(k as Key, s as Shape, t as lib.DType),
      check: (v, c) => {
        const init = v as lib.Init<unknown, unknown>
        const s = layer.outputShape(c.args[1] as Shape) as E.Either<lib.LayerError, Shape>
        if (E.isLeft(s) || !sameShape(init.outputShape, s.right)) return 'an outputShape other than outputShape() gives'
        if (c.tags[1] !== 'keep') return undefined
        // what init gives, apply takes
        const x = lib.zeros(c.args[1] as Shape, (c.args[2] as lib.DType | undefined) ?? 'float32')
        const r = layer.apply(init.params, init.state, x, lib.evaluate(undefined, lib.key(1))) as E.Either<lib.LayerError, unknown>
        return E.isRight(r) ? undefined : `apply rejects what init gave: ${r.left.message}`
      },
      runs: 30,
    }),
    row({
      name: `${d.name}.apply`,
      covers: covers('apply'),
      kind: 'either',
      names,
      valid: applyArgs(layer, d),
      alternatives: [
        { bad: fc.constant(null).chain(() => fc.constant(fresh.params)).chain(badRecord), neutral: neutralRecord },
        { bad: fc.constant(null).chain(() => fc.constant(fresh.state)).chain(badRecord), neutral: neutralRecord },
        inputAlternatives(d.inputShape),
        ctxAlternatives,
      ],
      call: ([p, s, x, c]) => layer.apply(p, s, x as Tensor, c as Ctx),
      check: (v, c) => stepProblem(layer, v, c, 2),
    }),
    row({
      name: `${d.name}.reset`,
      covers: covers('reset'),
      kind: 'total',
      valid: applyArgs(layer, d).map(([, s]) => [s]),
      alternatives: [{ wild: wild(junkArb) }],
      call: ([s]) => layer.reset(s),
      check: (v, c) =>
        c.tags[0] !== 'keep'
          ? undefined
          : stateful
            ? sameBits(v, fresh.state)
              ? undefined
              : 'reset did not give the initial state'
            : v === c.args[0]
              ? undefined
              : 'reset of a layer without temporal state changed its state',
      runs: 30,
    }),
  ]
}

// ---------------------------------------------------------------------------------------------
// CustomLinear's own
// ---------------------------------------------------------------------------------------------

const IN = 3
const OUT = 2
const fc3to2 = opaqueValue(lib.customLinear({ inFeatures: IN, outFeatures: OUT }) as object) as lib.CustomLinearLayer
const weightArb = (dtype: 'float32' | 'float64') => tensorOfShape([IN, OUT], dtype)

const customLinearRows: readonly Row[] = [
  row({
    name: 'CustomLinear.update',
    kind: 'either',
    names: ['CustomLinear'],
    valid: dtypeArb.chain((dtype) =>
      fc.tuple(weightArb(dtype), fc.option(tensorOfShape([IN, OUT], dtype).map((m) => lib.astype(lib.generate([IN, OUT], (i) => (m.data[i] > 0 ? 1 : 0)), dtype))), weightArb(dtype), fc.option(deviceArb, { nil: undefined })).map(
        ([weight, mask, dw, backend]) => [{ weight, mask, bias: null }, dw, backend],
      ),
    ),
    alternatives: [
      { bad: fc.oneof(badRecord({ weight: 0, mask: 0, bias: 0 }), badTensorArb.map((weight) => ({ weight }))), neutral: neutralRecord },
      { bad: fc.oneof(badTensorArb, tensorOfShape([OUT, IN]), tensorOfShape([IN])), neutral: (t) => neutralTensorArb(t as Tensor) },
      { bad: badDeviceArb },
    ],
    call: ([p, dw, b]) => fc3to2.update(p as lib.CustomLinearParams, dw as Tensor, b as lib.Device<unknown>),
    check: (v, c) => {
      // weight + dw * mask, from the original tensors, within float32 rounding
      const base = c.base[0] as lib.CustomLinearParams
      const dw = lib.toArray(c.base[1] as Tensor)
      const w = lib.toArray(base.weight)
      const m = base.mask === null ? null : lib.toArray(base.mask)
      const got = lib.toArray((v as lib.CustomLinearParams).weight)
      const bad = got.findIndex((x, i) => Math.abs(x - (w[i] + dw[i] * (m === null ? 1 : m[i]))) > 1e-5)
      return bad < 0 ? undefined : `weight ${got[bad]} at ${bad}, not ${w[bad]} + ${dw[bad]} * mask`
    },
  }),
  row({
    name: 'customLinearParams',
    kind: 'either',
    names: ['CustomLinear'],
    valid: dtypeArb.chain((dtype) => fc.tuple(weightArb(dtype), fc.option(tensorOfShape([OUT], dtype))).map(([weight, bias]) => [{ weight, bias }])),
    alternatives: [
      {
        bad: fc.oneof(
          badRecord({ weight: 0, mask: 0, bias: 0 }),
          badTensorArb.map((weight) => ({ weight })),
          tensorOfShape([IN, OUT]).map((weight) => ({ weight, mask: lib.zeros([OUT, IN]) })),
          tensorOfShape([IN]).map((weight) => ({ weight })),
        ),
        neutral: neutralRecord,
      },
    ],
    call: ([a]) => lib.customLinearParams(a as { readonly weight: Tensor }),
    check: (v, c) => {
      const p = v as lib.CustomLinearParams
      const w = (c.base[0] as { readonly weight: Tensor }).weight
      return lib.equals(p.weight, w) && (p.mask === null || lib.isContiguous(p.mask)) ? undefined : 'another weight'
    },
  }),
]

// ---------------------------------------------------------------------------------------------
// constructors
// ---------------------------------------------------------------------------------------------

/**
 * The kind of an option: what its bad values are. `size2` / `size2or0`: PyTorch's int-or-pair
 * (each at least 1 / 0); `index`: an axis in [-64, 64] (negative counts from the end); `count`:
 * an integer >= 0; `shape`: a target shape (one entry may be -1).
 */
export type Field =
  | 'int'
  | 'count'
  | 'index'
  | 'number'
  | 'positive'
  | 'nonneg'
  | 'unit'
  | 'tau'
  | 'bool'
  | 'child'
  | 'size2'
  | 'size2or0'
  | 'shape'
  | 'function'
  | 'betas'
  | readonly string[]

/** A pair whose entry [1] throws when read (inside a config: made at once, never a Late). */
const pairGetter = () => withThrowingGetter([2, 2], '1')

const badFor = (field: Field, required: boolean): fc.Arbitrary<unknown> => {
  const missing = required ? [null, undefined] : []
  if (Array.isArray(field)) return fc.constantFrom<unknown>('bogus', 5, true, ...missing)
  switch (field) {
    case 'int':
      return fc.constantFrom<unknown>(0, -1, 1.5, Number.NaN, '3', 2 ** 32 + 1, Infinity, ...missing)
    case 'count':
      return fc.constantFrom<unknown>(-1, 1.5, Number.NaN, '3', 2 ** 53, Infinity, ...missing)
    case 'index':
      return fc.constantFrom<unknown>(1.5, Number.NaN, '1', 65, -65, 2 ** 32 + 1, Infinity, ...missing)
    case 'number':
      return fc.constantFrom<unknown>(Number.NaN, Infinity, -Infinity, '1', 1e300 * 1e10, ...missing)
    case 'positive':
      return fc.constantFrom<unknown>(0, -1, Number.NaN, Infinity, '1', ...missing)
    case 'nonneg':
      return fc.constantFrom<unknown>(-1, Number.NaN, Infinity, '1', ...missing)
    case 'unit':
      return fc.constantFrom<unknown>(-0.1, 1.5, Number.NaN, '0.5', ...missing)
    case 'tau':
      return fc.constantFrom<unknown>(0.5, 0, -1, Number.NaN, '2', ...missing)
    case 'bool':
      return fc.constantFrom<unknown>('yes', 1, ...missing)
    case 'child':
      return fc.constantFrom<unknown>(5, 'maxPool2d', { op: 'bogus', kernelSize: 2 }, { op: 'maxPool2d', kernelSize: 0 }, { op: 'maxPool2d', kernelSize: 2, padding: 2 }, ...missing)
    case 'size2':
      return fc.constantFrom<unknown>(0, -1, 1.5, Number.NaN, '2', 2 ** 40, [2], [2, 2, 2], [0, 2], [2, '2'], [2, 65537], { 0: 2, 1: 2, length: 2 }, pairGetter(), ...missing)
    case 'size2or0':
      return fc.constantFrom<unknown>(-1, 1.5, Number.NaN, '0', 2 ** 40, [1], [-1, 0], [0, 0, 0], [0, null], pairGetter(), ...missing)
    case 'shape':
      return fc.constantFrom<unknown>(
        [-1, -1],
        [-2, 3],
        [1.5],
        ['3'],
        [Number.NaN],
        new Array<number>(40).fill(1),
        [2 ** 40, 2 ** 40],
        '2,3',
        new Int32Array([2, 3]),
        withThrowingGetter([2, 3], '0'),
        ...missing,
      )
    case 'function':
      return fc.constantFrom<unknown>(5, 'x', {}, true, ...missing)
    case 'betas':
      return fc.constantFrom<unknown>(
        [1, 0.9],
        [0.9, 1],
        [0.9],
        [0.9, 0.999, 0.5],
        [-0.1, 0.9],
        [0.9, Number.NaN],
        ['0.9', 0.99],
        0.9,
        'x',
        { 0: 0.9, 1: 0.99, length: 2 },
        withThrowingGetter([0.9, 0.99], '1'),
        ...missing,
      )
    default:
      return fc.constant(undefined)
  }
}

/** A constructor (a layer's, an optimizer's, a loss's, a schedule's) and the options its config has. */
export interface Constructor {
  readonly name: string
  readonly build: (config: unknown) => unknown
  readonly configs: fc.Arbitrary<Readonly<Record<string, unknown>> | undefined>
  readonly fields: Readonly<Record<string, { readonly type: Field; readonly required: boolean }>>
  /** The config may be left out. */
  readonly optional: boolean
}

const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined })
const pos = fc.double({ min: 0.1, max: 4, noNaN: true })
const num = fc.double({ min: -4, max: 4, noNaN: true })
const unit = fc.double({ min: 0, max: 1, noNaN: true })
const small = fc.integer({ min: 1, max: 6 })
const without = (o: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))
/** PyTorch's int-or-pair sizes in [min, max]. */
const size2 = (min: number, max: number): fc.Arbitrary<number | readonly [number, number]> =>
  fc.oneof(fc.integer({ min, max }), fc.tuple(fc.integer({ min, max }), fc.integer({ min, max })))

const constructors: readonly Constructor[] = [
  {
    name: 'ifNeuron',
    build: (c) => lib.ifNeuron(c as lib.IFNeuronConfig),
    configs: fc.record({ threshold: opt(pos), reset: opt(fc.constantFrom('soft', 'hard')), vReset: opt(num) }).map(without),
    fields: { threshold: { type: 'positive', required: false }, reset: { type: ['soft', 'hard'], required: false }, vReset: { type: 'number', required: false } },
    optional: true,
  },
  {
    name: 'ifNode',
    build: (c) => lib.ifNode(c as lib.IFNodeConfig),
    configs: fc.record({ threshold: opt(num), surrogate: opt(fc.constantFrom('AtanGrad', 'QGateGrad', 'SigmoidGrad', 'GateGrad')), alpha: opt(pos) }).map(without),
    fields: { threshold: { type: 'number', required: false }, surrogate: { type: ['AtanGrad'], required: false }, alpha: { type: 'positive', required: false } },
    optional: true,
  },
  {
    name: 'lifNode',
    build: (c) => lib.lifNode(c as lib.LIFNodeConfig),
    configs: fc.record({ threshold: opt(num), tau: opt(fc.double({ min: 1, max: 4, noNaN: true })), alpha: opt(pos) }).map(without),
    fields: { threshold: { type: 'number', required: false }, tau: { type: 'tau', required: false }, alpha: { type: 'positive', required: false } },
    optional: true,
  },
  {
    name: 'customLinear',
    build: (c) => lib.customLinear(c as lib.CustomLinearConfig),
    configs: fc.record({ inFeatures: small, outFeatures: small, bias: opt(fc.boolean()) }).map(without),
    fields: { inFeatures: { type: 'int', required: true }, outFeatures: { type: 'int', required: true }, bias: { type: 'bool', required: false } },
    optional: false,
  },
  {
    name: 'votingLayer',
    build: (c) => lib.votingLayer(c as lib.VotingLayerConfig),
    configs: fc.record({ voterNum: small, remainder: opt(fc.constantFrom('drop', 'error')) }).map(without),
    fields: { voterNum: { type: 'int', required: true }, remainder: { type: ['drop', 'error'], required: false } },
    optional: false,
  },
  {
    name: 'wtaLayer',
    build: (c) => lib.wtaLayer(c as lib.WTALayerConfig),
    configs: fc.record({ k: opt(small), exact: opt(fc.boolean()) }).map(without),
    fields: { k: { type: 'int', required: false }, exact: { type: 'bool', required: false } },
    optional: true,
  },
  {
    name: 'nDropout',
    build: (c) => lib.nDropout(c as lib.NDropoutConfig),
    configs: fc.record({ p: unit }),
    fields: { p: { type: 'unit', required: true } },
    optional: false,
  },
  {
    name: 'layerNorm',
    build: (c) => lib.layerNorm(c as lib.LayerNormConfig),
    configs: fc.record({ normalizedShape: small, eps: opt(unit), dataFormat: opt(fc.constantFrom('channels_last', 'channels_first')) }).map(without),
    fields: {
      normalizedShape: { type: 'int', required: true },
      eps: { type: 'nonneg', required: false },
      dataFormat: { type: ['channels_last'], required: false },
    },
    optional: false,
  },
  {
    name: 'thresholdDependentBatchNorm2d',
    build: (c) => lib.thresholdDependentBatchNorm2d(c as lib.ThresholdDependentBatchNorm2dConfig),
    configs: fc
      .record({ numFeatures: small, alpha: num, threshold: opt(num), eps: opt(pos), momentum: opt(unit), timeAware: opt(fc.boolean()) })
      .map(without),
    fields: {
      numFeatures: { type: 'int', required: true },
      alpha: { type: 'number', required: true },
      threshold: { type: 'number', required: false },
      eps: { type: 'positive', required: false },
      momentum: { type: 'unit', required: false },
      timeAware: { type: 'bool', required: false },
    },
    optional: false,
  },
  {
    name: 'tebn',
    build: (c) => lib.tebn(c as lib.TEBNConfig),
    configs: fc.record({ numFeatures: small, step: small, eps: opt(pos), momentum: opt(unit) }).map(without),
    fields: {
      numFeatures: { type: 'int', required: true },
      step: { type: 'int', required: true },
      eps: { type: 'positive', required: false },
      momentum: { type: 'unit', required: false },
    },
    optional: false,
  },
  {
    name: 'liPool',
    build: (c) => lib.liPool(c as lib.LIPoolConfig),
    configs: fc
      .record({ op: fc.constantFrom('maxPool2d', 'avgPool2d'), k: fc.integer({ min: 1, max: 3 }) })
      .map(({ op, k }) => ({ child: { op, kernelSize: k } })),
    fields: { child: { type: 'child', required: true }, allowOverlap: { type: 'bool', required: false } },
    optional: false,
  },
  {
    name: 'sMaxPool',
    build: (c) => lib.sMaxPool(c as lib.SMaxPoolConfig),
    configs: fc
      .record({ k: fc.integer({ min: 1, max: 3 }), s: fc.integer({ min: 1, max: 3 }), exact: fc.boolean() })
      .map(({ k, s, exact }) => ({ child: { op: 'maxPool2d', kernelSize: k, stride: s }, ...(exact ? { mode: 'exact' } : {}) })),
    fields: { child: { type: 'child', required: true }, mode: { type: ['braincog', 'exact'], required: false } },
    optional: false,
  },
  {
    name: 'conv2d',
    build: (c) => lib.conv2d(c as lib.Conv2dConfig),
    configs: fc
      .record({
        groups: fc.constantFrom(1, 2),
        cin: fc.integer({ min: 1, max: 2 }),
        cout: fc.integer({ min: 1, max: 2 }),
        kernelSize: size2(1, 3),
        stride: opt(size2(1, 2)),
        padding: opt(size2(0, 1)),
        dilation: opt(size2(1, 2)),
        bias: opt(fc.boolean()),
      })
      .map(({ groups, cin, cout, ...rest }) =>
        without({ inChannels: cin * groups, outChannels: cout * groups, ...rest, groups: groups === 1 ? undefined : groups }),
      ),
    fields: {
      inChannels: { type: 'int', required: true },
      outChannels: { type: 'int', required: true },
      kernelSize: { type: 'size2', required: true },
      stride: { type: 'size2', required: false },
      padding: { type: 'size2or0', required: false },
      dilation: { type: 'size2', required: false },
      groups: { type: 'int', required: false },
      bias: { type: 'bool', required: false },
    },
    optional: false,
  },
  {
    name: 'flatten',
    build: (c) => lib.flatten(c as lib.FlattenConfig),
    configs: fc.record({ startDim: opt(fc.integer({ min: -3, max: 3 })), endDim: opt(fc.integer({ min: -3, max: 3 })) }).map(without),
    fields: { startDim: { type: 'index', required: false }, endDim: { type: 'index', required: false } },
    optional: true,
  },
  {
    name: 'reshapeTo',
    build: (c) => lib.reshapeTo(c as lib.ReshapeConfig),
    configs: fc
      .tuple(fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }), fc.option(fc.nat(4), { nil: undefined }))
      .map(([shape, free]) => ({ shape: free === undefined || free >= shape.length ? shape : shape.map((d, i) => (i === free ? -1 : d)) })),
    fields: { shape: { type: 'shape', required: true } },
    optional: false,
  },
  { name: 'meanOverTime', build: (c) => lib.meanOverTime(c as never), configs: fc.constantFrom(undefined, {}), fields: {}, optional: true },
  {
    name: 'repeatSteps',
    build: (c) => lib.repeatSteps(c as lib.RepeatStepsConfig),
    configs: fc.record({ steps: small }),
    fields: { steps: { type: 'int', required: true } },
    optional: false,
  },
  { name: 'relu', build: (c) => lib.relu(c as never), configs: fc.constantFrom(undefined, {}), fields: {}, optional: true },
  ...(['maxPool', 'avgPool'] as const).map(
    (name): Constructor => ({
      name,
      build: (c) => lib[name](c as lib.PoolOptions),
      configs: fc
        .tuple(size2(1, 3), opt(size2(1, 3)), fc.boolean())
        .map(([kernelSize, stride, pad]) => {
          const half = (k: number | readonly [number, number]) => (typeof k === 'number' ? k >> 1 : ([k[0] >> 1, k[1] >> 1] as const))
          return without({ kernelSize, stride, padding: pad ? half(kernelSize) : undefined })
        }),
      fields: {
        kernelSize: { type: 'size2', required: true },
        stride: { type: 'size2', required: false },
        padding: { type: 'size2or0', required: false },
      },
      optional: false,
    }),
  ),
]

/** The BrainCog name each constructor's errors use. */
const layerNames: Readonly<Record<string, string>> = {
  ifNeuron: 'IFNeuron',
  ifNode: 'IFNode',
  lifNode: 'LIFNode',
  customLinear: 'CustomLinear',
  votingLayer: 'VotingLayer',
  wtaLayer: 'WTALayer',
  nDropout: 'NDropout',
  layerNorm: 'LayerNorm',
  thresholdDependentBatchNorm2d: 'ThresholdDependentBatchNorm2d',
  tebn: 'TEBN',
  liPool: 'LIPool',
  sMaxPool: 'SMaxPool',
  conv2d: 'Conv2d',
  flatten: 'Flatten',
  reshapeTo: 'Reshape',
  meanOverTime: 'MeanOverTime',
  repeatSteps: 'RepeatSteps',
  relu: 'ReLU',
  maxPool: 'MaxPool2d',
  avgPool: 'AvgPool2d',
}

const badConfig = (c: Constructor) => (config: unknown): fc.Arbitrary<unknown> => {
  const fields = Object.entries(c.fields)
  const base = (config ?? {}) as object
  return fc.oneof(
    ...(fields.length === 0
      ? []
      : [
          fc.constantFrom(...fields).chain(([k, f]) => badFor(f.type, f.required).map((v) => ({ ...base, [k]: v }))),
          fc.constantFrom(...fields.map(([k]) => k)).map((k) => withThrowingGetter(base, k)),
        ]),
    fc.constant({ ...base, zzz: 1 }),
    junkArb.filter((v) => !(c.optional && v === undefined) && !isPlainObject(v)),
  )
}

/** A config's structured clone; its functions (a schedule, a predicate) as they are, since they do not clone. */
const cloneConfig = (v: unknown): unknown =>
  isPlainObject(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x === 'function' ? x : cloneOf(x)])) : cloneOf(v)

/**
 * The row of a constructor: its valid configs, each made bad (one option, an unknown option, a
 * getter that throws, no object at all); `names` are those its ConfigErrors may give, `check`
 * says what it must build.
 */
export const constructorRow = (c: Constructor, names: readonly string[], check: (v: unknown) => string | undefined): Row =>
  row({
    name: c.name,
    kind: 'config',
    names,
    valid: args(c.configs),
    alternatives: [{ bad: fc.constant(null).chain(() => c.configs).chain(badConfig(c)), neutral: (v) => fc.constant(null).map(() => cloneConfig(v)) }],
    call: ([config]) => c.build(config),
    check,
    neutralMayDiffer: true,
  })

const constructorRows: readonly Row[] = constructors.map((c) =>
  constructorRow(c, [layerNames[c.name], 'poolSpec'], (v) => (lib.isLayer(v) ? undefined : 'not a layer')),
)

export const rows: readonly Row[] = [...constructorRows, ...descriptors.flatMap(methodRows), ...customLinearRows]

/** The constructors the rows build (for the coverage check). */
export const constructorNames = constructors.map((c) => c.name)
