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

/** The descriptors of the layers the method rows run: the law table's, plus IFNode and LIFNode. */
export const descriptors: readonly LayerDescriptor[] = [
  ...allDescriptors,
  { name: 'IFNode', make: () => lib.ifNode(), inputShape: smallShapeArb.filter((s) => s.length > 0), stateful: true },
  {
    name: 'LIFNode SigmoidGrad',
    make: () => lib.lifNode({ tau: 3, surrogate: 'SigmoidGrad' }),
    inputShape: smallShapeArb.filter((s) => s.length > 0),
    stateful: true,
  },
]

const dtypeArb = fc.constantFrom<'float32' | 'float64'>('float32', 'float64')
const wildCtx = fc.oneof(
  fc.constant(null).map(() => lib.train()),
  fc.constant(null).map(() => lib.evaluate()),
  deviceArb.map((d) => lib.evaluate(d)),
  fc.tuple(keyArb, deviceArb).map(([k, d]) => lib.train(k, d)),
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
const applyArgs = (layer: AnyLayer, d: LayerDescriptor) =>
  fc.tuple(d.inputShape, keyArb, dtypeArb, fc.boolean(), keyArb, fc.boolean()).chain(([shape, k, dtype, training, k2, warm]) =>
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
const methodRows = (d: LayerDescriptor): readonly Row[] => {
  const layer = opaqueValue(d.make() as object) as AnyLayer
  const names = [layer.name]
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
      valid: args(keyArb, d.inputShape, dtypeArb),
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

type Field = 'int' | 'number' | 'positive' | 'nonneg' | 'unit' | 'tau' | 'bool' | 'child' | readonly string[]

const badFor = (field: Field, required: boolean): fc.Arbitrary<unknown> => {
  const missing = required ? [null, undefined] : []
  if (Array.isArray(field)) return fc.constantFrom<unknown>('bogus', 5, true, ...missing)
  switch (field) {
    case 'int':
      return fc.constantFrom<unknown>(0, -1, 1.5, Number.NaN, '3', 2 ** 32 + 1, Infinity, ...missing)
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
    default:
      return fc.constant(undefined)
  }
}

interface Constructor {
  readonly name: string
  readonly build: (config: unknown) => unknown
  readonly configs: fc.Arbitrary<Readonly<Record<string, unknown>>>
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
}

const badConfig = (c: Constructor) => (config: unknown): fc.Arbitrary<unknown> => {
  const fields = Object.entries(c.fields)
  return fc.oneof(
    fc.constantFrom(...fields).chain(([k, f]) => badFor(f.type, f.required).map((v) => ({ ...(config as object), [k]: v }))),
    fc.constant({ ...(config as object), zzz: 1 }),
    fc.constantFrom(...fields.map(([k]) => k)).map((k) => withThrowingGetter(config as object, k)),
    junkArb.filter((v) => !(c.optional && v === undefined) && !isPlainObject(v)),
  )
}

const constructorRows: readonly Row[] = constructors.map((c) =>
  row({
    name: c.name,
    kind: 'config',
    names: [layerNames[c.name], 'poolSpec'],
    valid: args(c.configs),
    alternatives: [{ bad: fc.constant(null).chain(() => c.configs).chain(badConfig(c)), neutral: (v) => fc.constant(cloneOf(v)) }],
    call: ([config]) => c.build(config),
    check: (v) => (lib.isLayer(v) ? undefined : 'not a layer'),
    neutralMayDiffer: true,
  }),
)

export const rows: readonly Row[] = [...constructorRows, ...descriptors.flatMap(methodRows), ...customLinearRows]

/** The constructors the rows build (for the coverage check). */
export const constructorNames = constructors.map((c) => c.name)
