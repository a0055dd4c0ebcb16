/**
 * `npm run conformance -- [DIR] [--backend cpu|wasm]`: runs every fixture in DIR (default
 * ../shared/fixtures/braincog) on the chosen kernel backend (default: the best available, or
 * `BRAINCOG_BACKEND`), prints one line per failing case and one per reason cases were skipped,
 * and ends with `N passed, M skipped, K failed`. Exits 1 on any failure.
 */
import { resolve } from 'node:path'
import { type Backend, cpu, wasmBackend } from '../../src/index.js'
import { formatCounts, formatFailure, formatSkips, runDirectory } from './runner.js'

const args = process.argv.slice(2)
const flag = args.indexOf('--backend')
const choice = flag >= 0 ? args.splice(flag, 2)[1] : undefined
const backends: Readonly<Record<string, () => Backend | undefined>> = { cpu: () => cpu, wasm: wasmBackend }
const backend = choice === undefined ? undefined : backends[choice]?.()
if (choice !== undefined && backend === undefined) {
  console.error(`--backend: expected cpu or wasm (built by npm run build:wasm), got ${JSON.stringify(choice)}`)
  process.exit(2)
}

const dir = resolve(args[0] ?? '../shared/fixtures/braincog')
const report = runDirectory(dir, backend === undefined ? {} : { backend })
if (backend) console.log(`kernels: ${backend.name}`)
for (const r of report.results) if (r.outcome === 'failed') console.log(formatFailure(r))
for (const line of formatSkips(report)) console.log(line)
// exactly this line last: CI and scripts read it
console.log(formatCounts(report))
process.exitCode = report.failed > 0 ? 1 : 0
