/**
 * The optional PyTorch column: where `/usr/bin/python3` imports torch (Debian's
 * `python3-torch`), bench/torch_bench.py runs each workload's Python body on one thread. The
 * inputs are the same float32 arrays, written to a temporary directory; the outputs come back
 * the same way and are checked against ours like the tfjs peers'. Timed in its own process,
 * after the JavaScript columns; each training step (`isolate`) in a process of its own, which
 * reports its memory. `BENCH_PYTHON=/path/to/python` uses another interpreter (a PyTorch built
 * with OpenBLAS or MKL, say).
 *
 * @module
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TimingPlan } from './harness.js'
import type { Workload } from './workloads.js'

export const PYTHON = process.env.BENCH_PYTHON ?? '/usr/bin/python3'

/**
 * Which BLAS the matmul loaded, from the process's mapped files (Linux): Debian's `python3-torch`
 * links the reference BLAS unless an optimized one (`libopenblas0-pthread`) is installed, and
 * its matmuls are then tens of times slower, so the column says which it ran on.
 */
const blasProbe = [
  'import torch, numpy',
  'torch.ones(8, 8) @ torch.ones(8, 8)',
  'print(torch.__version__)',
  'try:',
  "  libs = {l.split()[-1] for l in open('/proc/self/maps') if '/' in l}",
  "  print(', '.join(sorted(p for p in libs if 'blas' in p.lower() and 'lapack' not in p.lower())))",
  'except OSError:',
  "  print('')",
].join('\n')

/** The PyTorch version `/usr/bin/python3` imports, with the BLAS its matmul loaded (where known), or why not. */
export const torchStatus = (): { readonly version?: string; readonly reason?: string } => {
  const r = spawnSync(PYTHON, ['-c', blasProbe], { encoding: 'utf8' })
  if (r.status === 0) {
    const [version, blas] = r.stdout.trim().split('\n')
    return { version: blas ? `${version.trim()} (BLAS: ${blas.trim()})` : version.trim() }
  }
  return { reason: r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? 'import torch failed') }
}

/**
 * Resident memory of the Python process, bytes: just before the first call, its largest value
 * sampled after each timed call, and its peak over the calls (VmHWM, reset before the first).
 */
export interface TorchMemory {
  readonly rssBefore: number
  readonly peakRss: number
  readonly sampledRss: number
}

/** A workload's median ms and check output (and memory, where it ran alone), or why there is none. */
export type TorchResult =
  | { readonly ms: number; readonly output: Float32Array; readonly memory?: TorchMemory }
  | { readonly error: string }

/** Per workload id. */
export type TorchResults = ReadonlyMap<string, TorchResult>

/**
 * Runs the workloads that have a PyTorch body: one Python process for all of them, but one of
 * its own for each `isolate` workload (whose memory is then reported).
 */
export const runTorch = (list: readonly Workload[], plan: TimingPlan): TorchResults => {
  const shared = list.filter((w) => w.torch !== undefined && w.torch.isolate !== true)
  const alone = list.filter((w) => w.torch?.isolate === true)
  const results = new Map<string, TorchResult>(runTorchProcess(shared, plan, false))
  for (const w of alone) for (const [id, r] of runTorchProcess([w], plan, true)) results.set(id, r)
  return results
}

const runTorchProcess = (list: readonly Workload[], plan: TimingPlan, withMemory: boolean): TorchResults => {
  if (list.length === 0) return new Map()
  const dir = mkdtempSync(join(tmpdir(), 'braincog-bench-'))
  const results = new Map<string, TorchResult>()
  try {
    const entries = list.flatMap((w) => {
      if (w.torch === undefined) return []
      const inputs = Object.fromEntries(
        Object.entries(w.torch.inputs).map(([name, { data, shape }]) => {
          const file = join(dir, `${w.id}-${name}.bin`)
          writeFileSync(file, data)
          return [name, { file, shape }]
        }),
      )
      const { setup, run, check, grad } = w.torch
      return [{ id: w.id, inputs, setup, run, check, grad: grad === true, out: join(dir, `${w.id}.out`) }]
    })
    const manifest = join(dir, 'manifest.json')
    const resultsFile = join(dir, 'results.json')
    writeFileSync(manifest, JSON.stringify({ plan, workloads: entries, results: resultsFile }))
    const script = new URL('./torch_bench.py', import.meta.url).pathname
    const r = spawnSync(PYTHON, [script, manifest], { encoding: 'utf8', timeout: 30 * 60_000 })
    if (r.status !== 0) {
      const why = r.error?.message ?? r.stderr.trim().split('\n').slice(-3).join(' ')
      for (const e of entries) results.set(e.id, { error: `python failed: ${why}` })
      return results
    }
    type Parsed = { results: Record<string, ({ ms: number } & TorchMemory) | { error: string }> }
    const parsed = JSON.parse(readFileSync(resultsFile, 'utf8')) as Parsed
    for (const e of entries) {
      const r = parsed.results[e.id]
      if (r === undefined) results.set(e.id, { error: 'no result' })
      else if ('error' in r) results.set(e.id, { error: `python: ${r.error}` })
      else {
        const output = new Float32Array(new Uint8Array(readFileSync(e.out)).buffer)
        const memory = { rssBefore: r.rssBefore, peakRss: r.peakRss, sampledRss: r.sampledRss }
        results.set(e.id, { ms: r.ms, output, ...(withMemory ? { memory } : {}) })
      }
    }
    return results
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
