/**
 * The fixture format of `test/fixtures/FORMAT.md`, parsed and validated. Anything that does not
 * match the format is reported as a malformed fixture, never skipped. The parser knows every
 * step op of the format, including any a given runner has no handler for: a case is skipped for
 * what the library lacks, never for what the file got wrong.
 */
import type { DType, Tensor } from '../../src/index.js'
import { tensor } from '../../src/index.js'

export interface Tolerance {
  readonly atol: number
  readonly rtol: number
}

/** Tensors (or plain numbers, e.g. `numBatchesTracked`) by name. */
export type TensorMap = Readonly<Record<string, Tensor>>
export type StateMap = Readonly<Record<string, Tensor | number>>

export interface ForwardStep {
  readonly op: 'forward'
  readonly input: Tensor
  readonly output: Tensor
  readonly training?: boolean
  readonly stateAfter?: StateMap
  /** WTALayer's uniform draws. */
  readonly noise?: Tensor
  /** NDropout's mask. */
  readonly mask?: Tensor
  /** A loss's target (class indices as floats, or one-hot rows). */
  readonly target?: Tensor
}

export interface UpdateStep {
  readonly op: 'update'
  readonly dw: Tensor
  readonly paramsAfter: TensorMap
}

export interface ResetStep {
  readonly op: 'reset'
}

/** Gradients of `sum_t sum(output_t * cotangents[t])` over the forward steps before it. */
export interface BackwardStep {
  readonly op: 'backward'
  readonly cotangents: readonly Tensor[]
  readonly gradInputs: readonly Tensor[]
  readonly gradParams: TensorMap
}

/** One optimizer update with the given gradients. */
export interface OptimizerStep {
  readonly op: 'optimizerStep'
  readonly grads: TensorMap
  readonly paramsAfter: TensorMap
}

export type Step = ForwardStep | UpdateStep | ResetStep | BackwardStep | OptimizerStep
export type StepOp = Step['op']

/** Every step op of the format. */
export const stepOps: readonly StepOp[] = ['forward', 'update', 'reset', 'backward', 'optimizerStep']

export interface Fixture {
  readonly name: string
  readonly layer: string
  readonly config: Readonly<Record<string, unknown>>
  readonly params: TensorMap
  readonly state?: StateMap
  readonly training: boolean
  readonly steps: readonly Step[]
  readonly tolerance: Tolerance
  readonly dtype: DType
}

/**
 * The most positions a fixture tensor may span, its zero-sized dimensions left out: far beyond
 * any recorded case (a JSON array this long is hundreds of megabytes), and small enough that
 * nothing walks an absurd index space, such as [2^40, 3, 0], which holds no values at all.
 */
export const MAX_ELEMENTS = 2 ** 24

/** The most dimensions a fixture tensor may have. */
export const MAX_RANK = 16

class Malformed extends Error {}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

const need = (cond: boolean, what: string): void => {
  if (!cond) throw new Malformed(what)
}

const parseShape = (shape: unknown, where: string): number[] => {
  need(Array.isArray(shape), `${where}.shape: expected an array of non-negative integers`)
  const dims = shape as unknown[]
  need(dims.length <= MAX_RANK, `${where}.shape: at most ${MAX_RANK} dimensions, got ${dims.length}`)
  let span = 1
  for (const d of dims) {
    need(
      typeof d === 'number' && Number.isSafeInteger(d) && d >= 0,
      `${where}.shape: expected non-negative integers, got ${JSON.stringify(shape)}`,
    )
    // checked as it grows, so the product never leaves the exact integers
    if ((d as number) > 0) span *= d as number
    need(span <= MAX_ELEMENTS, `${where}.shape: [${dims.join(', ')}] spans more than ${MAX_ELEMENTS} positions`)
  }
  return dims as number[]
}

const parseTensor = (v: unknown, where: string, dtype: DType): Tensor => {
  need(isRecord(v), `${where}: expected {shape, data}`)
  const { shape, data } = v as Record<string, unknown>
  const dims = parseShape(shape, where)
  need(Array.isArray(data), `${where}.data: expected an array of numbers`)
  const values = data as unknown[]
  const size = dims.reduce((a, b) => a * b, 1)
  need(values.length === size, `${where}: ${values.length} values for shape [${dims.join(', ')}]`)
  need(
    values.every((d) => typeof d === 'number'),
    `${where}.data: expected numbers`,
  )
  return tensor(values as number[], dims, dtype)
}

const parseTensorMap = (v: unknown, where: string, dtype: DType): Record<string, Tensor> => {
  need(isRecord(v), `${where}: expected an object of tensors`)
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>).map(([k, t]) => [k, parseTensor(t, `${where}.${k}`, dtype)]),
  )
}

const parseTensorList = (v: unknown, where: string, dtype: DType): Tensor[] => {
  need(Array.isArray(v), `${where}: expected an array of tensors`)
  return (v as unknown[]).map((t, i) => parseTensor(t, `${where}[${i}]`, dtype))
}

const parseStateMap = (v: unknown, where: string, dtype: DType): Record<string, Tensor | number> => {
  need(isRecord(v), `${where}: expected an object`)
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>).map(([k, t]) => [
      k,
      typeof t === 'number' ? t : parseTensor(t, `${where}.${k}`, dtype),
    ]),
  )
}

const sameShape = (a: Tensor, b: Tensor): boolean =>
  a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i])

const shapeText = (t: Tensor): string => `[${t.shape.join(', ')}]`

/** `what` must name exactly the tensors of `like`, each with its shape. */
const needSameTensors = (map: TensorMap, like: TensorMap, where: string, what: string): void => {
  const names = Object.keys(map).sort()
  const expected = Object.keys(like).sort()
  need(
    names.length === expected.length && names.every((n, i) => n === expected[i]),
    `${where}: expected ${what} for exactly ${JSON.stringify(expected)}, got ${JSON.stringify(names)}`,
  )
  for (const n of names) {
    need(sameShape(map[n], like[n]), `${where}.${n}: shape ${shapeText(map[n])}, expected ${shapeText(like[n])}`)
  }
}

const parseStep = (
  v: unknown,
  where: string,
  dtype: DType,
  before: readonly ForwardStep[],
  params: TensorMap,
): Step => {
  need(isRecord(v), `${where}: expected a step object`)
  const s = v as Record<string, unknown>
  const optionalTensor = (key: string): Record<string, Tensor> =>
    s[key] === undefined ? {} : { [key]: parseTensor(s[key], `${where}.${key}`, dtype) }
  switch (s.op) {
    case 'forward': {
      need(s.training === undefined || typeof s.training === 'boolean', `${where}.training: expected a boolean`)
      return {
        op: 'forward',
        input: parseTensor(s.input, `${where}.input`, dtype),
        output: parseTensor(s.output, `${where}.output`, dtype),
        ...(s.training === undefined ? {} : { training: s.training as boolean }),
        ...(s.stateAfter === undefined ? {} : { stateAfter: parseStateMap(s.stateAfter, `${where}.stateAfter`, dtype) }),
        ...optionalTensor('noise'),
        ...optionalTensor('mask'),
        ...optionalTensor('target'),
      }
    }
    case 'update':
      return {
        op: 'update',
        dw: parseTensor(s.dw, `${where}.dw`, dtype),
        paramsAfter: parseTensorMap(s.paramsAfter, `${where}.paramsAfter`, dtype),
      }
    case 'reset':
      return { op: 'reset' }
    case 'backward': {
      const cotangents = parseTensorList(s.cotangents, `${where}.cotangents`, dtype)
      const gradInputs = parseTensorList(s.gradInputs, `${where}.gradInputs`, dtype)
      const n = before.length
      need(cotangents.length === n, `${where}.cotangents: expected one per forward step before it (${n}), got ${cotangents.length}`)
      need(gradInputs.length === n, `${where}.gradInputs: expected one per forward step before it (${n}), got ${gradInputs.length}`)
      before.forEach((f, t) => {
        need(sameShape(cotangents[t], f.output), `${where}.cotangents[${t}]: shape ${shapeText(cotangents[t])}, expected the output's ${shapeText(f.output)}`)
        need(sameShape(gradInputs[t], f.input), `${where}.gradInputs[${t}]: shape ${shapeText(gradInputs[t])}, expected the input's ${shapeText(f.input)}`)
      })
      const gradParams = parseTensorMap(s.gradParams, `${where}.gradParams`, dtype)
      for (const [k, g] of Object.entries(gradParams)) {
        need(Object.hasOwn(params, k), `${where}.gradParams.${k}: no such parameter in params`)
        need(g.size === params[k].size, `${where}.gradParams.${k}: ${g.size} values, the parameter has ${params[k].size}`)
      }
      return { op: 'backward', cotangents, gradInputs, gradParams }
    }
    case 'optimizerStep': {
      const grads = parseTensorMap(s.grads, `${where}.grads`, dtype)
      const paramsAfter = parseTensorMap(s.paramsAfter, `${where}.paramsAfter`, dtype)
      needSameTensors(grads, params, `${where}.grads`, 'a gradient')
      needSameTensors(paramsAfter, params, `${where}.paramsAfter`, 'a value')
      return { op: 'optimizerStep', grads, paramsAfter }
    }
    default:
      throw new Malformed(`${where}.op: expected one of ${stepOps.join(', ')}, got ${JSON.stringify(s.op)}`)
  }
}

/** A step that checks something against a recorded value (a `reset` alone checks nothing). */
const compares = (s: Step): boolean => s.op !== 'reset'

const finiteNonNegative = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v) && v >= 0

/** A value as the message shows it: numbers as JavaScript reads them (1e999 is Infinity). */
const show = (v: unknown): string => (typeof v === 'number' ? String(v) : (JSON.stringify(v) ?? 'nothing'))

/** Parses one fixture; throws an Error naming what is malformed. */
export const parseFixture = (v: unknown, where: string): Fixture => {
  need(isRecord(v), `${where}: expected a fixture object`)
  const f = v as Record<string, unknown>
  need(typeof f.name === 'string' && f.name.length > 0, `${where}.name: expected a string`)
  const at = String(f.name)
  need(typeof f.layer === 'string' && f.layer.length > 0, `${at}.layer: expected a layer name`)
  need(f.dtype === undefined || f.dtype === 'float32' || f.dtype === 'float64', `${at}.dtype: expected float32 or float64`)
  const dtype: DType = (f.dtype as DType | undefined) ?? 'float32'
  need(f.config === undefined || isRecord(f.config), `${at}.config: expected an object`)
  need(typeof f.training === 'boolean', `${at}.training: expected a boolean`)
  need(Array.isArray(f.steps) && f.steps.length > 0, `${at}.steps: expected a non-empty array`)
  need(isRecord(f.tolerance), `${at}.tolerance: expected {atol, rtol}`)
  const tol = f.tolerance as Record<string, unknown>
  // 1e999 parses to Infinity, which would let any value match
  need(
    finiteNonNegative(tol.atol) && finiteNonNegative(tol.rtol),
    `${at}.tolerance: expected finite, non-negative atol and rtol, got atol ${show(tol.atol)}, rtol ${show(tol.rtol)}`,
  )
  const params = f.params === undefined ? {} : parseTensorMap(f.params, `${at}.params`, dtype)
  const steps: Step[] = []
  const forwards: ForwardStep[] = []
  ;(f.steps as unknown[]).forEach((raw, i) => {
    const step = parseStep(raw, `${at}.steps[${i}]`, dtype, forwards, params)
    steps.push(step)
    if (step.op === 'forward') forwards.push(step)
  })
  need(steps.some(compares), `${at}.steps: nothing to compare (no forward, update, backward or optimizerStep step)`)
  return {
    name: at,
    layer: f.layer as string,
    config: (f.config as Record<string, unknown> | undefined) ?? {},
    params,
    ...(f.state === undefined || f.state === null ? {} : { state: parseStateMap(f.state, `${at}.state`, dtype) }),
    training: f.training as boolean,
    steps,
    tolerance: { atol: tol.atol as number, rtol: tol.rtol as number },
    dtype,
  }
}

/** A parsed fixture file: its fixtures (each parsed, or why not), or why the file is malformed. */
export type ParsedFile =
  | { readonly fixtures: readonly (Fixture | { readonly name: string; readonly error: string })[] }
  | { readonly error: string }

/** Parses a fixture file's JSON text: the fixtures, or the reason the file is malformed. */
export const parseFile = (text: string, file: string): ParsedFile => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return { error: `${file}: not valid JSON (${(e as Error).message})` }
  }
  if (!isRecord(json) || !Array.isArray(json.fixtures)) return { error: `${file}: expected {"fixtures": [...]}` }
  return {
    fixtures: json.fixtures.map((v, i) => {
      const fallback = isRecord(v) && typeof v.name === 'string' && v.name.length > 0 ? v.name : `${file}#${i}`
      try {
        return parseFixture(v, fallback)
      } catch (e) {
        return { name: fallback, error: `malformed: ${(e as Error).message}` }
      }
    }),
  }
}
