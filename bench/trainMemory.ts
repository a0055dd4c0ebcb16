/**
 * `node --import tsx bench/trainMemory.ts ID quick|full STEPS`: runs STEPS training steps of
 * workload ID (bench/trainWorkloads.ts) on the default device (the resident wasm device, one
 * thread as bench/memory.ts starts it; cpu where it is not built) and
 * prints its memory as JSON (see bench/memory.ts). Started by bench/run.ts, one process per
 * workload.
 *
 * @module
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { bestBackend } from '../src/index.js'
import { trainWorkloads } from './trainWorkloads.js'

/** Resets the kernel's peak-RSS mark (VmHWM) to the current RSS (Linux); false where it cannot. */
const resetPeak = (): boolean => {
  try {
    writeFileSync('/proc/self/clear_refs', '5')
    return true
  } catch {
    return false
  }
}

/** VmHWM of /proc/self/status, or maxRSS where there is no /proc (it then includes the parent's RSS at fork). */
const peakBytes = (): number => {
  try {
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))
    if (hwm) return Number(hwm[1]) * 1024
  } catch {
    // no /proc
  }
  return process.resourceUsage().maxRSS * 1024
}

const [id, size, count] = process.argv.slice(2)
const w = trainWorkloads(size === 'quick').find((x) => x.id === id)
const steps = Number(count)
if (w === undefined || !(steps >= 1)) {
  console.error(`usage: trainMemory.ts ID quick|full STEPS (ID one of ${trainWorkloads(true).map((x) => x.id).join(', ')})`)
  process.exit(2)
}
const side = w.ours(bestBackend())
const rssBefore = process.memoryUsage().rss
resetPeak()
let sampledRss = rssBefore
for (let i = 0; i < steps; i++) {
  side.run()
  sampledRss = Math.max(sampledRss, process.memoryUsage().rss)
}
const peakRss = peakBytes()
console.log(JSON.stringify({ rssBefore, peakRss, sampledRss }))
