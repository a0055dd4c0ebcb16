/**
 * `npm run bench:markdown -- FILE`: the README's benchmark table from a `npm run bench -- --json
 * FILE` result: median ms to three significant digits, GFLOP/s beside the resident device's
 * time, images per second beside every time of a training row, `*` for a cell timed by one call
 * (see `ONE_CALL_MS`), and the resident device's ratios (per call, tensors on device, all cores).
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import type { BenchResult, Cell, Row } from './run.js'

const file = process.argv[2]
if (file === undefined) {
  console.error('usage: npx tsx bench/markdown.ts FILE (from npm run bench -- --json FILE)')
  process.exit(2)
}
const r = JSON.parse(readFileSync(file, 'utf8')) as BenchResult

/** Three significant digits, no exponent. */
const sig = (v: number): string => (v >= 100 ? v.toFixed(0) : v.toPrecision(3))

const columns: readonly [string, string][] = [
  ['braincog-fn cpu', 'braincog-fn cpu'],
  ['braincog-fn wasm', 'braincog-fn wasm (copy)'],
  ['braincog-fn wasm-resident', 'braincog-fn wasm-resident'],
  ['braincog-fn wasm-resident, tensors on device', 'wasm-resident, tensors on device'],
  ['braincog-fn wasm-resident, all cores', 'wasm-resident, all cores'],
  ['braincog-fn wasm-resident, tensors on device, all cores', 'tensors on device, all cores'],
  ['tfjs-cpu', 'tfjs-cpu'],
  ['tfjs-wasm', 'tfjs-wasm'],
  ['pytorch (1 thread)', 'PyTorch 1.13, 1 thread'],
]

const cellText = (row: Row, col: string): string => {
  const c: Cell | undefined = row.cells[col]
  if (c === undefined) return '-'
  if ('cannot' in c) return 'cannot'
  if ('skipped' in c) return 'skipped'
  const extras: string[] = []
  if (col === 'braincog-fn wasm-resident' && row.flops !== undefined) extras.push(`${((row.flops / c.ms) / 1e6).toFixed(0)} GFLOP/s`)
  if (row.images !== undefined) extras.push(`${((row.images * 1000) / c.ms).toFixed(0)} img/s`)
  return `${sig(c.ms)}${c.oneCall ? '*' : ''}${extras.length > 0 ? ` (${extras.join(', ')})` : ''}`
}

/** Two decimals, or two significant digits below 0.1. */
const ratio = (v: number | undefined): string => (v === undefined ? '-' : v < 0.1 ? v.toPrecision(2) : v.toFixed(2))

const header = ['id', 'workload', ...columns.map(([, name]) => name), 'resident / best tfjs', 'resident / PyTorch', 'on device / PyTorch', 'all cores / PyTorch', 'on device, all cores / PyTorch']
console.log(`| ${header.join(' | ')} |`)
console.log(`| ${header.map(() => '---').join(' | ')} |`)
for (const row of r.rows) {
  const cells = columns.map(([col]) => cellText(row, col))
  console.log(`| ${[row.id, row.what, ...cells, ratio(row.residentRatio), ratio(row.residentTorchRatio), ratio(row.onDeviceTorchRatio), ratio(row.threadsTorchRatio), ratio(row.onDeviceThreadsTorchRatio)].join(' | ')} |`)
}
