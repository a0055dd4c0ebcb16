/** Rows for the tensor constructors and helpers (src/tensor/tensor.ts). */
import fc from 'fast-check'
import type { NdArray } from 'ndarray'
import type { Data, Shape, Tensor } from '../../../src/index.js'
import * as lib from '../../../src/index.js'
import type { Row } from '../engine.js'
import {
  badDtypeArb,
  badShapeArb,
  badTensorArb,
  emptyLike,
  emptyTensor,
  extremeShapeArb,
  junkArb,
  neutralTensorArb,
  numberArb,
  smallShapeArb,
  tensorOfShape,
  withThrowingGetter,
} from '../junk.js'
import { dims, dtypeOfTensor, elementsOf, sameNumbers, sameShape, tensorProblem } from '../oracle.js'
import { args, dtypeArb, row, wild } from './common.js'

const size = (s: Shape): number => s.reduce((a, b) => a * b, 1)
const round = (dtype: unknown, v: number): number => (dtype === 'float64' ? v : Math.fround(v))

/** A small tensor of a small shape, float32 or float64. */
const someTensor: fc.Arbitrary<Tensor> = fc
  .tuple(smallShapeArb, fc.constantFrom<'float32' | 'float64'>('float32', 'float64'))
  .chain(([s, d]) => tensorOfShape(s, d))

/** The tensor alternatives: broken ones, other forms of it, and an empty one with a huge axis. */
const tensorAlternatives = {
  bad: badTensorArb,
  neutral: (t: unknown) => neutralTensorArb(t as Tensor),
  wild: (t: unknown) => fc.constant(emptyTensor(emptyLike((t as Tensor).shape))),
}

/** Junk that is not numbers: not array-like, or with an element that is not a number (an empty list may be a valid one). */
const notNumbers = junkArb.filter((v) => {
  if (typeof v !== 'object' || v === null) return true
  try {
    const a = v as ArrayLike<unknown>
    if (typeof a.length !== 'number') return true
    return Array.from({ length: Math.min(a.length, 100) }, (_, i) => a[i]).some((x) => typeof x !== 'number')
  } catch {
    return true
  }
})

const shapeAlternatives = { bad: badShapeArb, wild: wild(extremeShapeArb) }

/** A check that the answer is a live tensor holding `expected`'s elements (of `shape`, `dtype`). */
const holds =
  (expected: (c: readonly unknown[]) => readonly number[], shape: (c: readonly unknown[]) => Shape, dtype: (c: readonly unknown[]) => unknown) =>
  (v: unknown, c: { readonly args: readonly unknown[] }): string | undefined => {
    const want = shape(c.args)
    const d = dtype(c.args)
    const p = tensorProblem(v, want, d === 'float64' ? 'float64' : 'float32')
    if (p !== undefined) return p
    const e = expected(c.args).map((x) => round(d, x))
    return sameNumbers(elementsOf(v as NdArray<Data>), e) ? undefined : 'other elements than given'
  }

const tensorRows: readonly Row[] = [
  row({
    name: 'tensor',
    kind: 'throws',
    valid: smallShapeArb.chain((s) =>
      args(fc.array(fc.double({ min: -4, max: 4, noNaN: true }), { minLength: size(s), maxLength: size(s) }), fc.constant(s), dtypeArb),
    ),
    alternatives: [
      {
        bad: fc.oneof(
          notNumbers,
          fc.constantFrom<unknown>('1234', [1, '2'], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21], new BigInt64Array(1)),
        ),
        neutral: (d) => fc.constant(Float64Array.from(d as number[])),
      },
      shapeAlternatives,
      { bad: badDtypeArb },
    ],
    call: ([d, s, t]) => lib.tensor(d as number[], s as Shape, t as lib.DType),
    check: holds(
      (a) => a[0] as number[],
      (a) => a[1] as Shape,
      (a) => a[2],
    ),
  }),
  row({
    name: 'wrap',
    kind: 'throws',
    valid: someTensor.map((t) => [t.data.slice(), dims(t.shape)]),
    alternatives: [
      {
        bad: fc.oneof(
          junkArb.filter((v) => !(v instanceof Float32Array || v instanceof Float64Array)),
          fc.constantFrom<unknown>(new Int32Array(4), [1, 2, 3, 4], new (class Sub extends Float32Array {})(4), new Float32Array(1000)),
        ),
      },
      shapeAlternatives,
    ],
    call: ([d, s]) => lib.wrap(d as Data, s as Shape),
    check: (v, c) => {
      const t = v as Tensor
      return tensorProblem(v, c.args[1] as Shape) ?? (t.data === c.args[0] ? undefined : 'a copy, not a wrap')
    },
  }),
  row({
    name: 'zeros',
    kind: 'throws',
    valid: args(smallShapeArb, dtypeArb),
    alternatives: [shapeAlternatives, { bad: badDtypeArb }],
    call: ([s, d]) => lib.zeros(s as Shape, d as lib.DType),
    check: holds(
      (a) => new Array<number>(size(a[0] as Shape)).fill(0),
      (a) => a[0] as Shape,
      (a) => a[1],
    ),
  }),
  row({
    name: 'full',
    kind: 'throws',
    valid: args(smallShapeArb, numberArb, dtypeArb),
    alternatives: [shapeAlternatives, { bad: junkArb.filter((v) => typeof v !== 'number') }, { bad: badDtypeArb }],
    call: ([s, v, d]) => lib.full(s as Shape, v as number, d as lib.DType),
    check: holds(
      (a) => new Array<number>(size(a[0] as Shape)).fill(a[1] as number),
      (a) => a[0] as Shape,
      (a) => a[2],
    ),
  }),
  row({
    name: 'generate',
    kind: 'throws',
    valid: args(smallShapeArb, fc.constant((i: number) => i / 2), dtypeArb),
    alternatives: [
      shapeAlternatives,
      { bad: junkArb.filter((v) => typeof v !== 'function'), wild: wild(fc.func(fc.oneof(numberArb, junkArb))) },
      { bad: badDtypeArb },
    ],
    call: ([s, f, d]) => lib.generate(s as Shape, f as (i: number) => number, d as lib.DType),
    check: holds(
      (a) => Array.from({ length: size(a[0] as Shape) }, (_, i) => (a[1] as (i: number) => number)(i)),
      (a) => a[0] as Shape,
      (a) => a[2],
    ),
  }),
  row({
    name: 'zerosLike',
    kind: 'throws',
    valid: args(someTensor),
    alternatives: [tensorAlternatives],
    call: ([t]) => lib.zerosLike(t as Tensor),
  }),
  row({
    name: 'fromNested',
    kind: 'throws',
    valid: args(someTensor.map((t) => lib.toNested(t)), dtypeArb),
    alternatives: [
      {
        bad: fc.constantFrom<() => unknown>(
          () => [[1, 2], [3]],
        () => [[1], 'a'],
        () => [1, [2]],
        () => [undefined],
        // eslint-disable-next-line no-sparse-arrays
        () => [, 1],
        () => [5n],
        () => {
          const a: unknown[] = []
          a.push(a)
          return a
        },
        () => {
          let deep: unknown = [1]
          for (let i = 0; i < 40; i++) deep = [deep]
          return deep
        },
        () => withThrowingGetter([1, 2], '1'),
        () => new Float32Array(2),
        ).map((make) => make()),
        wild: wild(junkArb),
      },
      { bad: badDtypeArb },
    ],
    call: ([n, d]) => lib.fromNested(n as lib.Nested, d as lib.DType),
    check: (v, c) => tensorProblem(v, undefined, c.args[1] === 'float64' ? 'float64' : 'float32'),
  }),
  row({
    name: 'revive',
    kind: 'throws',
    valid: args(someTensor.map((t) => structuredClone(t) as unknown)),
    alternatives: [{ bad: badTensorArb, neutral: (r) => fc.constant(lib.revive(r)) }],
    call: ([r]) => lib.revive(r),
    check: (v, c) => {
      const base = c.base[0] as { readonly shape: Shape; readonly data: Data }
      const live = lib.revive(base)
      return (
        tensorProblem(v, base.shape, dtypeOfTensor(live)) ??
        (sameNumbers(elementsOf(v as Tensor), elementsOf(live)) ? undefined : 'other elements than the record')
      )
    },
  }),
  row({
    name: 'dtypeOf',
    kind: 'throws',
    valid: args(someTensor),
    alternatives: [
      {
        bad: junkArb.filter((v) => {
          try {
            const d = (v as { data?: unknown } | null)?.data
            return !(d instanceof Float32Array || d instanceof Float64Array)
          } catch {
            return true
          }
        }),
        neutral: (t) => neutralTensorArb(t as Tensor),
      },
    ],
    call: ([t]) => lib.dtypeOf(t as Tensor),
    check: (v, c) => (v === dtypeOfTensor(c.base[0] as Tensor) ? undefined : `dtype ${String(v)}`),
  }),
]

/** A helper of one tensor: the answer checked against `expected` of the original tensor. */
const unary = (
  name: string,
  call: (t: Tensor) => unknown,
  expected: (t: Tensor) => (v: unknown) => string | undefined,
): Row =>
  row({
    name,
    kind: 'throws',
    valid: args(someTensor),
    alternatives: [tensorAlternatives],
    call: ([t]) => call(t as Tensor),
    check: (v, c) => (c.tags[0] === 'keep' || c.tags[0] === 'neutral' ? expected(c.base[0] as Tensor)(v) : undefined),
  })

const sameElements = (t: Tensor) => (v: unknown) =>
  sameNumbers(Array.from(v as ArrayLike<number>), elementsOf(t)) ? undefined : 'other elements'

const helperRows: readonly Row[] = [
  { ...unary('isContiguous', lib.isContiguous, () => (v) => (typeof v === 'boolean' ? undefined : 'not a boolean')), neutralMayDiffer: true },
  unary('flatData', lib.flatData, sameElements),
  unary('toArray', lib.toArray, sameElements),
  unary('toNested', lib.toNested, (t) => (v) => {
    const back = lib.fromNested(v as lib.Nested)
    // an empty tensor's nested form keeps only the axes up to its first 0
    if (t.size === 0) return undefined
    return sameShape(back.shape, t.shape) || t.shape.length === 0 ? sameElements(t)(lib.flatData(back)) : 'another shape'
  }),
  row({
    name: 'copy',
    kind: 'throws',
    valid: args(someTensor, dtypeArb),
    alternatives: [tensorAlternatives, { bad: badDtypeArb }],
    call: ([t, d]) => lib.copy(t as Tensor, d as lib.DType),
    check: (v, c) => {
      const t = c.base[0] as Tensor
      if (c.tags[0] === 'wild') return undefined
      const d = c.args[1] ?? dtypeOfTensor(t)
      return holds(() => elementsOf(t), () => t.shape, () => d)(v, c)
    },
  }),
  row({
    name: 'astype',
    kind: 'throws',
    valid: args(someTensor, fc.constantFrom('float32', 'float64')),
    alternatives: [tensorAlternatives, { bad: fc.oneof(badDtypeArb, fc.constant(undefined)) }],
    call: ([t, d]) => lib.astype(t as Tensor, d as lib.DType),
    check: (v, c) => {
      const t = c.base[0] as Tensor
      return c.tags[0] === 'wild' ? undefined : holds(() => elementsOf(t), () => t.shape, () => c.args[1])(v, c)
    },
  }),
  row({
    name: 'reshape',
    kind: 'throws',
    valid: someTensor.map((t) => [t, [t.size]]),
    alternatives: [
      { bad: badTensorArb, neutral: (t) => neutralTensorArb(t as Tensor) },
      { bad: fc.oneof(badShapeArb, fc.constant([2 ** 40, 3])), wild: wild(smallShapeArb) },
    ],
    call: ([t, s]) => lib.reshape(t as Tensor, s as Shape),
    check: (v, c) => tensorProblem(v, c.args[1] as Shape),
  }),
  row({
    name: 'named',
    kind: 'throws',
    valid: someTensor.map((t) => [t, t.shape.map((_, i) => `a${i}`)]),
    alternatives: [
      { bad: badTensorArb, neutral: (t) => neutralTensorArb(t as Tensor) },
      { bad: fc.oneof(junkArb.filter((v) => !Array.isArray(v)), fc.constantFrom<unknown>([1, 2], ['a', 3])), wild: wild(fc.array(fc.string(), { maxLength: 5 })) },
    ],
    call: ([t, a]) => lib.named(t as Tensor, a as readonly string[]),
    check: (v, c) => tensorProblem(v, (c.base[0] as Tensor).shape),
  }),
  ...(['equals', 'maxAbsDiff'] as const).map((name) =>
    row({
      name,
      kind: 'throws',
      valid: someTensor.map((t) => [t, lib.copy(t)]),
      alternatives: [tensorAlternatives, tensorAlternatives],
      call: ([a, b]) => lib[name](a as Tensor, b as Tensor),
      check: (v, c) =>
        c.tags.every((t) => t !== 'wild')
          ? name === 'equals'
            ? v === true
              ? undefined
              : 'a tensor does not equal its copy'
            : Object.is(v, 0) || (Number.isNaN(v) && elementsOf(c.base[0] as Tensor).some(Number.isNaN))
              ? undefined
              : `a tensor differs from its copy by ${String(v)}`
          : undefined,
    }),
  ),
  row({
    name: 'allClose',
    kind: 'throws',
    valid: someTensor.map((t) => [t, lib.copy(t), 1e-6, 1e-5]),
    alternatives: [
      tensorAlternatives,
      tensorAlternatives,
      { bad: fc.constantFrom(Number.NaN, -1, Infinity, '0', null) },
      { bad: fc.constantFrom(Number.NaN, -1, Infinity, '0', null) },
    ],
    call: ([a, b, atol, rtol]) => lib.allClose(a as Tensor, b as Tensor, atol as number, rtol as number),
    check: (v) => (typeof v === 'boolean' ? undefined : 'not a boolean'),
  }),
  row({
    name: 'alloc',
    kind: 'throws',
    valid: args(fc.integer({ min: 0, max: 64 }), fc.constantFrom('float32', 'float64')),
    alternatives: [
      { bad: fc.oneof(junkArb.filter((v) => !(typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= 2 ** 32)), fc.constantFrom(2 ** 32 + 1, 2 ** 40)) },
      { bad: fc.oneof(badDtypeArb, fc.constant(undefined)) },
    ],
    call: ([n, d]) => lib.alloc(n as number, d as lib.DType),
    check: (v, c) => ((v as Data).length === c.args[0] ? undefined : 'another length'),
  }),
  row({
    name: 'sizeOf',
    kind: 'throws',
    valid: args(smallShapeArb),
    alternatives: [shapeAlternatives],
    call: ([s]) => lib.sizeOf(s as Shape),
    check: (v, c) => (v === size(c.args[0] as Shape) ? undefined : `size ${String(v)}`),
  }),
  row({
    name: 'rowMajorStrides',
    kind: 'throws',
    valid: args(smallShapeArb),
    alternatives: [shapeAlternatives],
    call: ([s]) => lib.rowMajorStrides(s as Shape),
    check: (v, c) => {
      const s = c.args[0] as Shape
      const want = s.map((_, i) => size(s.slice(i + 1)))
      return sameNumbers(v as number[], want) ? undefined : `strides [${String(v)}]`
    },
  }),
]

export const rows: readonly Row[] = [...tensorRows, ...helperRows]
