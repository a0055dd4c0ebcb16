/**
 * Rows for what composes layers (sequential, scan, scanOnDevice, defineLayer, expectLayer), the
 * ops, the encoder, the gradients, the arbitraries and the backends.
 */
import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import type { AnyLayer, Ctx, Key, Shape, Tensor } from '../../../src/index.js'
import * as lib from '../../../src/index.js'
import * as arb from '../../../src/arbitraries/index.js'
import type { Case, Row } from '../engine.js'
import {
  badCtxArb,
  badDeviceArb,
  badKeyArb,
  badShapeArb,
  badTensorArb,
  brokenTensorArb,
  cloneOf,
  emptyLike,
  emptyTensor,
  extremeShapeArb,
  junkArb,
  keyArb,
  neutralCtx,
  neutralKey,
  neutralTensorArb,
  numberArb,
  smallShapeArb,
  tensorOfShape,
  withSpecialValues,
  Late,
  throwers,
  withThrowingGetter,
} from '../junk.js'
import { dtypeOfTensor, elementsOf, sameShape, tensorProblem } from '../oracle.js'
import { opaqueValue } from '../snapshot.js'
import { deviceArb } from './basics.js'
import { args, nameArg, row, wild } from './common.js'

const dtypeArb = fc.constantFrom<'float32' | 'float64'>('float32', 'float64')
const layer = <L extends object>(l: L): L => opaqueValue(l)
const notLayer = junkArb.filter((v) => !lib.isLayer(v))
/** Not layers, without values that throw when read (vjp's own row for those is below). */
const plainNotLayer = notLayer.filter((v) => !(v instanceof Late) && !(typeof v === 'object' && v !== null && throwers.has(v)))
const right = <A>(e: E.Either<lib.LayerError, A>): A => lib.orThrow(e)

/** A hand-written layer (no step): the identity, by the contract. */
const hand: AnyLayer = layer({
  name: 'Hand',
  outputShape: (s: Shape) => E.right(s),
  init: (_k: Key, s: Shape) => E.right({ params: {}, state: {}, outputShape: s }),
  apply: (_p: unknown, s: unknown, x: Tensor) => E.right({ output: lib.copy(x), state: s }),
  reset: (s: unknown) => s,
})

/** A hand-written layer that answers junk: every call through a pipeline must be a LayerError. */
const broken = layer({
  name: 'Broken',
  outputShape: () => 5,
  init: () => 'x',
  apply: () => ({ _tag: 'Right', right: { output: [1, 2] } }),
  reset: () => undefined,
}) as unknown as AnyLayer

const pool = (): readonly AnyLayer[] =>
  [lib.ifNeuron(), lib.customLinear({ inFeatures: 3, outFeatures: 3 }), lib.votingLayer({ voterNum: 1 }), lib.nDropout({ p: 0.5 }), lib.layerNorm({ normalizedShape: 3 }), hand].map(layer)
const layers = pool()
const layerArb = fc.constantFrom(...layers)

// ---------------------------------------------------------------------------------------------
// the methods of a composed layer
// ---------------------------------------------------------------------------------------------

/** Params or state of a composed layer made bad: one entry short, junk, an entry of another layer. */
const badEntries = (v: unknown): fc.Arbitrary<unknown> =>
  Array.isArray(v)
    ? fc.oneof(
        fc.constant(v.slice(0, -1)),
        fc.constant([...v, {}]),
        // the last entry: a library layer's, which checks its own (a hand-written one may not)
        fc.constant(v.map((e, i) => (i === v.length - 1 ? { zzz: 1, ...(e as object) } : e))),
        junkArb.filter((j) => !Array.isArray(j)),
        fc.constant(null).map(() => withThrowingGetter(v, '0')),
      )
    : fc.oneof(fc.constant({ ...(v as object), zzz: 1 }), fc.constantFrom<unknown>(5, 'x', [1], null))

interface Composed {
  readonly name: string
  readonly layer: AnyLayer
  /** Names its errors may give: its own and its layers'. */
  readonly names: readonly string[]
  readonly shape: fc.Arbitrary<Shape>
  /** Its valid calls fail anyway (a broken hand-written layer inside). */
  readonly broken?: boolean
  /** Its params and state are a hand-written layer's, which takes any: other ones are wild, not bad. */
  readonly anyRecords?: boolean
}

const timeMajor = (step: fc.Arbitrary<Shape>) => fc.tuple(fc.integer({ min: 0, max: 3 }), step).map(([t, s]) => [t, ...s])
const rows3 = fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 0, maxLength: 2 }).map((lead) => [...lead, 3])
const anyShape = smallShapeArb.filter((s) => s.length > 0 && s.every((d) => d > 0))

const composed: readonly Composed[] = (() => {
  const fc34 = lib.customLinear({ inFeatures: 3, outFeatures: 4 })
  const p1 = layer(lib.sequential(fc34, lib.ifNeuron(), lib.votingLayer({ voterNum: 2 })))
  const inner = ['CustomLinear', 'IFNeuron', 'VotingLayer']
  const p2 = layer(lib.sequential(hand, lib.nDropout({ p: 0.5 }), lib.ifNeuron()))
  const p3 = layer(lib.sequential(lib.ifNeuron(), broken))
  const s1 = layer(lib.scan(lib.ifNeuron()))
  const s2 = layer(lib.scan(p1))
  const d1 = layer(lib.scanOnDevice(p1, lib.cpu, { read: 'sum' }))
  const d2 = layer(lib.scanOnDevice(lib.nDropout({ p: 0.3 }), lib.cpu, { read: 'last', state: 'reset' }))
  const t1 = layer(lib.timeMerged(hand))
  const t2 = layer(lib.timeMerged(broken))
  const t3 = layer(lib.timeMerged(lib.sequential(fc34, lib.relu())))
  const merged = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 2 }), rows3).map(([t, n, s]) => [t, n, ...s])
  return [
    { name: 'sequential(CustomLinear, IFNeuron, VotingLayer)', layer: p1, names: [p1.name, ...inner], shape: rows3 },
    { name: 'sequential(Hand, NDropout, IFNeuron)', layer: p2, names: [p2.name, 'Hand', 'NDropout', 'IFNeuron'], shape: anyShape },
    { name: 'sequential(IFNeuron, Broken)', layer: p3, names: [p3.name, 'IFNeuron', 'Broken'], shape: anyShape, broken: true },
    { name: 'scan(IFNeuron)', layer: s1, names: [s1.name, 'IFNeuron'], shape: timeMajor(anyShape) },
    { name: 'scan(sequential(...))', layer: s2, names: [s2.name, p1.name, ...inner], shape: timeMajor(rows3) },
    { name: "scanOnDevice(sequential(...), cpu, 'sum')", layer: d1, names: [d1.name, p1.name, ...inner], shape: timeMajor(rows3) },
    { name: "scanOnDevice(NDropout, cpu, 'last', reset)", layer: d2, names: [d2.name, 'NDropout'], shape: timeMajor(anyShape) },
    { name: 'timeMerged(Hand)', layer: t1, names: [t1.name, 'Hand'], anyRecords: true, shape: fc.tuple(fc.integer({ min: 1, max: 3 }), anyShape).map(([t, s]) => [t, ...s]) },
    { name: 'timeMerged(Broken)', layer: t2, names: [t2.name, 'Broken'], shape: anyShape.filter((s) => s.length >= 2), broken: true },
    { name: 'timeMerged(sequential(CustomLinear, ReLU))', layer: t3, names: [t3.name, 'CustomLinear', 'ReLU', ...[lib.sequential(fc34, lib.relu()).name]], shape: merged },
  ]
})()

const wildCtx = fc.oneof(
  fc.constant(null).map(() => lib.train()),
  deviceArb.map((d) => lib.evaluate(d)),
)

const composedRows = (p: Composed): readonly Row[] => {
  const base = p.shape.chain((shape) =>
    fc.tuple(keyArb, dtypeArb, fc.boolean(), keyArb, tensorOfShape(shape)).map(([k, dtype, training, k2, x]) => {
      const init = p.broken
        ? { params: [{}, {}], state: [{ v: null }, {}] }
        : right(p.layer.init(k, shape, dtype) as E.Either<lib.LayerError, lib.Init<unknown, unknown>>)
      return { shape, k, dtype, init, x: lib.astype(x, dtype), ctx: training ? lib.train(k2) : lib.evaluate(undefined, k2) }
    }),
  )
  return [
    row({
      name: `${p.name}.outputShape`,
      kind: 'either',
      names: p.names,
      valid: args(p.shape),
      alternatives: [{ bad: badShapeArb, wild: () => fc.oneof(smallShapeArb, extremeShapeArb) }],
      call: ([s]) => p.layer.outputShape(s as Shape),
      validMayFail: p.broken,
      runs: 30,
    }),
    row({
      name: `${p.name}.init`,
      kind: 'either',
      names: p.names,
      valid: args(keyArb, p.shape, dtypeArb),
      alternatives: [{ bad: badKeyArb, neutral: (k) => fc.constant(neutralKey(k as Key)) }, { bad: badShapeArb, wild: () => extremeShapeArb }, {}],
      call: ([k, s, d]) => p.layer.init(k as Key, s as Shape, d as lib.DType),
      validMayFail: p.broken,
      runs: 30,
    }),
    row({
      name: `${p.name}.apply`,
      kind: 'either',
      names: p.names,
      valid: base.map((b) => [b.init.params, b.init.state, b.x, b.ctx]),
      alternatives: [
        ...[0, 1].map((i) => {
          const other = fc.constant(null).chain(() => base).chain((b) => badEntries(i === 0 ? b.init.params : b.init.state))
          return { ...(p.anyRecords ? { wild: () => other } : { bad: other }), neutral: (v: unknown) => fc.constant(cloneOf(v)) }
        }),
        {
          bad: badTensorArb,
          neutral: (t) => neutralTensorArb(t as Tensor),
          wild: (t) => fc.oneof(fc.constant(emptyTensor(emptyLike((t as Tensor).shape))), smallShapeArb.chain((s) => tensorOfShape(s))),
        },
        { bad: badCtxArb, neutral: (c) => fc.constant(neutralCtx(c as Ctx)), wild: () => wildCtx },
      ],
      call: ([pa, s, x, c]) => p.layer.apply(pa, s, x as Tensor, c as Ctx),
      check: (v, c) => {
        const out = (v as lib.Step<unknown>).output
        const t = lib.revive(c.args[2])
        const want = p.layer.outputShape(t.shape) as E.Either<lib.LayerError, Shape>
        return E.isLeft(want) ? 'an answer for an input the layer rejects' : tensorProblem(out, want.right, dtypeOfTensor(t))
      },
      validMayFail: p.broken,
    }),
    row({
      name: `${p.name}.reset`,
      kind: 'total',
      valid: base.map((b) => [b.init.state]),
      alternatives: [{ wild: wild(junkArb) }],
      call: ([s]) => p.layer.reset(s),
      runs: 30,
    }),
  ]
}

// ---------------------------------------------------------------------------------------------
// building composed layers
// ---------------------------------------------------------------------------------------------

const badLayerList = fc.oneof(
  fc.constant([]),
  fc.tuple(fc.array(layerArb, { maxLength: 2 }), notLayer).map(([ls, j]) => [...ls, j]),
  fc.constant([{ ...lib.ifNeuron(), step: 5 }]),
  fc.constant([{ ...lib.ifNeuron(), apply: undefined }]),
  fc.constant(null).map(() => [withThrowingGetter({ ...lib.ifNeuron() }, 'outputShape')]),
)

/** A spec of a dense layer `y = x @ w` over `[N, 2]` (defineLayer's example). */
const denseSpec = {
  name: 'Dense',
  outputShape: (s: Shape) => E.map(() => [s[0], 3])(lib.expectAxisSize('Dense', 'input', s, -1, 2)),
  params: lib.record({ w: lib.tensorOf([2, 3]) }),
  state: lib.record({}),
  init: (_key: Key, _shape: Shape, dtype: lib.DType) => ({ params: { w: lib.zeros([2, 3], dtype) }, state: lib.empty }),
  run: <B>(d: lib.Device<B>, p: { readonly w: lib.DeviceTensor<B> }, s: unknown, x: lib.DeviceTensor<B>) => ({
    output: new lib.DeviceTensor(d.matmul(x.buffer, p.w.buffer, null, { m: x.shape[0], k: 2, n: 3 }), [x.shape[0], 3]),
    state: s,
  }),
}
const dense = layer(lib.defineLayer(denseSpec as unknown as lib.LayerSpec<{ readonly w: Tensor }, lib.NoState>))
/** A spec whose members answer junk: its layer's calls must all be LayerErrors. */
const junkSpec = layer(
  lib.defineLayer({
    name: 'JunkSpec',
    outputShape: () => 'x',
    params: lib.record({}),
    state: lib.record({}),
    init: () => 5,
    run: () => 7,
  } as unknown as lib.LayerSpec<lib.NoParams, lib.NoState>),
)

const buildRows: readonly Row[] = [
  row({
    name: 'sequential',
    kind: 'config',
    valid: args(fc.array(layerArb, { minLength: 1, maxLength: 3 })),
    alternatives: [{ bad: badLayerList }],
    call: ([ls]) => lib.sequential(...(ls as AnyLayer[])),
    check: (v) => (lib.isLayer(v) ? undefined : 'not a layer'),
  }),
  row({
    name: 'scan',
    kind: 'config',
    valid: args(layerArb, fc.record({ state: fc.constantFrom('read', 'reset') }, { requiredKeys: [] })),
    alternatives: [
      { bad: fc.oneof(notLayer, badLayerList.map((l) => (l as unknown[])[0])).filter((v) => !lib.isLayer(v)) },
      {
        bad: fc.oneof(
          fc.constantFrom<unknown>({ read: 'last' }, { state: 'keep' }, null, 5, 'reset', [{ state: 'reset' }]),
          fc.constant(null).map(() => withThrowingGetter({}, 'state')),
        ),
      },
    ],
    call: ([l, o]) => lib.scan(l as AnyLayer, o as { readonly state?: 'read' | 'reset' }),
    check: (v) => (lib.isLayer(v) ? undefined : 'not a layer'),
  }),
  row({
    name: 'scanOnDevice',
    kind: 'config',
    valid: args(layerArb, deviceArb, fc.record({ read: fc.constantFrom('all', 'last', 'sum'), state: fc.constantFrom('read', 'reset') }, { requiredKeys: [] })),
    alternatives: [
      { bad: notLayer },
      { bad: badDeviceArb },
      {
        bad: fc.oneof(
          fc.constantFrom<unknown>({ read: 'first' }, { state: 'keep' }, null, 5, 'all'),
          fc.constant(null).map(() => withThrowingGetter({}, 'read')),
        ),
      },
    ],
    call: ([l, d, o]) => lib.scanOnDevice(l as AnyLayer, d as lib.Device<unknown>, o as lib.ScanOptions),
    check: (v) => (lib.isLayer(v) ? undefined : 'not a layer'),
  }),
  row({
    name: 'defineLayer',
    kind: 'config',
    valid: args(fc.constant(denseSpec)),
    alternatives: [
      {
        bad: fc.oneof(
          junkArb.filter((v) => !(typeof v === 'object' && v !== null && 'run' in v)),
          fc.constantFrom('name', 'outputShape', 'params', 'state', 'init', 'run').map((k) => ({ ...denseSpec, [k]: 5 })),
          fc.constant({ ...denseSpec, check: 'x' }),
          fc.constantFrom(1, 'yes', null).map((v) => ({ ...denseSpec, perSample: v })),
          fc.constant(null).map(() => withThrowingGetter(denseSpec, 'run')),
        ),
      },
    ],
    call: ([s]) => lib.defineLayer(s as lib.LayerSpec<unknown, unknown>),
    check: (v) => (lib.isLayer(v) ? undefined : 'not a layer'),
  }),
  row({
    name: 'expectLayer',
    kind: 'config',
    names: (c) => [nameArg(c.args[0])],
    valid: args(fc.constantFrom('f', 'sequential'), fc.constantFrom('layer', 'layers[0]'), layerArb),
    alternatives: [{ wild: wild(junkArb) }, { wild: wild(junkArb) }, { bad: fc.oneof(notLayer, badLayerList.map((l) => (l as unknown[])[0])).filter((v) => !lib.isLayer(v)) }],
    call: ([f, a, l]) => lib.expectLayer(f as string, a as string, l),
    check: (v) => (lib.isLayer(v) ? undefined : 'not a layer'),
  }),
  row({
    name: 'isLayer',
    kind: 'total',
    valid: args(fc.oneof(layerArb, junkArb, badLayerList.map((l) => (l as unknown[])[0]))),
    alternatives: [],
    call: ([v]) => lib.isLayer(v),
    check: (v) => (typeof v === 'boolean' ? undefined : 'not a boolean'),
  }),
]

const definedRows: readonly Composed[] = [
  { name: 'defineLayer(Dense)', layer: dense, names: ['Dense'], shape: fc.integer({ min: 0, max: 3 }).map((n) => [n, 2]) },
  { name: 'defineLayer(JunkSpec)', layer: junkSpec, names: ['JunkSpec'], shape: anyShape, broken: true },
]

// ---------------------------------------------------------------------------------------------
// ops
// ---------------------------------------------------------------------------------------------

const poolOptions = fc
  .tuple(fc.integer({ min: 1, max: 3 }), fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }), fc.integer({ min: 0, max: 1 }))
  .map(([k, s, p]) => ({ kernelSize: k, ...(s === undefined ? {} : { stride: s }), ...(p <= k / 2 ? { padding: p } : {}) }))
const image = fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 3, max: 5 }), fc.integer({ min: 3, max: 5 }))
const badOptions = fc.oneof(
  junkArb.filter((v) => !(typeof v === 'object' && v !== null && 'kernelSize' in v)),
  fc.constantFrom<unknown>(
    { kernelSize: 0 },
    { kernelSize: 2, padding: 2 },
    { kernelSize: [2] },
    { kernelSize: 2, stride: 0 },
    { kernelSize: 1.5 },
    // past the kernels' 32-bit window arithmetic (a 2^40 window once trapped the WebAssembly kernel)
    { kernelSize: 2 ** 40, padding: 2 ** 39 },
    { kernelSize: 2 ** 16, stride: 1 },
  ),
  fc.constant(null).map(() => withThrowingGetter({ kernelSize: 2 }, 'stride')),
)
const imageAlternatives = {
  bad: badTensorArb,
  neutral: (t: unknown) => neutralTensorArb(t as Tensor),
  wild: (t: unknown) =>
    fc.oneof(fc.constant(emptyTensor([2 ** 40, 3, 0, 2])), smallShapeArb.chain((s) => tensorOfShape(s)), withSpecialValues(t as Tensor)),
}
const optionalDevice = fc.option(deviceArb, { nil: undefined })
const poolNames = ['pool2d', 'maxPool2d', 'avgPool2d']
const windowOf = (o: unknown): lib.PoolWindow => lib.poolSpec({ ...(o as object), op: 'maxPool2d' } as lib.PoolSpec).window

const pooled = (v: unknown, c: Case, options: unknown): string | undefined => {
  const x = lib.revive(c.args[0])
  const want = lib.pooledShape('t', 'x', x.shape, windowOf(options))
  return E.isLeft(want) ? 'pooled an input that cannot be pooled' : tensorProblem(v, want.right, dtypeOfTensor(x))
}

const opRows: readonly Row[] = [
  row({
    name: 'pool2d',
    kind: 'either',
    names: poolNames,
    valid: fc.tuple(image, poolOptions, fc.constantFrom('maxPool2d', 'avgPool2d'), optionalDevice, dtypeArb).chain(([s, o, op, d, t]) =>
      tensorOfShape(s, t).map((x) => [x, { ...o, op }, d]),
    ),
    alternatives: [imageAlternatives, { bad: fc.oneof(badOptions, fc.constant({ op: 'minPool2d', kernelSize: 2 })) }, { bad: badDeviceArb }],
    call: ([x, s, d]) => lib.pool2d(x as Tensor, s as lib.PoolSpec, d as lib.Device<unknown>),
    check: (v, c) => pooled(v, c, c.args[1]),
  }),
  ...(['maxPool2d', 'avgPool2d'] as const).map((name) =>
    row({
      name,
      kind: 'either',
      names: poolNames,
      valid: fc.tuple(image, poolOptions, optionalDevice).chain(([s, o, d]) => tensorOfShape(s).map((x) => [x, o, d])),
      alternatives: [imageAlternatives, { bad: badOptions }, { bad: badDeviceArb }],
      call: ([x, o, d]) => lib[name](x as Tensor, o as lib.PoolOptions, d as lib.Device<unknown>),
      check: (v, c) => pooled(v, c, c.args[1]),
    }),
  ),
  row({
    name: 'upsampleNearest',
    kind: 'either',
    valid: fc.tuple(image, fc.integer({ min: 1, max: 3 }), optionalDevice).chain(([s, f, d]) => tensorOfShape(s).map((x) => [x, f, d])),
    alternatives: [
      imageAlternatives,
      { bad: fc.constantFrom<unknown>(0, -1, 1.5, Number.NaN, '2', 65537, null), wild: wild(fc.constantFrom(65536, 2 ** 15)) },
      { bad: badDeviceArb },
    ],
    call: ([x, f, d]) => lib.upsampleNearest(x as Tensor, f as number, d as lib.Device<unknown>),
    check: (v, c) => {
      const x = lib.revive(c.args[0])
      const f = c.args[1] as number
      const [n, ch, h, w] = x.shape
      return tensorProblem(v, [n, ch, h * f, w * f], dtypeOfTensor(x))
    },
  }),
  row({
    name: 'checkPoolSpec',
    kind: 'either',
    names: (c) => [nameArg(c.args[0])],
    valid: args(fc.constantFrom('LIPool', 'op'), fc.constantFrom('config.child', 'spec'), fc.tuple(poolOptions, fc.constantFrom('maxPool2d', 'avgPool2d')).map(([o, op]) => ({ ...o, op }))),
    alternatives: [{ wild: wild(junkArb) }, { wild: wild(junkArb) }, { bad: fc.oneof(badOptions, fc.constant({ op: 'x', kernelSize: 2 })), neutral: (s) => fc.constant(cloneOf(s)) }],
    call: ([l, a, s]) => lib.checkPoolSpec(l as string, a as string, s),
  }),
  row({
    name: 'poolSpec',
    kind: 'config',
    names: (c) => [c.args[1] === undefined ? 'poolSpec' : nameArg(c.args[1])],
    valid: args(fc.tuple(poolOptions, fc.constantFrom('maxPool2d', 'avgPool2d')).map(([o, op]) => ({ ...o, op })), fc.constantFrom(undefined, 'LIPool'), fc.constantFrom(undefined, 'config.child')),
    alternatives: [{ bad: fc.oneof(badOptions, fc.constant({ op: 'x', kernelSize: 2 })) }, { wild: wild(junkArb.filter((v) => v !== undefined)) }, { wild: wild(junkArb) }],
    call: ([s, l, a]) => lib.poolSpec(s as lib.PoolSpec, l as string, a as string),
  }),
  row({
    name: 'poolMode',
    kind: 'throws',
    valid: args(fc.constantFrom('maxPool2d', 'avgPool2d')),
    alternatives: [{ bad: junkArb.filter((v) => v !== 'maxPool2d' && v !== 'avgPool2d') }],
    call: ([op]) => lib.poolMode(op as lib.PoolOp),
    check: (v, c) => (v === (c.args[0] === 'maxPool2d' ? 'max' : 'avg') ? undefined : `mode ${String(v)}`),
  }),
  row({
    name: 'pooledShape',
    kind: 'either',
    names: (c) => [nameArg(c.args[0])],
    valid: fc.tuple(image, poolOptions).map(([s, o]) => ['L', 'input', s, windowOf(o)]),
    alternatives: [
      { wild: wild(junkArb) },
      { wild: wild(junkArb) },
      { bad: badShapeArb, wild: () => fc.oneof(smallShapeArb, extremeShapeArb) },
      { bad: fc.oneof(junkArb, fc.constantFrom<unknown>({ kernelH: 0, kernelW: 1, strideH: 1, strideW: 1, padH: 0, padW: 0 })) },
    ],
    call: ([l, a, s, w]) => lib.pooledShape(l as string, a as string, s as Shape, w as lib.PoolWindow),
  }),
]

// ---------------------------------------------------------------------------------------------
// the encoder
// ---------------------------------------------------------------------------------------------

const encodeRows: readonly Row[] = [
  row({
    name: 'poissonEncode',
    kind: 'throws',
    valid: fc.tuple(keyArb, smallShapeArb, fc.integer({ min: 0, max: 5 }), dtypeArb).chain(([k, s, t, d]) =>
      tensorOfShape(s, d).map((r) => [k, lib.astype(lib.generate(s, (i) => Math.abs(r.data[i]) / 2), d), t]),
    ),
    alternatives: [
      { bad: badKeyArb, neutral: (k) => fc.constant(neutralKey(k as Key)) },
      { bad: badTensorArb, neutral: (t) => neutralTensorArb(t as Tensor), wild: () => fc.constantFrom(emptyTensor([2 ** 40, 3, 0]), emptyTensor([0])) },
      { bad: fc.constantFrom<unknown>(-1, 1.5, Number.NaN, '3', Infinity, null), wild: wild(fc.constantFrom(2 ** 40, 2 ** 53 - 1, 2 ** 33 + 1)) },
    ],
    call: ([k, r, t]) => lib.poissonEncode(k as Key, r as Tensor, t as number),
    check: (v, c) => {
      const r = lib.revive(c.args[1])
      const p = tensorProblem(v, [c.args[2] as number, ...r.shape], dtypeOfTensor(r))
      return p ?? (elementsOf(v as Tensor).every((x) => x === 0 || x === 1) ? undefined : 'not spikes')
    },
  }),
]

// ---------------------------------------------------------------------------------------------
// gradients
// ---------------------------------------------------------------------------------------------

const gradLayers = [lib.customLinear({ inFeatures: 3, outFeatures: 2 }), lib.ifNode(), lib.layerNorm({ normalizedShape: 3 })].map(layer)
const gradBase = fc.tuple(fc.constantFrom(...gradLayers), fc.array(fc.integer({ min: 1, max: 2 }), { maxLength: 1 }), keyArb).chain(([l, lead, k]) => {
  const shape = [...lead, 3]
  const init = right(l.init(k, shape) as E.Either<lib.LayerError, lib.Init<unknown, unknown>>)
  return tensorOfShape(shape).map((x) => [l, init.params, init.state, x, lib.train(k)] as const)
})
const vjpNames = (c: Case): readonly string[] => {
  try {
    const n = (c.args[0] as { readonly name?: unknown } | null)?.name
    return [typeof n === 'string' ? n : 'vjp', 'vjp']
  } catch {
    return ['vjp']
  }
}
const fixedVjp = right(lib.vjp(gradLayers[0] as AnyLayer, right(gradLayers[0].init(lib.key(0), [2, 3]) as E.Either<lib.LayerError, lib.Init<unknown, unknown>>).params, {}, lib.zeros([2, 3]), lib.evaluate()))
const sumOfSquares = <B>(d: lib.Device<B>, p: { readonly w: lib.DeviceTensor<B> }) =>
  new lib.DeviceTensor(d.matmul(p.w.buffer, p.w.buffer, null, { m: 1, k: p.w.shape[0], n: 1 }), [1])

/** Rows of the gradient functions. */
export const gradRows: readonly Row[] = [
  row({
    name: 'vjp',
    kind: 'either',
    names: vjpNames,
    valid: gradBase,
    alternatives: [
      { bad: fc.oneof(plainNotLayer, fc.constant(hand)) },
      { bad: fc.constantFrom<unknown>(5, 'x', null, { zzz: 1 }), neutral: (v) => fc.constant(cloneOf(v)) },
      { bad: fc.constantFrom<unknown>(5, 'x', null, { zzz: 1 }) },
      { bad: badTensorArb, neutral: (t) => neutralTensorArb(t as Tensor) },
      { bad: badCtxArb },
    ],
    call: ([l, p, s, x, c]) => lib.vjp(l as AnyLayer, p, s, x as Tensor, c as Ctx),
    neutralMayDiffer: true,
  }),
  row({
    name: 'vjp().pullback',
    covers: ['vjp'],
    kind: 'either',
    names: ['CustomLinear'],
    valid: args(tensorOfShape([2, 2]), fc.constant(undefined)),
    alternatives: [{ bad: fc.oneof(badTensorArb, tensorOfShape([3, 2])), neutral: (t) => neutralTensorArb(t as Tensor) }, { wild: wild(junkArb) }],
    call: ([cot, s]) => fixedVjp.pullback(cot as Tensor, s),
  }),
  row({
    name: 'vjp (a layer it cannot read)',
    covers: ['vjp'],
    kind: 'either',
    names: vjpNames,
    valid: gradBase.map(([, ...rest]) => [new Late(() => withThrowingGetter({}, 'name'), 'a getter name'), ...rest]),
    alternatives: [
      {
        bad: fc.constantFrom<unknown>(
          new Late(() => withThrowingGetter({}, 'name'), 'a getter name'),
          new Late(() => withThrowingGetter({ name: 'x' }, 'step'), 'a getter step'),
          { name: 'x', step: 5 },
          { name: 'x', step: { prepare: 1 } },
        ),
      },
    ],
    call: ([l, p, s, x, c]) => lib.vjp(l as AnyLayer, p, s, x as Tensor, c as Ctx),
    validMayFail: true,
  }),
  row({
    name: 'valueAndGrad',
    kind: 'either',
    valid: args(fc.constant(sumOfSquares), fc.option(deviceArb, { nil: undefined }), fc.integer({ min: 1, max: 4 }).chain((n) => tensorOfShape([n]).map((w) => ({ w })))),
    alternatives: [
      {},
      {},
      // broken ndarrays (a number or an array is a leaf handed to f as it is; a plain record is
      // walked as a subtree: the row below)
      {
        bad: brokenTensorArb.filter((v) => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) !== Object.prototype && !Array.isArray(v)).map((w) => ({ w })),
        neutral: (v) => fc.constant(cloneOf(v)),
      },
    ],
    call: ([f, d, p]) => lib.valueAndGrad(f as never, d as lib.Device<unknown>)(p),
  }),
  row({
    name: 'valueAndGrad (an f, backend or params it cannot use)',
    covers: ['valueAndGrad'],
    kind: 'either',
    names: ['valueAndGrad'],
    valid: args(fc.constant(sumOfSquares), fc.constant(undefined), fc.constant({ w: lib.zeros([2]) })),
    alternatives: [
      { bad: junkArb.filter((v) => typeof v !== 'function') },
      { bad: badDeviceArb },
      {
        bad: fc.oneof(
          fc.constant(null).map(() => {
            const p: Record<string, unknown> = { w: lib.zeros([2]) }
            p.self = p
            return p
          }),
          fc.constant({ w: { data: [1, 2], shape: [2], stride: [1], offset: 0 } }),
        ),
      },
    ],
    call: ([f, d, p]) => lib.valueAndGrad(f as never, d as lib.Device<unknown>)(p),
    validMayFail: true,
  }),
]

// ---------------------------------------------------------------------------------------------
// arbitraries and backends
// ---------------------------------------------------------------------------------------------

/** A drawn value of an arbitrary, or what is wrong with the arbitrary. */
const drawn = (v: unknown, ok: (x: unknown) => string | undefined): string | undefined => {
  if (!(v instanceof fc.Arbitrary)) return 'not an arbitrary'
  return ok(fc.sample(v, { numRuns: 1, seed: 7 })[0])
}
const drawnTensor = (shape: (c: Case) => Shape) => (v: unknown, c: Case) => drawn(v, (x) => tensorProblem(x, shape(c)))
const notShape = (v: unknown): boolean => !(Array.isArray(v) && v.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0))

const arbitraryRows: readonly Row[] = [
  row({
    name: 'keyArb',
    kind: 'throws',
    // each call makes a new arbitrary: its draws, not its identity, are checked
    neutralMayDiffer: true,
    valid: args(),
    alternatives: [],
    call: () => arb.keyArb(),
    check: (v) => drawn(v, (k) => (lib.isKey(k) ? undefined : 'not a key')),
    runs: 5,
  }),
  row({
    name: 'shapeArb',
    kind: 'throws',
    // each call makes a new arbitrary: its draws, not its identity, are checked
    neutralMayDiffer: true,
    valid: args(fc.option(fc.record({ minRank: fc.integer({ min: 0, max: 2 }), maxRank: fc.integer({ min: 2, max: 4 }), minDim: fc.integer({ min: 0, max: 2 }), maxDim: fc.integer({ min: 2, max: 5 }) }, { requiredKeys: [] }), { nil: undefined })),
    alternatives: [
      {
        bad: fc.oneof(
          fc.constantFrom<unknown>({ minRank: -1 }, { maxRank: 1.5 }, { minDim: 5, maxDim: 2 }, { minRank: 40 }, { maxDim: 2 ** 40 }, { bogus: 1 }, 5, 'x', null),
          fc.constant(null).map(() => withThrowingGetter({}, 'minRank')),
        ),
      },
    ],
    call: ([c]) => arb.shapeArb(c as arb.ShapeConstraints),
    check: (v) => drawn(v, (s) => (notShape(s) ? 'not a shape' : undefined)),
  }),
  row({
    name: 'tensorArb',
    kind: 'throws',
    // each call makes a new arbitrary: its draws, not its identity, are checked
    neutralMayDiffer: true,
    valid: args(smallShapeArb, fc.option(fc.record({ dtype: dtypeArb, min: fc.constant(-1), max: fc.constant(1) }, { requiredKeys: [] }), { nil: undefined })),
    alternatives: [
      { bad: fc.oneof(badShapeArb, fc.constant([2 ** 11, 2 ** 11])) },
      { bad: fc.constantFrom<unknown>({ dtype: 'int32' }, { min: Number.NaN }, { min: 2, max: 1 }, { max: 1e6 }, { min: 0.0001, max: 0.0002 }, 5, { zzz: 1 }) },
    ],
    call: ([s, c]) => arb.tensorArb(s as Shape, c as arb.TensorConstraints),
    check: drawnTensor((c) => c.args[0] as Shape),
  }),
  row({
    name: 'spikeTrainArb',
    kind: 'throws',
    // each call makes a new arbitrary: its draws, not its identity, are checked
    neutralMayDiffer: true,
    valid: args(smallShapeArb, fc.double({ min: 0, max: 1, noNaN: true }), dtypeArb),
    alternatives: [
      { bad: fc.oneof(badShapeArb, fc.constant([2 ** 11, 2 ** 11])) },
      { bad: fc.constantFrom<unknown>(-0.1, 1.5, Number.NaN, '0.5', null) },
      { bad: fc.constantFrom<unknown>('int32', 5, null) },
    ],
    call: ([s, r, d]) => arb.spikeTrainArb(s as Shape, r as number, d as lib.DType),
    check: drawnTensor((c) => c.args[0] as Shape),
  }),
  row({
    name: 'stridedViewArb',
    kind: 'throws',
    // each call makes a new arbitrary: its draws, not its identity, are checked
    neutralMayDiffer: true,
    valid: args(smallShapeArb.chain((s) => tensorOfShape(s))),
    alternatives: [{ bad: badTensorArb, neutral: (t) => neutralTensorArb(t as Tensor) }],
    call: ([t]) => arb.stridedViewArb(t as Tensor),
    check: drawnTensor((c) => lib.revive(c.args[0]).shape),
  }),
  row({
    name: 'bestBackend',
    kind: 'total',
    valid: args(junkArb),
    alternatives: [],
    call: ([x]) => (lib.bestBackend as (x: unknown) => unknown)(x),
    check: (v) => (typeof (v as { run?: unknown }).run === 'function' ? undefined : 'not a device'),
    runs: 10,
  }),
  row({
    name: 'wasmBackend',
    kind: 'total',
    valid: args(junkArb),
    alternatives: [],
    call: ([x]) => (lib.wasmBackend as (x: unknown) => unknown)(x),
    check: (v) => (v === undefined || typeof (v as { run?: unknown }).run === 'function' ? undefined : 'not a device'),
    runs: 10,
  }),
  row({
    name: 'wasmThreads',
    kind: 'total',
    valid: args(junkArb),
    alternatives: [],
    call: ([x]) => (lib.wasmThreads as (x: unknown) => unknown)(x),
    check: (v) => (Number.isInteger(v) && (v as number) >= 1 ? undefined : 'not a thread count'),
    runs: 10,
  }),
  row({
    name: 'residentBackend',
    kind: 'total',
    valid: args(junkArb),
    alternatives: [],
    call: ([x]) => (lib.residentBackend as (x: unknown) => unknown)(x),
    check: (v) => (v === undefined || typeof (v as { run?: unknown }).run === 'function' ? undefined : 'not a device'),
    runs: 10,
  }),
]

export const rows: readonly Row[] = [
  ...buildRows,
  ...[...composed, ...definedRows].flatMap(composedRows),
  ...opRows,
  ...encodeRows,
  ...arbitraryRows,
]

export { numberArb, sameShape }
