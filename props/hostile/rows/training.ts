/**
 * Rows for training: the optimizers (their constructors, `init` and `update`), the schedule, the
 * clipping, the checkpoint functions (trees as named entries, safetensors bytes, PyTorch state
 * dicts), the losses (constructors, `withTarget`, `lossValue`), `lossAndGrad`, `recording` and
 * building `timeMerged`. The checkpoint files (`saveCheckpoint`, `loadCheckpoint`) write to disk:
 * their own test in props/hostile.prop.ts keeps every path under a fresh temporary folder.
 */
import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import type { AnyLayer, Ctx, Shape, Tensor } from '../../../src/index.js'
import * as lib from '../../../src/index.js'
import type { Case, Row } from '../engine.js'
import {
  badCtxArb,
  badDeviceArb,
  badTensorArb,
  brokenTensorArb,
  cloneOf,
  junkArb,
  keyArb,
  Late,
  neutralCtx,
  neutralTensorArb,
  safely,
  tensorOfShape,
  throwers,
  withSpecialValues,
  withThrowingGetter,
} from '../junk.js'
import { dtypeOfTensor, elementsOf, sameNumbers, storages, tensorProblem } from '../oracle.js'
import { opaqueValue } from '../snapshot.js'
import { deviceArb } from './basics.js'
import { args, row, wild } from './common.js'
import { type Constructor, constructorRow } from './layers.js'

type DType = 'float32' | 'float64'
const dtypeArb = fc.constantFrom<DType>('float32', 'float64')
const opt = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined })
const without = (o: Record<string, unknown>): Record<string, unknown> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined))
const isPlainObject = (v: unknown): v is Readonly<Record<string, unknown>> => {
  if (typeof v !== 'object' || v === null) return false
  const p = Object.getPrototypeOf(v) as unknown
  return p === Object.prototype || p === null
}
const isThrower = (v: unknown): boolean => v instanceof Late || (typeof v === 'object' && v !== null && throwers.has(v))

// ---------------------------------------------------------------------------------------------
// trees
// ---------------------------------------------------------------------------------------------

/**
 * A params tree as layers and pipelines make them: tensors (a 0-d one: its structured clone is
 * `{ data, offset }`), a null, a nested array, a counter.
 */
interface Params {
  readonly w: Tensor
  readonly b: Tensor | null
  readonly layers: readonly [{ readonly k: Tensor; readonly count: number; readonly scale: Tensor }]
}

const paramsArb = (dtype: DType): fc.Arbitrary<Params> =>
  fc
    .tuple(tensorOfShape([2, 3], dtype), fc.option(tensorOfShape([3], dtype), { nil: null }), tensorOfShape([2], dtype), fc.nat(5), tensorOfShape([], dtype))
    .map(([w, b, k, count, scale]) => ({ w, b, layers: [{ k, count, scale }] as const }))

/** Gradients for params `p`: one per tensor (numbers are ignored). */
const gradsArb = (p: Params, dtype: DType): fc.Arbitrary<Params> =>
  fc
    .tuple(tensorOfShape([2, 3], dtype), tensorOfShape([3], dtype), tensorOfShape([2], dtype), tensorOfShape([], dtype))
    .map(([w, b, k, scale]) => ({ w, b: p.b === null ? null : b, layers: [{ k, count: 0, scale }] as const }))

/** `tree` with a cycle in it. */
const withCycle = (tree: object): object => {
  const o: Record<string, unknown> = { ...tree }
  o.self = o
  return o
}

/** Trees no tree-walking function may take: cycles, getters that throw, broken tensors, leaves that are not data. */
const badTreeArb = (base: Params): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.constant(null).map(() => withCycle(base)),
    fc.constant(null).map(() => ({ ...base, layers: [withCycle(base.layers[0])] })),
    fc.constantFrom('w', 'layers').map((k) => withThrowingGetter(base, k)),
    brokenTensorArb
      .filter((t) => typeof t === 'object' && t !== null && !Array.isArray(t) && !ArrayBuffer.isView(t) && !Object.hasOwn(t, 'then'))
      .map((w) => ({ ...base, w })),
    fc.constantFrom<unknown>(() => 1, Symbol('leaf'), 5n).map((leaf) => ({ ...base, w: leaf })),
    fc.constant(null).map(() => ({ ...base, layers: [{ ...base.layers[0], k: new Map() }] })),
  )

const fixedParams = fc.sample(paramsArb('float32'), { numRuns: 1, seed: 11 })[0]

// ---------------------------------------------------------------------------------------------
// optimizers
// ---------------------------------------------------------------------------------------------

/** A row's optimizer: built once, with the dtype its row updates in. */
interface Subject {
  readonly label: string
  readonly opt: lib.Optimizer
  readonly dtype: DType
  /** Buffers this configuration keeps (the others are null in its state). */
  readonly kept: readonly string[]
  /** Params paths it freezes (no gradient needed, the same object back). */
  readonly frozen: readonly string[]
}

const subjects: readonly Subject[] = ([
  { label: 'sgd({ lr })', opt: lib.sgd({ lr: 0.1 }), dtype: 'float64', kept: [], frozen: [] },
  {
    label: 'sgd({ nesterov })',
    opt: lib.sgd({ lr: 0.05, momentum: 0.9, nesterov: true, weightDecay: 0.01 }),
    dtype: 'float32',
    kept: ['momentumBuffer'],
    frozen: [],
  },
  {
    label: 'sgd({ lr: cosineSchedule })',
    opt: lib.sgd({ lr: lib.cosineSchedule({ base: 0.1, steps: 4, warmup: 1 }), momentum: 0.5, dampening: 0.1 }),
    dtype: 'float64',
    kept: ['momentumBuffer'],
    frozen: [],
  },
  { label: 'adam({ amsgrad })', opt: lib.adam({ lr: 0.01, amsgrad: true }), dtype: 'float32', kept: ['expAvg', 'expAvgSq', 'maxExpAvgSq'], frozen: [] },
  { label: 'adam()', opt: lib.adam(), dtype: 'float64', kept: ['expAvg', 'expAvgSq'], frozen: [] },
  { label: "adamW({ trainable: trainableExcept('k') })", opt: lib.adamW({ trainable: lib.trainableExcept('k') }), dtype: 'float32', kept: ['expAvg', 'expAvgSq'], frozen: ['layers.0.k'] },
] as const satisfies readonly Subject[]).map((s): Subject => ({ ...s, opt: opaqueValue(s.opt as object) as lib.Optimizer }))

const allBuffers: Readonly<Record<string, readonly string[]>> = {
  SGD: ['momentumBuffer'],
  Adam: ['expAvg', 'expAvgSq', 'maxExpAvgSq'],
  AdamW: ['expAvg', 'expAvgSq', 'maxExpAvgSq'],
}

type State = Readonly<Record<string, unknown>> & { readonly step: number }

/** A valid update: params, grads and the state after 0 to 2 updates with those grads. */
const updateArgs = (s: Subject): fc.Arbitrary<readonly unknown[]> =>
  fc.tuple(paramsArb(s.dtype), fc.nat(2)).chain(([p0, warm]) =>
    gradsArb(p0, s.dtype).map((g) => {
      let params: unknown = p0
      let state = s.opt.init(p0) as unknown as State
      for (let i = 0; i < warm; i++) {
        const r = lib.orThrow(s.opt.update(g as never, state as never, params))
        params = r.params
        state = r.state as unknown as State
      }
      return [g, state, params]
    }),
  )

const sampleState = (s: Subject): State => fc.sample(updateArgs(s), { numRuns: 1, seed: 5 })[0][1] as State

/** States this optimizer must reject: a bad step, an unknown key, a buffer of another shape, dtype or kind, another optimizer's. */
const badStateArb = (s: Subject): fc.Arbitrary<unknown> => {
  const st = sampleState(s)
  const other: DType = s.dtype === 'float32' ? 'float64' : 'float32'
  const buffers = allBuffers[s.opt.name]
  // another optimizer's state, where it holds other buffers
  const foreign = subjects.filter((o) => allBuffers[o.opt.name].join() !== buffers.join() || o.kept.join() !== s.kept.join()).map(sampleState)
  return fc.oneof(
    fc.constantFrom<unknown>(-1, 1.5, '1', Number.NaN, 2 ** 53, null).map((step) => ({ ...st, step })),
    fc.constant({ ...st, zzz: 1 }),
    fc.constant(null).map(() => {
      const { step: _, ...rest } = st
      return rest
    }),
    ...(foreign.length > 0 ? [fc.constantFrom(...foreign)] : []),
    ...s.kept.flatMap((b) => [
      fc.constant({ ...st, [b]: null }),
      fc.constant({ ...st, [b]: { ...(st[b] as object), w: lib.zeros([3, 2], s.dtype) } }),
      fc.constant({ ...st, [b]: { ...(st[b] as object), w: lib.zeros([2, 3], other) } }),
      fc.constant({ ...st, [b]: { ...(st[b] as object), w: 'x' } }),
    ]),
    ...buffers.filter((b) => !s.kept.includes(b)).map((b) => fc.constant({ ...st, [b]: { w: lib.zeros([2, 3], s.dtype) } })),
    fc.constant(null).map(() => withThrowingGetter(st, 'step')),
    junkArb.filter(safely((v) => !(isPlainObject(v) && typeof v.step === 'number'))),
  )
}

/** Grads this update must reject: a trainable tensor's missing, of another shape or dtype, broken, unreadable. */
const badGradsArb = (s: Subject): fc.Arbitrary<unknown> => {
  const other: DType = s.dtype === 'float32' ? 'float64' : 'float32'
  const g = fc.sample(paramsArb(s.dtype).chain((p) => gradsArb({ ...p, b: null }, s.dtype)), { numRuns: 1, seed: 3 })[0]
  return fc.oneof(
    fc.constant({ ...g, w: undefined }),
    fc.constant({ ...g, w: null }),
    fc.constant({ ...g, w: lib.zeros([3, 2], s.dtype) }),
    fc.constant({ ...g, w: lib.zeros([2, 3], other) }),
    brokenTensorArb.filter((t) => typeof t === 'object' && t !== null && !Array.isArray(t) && !ArrayBuffer.isView(t)).map((w) => ({ ...g, w })),
    fc.constant(null).map(() => withThrowingGetter(g, 'w')),
    junkArb.filter((v) => !isPlainObject(v)),
  )
}

/** Params this update must reject: a tensor without a gradient or of another shape, a broken one, a cycle, a getter. */
const badParamsArb = (s: Subject): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.constant({ ...fixedParams, w: lib.zeros([3, 2], s.dtype) }),
    fc.constant({ ...fixedParams, w: lib.astype(fixedParams.w, s.dtype), extra: lib.zeros([2], s.dtype) }),
    badTreeArb(fixedParams),
  )

/** A tensor or a structured clone of one (a 0-d one's is `{ data, offset }`). */
const looksLikeTensor = (v: unknown): boolean => typeof v === 'object' && v !== null && 'data' in v && ('shape' in v || 'offset' in v)

/** The tensors of a tree by dotted path (a checkpoint's names), without the library's walk. */
const tensorsOf = (tree: unknown, at = '', out = new Map<string, unknown>()): Map<string, unknown> => {
  if (typeof tree !== 'object' || tree === null) return out
  if (looksLikeTensor(tree)) {
    out.set(at, tree)
    return out
  }
  for (const [k, v] of Object.entries(tree)) tensorsOf(v, at === '' ? k : `${at}.${k}`, out)
  return out
}

const updateCheck = (s: Subject) => (v: unknown, c: Case): string | undefined => {
  const r = v as { readonly params: unknown; readonly state: State }
  const before = c.args[1] as State
  if (r.state.step !== before.step + 1) return `step ${String(r.state.step)} after ${before.step}`
  const given = tensorsOf(c.args[2])
  const got = tensorsOf(r.params)
  if ([...given.keys()].join() !== [...got.keys()].join()) return `params ${[...got.keys()].join()}, not ${[...given.keys()].join()}`
  const argStorage = storages([c.args[0], c.args[1]])
  for (const [k, t] of got) {
    const p = tensorProblem(t, lib.revive(given.get(k)).shape, s.dtype)
    if (p !== undefined) return `params.${k}: ${p}`
    if (!s.frozen.includes(k) && Array.from(storages(t)).some((b) => argStorage.has(b) || storages(given.get(k)).has(b))) {
      return `params.${k} shares storage with an argument`
    }
  }
  for (const b of s.kept) {
    const buf = tensorsOf(r.state[b])
    const want = [...given.keys()].filter((k) => !s.frozen.includes(k))
    if ([...buf.keys()].join() !== want.join()) return `state.${b} holds ${[...buf.keys()].join()}, not ${want.join()}`
  }
  if (s.label === 'sgd({ lr })' && c.tags.every((t) => t !== 'wild')) {
    // plain SGD in float64: p - 0.1 g exactly
    const g = tensorsOf(c.args[0])
    for (const [k, t] of got) {
      const want = elementsOf(lib.revive(given.get(k))).map((x, i) => x + -0.1 * elementsOf(lib.revive(g.get(k)))[i])
      if (!sameNumbers(elementsOf(t as Tensor), want)) return `params.${k}: not p - lr g`
    }
  }
  return undefined
}

const updateRows: readonly Row[] = subjects.map((s) =>
  row({
    name: `${s.label}.update`,
    covers: [s.opt.name === 'SGD' ? 'sgd' : s.opt.name === 'Adam' ? 'adam' : 'adamW', 'trainableExcept', 'cosineSchedule'],
    kind: 'either',
    names: [s.opt.name],
    valid: updateArgs(s),
    alternatives: [
      // grads with an entry nothing reads are the same grads
      { bad: badGradsArb(s), neutral: (g) => fc.constantFrom(cloneOf(g), { ...(g as object), zzz: 1 }) },
      { bad: badStateArb(s), neutral: (st) => fc.constant(cloneOf(st)) },
      // (wild params keep their tensors: params without any would make bad grads and states good)
      { bad: badParamsArb(s), neutral: (p) => fc.constant(cloneOf(p)), wild: (p) => withSpecialValues((p as Params).w).map((w) => ({ ...(p as object), w })) },
    ],
    call: ([g, st, p]) => s.opt.update(g as never, st as never, p),
    check: updateCheck(s),
  }),
)

const initRow = row({
  name: 'optimizer.init',
  covers: ['sgd', 'adam', 'adamW'],
  kind: 'throws',
  names: (c) => [(c.args[0] as Subject).opt.name],
  valid: fc.constantFrom(...subjects).chain((s) => paramsArb(s.dtype).map((p) => [s, p])),
  alternatives: [{}, { bad: badTreeArb(fixedParams), neutral: (p) => fc.constant(cloneOf(p)), wild: () => junkArb }],
  call: ([s, p]) => (s as Subject).opt.init(p),
  check: (v, c) => {
    const s = c.args[0] as Subject
    const st = v as State
    if (st.step !== 0) return `step ${String(st.step)}`
    const want = [...tensorsOf(c.args[1]).keys()].filter((k) => !s.frozen.includes(k))
    for (const b of allBuffers[s.opt.name]) {
      const buf = tensorsOf(st[b])
      if (!s.kept.includes(b)) {
        if (st[b] !== null) return `state.${b} is not null`
        continue
      }
      if ([...buf.keys()].join() !== want.join()) return `state.${b} holds ${[...buf.keys()].join()}, not ${want.join()}`
      if ([...buf.values()].some((t) => elementsOf(t as Tensor).some((x) => !Object.is(x, 0)))) return `state.${b} is not zeros`
    }
    return undefined
  },
})

// ---------------------------------------------------------------------------------------------
// optimizer and schedule constructors
// ---------------------------------------------------------------------------------------------

const nonneg = fc.double({ min: 0, max: 2, noNaN: true })
const unit = fc.double({ min: 0, max: 0.99, noNaN: true })
const trainableArb = opt(fc.constantFrom(lib.trainableExcept('mask'), () => true))
const isOptimizer = (v: unknown): string | undefined =>
  typeof v === 'object' && v !== null && typeof (v as lib.Optimizer).init === 'function' && typeof (v as lib.Optimizer).update === 'function'
    ? undefined
    : 'not an optimizer'

const optimizerConstructors: readonly (Constructor & { readonly names: readonly string[]; readonly check: (v: unknown) => string | undefined })[] = [
  {
    name: 'sgd',
    names: ['SGD'],
    build: (c) => lib.sgd(c as lib.SgdConfig),
    configs: fc
      .record({ lr: fc.oneof(nonneg, fc.constant(lib.cosineSchedule({ base: 0.1, steps: 3 }))), momentum: opt(nonneg), dampening: opt(fc.double({ min: -1, max: 1, noNaN: true })), weightDecay: opt(nonneg), nesterov: opt(fc.boolean()), trainable: trainableArb })
      .map((c) => without({ ...c, nesterov: c.nesterov === true && (c.momentum ?? 0) > 0 && (c.dampening ?? 0) === 0 ? true : c.nesterov === true ? undefined : c.nesterov })),
    fields: {
      lr: { type: 'nonneg', required: true },
      momentum: { type: 'nonneg', required: false },
      dampening: { type: 'number', required: false },
      weightDecay: { type: 'nonneg', required: false },
      nesterov: { type: 'bool', required: false },
      trainable: { type: 'function', required: false },
    },
    optional: false,
    check: isOptimizer,
  },
  ...(['adam', 'adamW'] as const).map((name) => ({
    name,
    names: [name === 'adam' ? 'Adam' : 'AdamW'],
    build: (c: unknown) => lib[name](c as lib.AdamConfig),
    configs: fc
      .record({ lr: opt(nonneg), betas: opt(fc.tuple(unit, unit)), eps: opt(nonneg), weightDecay: opt(nonneg), amsgrad: opt(fc.boolean()), trainable: trainableArb })
      .map(without),
    fields: {
      lr: { type: 'nonneg' as const, required: false },
      betas: { type: 'betas' as const, required: false },
      eps: { type: 'nonneg' as const, required: false },
      weightDecay: { type: 'nonneg' as const, required: false },
      amsgrad: { type: 'bool' as const, required: false },
      trainable: { type: 'function' as const, required: false },
    },
    optional: true,
    check: isOptimizer,
  })),
  {
    name: 'cosineSchedule',
    names: ['cosineSchedule'],
    build: (c) => lib.cosineSchedule(c as lib.CosineScheduleConfig),
    configs: fc
      .record({ base: nonneg, steps: fc.integer({ min: 1, max: 10 }), min: opt(nonneg), warmup: opt(fc.nat(9)) })
      .map((c) => without({ ...c, warmup: c.warmup !== undefined && c.warmup < c.steps ? c.warmup : undefined })),
    fields: {
      base: { type: 'nonneg', required: true },
      steps: { type: 'int', required: true },
      min: { type: 'nonneg', required: false },
      warmup: { type: 'count', required: false },
    },
    optional: false,
    check: (v) => (typeof v === 'function' ? undefined : 'not a schedule'),
  },
]

const schedules = [
  lib.cosineSchedule({ base: 0.1, steps: 10 }),
  lib.cosineSchedule({ base: 0.5, steps: 6, min: 0.05, warmup: 2 }),
].map((f) => opaqueValue(f))
const scheduleBounds = new Map<unknown, readonly [number, number]>([
  [schedules[0], [0, 0.1]],
  [schedules[1], [0.05, 0.5]],
])

const scheduleRows: readonly Row[] = [
  row({
    name: 'cosineSchedule()',
    covers: ['cosineSchedule'],
    kind: 'throws',
    names: ['cosineSchedule'],
    valid: args(fc.constantFrom(...schedules), fc.oneof(fc.nat(12), fc.constantFrom(2 ** 40, Number.MAX_SAFE_INTEGER))),
    alternatives: [{}, { bad: fc.oneof(fc.constantFrom<unknown>(-1, 1.5, Number.NaN, Infinity, -Infinity, '1', null, 2n), junkArb.filter((v) => typeof v !== 'number')) }],
    call: ([f, step]) => (f as lib.Schedule)(step as number),
    check: (v, c) => {
      const [lo, hi] = scheduleBounds.get(c.args[0]) ?? [0, 0]
      return typeof v === 'number' && v >= lo - 1e-15 && v <= hi + 1e-15 ? undefined : `a rate ${String(v)} outside [${lo}, ${hi}]`
    },
  }),
  row({
    name: 'trainableExcept',
    kind: 'config',
    valid: args(fc.array(fc.constantFrom('mask', 'bias', 'k', ''), { maxLength: 3 })),
    alternatives: [
      {
        bad: fc.oneof(
          fc.constantFrom<unknown>([5], ['mask', null], [undefined], [Symbol('k')], [['mask']], [{ toString: () => 'mask' }]),
          junkArb.filter((v) => typeof v !== 'string' && !Array.isArray(v) && !isThrower(v)),
        ),
      },
    ],
    // the keys as separate arguments (a non-array is the one key)
    call: ([keys]) => lib.trainableExcept(...((Array.isArray(keys) ? keys : [keys]) as string[])),
    check: (v, c) => {
      if (typeof v !== 'function') return 'not a predicate'
      const keys = c.args[0] as readonly string[]
      const t = lib.zeros([1])
      const f = v as lib.Trainable
      return keys.every((k) => f([0, k], t) === false) && f([0, 'zzz'], t) === true ? undefined : 'a predicate that does not freeze the keys'
    },
  }),
  row({
    name: 'trainableExcept()',
    covers: ['trainableExcept'],
    kind: 'throws',
    names: ['trainableExcept'],
    valid: args(fc.array(fc.oneof(fc.constantFrom('mask', 'weight', 'bias'), fc.nat(3)), { maxLength: 3 }), fc.constant(lib.zeros([2]))),
    alternatives: [
      {
        bad: fc.oneof(
          fc.constantFrom<unknown>('mask', [null], [{}], [1.5], [Symbol('mask')], { 0: 'mask', length: 1 }),
          fc.constant(null).map(() => withThrowingGetter(['mask'], '0')),
          junkArb.filter((v) => !Array.isArray(v)),
        ),
      },
      { wild: wild(junkArb) },
    ],
    call: ([path, leaf]) => lib.trainableExcept('mask')(path as (string | number)[], leaf as Tensor),
    check: (v, c) => (v === !(c.args[0] as readonly unknown[]).includes('mask') ? undefined : `answered ${String(v)}`),
  }),
]

// ---------------------------------------------------------------------------------------------
// clipping
// ---------------------------------------------------------------------------------------------

const norm2 = (tree: unknown): number => {
  let sum = 0
  for (const t of tensorsOf(tree).values()) for (const x of elementsOf(lib.revive(t))) sum += x * x
  return Math.sqrt(sum)
}

const clipRow = row({
  name: 'clipByGlobalNorm',
  kind: 'either',
  valid: dtypeArb.chain((dtype) => args(paramsArb(dtype), fc.oneof(nonneg, fc.constantFrom(0, 1e6)))),
  alternatives: [
    { bad: badTreeArb(fixedParams), neutral: (g) => fc.constant(cloneOf(g)), wild: (g) => withSpecialValues((g as Params).w).map((w) => ({ ...(g as object), w })) },
    { bad: fc.oneof(fc.constantFrom<unknown>(-1, Number.NaN, Infinity, -Infinity, '1', null, undefined, 1n), junkArb.filter((v) => typeof v !== 'number')) },
  ],
  call: ([g, m]) => lib.clipByGlobalNorm(g, m as number),
  check: (v, c) => {
    if (c.tags[0] === 'wild') return undefined
    const r = v as lib.Clipped<unknown>
    const want = norm2(c.args[0])
    if (Math.abs(r.norm - want) > 1e-9 * Math.max(1, want)) return `norm ${r.norm}, not ${want}`
    const max = c.args[1] as number
    const after = norm2(r.grads)
    if (after > max * (1 + 1e-6) + 1e-6 && want > max) return `a clipped norm ${after} over ${max}`
    const given = tensorsOf(c.args[0])
    for (const [k, t] of tensorsOf(r.grads)) {
      const p = tensorProblem(lib.revive(t), lib.revive(given.get(k)).shape, dtypeOfTensor(lib.revive(given.get(k))))
      if (p !== undefined) return `grads.${k}: ${p}`
    }
    return undefined
  },
})

// ---------------------------------------------------------------------------------------------
// checkpoints: named entries and safetensors
// ---------------------------------------------------------------------------------------------

/** A tree as a checkpoint holds it: the params tree with a float counter beside it. */
const ckptArb = dtypeArb.chain((dtype) => fc.tuple(paramsArb(dtype), fc.constantFrom(0.5, -3, 2 ** 40)).map(([p, lr]) => ({ params: p, lr })))

/** The entries flattenTree must give: tensors and numbers by dotted path (nulls left out), by a walk of our own. */
const namedOf = (tree: unknown, at = '', out = new Map<string, unknown>()): Map<string, unknown> => {
  if (tree === null || tree === undefined) return out
  if (typeof tree === 'number') {
    out.set(at, tree)
    return out
  }
  if (looksLikeTensor(tree)) {
    out.set(at, lib.revive(tree))
    return out
  }
  for (const [k, v] of Object.entries(tree as object)) namedOf(v, at === '' ? k : `${at}.${k}`, out)
  return out
}

/**
 * What is wrong with named entries against the tree they came from, or undefined. Read from a
 * file (`filed`), a number that is not a safe integer comes back as the 0-d F64 tensor it was
 * written as.
 */
const entriesProblem = (entries: unknown, tree: unknown, filed = false): string | undefined => {
  const want = namedOf(tree)
  const got = entries as Readonly<Record<string, unknown>>
  const keys = Object.keys(got).sort()
  if (keys.join() !== [...want.keys()].sort().join()) return `entries ${keys.join()}, not ${[...want.keys()].sort().join()}`
  for (const [k, w] of want) {
    const g = got[k]
    if (typeof w === 'number') {
      const held = filed && !Number.isSafeInteger(w) && tensorProblem(g, [], 'float64') === undefined ? (g as Tensor).get() : g
      if (!Object.is(held, w)) return `entry ${k}: ${String(g)}, not ${w}`
      continue
    }
    const t = w as Tensor
    const p = tensorProblem(g, t.shape, dtypeOfTensor(t))
    if (p !== undefined) return `entry ${k}: ${p}`
    if (!sameNumbers(elementsOf(g as Tensor), elementsOf(t))) return `entry ${k}: other elements`
  }
  return undefined
}

/** Trees whose dotted names collide, or use the header's own key. */
const duplicateNames = fc.constantFrom<() => unknown>(
  () => ({ 'a.b': lib.zeros([1]), a: { b: lib.zeros([1]) } }),
() => ({ a: [lib.zeros([1])], 'a.0': 1 }),
() => ({ __metadata__: lib.zeros([1]) }),
).map((f) => f())

/** Trees a checkpoint cannot hold: those no walk takes, strings and booleans, a leaf at the root, names twice. */
const badCkptArb = fc.oneof(
  badTreeArb(fixedParams),
  fc.constantFrom<unknown>('a', true).map((leaf) => ({ params: fixedParams, leaf })),
  // (a null or undefined tree is no leaf: it holds nothing, an empty checkpoint)
  fc.constantFrom<unknown>(5, 'abc', true),
  fc.constant(null).map(() => lib.zeros([2])),
  duplicateNames,
)

const checkpointTreeRows: readonly Row[] = [
  row({
    name: 'flattenTree',
    kind: 'either',
    valid: args(ckptArb),
    alternatives: [{ bad: badCkptArb, neutral: (t) => fc.constant(cloneOf(t)) }],
    call: ([t]) => lib.flattenTree(t),
    check: (v, c) => entriesProblem(v, c.args[0]),
  }),
  row({
    name: 'unflattenTree',
    kind: 'either',
    valid: dtypeArb.chain((dtype) =>
      fc.tuple(paramsArb(dtype), paramsArb(dtype)).map(([template, p]) => [template, lib.orThrow(lib.flattenTree({ ...p, b: template.b === null ? null : p.b ?? template.b }))]),
    ),
    alternatives: [
      { bad: fc.oneof(badTreeArb(fixedParams), fc.constantFrom<unknown>({ w: 'x' }, { w: true })), neutral: (t) => fc.constant(cloneOf(t)) },
      {
        bad: fc.oneof(
          fc.constantFrom<unknown>(5, 'abc', null, undefined),
          fc.constant(null).map(() => ({ w: lib.zeros([2, 3]) })),
          fc.constant(null).map(() => withThrowingGetter({ w: lib.zeros([2, 3]) }, 'w')),
          junkArb.filter((v) => v instanceof Late),
        ),
        // the same entries: a clone, a counter as a 0-d tensor (a file holds it so), a strided view
        neutral: (e) =>
          fc.oneof(
            fc.constant(cloneOf(e)),
            fc.constant(null).map(() => ({ ...(e as object), 'layers.0.count': lib.full([], (e as { 'layers.0.count': number })['layers.0.count'], 'float64') })),
            fc.constant(null).map(() => cloneOf({ ...(e as object), 'layers.0.count': lib.full([], (e as { 'layers.0.count': number })['layers.0.count'], 'float64') })),
            neutralTensorArb((e as { w: Tensor }).w).map((w) => ({ ...(e as object), w })),
          ),
        wild: (e) =>
          fc.oneof(
            fc.constantFrom('w', 'layers.0.k', 'layers.0.count').map((k) => ({ ...(e as object), [k]: undefined })),
            fc.constantFrom('w', 'layers.0.k').map((k) => ({ ...(e as object), [k]: lib.zeros([4]) })),
            fc.constant({ ...(e as object), zzz: lib.zeros([1]) }),
            fc.constant({ ...(e as object), 'layers.0.count': 'x' }),
            fc.constant({ ...(e as object), w: lib.astype((e as { w: Tensor }).w, dtypeOfTensor((e as { w: Tensor }).w) === 'float32' ? 'float64' : 'float32') }),
          ),
      },
    ],
    call: ([t, e]) => lib.unflattenTree(t, e as lib.NamedEntries),
    check: (v, c) => {
      const e = c.base[1] as Readonly<Record<string, unknown>>
      const got = namedOf(v)
      for (const [k, x] of got) {
        const want = e[k]
        if (typeof x === 'number' ? !Object.is(x, want) : !sameNumbers(elementsOf(x as Tensor), elementsOf(want as Tensor))) return `${k}: not the entry's`
      }
      return undefined
    },
  }),
]

/** Safetensors bytes and the tree they were written from (the check's oracle). */
const written = new WeakMap<object, unknown>()
const fileArb = ckptArb.map((t) => {
  const bytes = lib.orThrow(lib.toSafetensors(t, { format: 'pt' }))
  written.set(bytes, t)
  return bytes
})
const fixedFile = fc.sample(fileArb, { numRuns: 1, seed: 2 })[0]

const encode = (s: string): Uint8Array => new TextEncoder().encode(s)
/** A file from a header (JSON, or text as it is) and data bytes. */
const craft = (header: unknown, data: Uint8Array = new Uint8Array(0), length?: number): Uint8Array => {
  const json = typeof header === 'string' ? encode(header) : encode(JSON.stringify(header))
  const out = new Uint8Array(8 + json.length + data.length)
  const view = new DataView(out.buffer)
  const n = length ?? json.length
  view.setUint32(0, n % 2 ** 32, true)
  view.setUint32(4, Math.floor(n / 2 ** 32), true)
  out.set(json, 8)
  out.set(data, 8 + json.length)
  return out
}
const f32 = (n: number): Uint8Array => new Uint8Array(new Float32Array(n).buffer)

/** Bytes that are not a safetensors file (each a different broken rule). */
const badBytesArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom<() => unknown>(
    () => fixedFile.subarray(0, 7),
  () => fixedFile.subarray(0, fixedFile.length - 1),
  () => {
    const b = fixedFile.slice()
    new DataView(b.buffer).setUint32(4, 256, true)
    return b
  },
  () => {
    const b = fixedFile.slice()
    new DataView(b.buffer).setUint32(0, b.length, true)
    return b
  },
  () => {
    const b = fixedFile.slice()
    new DataView(b.buffer).setUint32(0, 3, true)
    return b
  },
  () => {
    const b = fixedFile.slice()
    b[8] = 0x5b
    return b
  },
  () => {
    const b = fixedFile.slice()
    b[10] = 0xff
    return b
  },
  () => craft('{}', f32(1)),
  () => craft('[1, 2]'),
  () => craft('{"a": 1}'),
  () => craft('{"a": {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]}}', new Uint8Array(2)),
  () => craft('{"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}', f32(1)),
  () => craft('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 1152921504606846976]}}', f32(1)),
  () => craft('{"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}}', f32(1)),
  () => craft('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "b": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', f32(2)),
  () => craft('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', f32(2)),
  () => craft('{"a": {"dtype": "I64", "shape": [2], "data_offsets": [0, 16]}}', new Uint8Array(16)),
  () => craft('{"a": {"dtype": "I64", "shape": [], "data_offsets": [0, 8]}}', new Uint8Array(8).fill(0x7f)),
  () => craft('{"__metadata__": {"a": 1}}'),
  () => craft('{"__metadata__": [1]}'),
  () => craft('{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}', f32(1)),
  () => craft('{}', new Uint8Array(0), 2 ** 40),
  () => craft(`{"a": {"dtype": "F32", "shape": [${new Array(70).fill(1).join(',')}], "data_offsets": [0, 4]}}`, f32(1)),
  () => new Uint16Array(8),
  () => new DataView(new ArrayBuffer(16)),
  () => Array.from(fixedFile),
  () => {
    const b = new ArrayBuffer(16)
    structuredClone(b, { transfer: [b] })
    return b
  },
  () => {
    const b = new ArrayBuffer(16)
    const v = new Uint8Array(b)
    structuredClone(b, { transfer: [b] })
    return v
  },
  ).map((f) => f()),
  junkArb.filter((v) => !(v instanceof Uint8Array) && !(v instanceof ArrayBuffer)),
)

/** The same file in other forms: an ArrayBuffer, a Node Buffer, a view inside a larger buffer. */
const neutralBytes = (v: unknown): fc.Arbitrary<unknown> => {
  const b = v as Uint8Array
  return fc.oneof(
    fc.constant(null).map(() => b.slice().buffer),
    fc.constant(null).map(() => Buffer.from(b)),
    fc.integer({ min: 1, max: 9 }).map((at) => {
      const big = new Uint8Array(b.length + at + 5)
      big.set(b, at)
      return big.subarray(at, at + b.length)
    }),
  )
}

/** The file with a byte changed (header or data): valid or not, the contract holds. */
const flipped = (v: unknown): fc.Arbitrary<unknown> => {
  const b = v as Uint8Array
  return fc.tuple(fc.nat(b.length - 1), fc.nat(255)).map(([i, x]) => {
    const c = b.slice()
    c[i] = x
    return c
  })
}

const metadataArb = fc.dictionary(fc.constantFrom('format', 'epoch', '__proto__', ''), fc.string({ maxLength: 4 }), { maxKeys: 2 })

const safetensorsRows: readonly Row[] = [
  row({
    name: 'toSafetensors',
    kind: 'either',
    valid: args(ckptArb, opt(metadataArb)),
    alternatives: [
      { bad: badCkptArb, neutral: (t) => fc.constant(cloneOf(t)) },
      {
        bad: fc.oneof(
          fc.constantFrom<unknown>({ a: 5 }, { a: null }, null, 5, 'abc', ['x'], new Map([['a', 'b']]), new Date(0), { a: { b: 'c' } }),
          fc.constant(null).map(() => withThrowingGetter({ a: 'b' }, 'a')),
          junkArb.filter(safely((v) => v !== undefined && !(isPlainObject(v) && Object.values(v).every((x) => typeof x === 'string')))),
        ),
        neutral: (m) => fc.constant(cloneOf(m)),
      },
    ],
    call: ([t, m]) => lib.toSafetensors(t, m as Readonly<Record<string, string>>),
    check: (v, c) => {
      if (!(v instanceof Uint8Array)) return 'not bytes'
      const back = lib.fromSafetensors(v)
      if (E.isLeft(back)) return `unreadable: ${back.left.message}`
      const header = Number(new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true))
      if (header % 8 !== 0) return `a header of ${header} bytes`
      return entriesProblem(back.right.entries, c.args[0], true)
    },
  }),
  row({
    name: 'fromSafetensors',
    kind: 'either',
    valid: args(fileArb),
    alternatives: [{ bad: badBytesArb, neutral: neutralBytes, wild: flipped }],
    call: ([b]) => lib.fromSafetensors(b as Uint8Array),
    check: (v, c) => {
      if (c.tags[0] === 'wild') return undefined
      const r = v as lib.Safetensors
      if (r.metadata.format !== 'pt') return 'the metadata lost'
      return entriesProblem(r.entries, written.get(c.base[0] as object), true)
    },
  }),
  row({
    name: 'treeFromSafetensors',
    kind: 'either',
    valid: dtypeArb.chain((dtype) =>
      fc.tuple(paramsArb(dtype), paramsArb(dtype), fc.constantFrom(0.5, 7)).map(([template, p, lr]) => {
        // what was saved has the template's layout (a bias where it has one)
        const saved = { params: { ...p, b: template.b === null ? null : (p.b ?? lib.zeros([3], dtype)) }, lr }
        const bytes = lib.orThrow(lib.toSafetensors(saved))
        written.set(bytes, saved)
        return [bytes, { params: template, lr: 0 }]
      }),
    ),
    alternatives: [
      { bad: badBytesArb, neutral: neutralBytes, wild: flipped },
      { bad: fc.oneof(badTreeArb(fixedParams), fc.constantFrom<unknown>(5, 'abc', { params: 'x' })), neutral: (t) => fc.constant(cloneOf(t)) },
    ],
    call: ([b, t]) => lib.treeFromSafetensors(b as Uint8Array, t),
    check: (v, c) => (c.tags[0] === 'wild' ? undefined : entriesProblem(lib.orThrow(lib.flattenTree(v)), written.get(c.base[0] as object))),
  }),
]

// ---------------------------------------------------------------------------------------------
// PyTorch state dicts
// ---------------------------------------------------------------------------------------------

const linear = lib.customLinear({ inFeatures: 3, outFeatures: 2, bias: true })
const norm = lib.thresholdDependentBatchNorm2d({ numFeatures: 2, alpha: 1 })

/** A model's { params, state } and a PyTorch state dict for it (nn.Linear's weight [out, in]). */
const stateDictArgs = dtypeArb.chain((dtype) =>
  fc
    .tuple(keyArb, tensorOfShape([2, 3], dtype), tensorOfShape([2], dtype), tensorOfShape([2], dtype), tensorOfShape([2], dtype), tensorOfShape([2], dtype), fc.nat(9))
    .map(([k, w, b, g, beta, mean, n]) => {
      const a = lib.orThrow(linear.init(k, [1, 3], dtype) as E.Either<lib.LayerError, lib.Init<unknown, unknown>>)
      const c = lib.orThrow(norm.init(k, [2, 2, 1, 1], dtype) as E.Either<lib.LayerError, lib.Init<unknown, unknown>>)
      const template = { params: [a.params, c.params], state: [a.state, c.state] }
      const source = {
        '0.weight': w,
        '0.bias': b,
        '1.weight': g,
        '1.bias': beta,
        '1.running_mean': mean,
        '1.running_var': lib.astype(lib.generate([2], (i) => Math.abs(mean.data[i]) + 1), dtype),
        '1.num_batches_tracked': n,
      }
      return [source, template]
    }),
)

const stateDictOptions = fc.constantFrom<unknown>(undefined, {}, { strict: true }, { linear: 'torch' }, { rename: (k: string) => k }, { prefixes: {} }, { prefixes: { lin: 0 } })
const fixedDict = fc.sample(stateDictArgs, { numRuns: 1, seed: 4 })[0]
const fixedSource = fixedDict[0] as Readonly<Record<string, unknown>>

const importRow = row({
  name: 'importStateDict',
  kind: 'either',
  valid: fc.tuple(stateDictArgs, stateDictOptions).map(([[s, t], o]) => [s, t, o]),
  alternatives: [
    {
      bad: fc.oneof(
        fc.constantFrom<unknown>(5, 'abc', null, undefined, true),
        fc.constantFrom('0.weight', '1.running_mean', '1.num_batches_tracked').map((k) => {
          const { [k]: _, ...rest } = fixedSource
          return rest
        }),
        fc.constantFrom<unknown>('abc', null, true, [1, 2], lib.zeros([3, 2]), lib.zeros([5])).map((x) => ({ ...fixedSource, '0.weight': x })),
        brokenTensorArb.filter((t) => typeof t === 'object' && t !== null && !Array.isArray(t) && !ArrayBuffer.isView(t)).map((x) => ({ ...fixedSource, '1.bias': x })),
        fc.constant({ ...fixedSource, '1.num_batches_tracked': lib.zeros([2]) }),
        fc.constant({ ...fixedSource, 'zzz.weight': lib.zeros([1]) }),
        fc.constant({ ...fixedSource, '7.weight': lib.zeros([1]) }),
        fc.constant(null).map(() => withThrowingGetter(fixedSource, '0.bias')),
        fc.constant(lib.orThrow(lib.toSafetensors({ '0.weight': lib.zeros([2, 3]) }))),
        badBytesArb.filter((b) => b instanceof Uint8Array),
      ),
      // the same entries: a clone, DataParallel's module. prefixes, safetensors bytes of them
      neutral: (s) =>
        fc.oneof(
          fc.constant(cloneOf(s)),
          fc.constant(Object.fromEntries(Object.entries(s as object).map(([k, v]) => [`module.${k}`, v as unknown]))),
          fc.constant(null).map(() => lib.orThrow(lib.toSafetensors(s))),
        ),
    },
    {
      bad: fc.oneof(
        fc.constantFrom<unknown>(5, 'abc', null, [], { params: [] }, { state: [] }),
        fc.constant(null).map(() => ({ params: withCycle({}), state: [{}, {}] })),
        fc.constant(null).map(() => withThrowingGetter({ params: [], state: [] }, 'params')),
      ),
      neutral: (t) => fc.constant(cloneOf(t)),
    },
    {
      bad: fc.oneof(
        fc.constantFrom<unknown>(
          null,
          5,
          'abc',
          { strict: 'yes' },
          { strict: 1 },
          { linear: 'x' },
          { rename: 5 },
          { rename: 'x' },
          { rename: () => 5 },
          { prefixes: 5 },
          { prefixes: 'ab' },
          { prefixes: { lin: 'x' } },
          { prefixes: { lin: -1 } },
          { prefixes: { lin: 1.5 } },
          { prefixes: { lin: 7 } },
          { strct: false },
          new Map(),
        ),
        fc.constantFrom('strict', 'rename', 'prefixes').map((k) => withThrowingGetter({ strict: true, rename: (x: string) => x, prefixes: {} }, k)),
      ),
      // (not strict: false, nor linear: 'braincog': they make a missing or a [in, out] weight good; their own row below)
      wild: () => fc.constantFrom<unknown>({ rename: () => null }, { rename: (k: string) => k.toUpperCase() }),
    },
  ],
  call: ([s, t, o]) => lib.importStateDict(s as lib.NamedEntries, t as lib.ParamsAndState<unknown, unknown>, o as lib.StateDictOptions),
  check: (v, c) => {
    if (c.tags[2] === 'wild') return undefined
    const r = v as lib.ParamsAndState<readonly Readonly<Record<string, Tensor>>[], readonly Readonly<Record<string, unknown>>[]>
    const s = c.base[0] as Readonly<Record<string, Tensor>>
    const w = r.params[0].weight
    const src = s['0.weight']
    for (let i = 0; i < 3; i++) for (let j = 0; j < 2; j++) if (!Object.is(w.get(i, j), src.get(j, i))) return 'weight not transposed'
    if (!sameNumbers(elementsOf(r.state[1].runningMean as Tensor), elementsOf(s['1.running_mean']))) return 'runningMean not the entry'
    return r.state[1].numBatchesTracked === (s['1.num_batches_tracked'] as unknown) ? undefined : 'numBatchesTracked not the entry'
  },
})

/** Not strict: any entries may be missing (the template's stay) or have no place (left out); shapes must still fit. */
const looseRow = row({
  name: 'importStateDict (strict: false)',
  covers: ['importStateDict'],
  kind: 'either',
  names: ['importStateDict'],
  valid: fc.tuple(stateDictArgs, fc.subarray(Object.keys(fixedSource)), fc.constantFrom<unknown>('torch', 'braincog')).map(([[s, t], keep, linear]) => {
    const source = Object.fromEntries(Object.entries(s as object).filter(([k]) => keep.includes(k)))
    // BrainCog's CustomLinear weight is [in, out] already
    const w = (s as { '0.weight': Tensor })['0.weight']
    if (linear === 'braincog' && keep.includes('0.weight')) source['0.weight'] = lib.copy(w.transpose(1, 0))
    return [{ ...source, 'zzz.weight': lib.zeros([1]) }, t, { strict: false, linear }]
  }),
  alternatives: [
    {
      bad: fc.oneof(
        fc.constantFrom<unknown>(5, 'abc', null, true),
        fc.constantFrom<unknown>('abc', null, [1, 2], lib.zeros([5]), lib.zeros([2, 2])).map((x) => ({ ...fixedSource, '0.weight': x })),
        brokenTensorArb.filter((t) => typeof t === 'object' && t !== null && !Array.isArray(t) && !ArrayBuffer.isView(t)).map((x) => ({ '1.bias': x })),
        fc.constant(null).map(() => withThrowingGetter(fixedSource, '1.weight')),
      ),
      neutral: (s) => fc.oneof(fc.constant(cloneOf(s)), fc.constant(Object.fromEntries(Object.entries(s as object).map(([k, v]) => [`module.${k}`, v as unknown])))),
    },
    { neutral: (t) => fc.constant(cloneOf(t)) },
    {},
  ],
  call: ([s, t, o]) => lib.importStateDict(s as lib.NamedEntries, t as lib.ParamsAndState<unknown, unknown>, o as lib.StateDictOptions),
  check: (v, c) => {
    const r = v as lib.ParamsAndState<readonly Readonly<Record<string, Tensor>>[], readonly Readonly<Record<string, unknown>>[]>
    const s = c.base[0] as Readonly<Record<string, Tensor>>
    const t = c.base[1] as lib.ParamsAndState<readonly Readonly<Record<string, Tensor>>[], readonly Readonly<Record<string, unknown>>[]>
    const braincog = (c.base[2] as { readonly linear: string }).linear === 'braincog'
    const want = s['0.weight'] === undefined ? t.params[0].weight : braincog ? s['0.weight'] : lib.copy(s['0.weight'].transpose(1, 0))
    if (!sameNumbers(elementsOf(r.params[0].weight), elementsOf(want))) return 'the weight is neither the entry nor the template\'s'
    const bias = s['1.bias'] ?? t.params[1].bias
    return sameNumbers(elementsOf(r.params[1].bias), elementsOf(bias)) ? undefined : 'the bias is neither the entry nor the template\'s'
  },
})

// ---------------------------------------------------------------------------------------------
// losses
// ---------------------------------------------------------------------------------------------

const isLoss = (v: unknown): string | undefined =>
  typeof v === 'object' && v !== null && typeof (v as lib.Loss).name === 'string' && typeof (v as lib.Loss).check === 'function' && typeof (v as lib.Loss).run === 'function'
    ? undefined
    : 'not a loss'

const lossConstructors: readonly (Constructor & { readonly names: readonly string[] })[] = [
  {
    name: 'crossEntropyLoss',
    names: ['CrossEntropyLoss'],
    build: (c: unknown) => lib.crossEntropyLoss(c as lib.CrossEntropyConfig),
    configs: fc.record({ labelSmoothing: opt(fc.double({ min: 0, max: 1, noNaN: true })) }).map(without),
    fields: { labelSmoothing: { type: 'unit' as const, required: false } },
    optional: true,
  },
  { name: 'mseLoss', names: ['MSELoss'], build: (c: unknown) => lib.mseLoss(c as never), configs: fc.constantFrom(undefined, {}), fields: {}, optional: true },
]

const ce = opaqueValue(lib.crossEntropyLoss({ labelSmoothing: 0.1 }))
const mse = opaqueValue(lib.mseLoss())
const notLoss = fc.oneof(
  junkArb.filter(safely((v) => isLoss(v) !== undefined)),
  fc.constantFrom<unknown>({ name: 'x' }, { name: 5, check: () => E.right(lib.zeros([1])), run: () => 0 }, { name: 'x', check: 5, run: () => 0 }),
  fc.constant(null).map(() => withThrowingGetter({ name: 'x', check: () => 0, run: () => 0 }, 'check')),
)

/** Cross-entropy with smoothing 0.1 of logits `x [N, C]` against labels, in float64. */
const crossEntropy = (x: Tensor, labels: readonly number[], s = 0.1): number => {
  const [n, classes] = x.shape
  let total = 0
  for (let i = 0; i < n; i++) {
    const row = Array.from({ length: classes }, (_, j) => x.get(i, j) as number)
    const m = Math.max(...row)
    const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0))
    for (let j = 0; j < classes; j++) total -= ((j === labels[i] ? 1 - s : 0) + s / classes) * (row[j] - lse)
  }
  return total / n
}

const labelsArb = fc.tuple(fc.nat(2), fc.nat(2)).map(([a, b]) => lib.tensor([a, b], [2]))
const evalCtx = fc.tuple(keyArb, fc.boolean()).map(([k, t]) => (t ? lib.train(k) : lib.evaluate(undefined, k)))
const ctxAlternatives = { bad: badCtxArb, neutral: (c: unknown) => fc.constant(neutralCtx(c as Ctx)) }
/**
 * A prediction's alternatives: broken, of a wrong shape, or (`otherDtype`) of the other dtype. The
 * wrong shapes and dtype must not be ones a bad target of the same row has, or the two would fit.
 */
const predictionAlternatives = (shape: Shape, dtype: DType, wrong: readonly Shape[], otherDtype = true) => ({
  bad: fc.oneof(
    badTensorArb,
    fc.constantFrom(...wrong).map((s) => lib.zeros(s, dtype)),
    ...(otherDtype ? [fc.constant(lib.zeros(shape, dtype === 'float32' ? 'float64' : 'float32'))] : []),
  ),
  neutral: (t: unknown) => neutralTensorArb(t as Tensor),
  wild: (t: unknown) => withSpecialValues(t as Tensor),
})

const lossRows: readonly Row[] = [
  ...lossConstructors.map((c) => constructorRow(c, c.names, isLoss)),
  row({
    name: 'withTarget',
    kind: 'config',
    valid: args(fc.constantFrom(ce, mse), labelsArb),
    // a target is data, checked when the loss runs (apply's LayerError), not when it is bound
    alternatives: [{ bad: notLoss }, { wild: wild(junkArb) }],
    call: ([l, t]) => lib.withTarget(l as lib.Loss, t as Tensor),
    check: (v) => (lib.isLayer(v) ? undefined : 'not a layer'),
  }),
  row({
    name: 'withTarget(CrossEntropyLoss).apply (targets)',
    covers: ['withTarget', 'crossEntropyLoss'],
    kind: 'either',
    names: ['CrossEntropyLoss'],
    valid: args(labelsArb, tensorOfShape([2, 3]), evalCtx),
    alternatives: [
      {
        bad: fc.oneof(
          badTensorArb,
          fc.constantFrom<unknown>(
            lib.tensor([0, 3], [2]),
            lib.tensor([-1, 0], [2]),
            lib.tensor([0.5, 1], [2]),
            lib.tensor([Number.NaN, 1], [2]),
            lib.tensor([0, 1, 2], [3]),
            lib.tensor([0, 1], [2, 1]),
            lib.tensor([0, 1], [2], 'float64'),
          ),
        ),
        neutral: (t) => neutralTensorArb(t as Tensor),
      },
      predictionAlternatives([2, 3], 'float32', [[2], [4, 3], [2, 3, 1], [1, 3]], false),
      ctxAlternatives,
    ],
    call: ([t, x, ctx]) => lib.withTarget(ce, t as Tensor).apply(lib.empty, lib.empty, x as Tensor, ctx as Ctx),
    check: (v, c) => {
      const out = (v as lib.Step<unknown>).output
      const p = tensorProblem(out, [], 'float32')
      if (p !== undefined || c.tags[1] === 'wild') return p
      const want = crossEntropy(lib.revive(c.args[1]), elementsOf(lib.revive(c.args[0])))
      const got = out.get() as number
      return Math.abs(got - want) <= 1e-5 * Math.max(1, Math.abs(want)) ? undefined : `loss ${got}, not ${want}`
    },
  }),
  row({
    name: 'withTarget(MSELoss).apply (targets)',
    covers: ['withTarget', 'mseLoss'],
    kind: 'either',
    names: ['MSELoss'],
    valid: args(tensorOfShape([2, 2], 'float64'), tensorOfShape([2, 2], 'float64'), evalCtx),
    alternatives: [
      {
        bad: fc.oneof(badTensorArb, fc.constantFrom<unknown>(lib.zeros([3, 2], 'float64'), lib.zeros([2, 2, 2], 'float64'), lib.zeros([2, 2]))),
        neutral: (t) => neutralTensorArb(t as Tensor),
        wild: (t) => withSpecialValues(t as Tensor),
      },
      predictionAlternatives([2, 2], 'float64', [[4], [2, 3], [2, 2, 1]], false),
      ctxAlternatives,
    ],
    call: ([t, x, ctx]) => lib.withTarget(mse, t as Tensor).apply(lib.empty, lib.empty, x as Tensor, ctx as Ctx),
    check: (v, c) => {
      const out = (v as lib.Step<unknown>).output
      const p = tensorProblem(out, [], 'float64')
      if (p !== undefined || c.tags.includes('wild')) return p
      const x = elementsOf(lib.revive(c.args[1]))
      const t = elementsOf(lib.revive(c.args[0]))
      const want = x.reduce((a, xi, i) => a + (xi - t[i]) ** 2, 0) / x.length
      const got = out.get() as number
      return Math.abs(got - want) <= 1e-12 * Math.max(1, want) ? undefined : `loss ${got}, not ${want}`
    },
  }),
  row({
    name: 'lossValue',
    kind: 'either',
    names: ['lossValue', 'CrossEntropyLoss', 'MSELoss'],
    valid: fc.oneof(
      fc.tuple(tensorOfShape([2, 3]), labelsArb, opt(deviceArb)).map(([x, t, d]) => [ce, x, t, d]),
      fc.tuple(tensorOfShape([2, 2], 'float64'), tensorOfShape([2, 2], 'float64'), opt(deviceArb)).map(([x, t, d]) => [mse, x, t, d]),
    ),
    alternatives: [
      { bad: notLoss },
      { bad: badTensorArb, neutral: (t) => neutralTensorArb(t as Tensor), wild: (t) => withSpecialValues(t as Tensor) },
      { bad: badTensorArb, neutral: (t) => neutralTensorArb(t as Tensor) },
      { bad: badDeviceArb },
    ],
    call: ([l, x, t, d]) => lib.lossValue(l as lib.Loss, x as Tensor, t as Tensor, d as lib.Device<unknown>),
    check: (v, c) => {
      if (typeof v !== 'number') return 'not a number'
      if (c.tags[1] === 'wild') return undefined
      const r = lib.withTarget(c.args[0] as lib.Loss, c.base[2] as Tensor).apply(lib.empty, lib.empty, c.base[1] as Tensor, lib.evaluate(c.base[3] as lib.Device<unknown>))
      return E.isRight(r) && Object.is(r.right.output.get(), v) ? undefined : 'not what withTarget gives'
    },
  }),
]

// ---------------------------------------------------------------------------------------------
// lossAndGrad, recording, timeMerged: building them
// ---------------------------------------------------------------------------------------------

const handLayer: AnyLayer = opaqueValue({
  name: 'Hand',
  outputShape: (s: Shape) => E.right(s),
  init: (_k: unknown, s: Shape) => E.right({ params: {}, state: {}, outputShape: s }),
  apply: (_p: unknown, s: unknown, x: Tensor) => E.right({ output: lib.copy(x), state: s }),
  reset: (s: unknown) => s,
})
const someLayers = [lib.customLinear({ inFeatures: 3, outFeatures: 3 }), lib.relu(), lib.ifNeuron(), handLayer].map((l) => opaqueValue(l as object) as AnyLayer)
const notLayer = fc.oneof(
  junkArb.filter((v) => !lib.isLayer(v)),
  fc.constantFrom<unknown>({ ...lib.ifNeuron(), apply: undefined }, { ...lib.relu(), step: 5 }),
  fc.constant(null).map(() => withThrowingGetter({ ...lib.ifNeuron() }, 'init')),
)
const isFunction = (v: unknown): string | undefined => (typeof v === 'function' ? undefined : 'not a function')

const buildRows: readonly Row[] = [
  row({
    name: 'lossAndGrad',
    kind: 'config',
    valid: args(fc.constantFrom(...someLayers), fc.constantFrom(ce, mse)),
    alternatives: [{ bad: notLayer }, { bad: notLoss }],
    call: ([m, l]) => lib.lossAndGrad(m as AnyLayer, l as lib.Loss),
    check: isFunction,
  }),
  row({
    name: 'recording',
    kind: 'config',
    valid: args(fc.constantFrom(...someLayers), fc.constantFrom<unknown>(undefined, {}, { state: true }, { state: false })),
    alternatives: [
      { bad: notLayer },
      {
        bad: fc.oneof(
          fc.constantFrom<unknown>({ state: 'yes' }, { state: 1 }, { stat: true }, null, 5, 'abc', [true]),
          fc.constant(null).map(() => withThrowingGetter({ state: true }, 'state')),
        ),
      },
    ],
    call: ([l, o]) => lib.recording(l as AnyLayer, o as { readonly state?: boolean }),
    check: isFunction,
  }),
  row({
    name: 'timeMerged',
    kind: 'config',
    valid: args(fc.constantFrom(...someLayers)),
    alternatives: [{ bad: notLayer }],
    call: ([l]) => lib.timeMerged(l as AnyLayer),
    check: (v) => (lib.isLayer(v) ? undefined : 'not a layer'),
  }),
]

// ---------------------------------------------------------------------------------------------
// lossAndGrad and recording: the calls
// ---------------------------------------------------------------------------------------------

/** A record made bad for a layer's params or state: an unknown key, no object, a getter. */
const badRecordOf = (v: unknown): fc.Arbitrary<unknown> =>
  Array.isArray(v)
    ? fc.oneof(fc.constant(v.slice(0, -1)), fc.constant([...v, {}]), junkArb.filter((j) => !Array.isArray(j)), fc.constant(null).map(() => withThrowingGetter(v, '0')))
    : fc.oneof(
        fc.constant({ ...(v as object), zzz: 1 }),
        fc.constantFrom<unknown>(5, 'x', [1], null),
        ...Object.keys(v as object).map((k) => fc.constant(null).map(() => withThrowingGetter(v as object, k))),
      )

interface Trained {
  readonly name: string
  readonly model: AnyLayer
  readonly loss: lib.Loss
  readonly names: readonly string[]
  readonly input: Shape
  readonly target: fc.Arbitrary<Tensor>
  readonly badTarget: fc.Arbitrary<unknown>
}

const fc33 = lib.customLinear({ inFeatures: 3, outFeatures: 3, bias: true })
const net = lib.sequential(lib.customLinear({ inFeatures: 3, outFeatures: 2 }), lib.relu())
const trained: readonly Trained[] = [
  {
    name: 'lossAndGrad(CustomLinear, CrossEntropyLoss)',
    model: opaqueValue(fc33 as object) as AnyLayer,
    loss: ce,
    names: ['CustomLinear', 'CrossEntropyLoss'],
    input: [2, 3],
    target: labelsArb,
    badTarget: fc.oneof(badTensorArb, fc.constantFrom<unknown>(lib.tensor([0, 5], [2]), lib.tensor([0, 1, 1], [3]), lib.tensor([0, 1], [2], 'float64'))),
  },
  {
    name: 'lossAndGrad(sequential(CustomLinear, ReLU), MSELoss)',
    model: opaqueValue(net as object) as AnyLayer,
    loss: mse,
    names: [net.name, 'CustomLinear', 'ReLU', 'MSELoss'],
    input: [2, 3],
    target: tensorOfShape([2, 2]),
    badTarget: fc.oneof(badTensorArb, fc.constantFrom<unknown>(lib.zeros([2, 3]), lib.zeros([2, 2], 'float64'))),
  },
]

/** A training step's drawn arguments (params, state, input, target, ctx) and their alternatives. */
const stepArguments = (t: Trained) => {
  const fresh = lib.orThrow(t.model.init(lib.key(0), t.input) as E.Either<lib.LayerError, lib.Init<unknown, unknown>>)
  return {
    valid: fc.tuple(keyArb, tensorOfShape(t.input), t.target, evalCtx).map(([k, x, y, ctx]) => {
      const init = lib.orThrow(t.model.init(k, t.input) as E.Either<lib.LayerError, lib.Init<unknown, unknown>>)
      return [init.params, init.state, x, y, ctx]
    }),
    alternatives: [
      { bad: badRecordOf(fresh.params), neutral: (p: unknown) => fc.constant(cloneOf(p)) },
      { bad: badRecordOf(fresh.state), neutral: (s: unknown) => fc.constant(cloneOf(s)) },
      predictionAlternatives(t.input, 'float32', [[2, 4], [3], [2, 3, 1]]),
      { bad: t.badTarget, neutral: (y: unknown) => neutralTensorArb(y as Tensor) },
      ctxAlternatives,
    ],
  }
}

const trainedRows: readonly Row[] = trained.map((t) => {
  const step = lib.lossAndGrad(t.model, t.loss)
  return row({
    name: `${t.name}()`,
    covers: ['lossAndGrad'],
    kind: 'either',
    names: t.names,
    ...stepArguments(t),
    call: ([p, s, x, y, ctx]) => step(p as never, s as never, x as Tensor, y as Tensor, ctx as Ctx),
    check: (v, c) => {
      const r = v as lib.LossAndGrad<unknown, unknown>
      if (typeof r.loss !== 'number') return 'a loss that is not a number'
      if (c.tags[2] !== 'wild' && !Number.isFinite(r.loss)) return `a loss of ${r.loss}`
      const given = tensorsOf(c.args[0])
      const grads = tensorsOf(r.grads)
      if ([...given.keys()].join() !== [...grads.keys()].join()) return `grads ${[...grads.keys()].join()}, not ${[...given.keys()].join()}`
      for (const [k, g] of grads) {
        const p = tensorProblem(g, lib.revive(given.get(k)).shape, 'float32')
        if (p !== undefined) return `grads.${k}: ${p}`
      }
      return tensorProblem(r.output)
    },
  })
})

// ---------------------------------------------------------------------------------------------
// trainer: building it, and its calls (start, then a step; a training state and read)
// ---------------------------------------------------------------------------------------------

/** Layers with a step (a trainer needs one) and this library's optimizers. */
const steppedLayers = someLayers.filter((l) => l !== handLayer)
const optimizers = [lib.adam({ lr: 0.01 }), lib.sgd({ lr: 0.1, momentum: 0.9 })]
const notOptimizer = fc.oneof(
  junkArb,
  // an optimizer's shape is not enough: the trainer runs the spec it was built from
  fc.constant(null).map(() => ({ ...lib.adam() })),
  fc.constantFrom<unknown>({ name: 'Mine', init: () => ({ step: 0 }), update: () => E.left(undefined) }),
)

const trainerBuildRow = row({
  name: 'trainer',
  kind: 'config',
  valid: args(fc.constantFrom(...steppedLayers), fc.constantFrom(ce, mse), fc.constantFrom(...optimizers)),
  alternatives: [{ bad: fc.oneof(notLayer, fc.constant(handLayer)) }, { bad: notLoss }, { bad: notOptimizer }],
  call: ([m, l, o]) => lib.trainer(m as AnyLayer, l as lib.Loss, o as lib.Optimizer),
  check: (v) => {
    const t = v as Readonly<Record<string, unknown>>
    return ['start', 'step', 'read', 'dispose'].every((k) => typeof t[k] === 'function') ? undefined : 'not a trainer'
  },
})

/** A trainer's first step on drawn arguments: start from the params, step, read, dispose. */
const trainerStepRows: readonly Row[] = trained.map((t) => {
  const loop = lib.trainer(t.model, t.loss, lib.adam({ lr: 0.01 }))
  return row({
    name: `trainer(${t.name.slice('lossAndGrad('.length, -1)}, Adam).step()`,
    covers: ['trainer'],
    kind: 'either',
    names: ['trainer', 'Adam', ...t.names],
    ...stepArguments(t),
    call: ([p, s, x, y, ctx]) => {
      const started = loop.start(p as never)
      if (E.isLeft(started)) return started
      const r = loop.step(started.right, s as never, x as Tensor, y as Tensor, ctx as Ctx)
      // a rejected step spends nothing: the state is still the caller's to dispose
      const last = E.isRight(r) ? r.right.next : started.right
      const read = loop.read(last)
      loop.dispose(last)
      return E.isLeft(r) ? r : E.map((held: unknown) => ({ ...r.right, held }))(read)
    },
    check: (v, c) => {
      const r = v as lib.TrainStep<unknown> & { readonly held: lib.Trained<unknown, never, never> }
      if (typeof r.loss !== 'number') return 'a loss that is not a number'
      if (c.tags[2] !== 'wild' && !Number.isFinite(r.loss)) return `a loss of ${r.loss}`
      if (r.next.step !== 1 || r.held.optimizerState.step !== 1) return `a state after ${r.next.step} steps, not 1`
      const given = tensorsOf(c.args[0])
      const params = tensorsOf(r.held.params)
      if ([...given.keys()].join() !== [...params.keys()].join()) return `params ${[...params.keys()].join()}, not ${[...given.keys()].join()}`
      for (const [k, q] of params) {
        const problem = tensorProblem(q, lib.revive(given.get(k)).shape, 'float32')
        if (problem !== undefined) return `params.${k}: ${problem}`
      }
      return tensorProblem(r.output)
    },
  })
})

/** `read` and `start`'s options: a training state that is not one (junk, spent), options that are not options. */
const trainerStateRow = (() => {
  const loop = lib.trainer(opaqueValue(fc33 as object) as AnyLayer, ce, lib.sgd({ lr: 0.1 }))
  const params = lib.orThrow(fc33.init(lib.key(0), [2, 3])).params
  const spent = fc.constant(null).map(() => {
    const t = lib.orThrow(loop.start(params))
    loop.dispose(t)
    return t
  })
  const other = fc.constant(null).map(() => lib.orThrow(lib.trainer(fc33, ce, lib.sgd({ lr: 0.1 })).start(params)))
  return row({
    name: 'trainer(CustomLinear, CrossEntropyLoss, SGD): start(params, options) then read(state)',
    covers: ['trainer'],
    kind: 'either',
    names: ['trainer', 'SGD'],
    valid: args(fc.constantFrom<unknown>(undefined, {}, { backend: lib.cpu }), fc.constant('fresh')),
    alternatives: [
      {
        bad: fc.oneof(
          fc.constantFrom<unknown>(5, 'x', null, [1], { lr: 1 }, { optimizerState: { step: -1 } }),
          badDeviceArb.filter((d) => d !== undefined).map((backend) => ({ backend })),
          fc.constant(null).map(() => withThrowingGetter({ backend: lib.cpu }, 'backend')),
        ),
      },
      { bad: fc.oneof(junkArb, spent, other) },
    ],
    call: ([options, which]) => {
      const started = loop.start(params, options as never)
      if (E.isLeft(started)) return started
      const r = loop.read((which === 'fresh' ? started.right : which) as lib.TrainState)
      loop.dispose(started.right)
      return r
    },
    check: (v) => {
      const r = v as lib.Trained<{ readonly weight: Tensor }, never, never>
      return sameNumbers(elementsOf(r.params.weight), elementsOf(params.weight)) ? undefined : 'params other than those started from'
    },
  })
})()

interface Recorded {
  readonly name: string
  readonly layer: AnyLayer
  readonly options: { readonly state?: boolean }
  readonly names: readonly string[]
  readonly shape: fc.Arbitrary<Shape>
  /** The paths it records (a pipeline's layers). */
  readonly paths: readonly string[]
  /** A scan: each path records a value per time step (the input's first axis). */
  readonly scanned: boolean
  /** Its valid calls fail anyway (a hand-written layer that answers junk inside). */
  readonly broken?: boolean
}

const scanned = lib.scan(lib.sequential(lib.customLinear({ inFeatures: 3, outFeatures: 4 }), lib.ifNeuron(), lib.votingLayer({ voterNum: 2 })))
const handNet = lib.sequential(handLayer, lib.relu())
/** A hand-written layer whose answers are junk: every recording through it is a LayerError. */
const brokenLayer = opaqueValue({
  name: 'Broken',
  outputShape: () => 5,
  init: () => 'x',
  apply: () => ({ _tag: 'Right', right: { output: [1, 2] } }),
  reset: () => undefined,
}) as unknown as AnyLayer
const brokenNet = lib.sequential(lib.ifNeuron(), brokenLayer)
const rows3 = fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 1 }).map((lead) => [...lead, 3])
const recorded: readonly Recorded[] = [
  {
    name: 'recording(scan(sequential(CustomLinear, IFNeuron, VotingLayer)), { state: true })',
    layer: opaqueValue(scanned as object) as AnyLayer,
    options: { state: true },
    names: [`recording(${scanned.name})`, scanned.name, 'sequential(CustomLinear, IFNeuron, VotingLayer)', 'CustomLinear', 'IFNeuron', 'VotingLayer'],
    shape: fc.tuple(fc.integer({ min: 1, max: 3 }), rows3).map(([t, s]) => [t, ...s]),
    paths: ['0', '1', '2'],
    scanned: true,
  },
  {
    name: 'recording(sequential(Hand, ReLU))',
    layer: opaqueValue(handNet as object) as AnyLayer,
    options: {},
    names: [`recording(${handNet.name})`, handNet.name, 'Hand', 'ReLU'],
    shape: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
    paths: ['0', '1'],
    scanned: false,
  },
  {
    name: 'recording(sequential(IFNeuron, Broken))',
    layer: opaqueValue(brokenNet as object) as AnyLayer,
    options: { state: true },
    names: [`recording(${brokenNet.name})`, brokenNet.name, 'IFNeuron', 'Broken'],
    shape: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 3 }),
    paths: [],
    scanned: false,
    broken: true,
  },
]

const recordingRows: readonly Row[] = recorded.map((r) => {
  const call = lib.recording(r.layer, r.options)
  const shape0 = fc.sample(r.shape, { numRuns: 1, seed: 1 })[0]
  // a broken layer's init fails too: its pipeline's params and state as they would be
  const fresh = r.broken === true
    ? { params: [{}, {}], state: [{ v: null }, {}] }
    : lib.orThrow(r.layer.init(lib.key(0), shape0) as E.Either<lib.LayerError, lib.Init<unknown, unknown>>)
  return row({
    name: `${r.name}()`,
    covers: ['recording'],
    kind: 'either',
    names: r.names,
    valid: fc.tuple(r.shape, keyArb, evalCtx).chain(([s, k, ctx]) =>
      tensorOfShape(s).map((x) => {
        const init = r.broken === true ? fresh : lib.orThrow(r.layer.init(k, s) as E.Either<lib.LayerError, lib.Init<unknown, unknown>>)
        return [init.params, init.state, x, ctx]
      }),
    ),
    alternatives: [
      { bad: badRecordOf(fresh.params), neutral: (p) => fc.constant(cloneOf(p)) },
      { bad: badRecordOf(fresh.state), neutral: (s) => fc.constant(cloneOf(s)) },
      { bad: badTensorArb, neutral: (t) => neutralTensorArb(t as Tensor), wild: (t) => withSpecialValues(t as Tensor) },
      ctxAlternatives,
    ],
    call: ([p, s, x, ctx]) => call(p as never, s as never, x as Tensor, ctx as Ctx),
    validMayFail: r.broken,
    check: (v, c) => {
      if (r.broken === true) return 'a recording through a layer that answers junk'
      const rec = v as lib.Recording<unknown>
      const x = lib.revive(c.args[2])
      const want = r.layer.outputShape(x.shape) as E.Either<lib.LayerError, Shape>
      if (E.isLeft(want)) return 'an answer for an input the layer rejects'
      const p = tensorProblem(rec.output, want.right, dtypeOfTensor(x))
      if (p !== undefined) return `output: ${p}`
      if ([...rec.records.keys()].sort().join() !== r.paths.join()) return `records of ${[...rec.records.keys()].join()}`
      const given = storages(c.args)
      for (const [k, e] of rec.records) {
        const steps = r.scanned ? x.shape[0] : 1
        if (e.outputs.length !== steps) return `${e.outputs.length} outputs of ${k} for ${steps} steps`
        if (r.options.state === true ? e.states.length !== steps : e.states.length !== 0) return `${e.states.length} states of ${k}`
        for (const o of e.outputs) {
          const q = tensorProblem(o)
          if (q !== undefined) return `records ${k}: ${q}`
          if (Array.from(storages(o)).some((b) => given.has(b))) return `records ${k} share storage with an argument`
        }
      }
      return undefined
    },
  })
})

export const rows: readonly Row[] = [
  ...optimizerConstructors.map((c) => constructorRow(c, c.names, c.check)),
  initRow,
  ...updateRows,
  ...scheduleRows,
  clipRow,
  ...checkpointTreeRows,
  ...safetensorsRows,
  importRow,
  looseRow,
  ...lossRows,
  ...buildRows,
  ...trainedRows,
  trainerBuildRow,
  ...trainerStepRows,
  trainerStateRow,
  ...recordingRows,
]

