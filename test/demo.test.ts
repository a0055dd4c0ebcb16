/**
 * The two demos on tiny settings (few digits, few steps): they complete, print their result
 * lines and write their pictures. No timing assertions: CI machines vary.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { conversionMain } from '../examples/digits/conversion.js'
import { main } from '../examples/digits/main.js'

const dirs: string[] = []
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'braincog-demo-'))
  dirs.push(d)
  return d
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })))

const expectSvg = (path: string): void => {
  expect(existsSync(path)).toBe(true)
  const svg = readFileSync(path, 'utf8')
  expect(svg.startsWith('<?xml')).toBe(true)
  expect(svg).toContain('<svg')
  expect(svg.trimEnd().endsWith('</svg>')).toBe(true)
}

describe('npm run demo (spiking digit classifier)', () => {
  const tiny = ['--train', '100', '--test', '50', '--steps', '4', '--voters', '3', '--epochs', '2', '--no-progress']

  it('trains, prints the accuracy per epoch and the final test accuracy, and writes digits.svg', () => {
    const out = tempDir()
    const lines: string[] = []
    const r = main([...tiny, '--out', out], (l) => lines.push(l))
    expect(lines.some((l) => /^epoch 1: train accuracy [\d.]+% \(online\), test accuracy [\d.]+%$/.test(l))).toBe(true)
    expect(lines.some((l) => /^epoch 2: /.test(l))).toBe(true)
    expect(lines.some((l) => /^final test accuracy: [\d.]+% on 50 held-out digits$/.test(l))).toBe(true)
    expect(r.accuracyByStep).toHaveLength(4)
    expect(r.testAccuracy).toHaveLength(2)
    // far better than chance (10%) even this small
    expect(r.testAccuracy[1]).toBeGreaterThan(0.3)
    expect(r.svgPath).toBe(join(out, 'digits.svg'))
    expectSvg(r.svgPath)
  })

  it('gives the same numbers for the same seed', () => {
    const run = (seed: string) => main([...tiny, '--seed', seed, '--out', tempDir()], () => undefined)
    const [a, b] = [run('3'), run('3')]
    expect(b.trainAccuracy).toEqual(a.trainAccuracy)
    expect(b.accuracyByStep).toEqual(a.accuracyByStep)
  })

  it('rejects a bad flag value', () => {
    expect(() => main(['--steps', '0'], () => undefined)).toThrow(/--steps/)
  })
})

describe('npm run demo:conversion (LIPool vs SMaxPool)', () => {
  it('prints the error table and the conclusions, and writes conversion.svg', () => {
    const out = tempDir()
    const lines: string[] = []
    const r = conversionMain(['--digits', '10', '--steps', '4,16', '--no-progress', '--out', out], (l) => lines.push(l))
    expect(r.rows.map((row) => row.steps)).toEqual([4, 16])
    expect(lines.some((l) => /^\s+4\s+[\d.]+\s+[\d.]+/.test(l))).toBe(true)
    expect(lines.some((l) => /^\s+16\s+[\d.]+\s+[\d.]+/.test(l))).toBe(true)
    expect(lines.some((l) => l.startsWith('LIPool: '))).toBe(true)
    expect(lines.some((l) => l.startsWith('SMaxPool: overestimates'))).toBe(true)
    // LIPool passes exactly the largest input count: only the encoding noise remains
    for (const row of r.rows) {
      expect(row.liPoolVsSpikes).toBeLessThan(1e-6)
      expect(row.sMaxPoolBias).toBeGreaterThanOrEqual(row.liPoolBias)
    }
    expectSvg(r.svgPath)
  })

  it('runs as a script (the npm entry point)', () => {
    const out = tempDir()
    const script = join(import.meta.dirname, '..', 'examples', 'digits', 'conversion.ts')
    const run = spawnSync(process.execPath, ['--import', 'tsx', script, '--digits', '10', '--steps', '2', '--out', out], {
      encoding: 'utf8',
    })
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout).toContain('LIPool: ')
    expectSvg(join(out, 'conversion.svg'))
  })
})
