/**
 * The fixture format of `shared/fixtures/README.md`, parsed and validated. Anything that does
 * not match the format is reported as a malformed fixture, never skipped.
 */
import type { DType, Tensor } from '../../src/index.js'
import { tensor } from '../../src/index.js'

export interface Tolerance {
  readonly atol: number
  readonly rtol: number
}

export type Step =
  | {
      readonly op: 'forward'
      readonly input: Tensor
      readonly output: Tensor
      readonly training?: boolean
      readonly stateAfter?: Readonly<Record<string, Tensor | number>>
      readonly noise?: Tensor
      readonly mask?: Tensor
    }
  | { readonly op: 'update'; readonly dw: Tensor; readonly paramsAfter: Readonly<Record<string, Tensor>> }
  | { readonly op: 'reset' }

export interface Fixture {
  readonly name: string
  readonly layer: string
  readonly config: Readonly<Record<string, unknown>>
  readonly params: Readonly<Record<string, Tensor>>
  readonly state?: Readonly<Record<string, Tensor | number>>
  readonly training: boolean
  readonly steps: readonly Step[]
  readonly tolerance: Tolerance
  readonly dtype: DType
}

class Malformed extends Error {}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

const need = (cond: boolean, what: string): void => {
  if (!cond) throw new Malformed(what)
}

const parseTensor = (v: unknown, where: string, dtype: DType): Tensor => {
  need(isRecord(v), `${where}: expected {shape, data}`)
  const { shape, data } = v as Record<string, unknown>
  need(
    Array.isArray(shape) && shape.every((d) => Number.isInteger(d) && (d as number) >= 0),
    `${where}.shape: expected non-negative integers`,
  )
  need(Array.isArray(data) && data.every((d) => typeof d === 'number'), `${where}.data: expected numbers`)
  const dims = shape as number[]
  const values = data as number[]
  need(
    values.length === dims.reduce((a, b) => a * b, 1),
    `${where}: ${values.length} values for shape [${dims.join(', ')}]`,
  )
  return tensor(values, dims, dtype)
}

const parseTensorMap = (v: unknown, where: string, dtype: DType): Record<string, Tensor> => {
  need(isRecord(v), `${where}: expected an object of tensors`)
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>).map(([k, t]) => [k, parseTensor(t, `${where}.${k}`, dtype)]),
  )
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

const parseStep = (v: unknown, where: string, dtype: DType): Step => {
  need(isRecord(v), `${where}: expected a step object`)
  const s = v as Record<string, unknown>
  switch (s.op) {
    case 'forward': {
      need(s.training === undefined || typeof s.training === 'boolean', `${where}.training: expected a boolean`)
      return {
        op: 'forward',
        input: parseTensor(s.input, `${where}.input`, dtype),
        output: parseTensor(s.output, `${where}.output`, dtype),
        ...(s.training === undefined ? {} : { training: s.training as boolean }),
        ...(s.stateAfter === undefined ? {} : { stateAfter: parseStateMap(s.stateAfter, `${where}.stateAfter`, dtype) }),
        ...(s.noise === undefined ? {} : { noise: parseTensor(s.noise, `${where}.noise`, dtype) }),
        ...(s.mask === undefined ? {} : { mask: parseTensor(s.mask, `${where}.mask`, dtype) }),
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
    default:
      throw new Malformed(`${where}.op: expected forward, update or reset, got ${JSON.stringify(s.op)}`)
  }
}

/** Parses one fixture; throws an Error naming what is malformed. */
export const parseFixture = (v: unknown, where: string): Fixture => {
  need(isRecord(v), `${where}: expected a fixture object`)
  const f = v as Record<string, unknown>
  need(typeof f.name === 'string' && f.name.length > 0, `${where}.name: expected a string`)
  const at = String(f.name)
  need(typeof f.layer === 'string', `${at}.layer: expected a string`)
  need(f.dtype === undefined || f.dtype === 'float32' || f.dtype === 'float64', `${at}.dtype: expected float32 or float64`)
  const dtype: DType = (f.dtype as DType | undefined) ?? 'float32'
  need(f.config === undefined || isRecord(f.config), `${at}.config: expected an object`)
  need(typeof f.training === 'boolean', `${at}.training: expected a boolean`)
  need(Array.isArray(f.steps) && f.steps.length > 0, `${at}.steps: expected a non-empty array`)
  need(isRecord(f.tolerance), `${at}.tolerance: expected {atol, rtol}`)
  const tol = f.tolerance as Record<string, unknown>
  need(
    typeof tol.atol === 'number' && typeof tol.rtol === 'number' && tol.atol >= 0 && tol.rtol >= 0,
    `${at}.tolerance: expected non-negative atol and rtol`,
  )
  return {
    name: at,
    layer: f.layer as string,
    config: (f.config as Record<string, unknown> | undefined) ?? {},
    params: f.params === undefined ? {} : parseTensorMap(f.params, `${at}.params`, dtype),
    ...(f.state === undefined || f.state === null ? {} : { state: parseStateMap(f.state, `${at}.state`, dtype) }),
    training: f.training as boolean,
    steps: (f.steps as unknown[]).map((s, i) => parseStep(s, `${at}.steps[${i}]`, dtype)),
    tolerance: { atol: tol.atol as number, rtol: tol.rtol as number },
    dtype,
  }
}

/** A parsed fixture file: its fixtures (each parsed, or why not), or why the file is malformed. */
export type ParsedFile =
  | { readonly fixtures: readonly (Fixture | { readonly name: string; readonly error: string })[] }
  | { readonly error: string }

/** Parses a fixture file's JSON text: the fixtures, or the reason the file is malformed. */
export const parseFile = (
  text: string,
  file: string,
): ParsedFile => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return { error: `${file}: not valid JSON (${(e as Error).message})` }
  }
  if (!isRecord(json) || !Array.isArray(json.fixtures)) return { error: `${file}: expected {"fixtures": [...]}` }
  return {
    fixtures: json.fixtures.map((v, i) => {
      const fallback = isRecord(v) && typeof v.name === 'string' ? v.name : `${file}#${i}`
      try {
        return parseFixture(v, fallback)
      } catch (e) {
        return { name: fallback, error: `malformed: ${(e as Error).message}` }
      }
    }),
  }
}
