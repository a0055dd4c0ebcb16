/**
 * The shared BrainCog fixtures on each kernel backend, explicitly: the JavaScript reference and
 * the WebAssembly SIMD kernels (built by `npm run build:wasm`, which `npm test` runs first). The
 * same runner as shared.test.ts; nothing is skipped.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type Backend, cpu, wasmBackend } from '../../src/index.js'
import { formatFailure, runDirectory } from './runner.js'

const sets = ['braincog', 'braincog-f64'].map((name) => resolve(__dirname, '../../../shared/fixtures', name))
const backends: readonly (readonly [string, () => Backend | undefined])[] = [
  ['cpu', () => cpu],
  ['wasm', wasmBackend],
]

describe.each(backends)('conformance on the %s backend', (name, get) => {
  it.each(sets)('passes every case of %s', (dir) => {
    const backend = get()
    expect(backend?.name, `the ${name} backend did not load`).toBe(name)
    expect(existsSync(dir), `${dir} is missing: CI must lay shared/ beside the checkout`).toBe(true)
    const report = runDirectory(dir, backend === undefined ? {} : { backend })
    expect(report.results.filter((r) => r.outcome !== 'passed').map(formatFailure)).toEqual([])
    expect(report.passed).toBeGreaterThan(0)
  })
})
