/** Every reference case BrainCog's PyTorch layers produced, through the public API. */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { formatFailure, runDirectory } from './runner.js'

const sets = ['braincog', 'braincog-f64'].map((name) => resolve(__dirname, '../../../shared/fixtures', name))

describe.each(sets)('conformance: %s', (dir) => {
  it('passes every case', () => {
    expect(existsSync(dir), `${dir} is missing: CI must lay shared/ beside the checkout`).toBe(true)
    const report = runDirectory(dir)
    expect(report.results.filter((r) => r.outcome !== 'passed').map(formatFailure)).toEqual([])
    expect(report.passed).toBeGreaterThan(0)
  })
})
