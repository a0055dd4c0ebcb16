/**
 * Junk for the hostile-input suite: what a JavaScript caller without types may pass where the
 * library expects a tensor, a shape, a key, a context, a device, a dtype, a config or anything.
 *
 * Every generator here is one of three kinds, and the suite judges results by the kind:
 *
 * - `bad`: definitely invalid for the argument it is drawn for (a result would be a silent wrong
 *   answer);
 * - `neutral`: a different form of the same value (a structured clone, a strided view, a JSON
 *   round trip): the call must give the same bits as with the original;
 * - `wild`: valid or not depending on the rest of the call (another shape, an empty tensor with a
 *   huge leading axis): only the contract is checked (typed errors, no mutation, bounded time).
 *
 * Numbers are drawn from a curated set on purpose: small values, the special ones (NaN, ±Infinity,
 * -0, fractions) and huge ones past every limit (2^32 + 1, 2^40, 2^53, 1e308). Never a size in
 * (2^20, 2^32], which is valid and would make a call do that much real work (and take that long).
 */
import fc from 'fast-check'
import ndarray from 'ndarray'
import type { Key, Shape, Tensor } from '../../src/index.js'
import * as lib from '../../src/index.js'
import { cpu, key, tensor, train, wrap, zeros } from '../../src/index.js'
import { stridedViewArb } from '../../src/arbitraries/index.js'

// ---------------------------------------------------------------------------------------------
// values that throw when read: the suite allows "property access threw" only where one was passed
// ---------------------------------------------------------------------------------------------

/** Every value built to throw on access (getters, proxies), so the judge knows where one was passed. */
export const throwers = new WeakSet<object>()

const mark = <T extends object>(v: T): T => {
  throwers.add(v)
  return v
}

/** An object like `base` whose property `k` is a getter that throws. */
export const withThrowingGetter = (base: object, k: string): object => {
  const o = Array.isArray(base) ? [...(base as unknown[])] : { ...base }
  Object.defineProperty(o, k, {
    get() {
      throw new Error(`getter ${k}`)
    },
    enumerable: true,
    configurable: true,
  })
  return mark(o)
}

const throwingProxy = (): object =>
  mark(
    new Proxy(
      {},
      {
        get: () => {
          throw new Error('proxy get')
        },
        has: () => {
          throw new Error('proxy has')
        },
        ownKeys: () => {
          throw new Error('proxy ownKeys')
        },
        getOwnPropertyDescriptor: () => {
          throw new Error('proxy descriptor')
        },
      },
    ),
  )

const revokedProxy = (): object => {
  const { proxy, revoke } = Proxy.revocable([], {})
  revoke()
  return mark(proxy)
}

const circular = (): object => {
  const o: Record<string, unknown> = { a: 1 }
  o.self = o
  const a: unknown[] = [1]
  a.push(a)
  o.list = a
  return o
}

/**
 * A value made only when the call is made: proxies that throw on `in` or are revoked would break
 * fast-check itself (it probes every value it draws), so the draw is this recipe instead.
 */
export class Late {
  constructor(
    readonly make: () => unknown,
    readonly label: string,
  ) {}
  toString(): string {
    return `Late(${this.label})`
  }
}

/** The arguments of a case with their late values made. */
export const materialize = (args: readonly unknown[]): readonly unknown[] => args.map((a) => (a instanceof Late ? a.make() : a))

/** A filter that keeps a value it cannot inspect (one whose getter throws is junk anyway). */
export const safely =
  (keep: (v: unknown) => boolean) =>
  (v: unknown): boolean => {
    try {
      return keep(v)
    } catch {
      return true
    }
  }

// ---------------------------------------------------------------------------------------------
// leaves and anything
// ---------------------------------------------------------------------------------------------

/** Numbers: small ones, special ones, and huge ones past every limit (see the module doc). */
export const numberArb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -4, max: 8 }),
  fc.constantFrom(0, -0, 0.5, 1.5, -2.5, Number.NaN, Infinity, -Infinity, Number.EPSILON, Number.MIN_VALUE),
  fc.constantFrom(2 ** 32 + 1, 2 ** 40, 2 ** 53, 2 ** 53 + 2, -(2 ** 40), 1e21, 1e308, Number.MAX_VALUE),
)

const leafArb: fc.Arbitrary<unknown> = fc.oneof(
  numberArb,
  fc.constantFrom('', 'abc', 'float16', 'float32', 'float64', 'int32', '__proto__', 'constructor', 'maxPool2d', 'NaN', '1'),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.constantFrom(5n, -1n, 2n ** 64n),
  fc.constant(Symbol('junk')),
  fc.constant(() => 1),
)

/** Values that are hard to handle: throwing getters and proxies, cycles, a 1M-element typed array. */
const specialArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom('data', 'shape', 'training', 'length', '0', 'op', 'name', 'then').map((k) => withThrowingGetter({}, k)),
  fc.constant(new Late(throwingProxy, 'a Proxy that throws')),
  fc.constant(new Late(revokedProxy, 'a revoked Proxy')),
  fc.constant(null).map(circular),
  fc.constant(null).map(() => new Float32Array(1_000_000)),
  fc.constant(null).map(() => new BigInt64Array(3)),
  fc.constant(null).map(() => Object.freeze(Object.create(null) as object)),
  fc.constant(null).map(() => new ArrayBuffer(8)),
)

/** Anything: `fc.anything()` over the leaves above (typed arrays, maps, sets, dates, sparse arrays, boxes) and the specials. */
export const junkArb: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.anything({
      values: [leafArb],
      maxDepth: 2,
      maxKeys: 4,
      withBigInt: true,
      withTypedArray: true,
      withMap: true,
      withSet: true,
      withDate: true,
      withNullPrototype: true,
      withSparseArray: true,
      withBoxedValues: true,
    }),
  },
  { weight: 1, arbitrary: specialArb },
)

// ---------------------------------------------------------------------------------------------
// shapes
// ---------------------------------------------------------------------------------------------

/** Shapes no tensor can have. */
export const badShapeArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>(
    [Number.NaN, 4],
    [-2, 4],
    [2.5, 4],
    ['3'],
    [Infinity],
    [2 ** 53, 2],
    [2 ** 27, 2 ** 27, 2 ** 10],
    [2 ** 40, 2 ** 40],
    new Array<number>(40).fill(1),
    [1, undefined],
    { 0: 2, length: 1 },
    new Int32Array([2, 3]),
    '2,3',
    4,
    null,
  ),
  fc.constant(null).map(() => withThrowingGetter([2, 3], '0')),
  junkArb.filter(safely((v) => !(Array.isArray(v) && v.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)))),
)

/** Valid shapes that are huge or empty (`[2^40, 3, 0]`): the call must return at once. */
export const extremeShapeArb: fc.Arbitrary<Shape> = fc.constantFrom<Shape>(
  [2 ** 40, 3, 0],
  [0],
  [0, 2 ** 40],
  [2 ** 30, 0, 2 ** 30],
  [],
  [1, 1, 1, 1, 1, 1, 1, 1],
  [2 ** 52, 0],
  [2 ** 40, 0, 3, 3],
  [2 ** 33, 0, 1, 1, 1],
)

/** Small valid shapes of rank 0 to 4. */
export const smallShapeArb: fc.Arbitrary<Shape> = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 4 })

/** `shape` with its first axis huge and another zero (same rank; rank 0 stays as it is). */
export const emptyLike = (shape: Shape): Shape =>
  shape.length === 0 ? shape : shape.length === 1 ? [0] : [2 ** 40, ...shape.slice(1, -1), 0]

// ---------------------------------------------------------------------------------------------
// tensors
// ---------------------------------------------------------------------------------------------

/** A record as `structuredClone` makes of a tensor (the prototype dropped). */
export const cloneOf = <T>(v: T): T => structuredClone(v)

/** Broken tensors: integer data, views past their data, records with junk fields, nested arrays. */
export const brokenTensorArb: fc.Arbitrary<unknown> = fc.constantFrom<() => unknown>(
  () => ndarray(new Int32Array(6), [2, 3]),
() => ndarray(new Uint8Array(4), [4]),
() => ndarray(new Float32Array(3), [2, 3]),
() => ndarray(new Float64Array(6), [2, 3], [3, 1], 4),
() => ndarray(new Float32Array(6), [2, 3], [-3, 1], 0),
() => ndarray(new Float32Array(1), [2 ** 40], [0], 0),
() => ndarray(new Float32Array(4), [2, 2], [2, 1], 2 ** 31),
() => ({ data: new Float32Array(4), shape: [2, 2], stride: [2, 1] }),
() => ({ data: new Float32Array(4), shape: [2, Number.NaN], stride: [2, 1], offset: 0 }),
() => ({ data: new Float32Array(4), shape: [2, 2], stride: [1], offset: 0 }),
() => ({ data: [1, 2, 3, 4], shape: [4], stride: [1], offset: 0 }),
() => ({ data: new Float32Array(4), shape: '4', stride: [1], offset: 0 }),
() => ({ data: new Float32Array(2), shape: [4], stride: [1], offset: 0 }),
() => ({ data: new (class Sub extends Float32Array {})(4), shape: [4], stride: [1], offset: 0 }),
() => {
  const d = new Float32Array(4)
  Object.defineProperty(d, 'length', { value: 100 })
  return { data: d, shape: [4], stride: [1], offset: 0 }
},
() => structuredClone(ndarray(new Int16Array(4), [4])),
() => [
  [1, 2],
  [3, 4],
],
() => new Float32Array(4),
() => withThrowingGetter({ shape: [2], stride: [1], offset: 0 }, 'data'),
() => withThrowingGetter({ data: new Float32Array(2), stride: [1], offset: 0 }, 'shape'),
() => {
  const t = zeros([2, 2])
  const shape = withThrowingGetter([2, 2], '1')
  return mark({ data: t.data, shape, stride: [2, 1], offset: 0 })
},
).map((make) => make())

/** Not-tensors and broken tensors. */
export const badTensorArb: fc.Arbitrary<unknown> = fc.oneof(junkArb, brokenTensorArb)

/** Other forms of the same tensor: its structured clone, a strided view of it, a record with an extra field. */
export const neutralTensorArb = (t: Tensor): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.constant(null).map(() => cloneOf(t)),
    stridedViewArb(t),
    fc.constant(null).map(() => ({ ...cloneOf(t), label: 'x' })),
  )

/** A tensor of `shape` (values in [-2, 2] on a 2^-10 grid) of the dtype. */
export const tensorOfShape = (shape: Shape, dtype: 'float32' | 'float64' = 'float32'): fc.Arbitrary<Tensor> => {
  const n = shape.reduce((a, b) => a * b, 1)
  return fc
    .array(fc.integer({ min: -2048, max: 2048 }), { minLength: n, maxLength: n })
    .map((v) => tensor(v.map((i) => i / 1024), shape, dtype) as Tensor)
}

/** `t` with some elements NaN, ±Infinity, -0 or the largest float32: valid values every layer must survive. */
export const withSpecialValues = (t: Tensor): fc.Arbitrary<Tensor> =>
  fc
    .array(fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, 3.4e38, -3.4e38, 1e-45), { minLength: t.size, maxLength: t.size })
    .chain((specials) => fc.array(fc.boolean(), { minLength: t.size, maxLength: t.size }).map((pick) => ({ specials, pick })))
    .map(({ specials, pick }) => {
      const out = lib.copy(t)
      for (let i = 0; i < t.size; i++) if (pick[i]) out.data[i] = specials[i]
      return out
    })

/** A zero-size tensor of `shape` (which has a 0 somewhere). */
export const emptyTensor = (shape: Shape, dtype: 'float32' | 'float64' = 'float32'): Tensor => zeros(shape, dtype) as Tensor

// ---------------------------------------------------------------------------------------------
// keys, dtypes, devices, contexts
// ---------------------------------------------------------------------------------------------

/** Keys from seeds. */
export const keyArb: fc.Arbitrary<Key> = fc.integer({ min: 0, max: 1000 }).map(key)

/** Not keys: the all-zero key, wrong lengths, fractions, words past uint32, a getter word. */
export const badKeyArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>([0, 0, 0, 0], [1, 2, 3], [1, 2, 3, 4.5], [-1, 0, 0, 0], [2 ** 32, 0, 0, 0], [1, 2, 3, 4, 5], 'key', 42),
  fc.constant(null).map(() => withThrowingGetter([1, 2, 3, 4], '2')),
  junkArb.filter(safely((v) => !(Array.isArray(v) && v.length === 4))),
)

/** A key as `JSON.parse(JSON.stringify(k))` gives it: a plain array. */
export const neutralKey = (k: Key): unknown => JSON.parse(JSON.stringify(k)) as unknown

/** Not dtypes. */
export const badDtypeArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<unknown>('float16', 'int32', 'Float32', 'float', 'bfloat16', 32, null, Float32Array),
  junkArb.filter((v) => v !== undefined && v !== 'float32' && v !== 'float64'),
)

/** Not devices: objects with some of a device's members, junk. */
export const badDeviceArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<() => unknown>(
    () => ({}),
  () => ({ run: () => [] }),
  () => ({ ...cpu, pool2d: undefined }),
  () => ({ ...cpu, name: 5 }),
  () => withThrowingGetter({ ...cpu }, 'matmul'),
  () => 'cpu',
  ).map((make) => make()),
  junkArb.filter((v) => v !== undefined),
)

/** Contexts that are not: junk, a training flag that is not a boolean, a bad key, device or draws. */
export const badCtxArb: fc.Arbitrary<unknown> = fc.oneof(
  junkArb.filter(safely((v) => !(typeof v === 'object' && v !== null && typeof (v as { training?: unknown }).training === 'boolean'))),
  fc.constantFrom<unknown>({ training: 'yes' }, { training: 1 }, {}, { key: key(0) }),
  badKeyArb.filter((v) => v !== undefined).map((k) => ({ training: true, key: k })),
  badDeviceArb.map((backend) => ({ training: false, backend })),
  badTensorArb.filter((v) => v !== undefined).map((draws) => ({ training: true, key: key(1), draws })),
  fc.constant(null).map(() => withThrowingGetter({ training: true }, 'training')),
)

/** A context as `structuredClone` gives it (no device: a device's methods do not clone). */
export const neutralCtx = (ctx: { readonly training: boolean; readonly key?: Key }): unknown =>
  cloneOf({ training: ctx.training, ...(ctx.key === undefined ? {} : { key: ctx.key }) })

/** A valid training context with a key (what any layer accepts). */
export const trainCtxArb: fc.Arbitrary<ReturnType<typeof train>> = keyArb.map((k) => train(k))

/** Data of a tensor, for wrap: a plain float array. */
export const wrapOf = (t: Tensor): Tensor => wrap(t.data.slice(), t.shape)
