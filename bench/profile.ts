/**
 * `npm run bench:profile -- ID [ID...] [--quick] [--runs N] [--copy]`: where a workload's time
 * goes on the resident wasm device (the default; `--copy`: the copying backend, whose kernel
 * times then include the copies of arguments in and results out): its calls run on the device
 * wrapped so that every kernel call and buffer operation is timed, and the time per call is
 * printed by kernel, largest first, beside the wall time of a whole call. For the forward, backward and training rows of
 * bench/workloads.ts, bench/gradWorkloads.ts and bench/trainWorkloads.ts.
 *
 * @module
 */
import { type Device, residentBackend, wasmBackend } from '../src/index.js'
import { timedDevice } from './harness.js'
import { gradWorkloads } from './gradWorkloads.js'
import { trainWorkloads } from './trainWorkloads.js'
import { workloads } from './workloads.js'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const runsAt = args.indexOf('--runs')
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 5
const ids = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--runs')
// the default device unless --copy asks for the copying backend
const wasm = (args.includes('--copy') ? wasmBackend() : residentBackend()) as Device<unknown> | undefined
if (wasm === undefined) {
  console.error('the wasm kernels did not load: run `npm run build:wasm`')
  process.exit(1)
}
const all = [...workloads(quick), ...gradWorkloads(quick), ...trainWorkloads(quick)]
if (ids.length === 0 || ids.some((id) => !all.some((w) => w.id === id))) {
  console.error(`usage: bench:profile -- ID [ID...] [--quick] [--runs N] [--copy]; ids: ${all.map((w) => w.id).join(' ')}`)
  process.exit(2)
}

for (const id of ids) {
  const w = all.find((x) => x.id === id)!
  const times = new Map<string, { calls: number; ms: number }>()
  const side = w.ours(timedDevice(wasm, times))
  side.run()
  times.clear()
  const t0 = performance.now()
  for (let i = 0; i < runs; i++) side.run()
  const wall = (performance.now() - t0) / runs
  const rows = [...times].sort((a, b) => b[1].ms - a[1].ms)
  const inKernels = rows.reduce((s, [, t]) => s + t.ms, 0) / runs
  console.log(`${id}: ${w.what}`)
  console.log(`  ${wall.toFixed(2)} ms per call, ${inKernels.toFixed(2)} in kernels and buffer operations (mean of ${runs})`)
  for (const [name, t] of rows) {
    if (t.ms / runs < 0.05) continue
    console.log(`  ${name.padEnd(22)} ${(t.ms / runs).toFixed(2).padStart(8)} ms  ${String(t.calls / runs).padStart(6)} calls`)
  }
}
