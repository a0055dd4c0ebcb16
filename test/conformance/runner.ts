/**
 * The conformance runner: reads every fixture file of a directory, runs each case through the
 * public API, and reports per case. A fixture for an unknown or missing layer, or a malformed
 * file, is a failure, never a skip.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import type { AnyLayer, Backend, Ctx, Device, Tensor } from '../../src/index.js'
import { ConfigError, foldIn, key, reshape, scanOnDevice } from '../../src/index.js'
import type { Adapter, Values } from './adapters/adapter.js'
import { adapters as defaultAdapters } from './adapters/index.js'
import { type Fixture, parseFile, type Tolerance } from './fixture.js'

export interface CaseResult {
  readonly name: string
  readonly passed: boolean
  /** Index of the failing step, if a step failed. */
  readonly step?: number
  /** Largest |actual - expected| seen in the failing comparison. */
  readonly deviation?: number
  readonly reason?: string
}

export interface Report {
  readonly results: readonly CaseResult[]
  readonly passed: number
  readonly failed: number
}

interface Mismatch {
  readonly what: string
  readonly deviation: number
}

/** Compares one value; `undefined` when it matches within tolerance. */
const compare = (
  what: string,
  actual: Tensor | number | undefined,
  expected: Tensor | number,
  tol: Tolerance,
): Mismatch | undefined => {
  if (actual === undefined) return { what: `${what} missing`, deviation: Infinity }
  const a = typeof actual === 'number' ? [actual] : flat(actual)
  const e = typeof expected === 'number' ? [expected] : flat(expected)
  if (typeof actual !== 'number' && typeof expected !== 'number') {
    const sa = actual.shape.join(',')
    const se = expected.shape.join(',')
    if (sa !== se) return { what: `${what} shape [${sa}] != [${se}]`, deviation: Infinity }
  }
  if (a.length !== e.length) return { what: `${what} size ${a.length} != ${e.length}`, deviation: Infinity }
  let worst = 0
  let bad = false
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - e[i])
    const ok = d <= tol.atol + tol.rtol * Math.abs(e[i]) || (Number.isNaN(a[i]) && Number.isNaN(e[i]))
    if (!ok) bad = true
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : Math.max(worst, d)
  }
  return bad ? { what, deviation: worst } : undefined
}

const flat = (t: Tensor): number[] => {
  const out: number[] = []
  const walk = (depth: number, idx: number[]): void => {
    if (depth === t.shape.length) {
      out.push(t.get(...idx))
      return
    }
    for (let i = 0; i < t.shape[depth]; i++) walk(depth + 1, [...idx, i])
  }
  walk(0, [])
  return out
}

const compareValues = (what: string, actual: Values, expected: Values, tol: Tolerance): Mismatch | undefined => {
  for (const [name, e] of Object.entries(expected)) {
    const m = compare(`${what}.${name}`, actual[name], e, tol)
    if (m) return m
  }
  return undefined
}

/** A step as a scan of one step on `device`: the tensors (and draws) get a time axis of 1. */
const applyOnDevice = (layer: AnyLayer, device: Device, params: unknown, state: unknown, x: Tensor, ctx: Ctx) => {
  const timeMajor = (t: Tensor): Tensor => reshape(t, [1, ...t.shape])
  const c = ctx.draws === undefined ? ctx : { ...ctx, draws: timeMajor(ctx.draws) }
  return E.map((r: { readonly output: Tensor; readonly state: unknown }) => ({
    output: reshape(r.output, r.output.shape.slice(1)),
    state: r.state,
  }))(scanOnDevice(layer, device).apply(params, state, timeMajor(x), c))
}

/**
 * Runs one parsed fixture (on `backend`, else the default backend). With `device`, every
 * forward step runs as a one-step `scanOnDevice` there: the state goes onto the device and
 * back each step, and the layers' device forms (`lower`) compute the outputs.
 */
export const runFixture = (
  fx: Fixture,
  adapters: Readonly<Record<string, Adapter>> = defaultAdapters,
  backend?: Backend,
  device?: Device,
): CaseResult => {
  const adapter = adapters[fx.layer]
  if (!adapter) return { name: fx.name, passed: false, reason: `no layer ${JSON.stringify(fx.layer)} in braincog-fn` }
  let layer: AnyLayer
  try {
    layer = adapter.build(fx.config, fx.dtype, fx.params)
  } catch (e) {
    const reason = e instanceof ConfigError ? e.message : `build threw: ${(e as Error).message}`
    return { name: fx.name, passed: false, reason }
  }
  const first = fx.steps.find((s) => s.op === 'forward')
  const inputShape = first && first.op === 'forward' ? first.input.shape : []
  const root = key(0)
  const init = layer.init(foldIn(root, -1), inputShape, fx.dtype)
  if (E.isLeft(init)) return { name: fx.name, passed: false, reason: `init: ${init.left.message}` }
  let params: unknown
  let state: unknown
  try {
    params = adapter.params(fx.params, init.right.params)
    state = adapter.state(fx.state, init.right.state)
  } catch (e) {
    return { name: fx.name, passed: false, reason: `fixture params/state: ${(e as Error).message}` }
  }
  for (let i = 0; i < fx.steps.length; i++) {
    const step = fx.steps[i]
    const failAt = (reason: string, deviation?: number): CaseResult => ({
      name: fx.name,
      passed: false,
      step: i,
      reason,
      ...(deviation === undefined ? {} : { deviation }),
    })
    try {
      if (step.op === 'reset') {
        state = layer.reset(state)
      } else if (step.op === 'update') {
        if (!adapter.update || !adapter.paramsView) return failAt(`${fx.layer} has no update`)
        const r = adapter.update(layer, params, step.dw)
        if (E.isLeft(r)) return failAt(r.left.message)
        params = r.right
        const m = compareValues('params', adapter.paramsView(params), step.paramsAfter, fx.tolerance)
        if (m) return failAt(m.what, m.deviation)
      } else {
        const draws = adapter.draws?.(step)
        const ctx = {
          training: step.training ?? fx.training,
          key: foldIn(root, i),
          ...(draws === undefined ? {} : { draws }),
          ...(backend === undefined ? {} : { backend }),
        }
        const r =
          device === undefined
            ? layer.apply(params, state, step.input, ctx)
            : applyOnDevice(layer, device, params, state, step.input, ctx)
        if (E.isLeft(r)) return failAt(r.left.message)
        state = r.right.state
        const m = compare('output', r.right.output, step.output, fx.tolerance)
        if (m) return failAt(m.what, m.deviation)
        if (step.stateAfter) {
          if (!adapter.stateView) return failAt(`${fx.layer} exposes no state to compare`)
          const ms = compareValues('state', adapter.stateView(state), step.stateAfter, fx.tolerance)
          if (ms) return failAt(ms.what, ms.deviation)
        }
      }
    } catch (e) {
      return failAt(`threw: ${(e as Error).message}`)
    }
  }
  return { name: fx.name, passed: true }
}

/**
 * Runs every `*.json` fixture file in `dir` (on `backend`, else the default backend; `device`
 * as in {@link runFixture}).
 */
export const runDirectory = (
  dir: string,
  adapters: Readonly<Record<string, Adapter>> = defaultAdapters,
  backend?: Backend,
  device?: Device,
): Report => {
  const results: CaseResult[] = []
  let files: string[]
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .sort()
  } catch (e) {
    return { results: [{ name: dir, passed: false, reason: (e as Error).message }], passed: 0, failed: 1 }
  }
  if (files.length === 0) results.push({ name: dir, passed: false, reason: 'no fixture files (*.json)' })
  for (const file of files) {
    const parsed = parseFile(readFileSync(join(dir, file), 'utf8'), file)
    if ('error' in parsed) {
      results.push({ name: file, passed: false, reason: parsed.error })
      continue
    }
    if (parsed.fixtures.length === 0) results.push({ name: file, passed: false, reason: 'no fixtures in file' })
    for (const fx of parsed.fixtures) {
      const result = 'error' in fx ? { name: fx.name, passed: false, reason: fx.error } : runFixture(fx, adapters, backend, device)
      results.push(result)
    }
  }
  const passed = results.filter((r) => r.passed).length
  return { results, passed, failed: results.length - passed }
}

/** One line per failing case: name, step, largest deviation, reason. */
export const formatFailure = (r: CaseResult): string =>
  [
    `FAIL ${r.name}`,
    r.step === undefined ? undefined : `step ${r.step}`,
    r.deviation === undefined ? undefined : `max deviation ${r.deviation.toExponential(3)}`,
    r.reason,
  ]
    .filter((s) => s !== undefined)
    .join('  ')
