/**
 * `npm run conformance -- [DIR ...] [--backend cpu|wasm|resident] [--verbose]`: runs the fixture sets in
 * each DIR (default: every set in test/fixtures) on the chosen kernel backend (`wasm`: the copy
 * backend, `resident`: the resident WebAssembly device; default: the best available, the
 * resident one, or `BRAINCOG_BACKEND`). A DIR holding `*.json` files is one set; a DIR of such
 * folders is one set per folder. Per set it prints its counts, one line per failing case and
 * one per reason cases were skipped (`--verbose`: with their names); it ends with the total,
 * `N passed, M skipped, K failed`. Exits 1 on any failure.
 */
import { resolve } from 'node:path'
import { cpu, type Device, residentBackend, wasmBackend } from '../../src/index.js'
import { findSets, formatCounts, formatFailure, formatSkips, runSets } from './runner.js'

const usage = 'usage: npm run conformance -- [DIR ...] [--backend cpu|wasm|resident] [--verbose]'
const args = process.argv.slice(2)
const flag = args.indexOf('--backend')
const choice = flag >= 0 ? args.splice(flag, 2)[1] : undefined
const verboseAt = args.indexOf('--verbose')
const verbose = verboseAt >= 0
if (verbose) args.splice(verboseAt, 1)
const unknown = args.filter((a) => a.startsWith('--'))
if (unknown.length > 0) {
  console.error(`unknown option ${unknown.join(' ')}\n${usage}`)
  process.exit(2)
}
const backends: Readonly<Record<string, () => Device<unknown> | undefined>> = {
  cpu: () => cpu as Device<unknown>,
  wasm: wasmBackend as () => Device<unknown> | undefined,
  resident: residentBackend as () => Device<unknown> | undefined,
}
const backend = choice !== undefined && Object.hasOwn(backends, choice) ? backends[choice]() : undefined
if (choice !== undefined && backend === undefined) {
  console.error(`--backend: expected cpu, wasm or resident (built by npm run build:wasm), got ${JSON.stringify(choice ?? null)}`)
  process.exit(2)
}

const roots = args.length > 0 ? args.map((a) => resolve(a)) : [resolve(import.meta.dirname, '../fixtures')]
const { sets, total } = runSets(
  roots.flatMap(findSets),
  backend === undefined ? {} : { backend },
)
if (backend) console.log(`kernels: ${backend.name}`)
for (const { name, report } of sets) {
  console.log(`${name}: ${formatCounts(report)}`)
  for (const r of report.results) if (r.outcome === 'failed') console.log(`  ${formatFailure(r)}`)
  for (const line of formatSkips(report, verbose)) console.log(`  ${line}`)
}
// exactly this line last: CI and scripts read it
console.log(formatCounts(total))
process.exitCode = total.failed > 0 ? 1 : 0
