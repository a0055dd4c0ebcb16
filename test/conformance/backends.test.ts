/**
 * Every in-repo case set (test/fixtures) on each kernel backend, explicitly: the JavaScript
 * reference and the WebAssembly SIMD kernels, copying and resident (built by
 * `npm run build:wasm`, which `npm test` runs first). The counts must be exactly those of `expected.ts`: nothing fails, and no case
 * passes, is skipped or drops out unnoticed.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { cpu, type Device, residentBackend, wasmBackend } from '../../src/index.js'
import { expectedCounts } from './expected.js'
import { findSets, formatFailure, runDirectory } from './runner.js'

const FIXTURES = resolve(import.meta.dirname, '../fixtures')
const sets = Object.keys(expectedCounts)
const backends: readonly (readonly [string, () => Device<unknown> | undefined])[] = [
  ['cpu', () => cpu as Device<unknown>],
  ['wasm', wasmBackend as () => Device<unknown> | undefined],
  ['wasm-resident', residentBackend as () => Device<unknown> | undefined],
]

describe('the in-repo case sets', () => {
  it('are exactly the sets of expected.ts', () => {
    const dirs = readdirSync(FIXTURES, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name)
    expect(dirs.sort()).toEqual([...sets].sort())
    expect(findSets(FIXTURES).map((d) => d.slice(FIXTURES.length + 1))).toEqual([...sets].sort())
  })

  it("are counted in the README's Conformance table as in expected.ts", () => {
    const readme = readFileSync(resolve(import.meta.dirname, '../../README.md'), 'utf8')
    const rows = [...readme.matchAll(/^\| `([\w-]+)` \| (\d+) \| (\d+) \| (\d+) \|/gm)].map((m) => [
      m[1],
      { cases: Number(m[2]), passed: Number(m[3]), skipped: Number(m[4]) },
    ])
    const expected = sets.map((set) => {
      const { passed, skipped } = expectedCounts[set]
      return [set, { cases: passed + skipped, passed, skipped }]
    })
    expect(rows).toEqual(expected)
  })
})

describe.each(backends)('conformance on the %s backend', (name, get) => {
  it.each(sets)('%s gives the expected counts', (set) => {
    const backend = get()
    expect(backend?.name, `the ${name} backend did not load`).toBe(name)
    const report = runDirectory(resolve(FIXTURES, set), backend === undefined ? {} : { backend })
    expect(report.results.filter((r) => r.outcome === 'failed').map(formatFailure)).toEqual([])
    for (const r of report.results.filter((c) => c.outcome === 'skipped')) expect(r.reason, r.name).toMatch(/not supported yet/)
    const checkedBeforeSkip = report.results.filter((r) => r.outcome === 'skipped' && (r.checkedSteps ?? 0) > 0).length
    expect({ passed: report.passed, skipped: report.skipped, failed: report.failed, checkedBeforeSkip }).toEqual({
      ...expectedCounts[set],
      failed: 0,
    })
  })
})
