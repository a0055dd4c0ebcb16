/**
 * Peak memory of our training steps, measured in a Node process of its own
 * (bench/trainMemory.ts), so that neither the tfjs peers nor the other workloads count: the
 * resident set (`process.memoryUsage().rss`) just before the first step, its maximum sampled
 * after every step, and its peak over `steps` steps, the peaks inside a step included: the
 * kernel's high-water mark VmHWM (/proc/self/status), reset to the current RSS just before the
 * first step (writing 5 to /proc/self/clear_refs). Not `process.resourceUsage().maxRSS`: Linux
 * carries the parent's RSS at fork into a spawned child's, so it would report the bench's own
 * size. PyTorch's side is measured the same way (bench/torch_bench.py).
 *
 * @module
 */
import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { pathToFileURL } from 'node:url'

/** Resident memory of a process, bytes. */
export interface ProcessMemory {
  /** Just before the first step (after the network, its params and the data were built). */
  readonly rssBefore: number
  /** The peak resident set over the steps (VmHWM, reset before the first). */
  readonly peakRss: number
  /** The largest resident set sampled after each step. */
  readonly sampledRss?: number
}

/** Our training workload `id`'s memory over `steps` steps on the wasm backend, or why there is none. */
export const oursTrainingMemory = (
  id: string,
  quick: boolean,
  steps: number,
): ProcessMemory | { readonly error: string } => {
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href
  const script = new URL('./trainMemory.ts', import.meta.url).pathname
  const r = spawnSync(process.execPath, ['--import', tsx, script, id, quick ? 'quick' : 'full', String(steps)], {
    encoding: 'utf8',
    timeout: 10 * 60_000,
    // one thread, as the timed columns and PyTorch's run
    env: { ...process.env, BRAINCOG_THREADS: '1' },
  })
  if (r.status !== 0) {
    return { error: `memory run failed: ${r.error?.message ?? r.stderr.trim().split('\n').slice(-3).join(' ')}` }
  }
  const last = r.stdout.trim().split('\n').pop() ?? ''
  try {
    return JSON.parse(last) as ProcessMemory
  } catch {
    return { error: `memory run printed no result: ${last.slice(0, 200)}` }
  }
}
