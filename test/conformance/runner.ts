/**
 * The conformance runner: reads every fixture file of a directory, runs each case through the
 * public API, and reports each case as passed, skipped or failed.
 *
 * - A case passes when every one of its steps ran and matched, and it compared at least one value.
 * - A layer case runs its steps on the layer; an optimizer case (SGD, Adam, AdamW: no layer, only
 *   `optimizerStep` steps) runs them on the optimizer, built from the config over the params.
 * - A case is skipped when its layer is one braincog-fn does not implement yet (`pending.ts`) or
 *   one of its steps is an op the runner has no handler for yet (`steps.ts`); the reason says
 *   which. The steps before the first such step still run, and a mismatch there fails the case.
 * - Everything else fails: a mismatch, an unknown layer, a configuration the adapter does not
 *   read, a malformed file or fixture, a directory without fixtures.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { basename, join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import type { AnyLayer, Device } from '../../src/index.js'
import { ConfigError, foldIn, key } from '../../src/index.js'
import type { Adapter, OptimizerAdapter } from './adapters/adapter.js'
import { adapters as defaultAdapters, optimizerAdapters } from './adapters/index.js'
import { type Fixture, parseFile } from './fixture.js'
import { pendingLayers } from './pending.js'
import {
  type Carry,
  type OptimizerCarry,
  type Run,
  type StepHandler,
  type StepHandlers,
  type StepOutcome,
  stepHandlers,
} from './steps.js'

export type Outcome = 'passed' | 'skipped' | 'failed'

export interface CaseResult {
  readonly name: string
  readonly outcome: Outcome
  /** Index of the failing step, if a step failed. */
  readonly step?: number
  /** Largest |actual - expected| seen in the failing comparison. */
  readonly deviation?: number
  /** Why the case failed or was skipped. */
  readonly reason?: string
  /** For a skipped case: how many of its steps ran (and matched) before the first it could not run. */
  readonly checkedSteps?: number
}

export interface Report {
  readonly results: readonly CaseResult[]
  readonly passed: number
  readonly skipped: number
  readonly failed: number
}

export interface RunOptions {
  /** Layer name (BrainCog's class) to adapter; default `adapters/index.ts`. */
  readonly adapters?: Readonly<Record<string, Adapter>>
  /** Optimizer name (`torch.optim`'s class) to adapter; default `adapters/index.ts`'s `optimizerAdapters`. */
  readonly optimizers?: Readonly<Record<string, OptimizerAdapter>>
  /** Step op to handler; default `steps.ts`. */
  readonly handlers?: StepHandlers
  /** Layers known but not implemented yet; default `pending.ts`. */
  readonly pending?: ReadonlyMap<string, string>
  /** The kernels (default: the best available). */
  readonly backend?: Device<unknown>
  /** Run each forward step as a one-step `scanOnDevice` on this device. */
  readonly device?: Device
}

const ownValue = <T>(record: Readonly<Record<string, T>>, name: string): T | undefined =>
  Object.hasOwn(record, name) ? record[name] : undefined

interface At {
  readonly step: number
  readonly deviation?: number
}

const failure = (name: string, reason: string, at?: At): CaseResult => ({
  name,
  outcome: 'failed',
  ...(at === undefined ? {} : { step: at.step }),
  ...(at?.deviation === undefined ? {} : { deviation: at.deviation }),
  reason,
})

/**
 * Step `i` of case `name` through its handler: what it carries on, or the case's failure (a
 * handler that threw included; `unsupported` says why a later step would have been skipped).
 */
const stepOutcome = <C>(
  name: string,
  i: number,
  unsupported: string,
  run: () => StepOutcome<C>,
): { readonly carry: C; readonly compared: number } | CaseResult => {
  let outcome: StepOutcome<C>
  try {
    outcome = run()
  } catch (e) {
    return failure(name, `threw: ${(e as Error).message}${unsupported}`, { step: i })
  }
  if ('failure' in outcome) {
    return failure(name, `${outcome.failure}${unsupported}`, {
      step: i,
      ...(outcome.deviation === undefined ? {} : { deviation: outcome.deviation }),
    })
  }
  return outcome
}

/** The handler of a step's op (an own entry only, so `constructor` has none), if there is one. */
const handlerOf = (handlers: StepHandlers, op: string): StepHandler<never> | undefined =>
  ownValue(handlers as Readonly<Record<string, StepHandler<never>>>, op)

/** What a case needs that is not supported yet, and where its run has to stop. */
interface Lacking {
  /** What is not supported yet: `layer X`, `step op Y`, ... */
  readonly reasons: readonly string[]
  /** The first step that cannot run (the number of steps when all can). */
  readonly stop: number
}

const lacking = (fx: Fixture, known: boolean, handlers: StepHandlers): Lacking => {
  const reasons: string[] = known ? [] : [`layer ${fx.layer}`]
  let stop = fx.steps.length
  fx.steps.forEach((step, i) => {
    const handler = handlerOf(handlers, step.op)
    const why = handler === undefined ? `step op ${step.op}` : handler.unsupported?.(step as never)
    if (why === undefined) return
    if (!reasons.includes(why)) reasons.push(why)
    stop = Math.min(stop, i)
  })
  return { reasons, stop }
}

/** The failure of a case whose config has keys its adapter does not read, if it has any. */
const unreadConfig = (fx: Fixture, keys: readonly string[]): CaseResult | undefined => {
  const unread = Object.keys(fx.config).filter((k) => !keys.includes(k))
  if (unread.length === 0) return undefined
  return failure(
    fx.name,
    `config ${unread.map((k) => JSON.stringify(k)).join(', ')}: not read by the ${fx.layer} adapter ` +
      `(it reads ${JSON.stringify(keys)})`,
  )
}

/**
 * Runs an optimizer's case: the optimizer built once from the config over all of `params`, then
 * each `optimizerStep` from the runner's own params and the optimizer's state.
 */
const runOptimizerFixture = (fx: Fixture, adapter: OptimizerAdapter, handlers: StepHandlers): CaseResult => {
  const { reasons, stop } = lacking(fx, true, handlers)
  const reason = reasons.length === 0 ? undefined : reasons.map((r) => `${r} not supported yet`).join('; ')
  const unread = unreadConfig(fx, adapter.configKeys)
  if (unread !== undefined) return unread
  let run
  try {
    run = { fixture: fx, optimizer: adapter.build(fx.config) }
  } catch (e) {
    return failure(fx.name, e instanceof ConfigError ? e.message : `build threw: ${(e as Error).message}`)
  }
  const unsupported = reason === undefined ? '' : ` (the case's other steps: ${reason})`
  let carry: OptimizerCarry = { params: fx.params, state: run.optimizer.init(fx.params) }
  let compared = 0
  for (let i = 0; i < stop; i++) {
    const step = fx.steps[i]
    if (step.op !== 'optimizerStep' || handlers.optimizerStep === undefined) {
      return failure(fx.name, `a ${step.op} step in a case of the optimizer ${fx.layer}: expected only optimizerStep steps`, { step: i })
    }
    const optimizerStep = handlers.optimizerStep
    const outcome = stepOutcome(fx.name, i, unsupported, () => optimizerStep.run(run, carry, step, i))
    if ('outcome' in outcome) return outcome
    carry = outcome.carry
    compared += outcome.compared
  }
  if (reason !== undefined) return { name: fx.name, outcome: 'skipped', reason, checkedSteps: stop }
  if (compared === 0) return failure(fx.name, 'compared no values: every recorded parameter is empty')
  return { name: fx.name, outcome: 'passed' }
}

/**
 * Runs one parsed fixture. With `options.device`, every forward step runs as a one-step
 * `scanOnDevice` there: the state goes onto the device and back each step, and the layers'
 * device forms (`lower`) compute the outputs.
 */
export const runFixture = (fx: Fixture, options: RunOptions = {}): CaseResult => {
  const adapters = options.adapters ?? defaultAdapters
  const handlers = options.handlers ?? stepHandlers
  const pending = options.pending ?? pendingLayers
  const optimizer = ownValue(options.optimizers ?? optimizerAdapters, fx.layer)
  if (optimizer !== undefined) return runOptimizerFixture(fx, optimizer, handlers)
  const adapter = ownValue(adapters, fx.layer)
  if (adapter === undefined && !pending.has(fx.layer)) {
    return failure(fx.name, `no layer ${JSON.stringify(fx.layer)} in braincog-fn`)
  }
  const { reasons, stop } = lacking(fx, adapter !== undefined, handlers)
  const reason = reasons.length === 0 ? undefined : reasons.map((r) => `${r} not supported yet`).join('; ')
  if (adapter === undefined) return { name: fx.name, outcome: 'skipped', reason: reason ?? '', checkedSteps: 0 }

  const unread = unreadConfig(fx, adapter.configKeys)
  if (unread !== undefined) return unread
  let layer: AnyLayer
  try {
    layer = adapter.build(fx.config, fx.dtype, fx.params)
  } catch (e) {
    return failure(fx.name, e instanceof ConfigError ? e.message : `build threw: ${(e as Error).message}`)
  }
  const first = fx.steps.find((s) => s.op === 'forward')
  const inputShape = first?.op === 'forward' ? first.input.shape : []
  const root = key(0)
  const init = layer.init(foldIn(root, -1), inputShape, fx.dtype)
  if (E.isLeft(init)) return failure(fx.name, `init: ${init.left.message}`)
  let carry: Carry
  try {
    carry = {
      params: adapter.params(fx.params, init.right.params),
      state: adapter.state(fx.state, init.right.state),
      forwards: [],
    }
  } catch (e) {
    return failure(fx.name, `fixture params/state: ${(e as Error).message}`)
  }

  const run: Run = {
    fixture: fx,
    adapter,
    layer,
    root,
    ...(options.backend === undefined ? {} : { backend: options.backend }),
    ...(options.device === undefined ? {} : { device: options.device }),
  }
  const unsupported = reason === undefined ? '' : ` (the case's other steps: ${reason})`
  let compared = 0
  for (let i = 0; i < stop; i++) {
    const step = fx.steps[i]
    if (step.op === 'optimizerStep') {
      return failure(fx.name, `an optimizerStep in a case of the layer ${fx.layer}: only optimizer cases have them`, { step: i })
    }
    const handler = handlerOf(handlers, step.op)
    if (handler === undefined) return failure(fx.name, `no handler for step op ${step.op}`, { step: i })
    const outcome = stepOutcome(fx.name, i, unsupported, () => handler.run(run, carry, step as never, i))
    if ('outcome' in outcome) return outcome
    carry = outcome.carry
    compared += outcome.compared
  }
  if (reason !== undefined) return { name: fx.name, outcome: 'skipped', reason, checkedSteps: stop }
  if (compared === 0) return failure(fx.name, 'compared no values: every recorded output, state and parameter is empty')
  return { name: fx.name, outcome: 'passed' }
}

const count = (results: readonly CaseResult[]): Report => ({
  results,
  passed: results.filter((r) => r.outcome === 'passed').length,
  skipped: results.filter((r) => r.outcome === 'skipped').length,
  failed: results.filter((r) => r.outcome === 'failed').length,
})

const jsonFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true })
    .filter((f) => f.isFile() && f.name.endsWith('.json'))
    .map((f) => f.name)
    .sort()

/** Runs every `*.json` fixture file in `dir`: one set of cases. */
export const runDirectory = (dir: string, options: RunOptions = {}): Report => {
  const results: CaseResult[] = []
  let files: string[]
  try {
    files = jsonFiles(dir)
  } catch (e) {
    return count([failure(dir, (e as Error).message)])
  }
  if (files.length === 0) results.push(failure(dir, 'no fixture files (*.json)'))
  const seen = new Set<string>()
  for (const file of files) {
    let text: string
    try {
      text = readFileSync(join(dir, file), 'utf8')
    } catch (e) {
      results.push(failure(file, (e as Error).message))
      continue
    }
    const parsed = parseFile(text, file)
    if ('error' in parsed) {
      results.push(failure(file, parsed.error))
      continue
    }
    if (parsed.fixtures.length === 0) results.push(failure(file, 'no fixtures in file'))
    for (const fx of parsed.fixtures) {
      if (seen.has(fx.name)) {
        results.push(failure(fx.name, `duplicate case name (in ${file})`))
        continue
      }
      seen.add(fx.name)
      results.push('error' in fx ? failure(fx.name, fx.error) : runFixture(fx, options))
    }
  }
  return count(results)
}

/**
 * The case sets under `dir`: `dir` itself when it holds fixture files, else each subfolder that
 * does (as `test/fixtures` holds one folder per set), else `dir` (whose run then fails).
 */
export const findSets = (dir: string): string[] => {
  try {
    if (jsonFiles(dir).length > 0) return [dir]
    const subs = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => join(dir, d.name))
      .filter((d) => statSync(d).isDirectory() && jsonFiles(d).length > 0)
      .sort()
    return subs.length > 0 ? subs : [dir]
  } catch {
    return [dir]
  }
}

export interface SetReport {
  readonly name: string
  readonly dir: string
  readonly report: Report
}

export interface SetsReport {
  readonly sets: readonly SetReport[]
  readonly total: Report
}

/** Runs each set, and the total over them. */
export const runSets = (dirs: readonly string[], options: RunOptions = {}): SetsReport => {
  const sets = dirs.map((dir) => ({ name: basename(dir), dir, report: runDirectory(dir, options) }))
  return { sets, total: count(sets.flatMap((s) => s.report.results)) }
}

/** `N passed, M skipped, K failed`. */
export const formatCounts = (r: Report): string => `${r.passed} passed, ${r.skipped} skipped, ${r.failed} failed`

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

/**
 * The skipped cases of a report, one line per reason: how many, why, and in how many of them
 * the steps before the first unsupported one ran and matched; with `names`, the cases too.
 */
export const formatSkips = (r: Report, names = false): string[] => {
  const byReason = new Map<string, CaseResult[]>()
  for (const c of r.results) {
    if (c.outcome !== 'skipped') continue
    const reason = c.reason ?? ''
    byReason.set(reason, [...(byReason.get(reason) ?? []), c])
  }
  return [...byReason].map(([reason, cases]) => {
    const checked = cases.filter((c) => (c.checkedSteps ?? 0) > 0).length
    const partly = checked === 0 ? '' : `; in ${checked} of them the steps before it ran and matched`
    const list = names ? `: ${cases.map((c) => c.name).join(', ')}` : ''
    return `SKIP ${cases.length}  ${reason}${partly}${list}`
  })
}
