/**
 * The runner itself, on synthetic case sets in the fixture format: passing and failing cases,
 * unknown layers, malformed files and fixtures all counted, never skipped.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { Tensor } from '../../src/index.js'
import { ifNeuron } from '../../src/index.js'
import type { Adapter, Values } from './adapters/adapter.js'
import { formatFailure, runDirectory } from './runner.js'

/** A test-only adapter, so the runner can be checked without any BrainCog layer. */
const ifAdapter: Adapter = {
  build: (config) => ifNeuron({ threshold: config.threshold as number }),
  params: (_fixture, initial) => initial,
  state: (_fixture, initial) => initial,
  stateView: (state): Values => {
    const v = (state as { readonly v: Tensor | null }).v
    return v === null ? {} : { v }
  },
}

const t = (shape: number[], data: number[]) => ({ shape, data })
const ifCase = (name: string, output: number[]) => ({
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
})

const dir = mkdtempSync(join(tmpdir(), 'braincog-fixtures-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('conformance runner', () => {
  it('passes matching cases and reports the failing step and deviation of others', () => {
    writeFileSync(join(dir, 'IFNeuron.json'), JSON.stringify({ source: 'test', fixtures: [ifCase('ok', [1, 0]), ifCase('bad', [1, 1])] }))
    const report = runDirectory(dir, { IFNeuron: ifAdapter })
    expect(report.passed).toBe(1)
    expect(report.failed).toBe(1)
    const bad = report.results.find((r) => r.name === 'bad')
    expect(bad).toMatchObject({ passed: false, step: 1, deviation: 1 })
    expect(formatFailure(bad!)).toMatch(/^FAIL bad {2}step 1 {2}max deviation 1\.000e\+0/)
    rmSync(join(dir, 'IFNeuron.json'))
  })

  it('fails unknown layers, malformed fixtures and unreadable files instead of skipping them', () => {
    writeFileSync(join(dir, 'A.json'), '{"fixtures": [')
    writeFileSync(join(dir, 'B.json'), JSON.stringify({ fixtures: [{ ...ifCase('unknown', [1, 0]), layer: 'Nope' }] }))
    writeFileSync(join(dir, 'C.json'), JSON.stringify({ fixtures: [{ ...ifCase('shapeless', [1, 0]), steps: [{ op: 'forward', input: t([3], [1]), output: t([1], [0]) }] }] }))
    writeFileSync(join(dir, 'D.json'), JSON.stringify({ fixtures: [{ ...ifCase('noop', [1, 0]), steps: [{ op: 'jump' }] }] }))
    const report = runDirectory(dir, { IFNeuron: ifAdapter })
    expect(report.passed).toBe(0)
    expect(report.failed).toBe(4)
    const reasons = report.results.map((r) => r.reason ?? '')
    expect(reasons[0]).toMatch(/A\.json: not valid JSON/)
    expect(reasons[1]).toMatch(/no layer "Nope"/)
    expect(reasons[2]).toMatch(/malformed: .*1 values for shape \[3\]/)
    expect(reasons[3]).toMatch(/malformed: .*expected forward, update or reset/)
  })

  it('fails a directory without fixtures', () => {
    const empty = mkdtempSync(join(tmpdir(), 'braincog-empty-'))
    expect(runDirectory(empty).failed).toBe(1)
    rmSync(empty, { recursive: true })
  })
})
