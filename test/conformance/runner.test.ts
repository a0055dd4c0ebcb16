/**
 * The runner itself, on synthetic case sets in the fixture format: passing, failing and skipped
 * cases; unknown layers, malformed files and fixtures counted as failures; and the hostile files
 * of issue 12 (infinite tolerances, cases that compare nothing, infinities, prototype names,
 * absurd shapes).
 */
import { spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import type { Tensor } from '../../src/index.js'
import { ifNeuron } from '../../src/index.js'
import type { Adapter, Values } from './adapters/adapter.js'
import { adapters, optimizerAdapters } from './adapters/index.js'
import { matches } from './compare.js'
import { expectedCounts } from './expected.js'
import { pendingLayers } from './pending.js'
import {
  type CaseResult,
  findSets,
  formatCounts,
  formatFailure,
  formatSkips,
  type Report,
  runDirectory,
  runSets,
} from './runner.js'
import { type StepHandlers, stepHandlers } from './steps.js'

/** A test-only adapter, so the runner can be checked without any BrainCog layer. */
const ifAdapter: Adapter = {
  configKeys: ['threshold'],
  build: (config) => ifNeuron({ threshold: config.threshold as number }),
  params: (_fixture, initial) => initial,
  state: (_fixture, initial) => initial,
  stateView: (state): Values => {
    const v = (state as { readonly v: Tensor | null }).v
    return v === null ? {} : { v }
  },
}
/**
 * The runner with only the test layer, and without the backward handler: the cases below use
 * `backward` as the example of a step op the library does not run.
 */
const { backward: _backward, ...rest } = stepHandlers
const withoutBackward: StepHandlers = rest
/** A layer on the not-yet list of these tests (the real list shrinks as support lands). */
const pending = new Map([['Conv9d', 'a layer these tests pretend is coming']])
const only = { adapters: { IFNeuron: ifAdapter }, handlers: withoutBackward, pending }

const t = (shape: number[], data: number[]) => ({ shape, data })
const ifCase = (name: string, output: number[], extra: Record<string, unknown> = {}) => ({
  name,
  layer: 'IFNeuron',
  config: { threshold: 1 },
  params: {},
  training: true,
  tolerance: { atol: 1e-6, rtol: 0 },
  steps: [
    { op: 'forward', input: t([2], [0.6, 1.5]), output: t([2], [0, 1]), stateAfter: { v: t([2], [0.6, 0.5]) } },
    { op: 'forward', input: t([2], [0.6, 0.1]), output: t([2], output) },
    { op: 'reset' },
    { op: 'forward', input: t([2], [0.5, 0.5]), output: t([2], [0, 0]) },
  ],
  ...extra,
})
/** Two forward steps then a backward step: the shape of the gradient fixtures. */
const gradCase = (name: string, output: number[], layer = 'IFNeuron') => ({
  ...ifCase(name, output),
  layer,
  steps: [
    { op: 'forward', input: t([2], [0.6, 1.5]), output: t([2], [0, 1]) },
    { op: 'forward', input: t([2], [0.6, 0.1]), output: t([2], output) },
    {
      op: 'backward',
      cotangents: [t([2], [1, 1]), t([2], [1, 1])],
      gradInputs: [t([2], [0, 0]), t([2], [0, 0])],
      gradParams: {},
    },
  ],
})

/** An SGD case of one step: plain SGD at lr 0.1 from [1, 2]. */
const sgdCase = (name: string, grads: Record<string, unknown>) => ({
  name,
  layer: 'SGD',
  config: { lr: 0.1 },
  params: { w: t([2], [1, 2]) },
  training: true,
  tolerance: { atol: 1e-6, rtol: 0 },
  steps: [{ op: 'optimizerStep', grads, paramsAfter: { w: t([2], [0.9, 1.9]) } }],
})

const root = mkdtempSync(join(tmpdir(), 'braincog-fixtures-'))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let dir = ''
let sets = 0
beforeEach(() => {
  dir = join(root, `set${sets++}`)
  mkdirSync(dir)
})

const write = (file: string, fixtures: readonly unknown[]): void =>
  writeFileSync(join(dir, file), JSON.stringify({ source: 'test', fixtures }))
const byName = (report: Report, name: string): CaseResult => {
  const r = report.results.find((c) => c.name === name)
  if (!r) throw new Error(`no result for ${name}`)
  return r
}

describe('conformance runner', () => {
  it('passes matching cases and reports the failing step and deviation of others', () => {
    write('IFNeuron.json', [ifCase('ok', [1, 0]), ifCase('bad', [1, 1])])
    const report = runDirectory(dir, only)
    expect([report.passed, report.skipped, report.failed]).toEqual([1, 0, 1])
    const bad = byName(report, 'bad')
    expect(bad).toMatchObject({ outcome: 'failed', step: 1, deviation: 1 })
    expect(formatFailure(bad)).toMatch(/^FAIL bad {2}step 1 {2}max deviation 1\.000e\+0/)
    expect(formatCounts(report)).toBe('1 passed, 0 skipped, 1 failed')
  })

  it('fails unknown layers, malformed fixtures and unreadable files instead of skipping them', () => {
    writeFileSync(join(dir, 'A.json'), '{"fixtures": [')
    write('B.json', [{ ...ifCase('unknown', [1, 0]), layer: 'Nope' }])
    write('C.json', [{ ...ifCase('shapeless', [1, 0]), steps: [{ op: 'forward', input: t([3], [1]), output: t([1], [0]) }] }])
    write('D.json', [{ ...ifCase('noop', [1, 0]), steps: [{ op: 'jump' }] }])
    const report = runDirectory(dir, only)
    expect([report.passed, report.skipped, report.failed]).toEqual([0, 0, 4])
    const reasons = report.results.map((r) => r.reason ?? '')
    expect(reasons[0]).toMatch(/A\.json: not valid JSON/)
    expect(reasons[1]).toMatch(/no layer "Nope"/)
    expect(reasons[2]).toMatch(/malformed: .*1 values for shape \[3\]/)
    expect(reasons[3]).toMatch(/malformed: .*expected one of forward, update, reset, backward, optimizerStep, got "jump"/)
  })

  it('fails a directory without fixtures, and one that does not exist', () => {
    expect(runDirectory(dir).failed).toBe(1)
    expect(runDirectory(join(dir, 'missing')).failed).toBe(1)
  })

  it('fails a case whose adapter does not read one of its config keys', () => {
    write('IFNeuron.json', [{ ...ifCase('extra', [1, 0]), config: { threshold: 1, timeAware: true } }])
    expect(runDirectory(dir, only).results[0]).toMatchObject({
      outcome: 'failed',
      reason: expect.stringMatching(/config "timeAware": not read by the IFNeuron adapter/) as unknown,
    })
  })

  it('fails a second case of the same name', () => {
    write('IFNeuron.json', [ifCase('twice', [1, 0]), ifCase('twice', [1, 0])])
    const report = runDirectory(dir, only)
    expect([report.passed, report.failed]).toEqual([1, 1])
    expect(report.results[1].reason).toMatch(/duplicate case name/)
  })
})

describe('cases the library cannot run yet are skipped, with the reason', () => {
  it('skips a case with a backward step after checking the forward steps before it', () => {
    write('IFNeuron.json', [gradCase('grad', [1, 0])])
    const report = runDirectory(dir, only)
    expect([report.passed, report.skipped, report.failed]).toEqual([0, 1, 0])
    expect(report.results[0]).toEqual({
      name: 'grad',
      outcome: 'skipped',
      reason: 'step op backward not supported yet',
      checkedSteps: 2,
    })
    expect(formatSkips(report, true)).toEqual([
      'SKIP 1  step op backward not supported yet; in 1 of them the steps before it ran and matched: grad',
    ])
  })

  it('fails a case with a backward step whose forward steps do not match', () => {
    write('IFNeuron.json', [gradCase('grad', [1, 1])])
    const r = runDirectory(dir, only).results[0]
    expect(r).toMatchObject({ outcome: 'failed', step: 1, deviation: 1 })
    expect(r.reason).toMatch(/output \(the case's other steps: step op backward not supported yet\)/)
  })

  it('skips a layer on the not-yet list and fails one that is on neither list', () => {
    write('Conv9d.json', [gradCase('c9', [1, 0], 'Conv9d'), { ...ifCase('c9-fwd', [1, 0]), layer: 'Conv9d' }])
    write('Conv.json', [{ ...ifCase('conv', [1, 0]), layer: 'Conv3d' }])
    const report = runDirectory(dir, only)
    expect([report.passed, report.skipped, report.failed]).toEqual([0, 2, 1])
    expect(byName(report, 'c9').reason).toBe('layer Conv9d not supported yet; step op backward not supported yet')
    expect(byName(report, 'c9-fwd').reason).toBe('layer Conv9d not supported yet')
    expect(byName(report, 'conv').reason).toBe('no layer "Conv3d" in braincog-fn')
  })

  it('runs optimizerStep cases, fails them when malformed, and fails a target given to a layer that is no loss', () => {
    const loss = {
      ...ifCase('loss', [1, 0]),
      steps: [{ op: 'forward', input: t([1, 2], [1, 2]), target: t([1], [0]), output: t([], [0.3]) }],
    }
    write('SGD.json', [sgdCase('sgd', { w: t([2], [1, 1]) }), sgdCase('sgd-bad', { v: t([2], [1, 1]) })])
    write('Loss.json', [loss])
    const report = runDirectory(dir, only)
    expect(byName(report, 'sgd').outcome).toBe('passed')
    expect(byName(report, 'sgd-bad').reason).toMatch(/malformed: .*grads: expected a gradient for exactly \["w"\]/)
    expect(byName(report, 'loss')).toMatchObject({ outcome: 'failed', step: 0 })
    expect(byName(report, 'loss').reason).toBe('IFNeuron: a forward step with a target, but the layer is no loss')
  })

  it('checks optimizer steps from its own params: a wrong record, a bad config, steps of the other kind fail', () => {
    const twice = {
      ...sgdCase('drift', { w: t([2], [1, 1]) }),
      steps: [
        { op: 'optimizerStep', grads: { w: t([2], [1, 1]) }, paramsAfter: { w: t([2], [0.9, 1.9]) } },
        // from the runner's own [0.9, 1.9], not from this record's [0, 0]
        { op: 'optimizerStep', grads: { w: t([2], [1, 1]) }, paramsAfter: { w: t([2], [0.8, 1.8]) } },
        { op: 'optimizerStep', grads: { w: t([2], [0, 0]) }, paramsAfter: { w: t([2], [0.8, 1.7]) } },
      ],
    }
    write('SGD.json', [
      twice,
      { ...sgdCase('nesterov', { w: t([2], [1, 1]) }), config: { lr: 0.1, nesterov: true } },
      { ...sgdCase('unread', { w: t([2], [1, 1]) }), config: { lr: 0.1, maximize: true } },
      { ...sgdCase('forward', { w: t([2], [1, 1]) }), steps: [ifCase('x', [1, 0]).steps[0]] },
    ])
    write('IFNeuron.json', [{ ...ifCase('if-opt', [1, 0]), steps: [sgdCase('s', { w: t([2], [1, 1]) }).steps[0]], params: { w: t([2], [1, 2]) } }])
    const report = runDirectory(dir, only)
    expect(byName(report, 'drift')).toMatchObject({ outcome: 'failed', step: 2, reason: 'params.w' })
    expect(byName(report, 'drift').deviation).toBeCloseTo(0.1, 6)
    expect(byName(report, 'nesterov').reason).toMatch(/^SGD: config\.nesterov: expected momentum > 0 and dampening 0/)
    expect(byName(report, 'unread').reason).toMatch(/config "maximize": not read by the SGD adapter/)
    expect(byName(report, 'forward')).toMatchObject({ outcome: 'failed', step: 0 })
    expect(byName(report, 'forward').reason).toMatch(/a forward step in a case of the optimizer SGD/)
    expect(byName(report, 'if-opt').reason).toMatch(/an optimizerStep in a case of the layer IFNeuron/)
  })

  it('skips optimizer cases without the optimizerStep handler or an adapter for the optimizer', () => {
    write('SGD.json', [sgdCase('sgd', { w: t([2], [1, 1]) })])
    const { optimizerStep: _optimizerStep, ...withoutOptimizerStep } = withoutBackward
    const noHandler = runDirectory(dir, { ...only, handlers: withoutOptimizerStep as StepHandlers }).results[0]
    expect(noHandler).toMatchObject({ outcome: 'skipped', reason: 'step op optimizerStep not supported yet', checkedSteps: 0 })
    const pending = new Map([...pendingLayers, ['SGD', 'torch.optim.SGD']])
    const noAdapter = runDirectory(dir, { ...only, optimizers: {}, pending }).results[0]
    expect(noAdapter.reason).toBe('layer SGD not supported yet')
    expect(runDirectory(dir, { ...only, optimizers: {} }).results[0].reason).toBe('no layer "SGD" in braincog-fn')
  })

  it('fails a backward step that does not fit the forward steps before it', () => {
    const g = gradCase('short', [1, 0])
    write('IFNeuron.json', [{ ...g, steps: [g.steps[0], g.steps[2]] }])
    expect(runDirectory(dir, only).results[0].reason).toMatch(/cotangents: expected one per forward step before it \(1\), got 2/)
  })

  it('runs the cases once an adapter or a step handler is registered', () => {
    write('Conv9d.json', [gradCase('c9', [1, 0], 'Conv9d')])
    const run = (options: Parameters<typeof runDirectory>[1]) => runDirectory(dir, options).results[0]
    expect(run({ ...only, adapters: { Conv9d: ifAdapter } }).reason).toBe('step op backward not supported yet')
    expect(run({ adapters: { Conv9d: ifAdapter }, handlers: stepHandlers, pending }).outcome).toBe('passed')
  })

  it('runs backward steps: the gradients of the forward steps through time, checked', () => {
    // IFNeuron's spikes pass no gradient (no surrogate): every cotangent is 0
    write('IFNeuron.json', [gradCase('zero', [1, 0])])
    const wrong = gradCase('wrong', [1, 0])
    write('Wrong.json', [{ ...wrong, steps: wrong.steps.map((st) => (st.op === 'backward' ? { ...st, gradInputs: [t([2], [1, 0]), t([2], [0, 0])] } : st)) }])
    const report = runDirectory(dir, { adapters: { IFNeuron: ifAdapter } })
    expect(byName(report, 'zero').outcome).toBe('passed')
    expect(byName(report, 'wrong')).toMatchObject({ outcome: 'failed', step: 2, deviation: 1 })
    expect(byName(report, 'wrong').reason).toMatch(/gradInputs\[0\]/)
  })

  it('lists no layer as not supported yet that has an adapter (strike it from pending.ts)', () => {
    const known = (name: string) => Object.hasOwn(adapters, name) || Object.hasOwn(optimizerAdapters, name)
    expect([...pendingLayers.keys()].filter(known)).toEqual([])
  })
})

describe('hostile fixture files', () => {
  it('rejects tolerances that are infinite (1e999), negative or missing as malformed', () => {
    const text = (name: string, tol: string) =>
      JSON.stringify(ifCase(name, [1, 0])).replace('{"atol":0.000001,"rtol":0}', tol)
    writeFileSync(
      join(dir, 'Tol.json'),
      `{"fixtures": [${text('atol-inf', '{"atol": 1e999, "rtol": 0}')}, ${text('rtol-inf', '{"atol": 0, "rtol": 1e999}')}, ` +
        `${text('negative', '{"atol": -1, "rtol": 0}')}, ${text('missing', '{"atol": 0}')}]}`,
    )
    const report = runDirectory(dir, only)
    expect([report.passed, report.failed]).toEqual([0, 4])
    expect(byName(report, 'atol-inf').reason).toMatch(/malformed: atol-inf\.tolerance: expected finite, non-negative .*got atol Infinity/)
    expect(byName(report, 'rtol-inf').reason).toMatch(/rtol Infinity/)
    expect(byName(report, 'negative').reason).toMatch(/got atol -1/)
    expect(byName(report, 'missing').reason).toMatch(/rtol nothing/)
  })

  it('fails a case that compares nothing', () => {
    const empty = t([0], [])
    write('IFNeuron.json', [
      { ...ifCase('resets', [1, 0]), steps: [{ op: 'reset' }, { op: 'reset' }] },
      { ...ifCase('empty', [1, 0]), steps: [{ op: 'forward', input: empty, output: empty }, { op: 'reset' }] },
    ])
    const report = runDirectory(dir, only)
    expect([report.passed, report.failed]).toEqual([0, 2])
    expect(byName(report, 'resets').reason).toMatch(/malformed: .*nothing to compare/)
    expect(byName(report, 'empty').reason).toMatch(/compared no values/)
  })

  it('matches an expected infinity with the same infinity, and nothing else', () => {
    // IFNeuron on +Infinity: it fires, and its potential stays +Infinity after the soft reset
    const inf = (name: string, v: string, output = '[1]', rtol = 0) =>
      `{"name": "${name}", "layer": "IFNeuron", "config": {"threshold": 1}, "training": true, ` +
      `"tolerance": {"atol": 1e-6, "rtol": ${rtol}}, "steps": [{"op": "forward", "input": {"shape": [1], "data": [1e999]}, ` +
      `"output": {"shape": [1], "data": ${output}}, "stateAfter": {"v": {"shape": [1], "data": [${v}]}}}]}`
    writeFileSync(
      join(dir, 'Inf.json'),
      `{"fixtures": [${inf('same', '1e999')}, ${inf('sign', '-1e999')}, ${inf('finite', '5')}, ${inf('bound', '1e999', '[1e999]', 1)}]}`,
    )
    const report = runDirectory(dir, only)
    expect(byName(report, 'same').outcome).toBe('passed')
    expect(byName(report, 'sign')).toMatchObject({ outcome: 'failed', deviation: Infinity })
    expect(byName(report, 'finite')).toMatchObject({ outcome: 'failed', deviation: Infinity })
    // an expected infinity must not widen `atol + rtol * |e|` to let the finite spike (1) match
    expect(byName(report, 'bound')).toMatchObject({ outcome: 'failed', step: 0 })
  })

  it('compares single values: infinities by sign, NaN only with NaN, finite ones within the tolerance', () => {
    const tol = { atol: 0.1, rtol: 0.5 }
    expect(matches(Infinity, Infinity, tol)).toBe(true)
    expect(matches(-Infinity, -Infinity, tol)).toBe(true)
    expect(matches(-Infinity, Infinity, tol)).toBe(false)
    expect(matches(1e308, Infinity, tol)).toBe(false)
    expect(matches(Infinity, 1e308, tol)).toBe(false)
    expect(matches(NaN, NaN, tol)).toBe(true)
    expect(matches(NaN, 1, tol)).toBe(false)
    expect(matches(1, NaN, tol)).toBe(false)
    expect(matches(1.5, 1, tol)).toBe(true)
    expect(matches(1.7, 1, tol)).toBe(false)
  })

  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'])(
    'fails the layer name %s with "no layer"',
    (name) => {
      write('Proto.json', [{ ...ifCase('proto', [1, 0]), layer: name }])
      expect(runDirectory(dir, only).results[0]).toEqual({
        name: 'proto',
        outcome: 'failed',
        reason: `no layer ${JSON.stringify(name)} in braincog-fn`,
      })
      expect(runDirectory(dir).results[0].reason).toBe(`no layer ${JSON.stringify(name)} in braincog-fn`)
    },
  )

  it('fails prototype names as step ops, config keys and state names clearly', () => {
    const c = ifCase('x', [1, 0])
    writeFileSync(
      join(dir, 'Proto.json'),
      `{"fixtures": [${JSON.stringify({ ...c, name: 'op', steps: [{ op: 'constructor' }] })}, ` +
        `${JSON.stringify({ ...c, name: 'config' }).replace('"config":{"threshold":1}', '"config":{"threshold":1,"__proto__":{}}')}, ` +
        `${JSON.stringify({ ...c, name: 'state' }).replace('"stateAfter":{"v"', '"stateAfter":{"constructor"')}]}`,
    )
    const report = runDirectory(dir, only)
    expect(byName(report, 'op').reason).toMatch(/malformed: .*got "constructor"/)
    expect(byName(report, 'config').reason).toMatch(/config "__proto__": not read by the IFNeuron adapter/)
    expect(byName(report, 'state')).toMatchObject({ outcome: 'failed', step: 0, reason: 'state.constructor missing' })
  })

  it('rejects huge, negative and inexact shapes quickly, as malformed', () => {
    const shaped = (name: string, shape: number[], data: number[] = []) => ({
      ...ifCase(name, [1, 0]),
      steps: [{ op: 'forward', input: { shape, data }, output: { shape, data } }],
    })
    write('Shapes.json', [
      shaped('empty-huge', [2 ** 40, 3, 0]),
      shaped('over-2^53', [2 ** 27, 2 ** 27, 0]),
      shaped('unsafe', [2 ** 60]),
      shaped('negative', [-1, 2]),
      shaped('fraction', [1.5]),
      shaped('deep', new Array<number>(64).fill(1), [0]),
    ])
    const started = performance.now()
    const report = runDirectory(dir, only)
    expect(performance.now() - started).toBeLessThan(2000)
    expect([report.passed, report.failed]).toEqual([0, 6])
    expect(byName(report, 'empty-huge').reason).toMatch(/malformed: .*shape: \[1099511627776, 3, 0\] spans more than 16777216 positions/)
    expect(byName(report, 'over-2^53').reason).toMatch(/spans more than/)
    expect(byName(report, 'unsafe').reason).toMatch(/expected non-negative integers/)
    expect(byName(report, 'negative').reason).toMatch(/expected non-negative integers/)
    expect(byName(report, 'fraction').reason).toMatch(/expected non-negative integers/)
    expect(byName(report, 'deep').reason).toMatch(/at most 16 dimensions/)
  })
})

describe('case sets', () => {
  it('finds a set in a folder of files, and one set per subfolder in a folder of sets', () => {
    mkdirSync(join(dir, 'a'))
    mkdirSync(join(dir, 'b'))
    writeFileSync(join(dir, 'a', 'IFNeuron.json'), JSON.stringify({ fixtures: [ifCase('ok', [1, 0])] }))
    writeFileSync(join(dir, 'b', 'IFNeuron.json'), JSON.stringify({ fixtures: [ifCase('bad', [1, 1]), gradCase('g', [1, 0])] }))
    expect(findSets(dir)).toEqual([join(dir, 'a'), join(dir, 'b')])
    expect(findSets(join(dir, 'a'))).toEqual([join(dir, 'a')])
    const { sets: per, total } = runSets(findSets(dir), only)
    expect(per.map((s) => [s.name, formatCounts(s.report)])).toEqual([
      ['a', '1 passed, 0 skipped, 0 failed'],
      ['b', '0 passed, 1 skipped, 1 failed'],
    ])
    expect(formatCounts(total)).toBe('1 passed, 1 skipped, 1 failed')
  })
})

describe('npm run conformance (the CLI)', () => {
  const tsx = resolve(import.meta.dirname, '../../node_modules/.bin/tsx')
  const cli = resolve(import.meta.dirname, 'cli.ts')
  const runCli = (...args: string[]) => {
    const r = spawnSync(tsx, [cli, ...args], { encoding: 'utf8', timeout: 60_000 })
    const lines = r.stdout.trimEnd().split('\n')
    return { status: r.status, lines, last: lines[lines.length - 1] }
  }

  it('runs every in-repo set by default, each reported, and ends with the total', () => {
    const { status, lines, last } = runCli('--backend', 'cpu')
    const sum = (k: 'passed' | 'skipped') => Object.values(expectedCounts).reduce((a, e) => a + e[k], 0)
    expect(last).toBe(`${sum('passed')} passed, ${sum('skipped')} skipped, 0 failed`)
    for (const [set, e] of Object.entries(expectedCounts)) {
      expect(lines).toContain(`${set}: ${e.passed} passed, ${e.skipped} skipped, 0 failed`)
    }
    expect(status).toBe(0)
  }, 60_000)

  it('runs one directory, and exits 1 when a case fails', () => {
    cpSync(resolve(import.meta.dirname, '../fixtures/braincog/VotingLayer.json'), join(dir, 'VotingLayer.json'))
    write('More.json', [{ ...ifCase('unknown', [1, 0]), layer: 'Nope' }])
    const { status, lines, last } = runCli(dir)
    // BrainCog's two VotingLayer cases pass
    expect(last).toBe('2 passed, 0 skipped, 1 failed')
    expect(lines).toContain('  FAIL unknown  no layer "Nope" in braincog-fn')
    expect(status).toBe(1)
  }, 60_000)
})
