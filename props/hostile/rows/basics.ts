/** Rows for errors, keys, contexts, the shape/tensor checks and the schemas. */
import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import type { Ctx, Key, Shape, Tensor } from '../../../src/index.js'
import * as lib from '../../../src/index.js'
import type { Case, Row } from '../engine.js'
import {
  badCtxArb,
  badDeviceArb,
  badKeyArb,
  badShapeArb,
  badTensorArb,
  extremeShapeArb,
  junkArb,
  keyArb,
  neutralCtx,
  neutralKey,
  neutralTensorArb,
  numberArb,
  smallShapeArb,
  tensorOfShape,
  withThrowingGetter,
} from '../junk.js'
import { opaqueValue } from '../snapshot.js'
import { sameShape, tensorProblem } from '../oracle.js'
import { args, nameArg, row, wild } from './common.js'

const wasm = lib.wasmBackend()
/** The devices a valid call may name (the suite compares them by identity). */
export const devices: readonly lib.Device<unknown>[] = [lib.cpu, ...(wasm ? [wasm] : [])].map((d) => opaqueValue(d as object) as lib.Device<unknown>)
export const deviceArb = fc.constantFrom(...devices)
const optionalDevice = fc.option(deviceArb, { nil: undefined })

const notSafeInt = junkArb.filter((v) => !(typeof v === 'number' && Number.isSafeInteger(v)))
const isKeyValue = (v: unknown): boolean => lib.isKey(v)

// ---------------------------------------------------------------------------------------------
// errors
// ---------------------------------------------------------------------------------------------

const textArb = fc.oneof(fc.string({ maxLength: 12 }), junkArb)

const errorRows: readonly Row[] = [
  row({
    name: 'describeValue',
    kind: 'total',
    valid: args(junkArb),
    alternatives: [],
    call: ([v]) => lib.describeValue(v),
    check: (v) => (typeof v === 'string' && v.length <= lib.DESCRIBE_MAX ? undefined : `not a short string: ${String(v)}`),
    runs: 200,
  }),
  row({
    name: 'layerError',
    kind: 'total',
    valid: args(textArb, textArb, textArb, textArb),
    alternatives: [],
    call: ([a, b, c, d]) => lib.layerError(a as string, b as string, c as string, d as string),
    check: (v) => (lib.isLayerError(v) ? undefined : 'not a LayerError'),
  }),
  row({
    name: 'layerFailure',
    kind: 'total',
    valid: args(textArb, textArb, textArb, textArb),
    alternatives: [],
    call: ([a, b, c, d]) => lib.layerFailure(a as string, b as string, c as string, d as string),
    check: (v) => {
      const e = v as E.Either<unknown, unknown>
      return E.isLeft(e) && lib.isLayerError(e.left) ? undefined : 'not a left LayerError'
    },
  }),
  row({
    name: 'isLayerError',
    kind: 'total',
    valid: args(fc.oneof(junkArb, fc.constant(lib.layerError('L', 'a', 'b', 'c')))),
    alternatives: [],
    call: ([v]) => lib.isLayerError(v),
    check: (v) => (typeof v === 'boolean' ? undefined : 'not a boolean'),
  }),
  row({
    name: 'ConfigError',
    kind: 'total',
    valid: args(fc.oneof(junkArb, fc.constant(lib.layerError('L', 'a', 'b', 'c')))),
    alternatives: [],
    call: ([d]) => new lib.ConfigError(d as lib.LayerError),
    check: (v) => (v instanceof lib.ConfigError && lib.isLayerError(v.detail) && v.message === v.detail.message ? undefined : 'malformed'),
  }),
  row({
    name: 'rejectConfig',
    kind: 'config',
    names: (c) => [nameArg(c.args[0])],
    valid: args(textArb, textArb, textArb, junkArb),
    alternatives: [],
    call: ([a, b, c, d]) => lib.rejectConfig(a as string, b as string, c as string, d),
    check: () => 'returned instead of throwing',
    validMayFail: true,
    callerText: true,
  }),
  row({
    name: 'orThrow',
    kind: 'total',
    valid: args(fc.oneof(junkArb, junkArb.map(E.right), fc.constant(E.left(lib.layerError('L', 'a', 'b', 'c'))), junkArb.map(E.left))),
    alternatives: [],
    call: ([r]) => {
      // the documented throws: the left's message as an Error, a RangeError for a non-Either
      try {
        return { returned: lib.orThrow(r as E.Either<lib.LayerError, unknown>) }
      } catch (e) {
        const isEither = ((): boolean => {
          try {
            return typeof r === 'object' && r !== null && ['Left', 'Right'].includes((r as { _tag?: unknown })._tag as string)
          } catch {
            return false
          }
        })()
        const left = isEither && E.isLeft(r as E.Either<unknown, unknown>) ? (r as E.Left<unknown>).left : undefined
        const want = lib.isLayerError(left) ? left.message : lib.describeValue(left)
        if (isEither && e instanceof Error && e.message === want) return { threw: 'left' }
        if (!isEither && e instanceof RangeError && e.message.startsWith('orThrow: result: ')) return { threw: 'range' }
        throw e
      }
    },
  }),
]

// ---------------------------------------------------------------------------------------------
// keys
// ---------------------------------------------------------------------------------------------

const keyOk = (v: unknown): string | undefined => (lib.isKey(v) ? undefined : 'not a key')

const keyAlternatives = { bad: badKeyArb, neutral: (k: unknown) => fc.constant(neutralKey(k as Key)) }

const keyRows: readonly Row[] = [
  row({
    name: 'key',
    kind: 'throws',
    valid: args(fc.integer({ min: -(2 ** 40), max: 2 ** 40 })),
    alternatives: [{ bad: fc.oneof(notSafeInt, fc.constantFrom(1.5, 2 ** 53, Number.NaN, '1')) }],
    call: ([s]) => lib.key(s as number),
    check: keyOk,
  }),
  row({
    name: 'split',
    kind: 'throws',
    valid: args(keyArb, fc.integer({ min: 0, max: 5 })),
    alternatives: [keyAlternatives, { bad: fc.oneof(notSafeInt.filter((v) => v !== undefined), fc.constantFrom(-1, 1.5, 2 ** 24 + 1, '2')) }],
    call: ([k, n]) => lib.split(k as Key, n as number),
    check: (v, c) => ((v as Key[]).length === c.args[1] && (v as Key[]).every(isKeyValue) ? undefined : 'not n keys'),
  }),
  row({
    name: 'foldIn',
    kind: 'throws',
    valid: args(keyArb, fc.integer({ min: -(2 ** 40), max: 2 ** 40 })),
    alternatives: [keyAlternatives, { bad: fc.oneof(notSafeInt, fc.constantFrom(1.5, 2 ** 53, '1')) }],
    call: ([k, d]) => lib.foldIn(k as Key, d as number),
    check: keyOk,
  }),
  row({
    name: 'keyData',
    kind: 'throws',
    valid: args(keyArb),
    alternatives: [keyAlternatives],
    call: ([k]) => lib.keyData(k as Key),
    check: (v) => (Array.isArray(v) && v.length === 4 ? undefined : 'not four words'),
  }),
  row({
    name: 'keyFromData',
    kind: 'throws',
    valid: args(keyArb.map((k) => lib.keyData(k))),
    alternatives: [{ bad: badKeyArb }],
    call: ([w]) => lib.keyFromData(w as number[]),
    check: keyOk,
  }),
  row({
    name: 'isKey',
    kind: 'total',
    valid: args(fc.oneof(keyArb, badKeyArb, junkArb)),
    alternatives: [],
    call: ([v]) => lib.isKey(v),
    check: (v) => (typeof v === 'boolean' ? undefined : 'not a boolean'),
  }),
  row({
    name: 'uniform',
    kind: 'throws',
    valid: args(keyArb, fc.integer({ min: 0, max: 16 }), fc.constantFrom('float32', 'float64', undefined)),
    alternatives: [
      keyAlternatives,
      { bad: fc.oneof(notSafeInt, fc.constantFrom(-1, 1.5, 2 ** 32 + 1, 2 ** 40)) },
      { bad: fc.constantFrom('float16', 'int32', null, 32) },
    ],
    call: ([k, n, d]) => lib.uniform(k as Key, n as number, d as lib.DType),
    check: (v, c) => {
      const u = v as Float32Array
      return u.length === c.args[1] && u.every((x) => x >= 0 && x < 1) ? undefined : 'not n draws in [0, 1)'
    },
  }),
]

// ---------------------------------------------------------------------------------------------
// contexts
// ---------------------------------------------------------------------------------------------

const ctxArb: fc.Arbitrary<Ctx> = fc.oneof(
  fc.tuple(fc.option(keyArb, { nil: undefined }), optionalDevice).map(([k, d]) => lib.train(k, d)),
  fc.tuple(optionalDevice, fc.option(keyArb, { nil: undefined })).map(([d, k]) => lib.evaluate(d, k)),
)
const ctxAlternatives = {
  bad: badCtxArb,
  neutral: (c: unknown) => fc.constant(neutralCtx(c as Ctx)),
}
const isCtx = (v: unknown): string | undefined =>
  typeof v === 'object' && v !== null && typeof (v as Ctx).training === 'boolean' ? undefined : 'not a context'

const contextRows: readonly Row[] = [
  row({
    name: 'train',
    kind: 'throws',
    valid: args(fc.option(keyArb, { nil: undefined }), optionalDevice),
    alternatives: [{ bad: badKeyArb.filter((v) => v !== undefined) }, { bad: badDeviceArb }],
    call: ([k, d]) => lib.train(k as Key, d as lib.Device<unknown>),
    check: isCtx,
    neutralMayDiffer: true,
  }),
  row({
    name: 'evaluate',
    kind: 'throws',
    valid: args(optionalDevice, fc.option(keyArb, { nil: undefined })),
    alternatives: [{ bad: badDeviceArb }, { bad: badKeyArb.filter((v) => v !== undefined) }],
    call: ([d, k]) => lib.evaluate(d as lib.Device<unknown>, k as Key),
    check: isCtx,
  }),
  row({
    name: 'withTraining',
    kind: 'throws',
    neutralMayDiffer: true,
    valid: args(fc.boolean(), ctxArb),
    alternatives: [{ bad: junkArb.filter((v) => typeof v !== 'boolean') }, ctxAlternatives],
    call: ([t, c]) => lib.withTraining(t as boolean)(c as Ctx),
    check: (v, c) => isCtx(v) ?? ((v as Ctx).training === c.args[0] ? undefined : 'another mode'),
  }),
  row({
    name: 'childCtx',
    kind: 'throws',
    neutralMayDiffer: true,
    valid: args(ctxArb, fc.integer({ min: 0, max: 100 })),
    alternatives: [ctxAlternatives, { bad: fc.oneof(notSafeInt, fc.constantFrom(1.5, Number.NaN)) }],
    call: ([c, i]) => lib.childCtx(c as Ctx, i as number),
    check: isCtx,
  }),
  row({
    name: 'resolveBackend',
    kind: 'throws',
    valid: args(fc.oneof(ctxArb, fc.constant(undefined))),
    alternatives: [{ bad: fc.oneof(badDeviceArb.map((backend) => ({ backend })), fc.constantFrom(5, 'ctx', null)) }],
    call: ([c]) => lib.resolveBackend(c as Ctx),
    check: (v) => (devices.includes(v as lib.Device<unknown>) || typeof (v as { run?: unknown }).run === 'function' ? undefined : 'not a device'),
  }),
  row({
    name: 'checkCtx',
    kind: 'either',
    neutralMayDiffer: true,
    callerText: true,
    names: (c) => [nameArg(c.args[0])],
    valid: args(fc.constantFrom('L', 'My layer'), ctxArb),
    alternatives: [{ wild: wild(junkArb) }, ctxAlternatives],
    call: ([l, c]) => lib.checkCtx(l as string, c),
    check: isCtx,
  }),
  row({
    name: 'stepCtx',
    kind: 'throws',
    neutralMayDiffer: true,
    valid: args(ctxArb, fc.integer({ min: 0, max: 8 })),
    alternatives: [ctxAlternatives, { bad: fc.oneof(notSafeInt, fc.constantFrom(-1, 1.5)) }],
    call: ([c, t]) => lib.stepCtx(c as Ctx, t as number),
    check: isCtx,
  }),
]

// ---------------------------------------------------------------------------------------------
// shape and tensor checks
// ---------------------------------------------------------------------------------------------

const layerNameArb = fc.oneof(fc.constantFrom('L', 'MyLayer'), junkArb)
const argNameArb = fc.oneof(fc.constantFrom('input', 'params.w'), junkArb)
const shapeAlternatives = { bad: badShapeArb, wild: wild(extremeShapeArb) }
const names = (c: Case): readonly string[] => [nameArg(c.args[0])]
const shapeResult = (v: unknown): string | undefined =>
  Array.isArray(v) && v.every((d) => Number.isSafeInteger(d) && d >= 0) ? undefined : 'not a shape'

const checkRows: readonly Row[] = [
  row({
    name: 'expectShape',
    kind: 'either',
    callerText: true,
    names,
    valid: args(layerNameArb, argNameArb, smallShapeArb),
    alternatives: [{}, {}, shapeAlternatives],
    call: ([l, a, s]) => lib.expectShape(l as string, a as string, s),
    check: (v, c) => shapeResult(v) ?? (sameShape(v as Shape, c.args[2] as Shape) ? undefined : 'another shape'),
  }),
  row({
    name: 'expectTensor',
    kind: 'either',
    callerText: true,
    names,
    valid: args(layerNameArb, argNameArb, smallShapeArb.chain((s) => tensorOfShape(s))),
    alternatives: [{}, {}, { bad: badTensorArb, neutral: (t) => neutralTensorArb(t as Tensor) }],
    call: ([l, a, t]) => lib.expectTensor(l as string, a as string, t),
    check: (v) => tensorProblem(v),
  }),
  row({
    name: 'expectRank',
    kind: 'either',
    callerText: true,
    names,
    valid: args(layerNameArb, argNameArb, smallShapeArb, fc.integer({ min: 0, max: 4 }), fc.option(fc.string(), { nil: undefined })),
    alternatives: [{}, {}, shapeAlternatives, { wild: wild(junkArb) }, { wild: wild(junkArb) }],
    call: ([l, a, s, r, x]) => lib.expectRank(l as string, a as string, s as Shape, r as number, x as string),
    check: (v, c) => ((v as Shape).length === c.args[3] ? undefined : 'another rank accepted'),
    validMayFail: true,
  }),
  row({
    name: 'expectMinRank',
    kind: 'either',
    callerText: true,
    names,
    valid: args(layerNameArb, argNameArb, smallShapeArb, fc.integer({ min: 0, max: 4 }), fc.option(fc.string(), { nil: undefined })),
    alternatives: [{}, {}, shapeAlternatives, { wild: wild(junkArb) }, { wild: wild(junkArb) }],
    call: ([l, a, s, r, x]) => lib.expectMinRank(l as string, a as string, s as Shape, r as number, x as string),
    check: (v, c) => ((v as Shape).length >= (c.args[3] as number) ? undefined : 'a lower rank accepted'),
    validMayFail: true,
  }),
  row({
    name: 'expectAxisSize',
    kind: 'either',
    callerText: true,
    names,
    valid: args(layerNameArb, argNameArb, smallShapeArb, fc.integer({ min: -4, max: 4 }), fc.integer({ min: 0, max: 4 }), fc.option(fc.string(), { nil: undefined })),
    alternatives: [{}, {}, shapeAlternatives, { wild: wild(junkArb) }, { wild: wild(junkArb) }, { wild: wild(junkArb) }],
    call: ([l, a, s, ax, n, w]) => lib.expectAxisSize(l as string, a as string, s as Shape, ax as number, n as number, w as string),
    check: (v, c) => {
      const s = v as Shape
      const ax = c.args[3] as number
      return s[ax < 0 ? s.length + ax : ax] === c.args[4] ? undefined : 'another size accepted'
    },
    validMayFail: true,
  }),
  row({
    name: 'expectSameShape',
    kind: 'either',
    callerText: true,
    names: (c) => [nameArg(c.args[0])],
    valid: args(layerNameArb, argNameArb, smallShapeArb, smallShapeArb),
    alternatives: [{}, {}, shapeAlternatives, shapeAlternatives],
    call: ([l, a, s, e]) => lib.expectSameShape(l as string, a as string, s as Shape, e as Shape),
    check: (v, c) => (sameShape(v as Shape, c.args[3] as Shape) ? undefined : 'another shape accepted'),
    validMayFail: true,
  }),
]

// ---------------------------------------------------------------------------------------------
// schemas
// ---------------------------------------------------------------------------------------------

const schemaCtxArb = fc.tuple(fc.constantFrom('L', 'Layer'), smallShapeArb, fc.constantFrom<'float32' | 'float64'>('float32', 'float64'))
  .map(([layer, input, dtype]) => ({ layer, input, dtype }))
const badSchemaCtx = fc.oneof(
  junkArb.filter((v) => !(typeof v === 'object' && v !== null && 'layer' in v)),
  fc.constantFrom<unknown>({ layer: 'L', input: [Number.NaN], dtype: 'float32' }, { layer: 'L', input: [2], dtype: 'float16' }, { layer: 5, input: [], dtype: 'float32' }),
  fc.constant(null).map(() => withThrowingGetter({ layer: 'L', input: [2], dtype: 'float32' }, 'input')),
)
const schemaNames = (schema: string) => (c: Case): readonly string[] => {
  try {
    const layer = (c.args[2] as { readonly layer?: unknown } | null)?.layer
    return [schema, ...(typeof layer === 'string' ? [layer] : [])]
  } catch {
    return [schema]
  }
}

/** A schema row: `schema` called with a value drawn by `value` for the context's input. */
const schemaRow = (
  name: string,
  schema: lib.Schema<unknown>,
  value: (c: { readonly input: Shape; readonly dtype: 'float32' | 'float64' }) => fc.Arbitrary<unknown>,
  alt: { readonly bad?: fc.Arbitrary<unknown>; readonly neutral?: (v: unknown) => fc.Arbitrary<unknown> },
  covers: readonly string[],
): Row =>
  row({
    name,
    covers,
    kind: 'either',
    names: schemaNames(name.split('(')[0]),
    valid: schemaCtxArb.chain((c) => args(value(c), fc.constant('state.x'), fc.constant(c))),
    alternatives: [{ ...alt, wild: wild(junkArb) }, { wild: wild(junkArb) }, { bad: badSchemaCtx }],
    call: ([v, a, c]) => schema(v, a as string, c as lib.SchemaCtx),
  })

const schemaRows: readonly Row[] = [
  schemaRow(
    'likeInput',
    lib.likeInput,
    (c) => tensorOfShape(c.input, c.dtype),
    { bad: badTensorArb, neutral: (t) => neutralTensorArb(t as Tensor) },
    ['likeInput'],
  ),
  schemaRow('count', lib.count, () => fc.integer({ min: 0, max: 100 }), { bad: fc.constantFrom(-1, 1.5, '3', Number.NaN, 2 ** 53) }, ['count']),
  schemaRow(
    'tensorOf([2])',
    lib.tensorOf([2]),
    (c) => tensorOfShape([2], c.dtype),
    { bad: badTensorArb, neutral: (t) => neutralTensorArb(t as Tensor) },
    ['tensorOf'],
  ),
  schemaRow(
    'nullable(count)',
    lib.nullable(lib.count),
    () => fc.option(fc.integer({ min: 0, max: 9 })),
    { bad: fc.constantFrom(-1, 'x', [1]) },
    ['nullable'],
  ),
  schemaRow(
    'record({ n, v })',
    lib.record({ n: lib.count, v: lib.nullable(lib.likeInput) }),
    (c) => fc.record({ n: fc.integer({ min: 0, max: 5 }), v: fc.option(tensorOfShape(c.input, c.dtype)) }),
    {
      bad: fc.oneof(
        fc.constantFrom<unknown>({ n: 1, v: null, zzz: 1 }, { mask: null }, [1], 5, null, new Map()),
        fc.constant(null).map(() => withThrowingGetter({ n: 1 }, 'v')),
      ),
      neutral: (v) => fc.constant(structuredClone(v)),
    },
    ['record'],
  ),
  ...(['record', 'tensorOf', 'nullable'] as const).map((builder) =>
    row({
      name: `${builder} (built)`,
      covers: [builder],
      names: [builder],
      kind: 'config',
      valid: args(
        builder === 'record'
          ? fc.constant({ a: lib.count })
          : builder === 'tensorOf'
            ? fc.oneof(smallShapeArb, fc.constant((s: Shape) => s))
            : fc.constant(lib.count),
      ),
      alternatives: [
        {
          bad:
            builder === 'record'
              ? fc.oneof(fc.constantFrom<unknown>({ a: 3 }, null, 5, [lib.count]), fc.constant(null).map(() => withThrowingGetter({}, 'a')))
              : builder === 'tensorOf'
                ? badShapeArb.filter((v) => typeof v !== 'function')
                : junkArb.filter((v) => typeof v !== 'function'),
        },
      ],
      call: ([f]) => (lib[builder] as (x: unknown) => unknown)(f),
      check: (v) => (typeof v === 'function' ? undefined : 'not a schema'),
    }),
  ),
]

export const rows: readonly Row[] = [...errorRows, ...keyRows, ...contextRows, ...checkRows, ...schemaRows]

export { numberArb }
