/**
 * The two demos on tiny settings (few digits, few steps): they complete, print their result
 * lines and write their pictures. No timing assertions: CI machines vary.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { main } from '../examples/digits/main.js'
import { conversionMain } from '../examples/train/conversion.js'
import { main as trainMain } from '../examples/train/main.js'

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

describe('npm run demo:local (a spiking digit classifier trained by a local rule)', () => {
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

describe('npm run demo (a spiking CNN trained with BPTT)', () => {
  const tiny = ['--train', '320', '--test', '64', '--epochs', '2', '--batch', '32', '--no-progress']

  it('trains: the loss falls, per-epoch lines, the final accuracy, train.svg and the checkpoint', () => {
    const out = tempDir()
    const lines: string[] = []
    const r = trainMain([...tiny, '--check', '--out', out], (l) => lines.push(l))!
    expect(r.loss).toHaveLength(2)
    expect(r.loss[1]).toBeLessThan(r.loss[0])
    expect(lines.some((l) => /^epoch 1: loss [\d.]+, test accuracy [\d.]+%$/.test(l))).toBe(true)
    expect(lines.some((l) => /^final test accuracy: [\d.]+% on 64 held-out digits$/.test(l))).toBe(true)
    expect(r.imagesPerSecond).toBeGreaterThan(0)
    expectSvg(r.svgPath)
    expect(existsSync(r.checkpointPath)).toBe(true)
    // --eval reloads the checkpoint and gives the same accuracy
    const again = trainMain([...tiny, '--eval', '--out', out], () => undefined)!
    expect(again.testAccuracy).toEqual([r.testAccuracy[1]])
  }, 120_000)

  it('gives the same numbers for the same seed, and --resume continues from the checkpoint', () => {
    const run = (extra: readonly string[], out = tempDir()) => trainMain([...tiny, '--epochs', '1', ...extra, '--out', out], () => undefined)!
    const [a, b] = [run(['--seed', '3']), run(['--seed', '3'])]
    expect(b.loss).toEqual(a.loss)
    expect(b.testAccuracy).toEqual(a.testAccuracy)
    const out = tempDir()
    run(['--seed', '3'], out)
    const resumed = run(['--seed', '3', '--resume'], out)
    expect(resumed.loss[0]).toBeLessThan(a.loss[0])
  }, 120_000)

  it('rejects bad flags with the usage', () => {
    expect(() => trainMain(['--epochs', '0'], () => undefined)).toThrow(/--epochs/)
    expect(() => trainMain(['--lr', '-1'], () => undefined)).toThrow(/--lr/)
    expect(() => trainMain(['--eval', '--out', tempDir()], () => undefined)).toThrow(/no .*model\.safetensors/)
  })
})

describe('npm run demo:conversion (ANN to SNN with LIPool and SMaxPool)', () => {
  it('trains the ANN, converts it, prints the accuracy against T and writes conversion.svg', () => {
    const out = tempDir()
    const lines: string[] = []
    const r = conversionMain(['--train', '256', '--test', '40', '--epochs', '1', '--steps', '4,8', '--no-progress', '--out', out], (l) =>
      lines.push(l),
    )!
    expect(r.rows.map((row) => row.steps)).toEqual([4, 8])
    expect(lines.some((l) => /^ANN test accuracy: [\d.]+%$/.test(l))).toBe(true)
    expect(lines.some((l) => /^\s+8\s+[\d.]+%\s+[\d.]+%/.test(l))).toBe(true)
    for (const row of r.rows) for (const a of [row.liPool, row.sMaxPool]) expect(a).toBeGreaterThanOrEqual(0)
    expectSvg(r.svgPath)
  }, 120_000)

  it('runs as a script (the npm entry point)', () => {
    const out = tempDir()
    const script = join(import.meta.dirname, '..', 'examples', 'train', 'conversion.ts')
    const args = ['--train', '128', '--test', '20', '--epochs', '1', '--steps', '2', '--out', out]
    const run = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8' })
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout).toContain('ANN test accuracy')
    expectSvg(join(out, 'conversion.svg'))
  }, 120_000)
})
