/**
 * The optional PyTorch column: where `/usr/bin/python3` imports torch (Debian's
 * `python3-torch`), bench/torch_bench.py runs each workload's Python body on one thread. The
 * inputs are the same float32 arrays, written to a temporary directory; the outputs come back
 * the same way and are checked against ours like the tfjs peers'. Timed in its own process,
 * after the JavaScript columns.
 *
 * @module
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TimingPlan } from './harness.js'
import type { Workload } from './workloads.js'

export const PYTHON = '/usr/bin/python3'

/** The PyTorch version `/usr/bin/python3` imports, or why there is none. */
export const torchStatus = (): { readonly version?: string; readonly reason?: string } => {
  const r = spawnSync(PYTHON, ['-c', 'import torch, numpy; print(torch.__version__)'], { encoding: 'utf8' })
  if (r.status === 0) return { version: r.stdout.trim() }
  return { reason: r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? 'import torch failed') }
}

/** A workload's median ms and check output, or why there is none. */
export type TorchResult = { readonly ms: number; readonly output: Float32Array } | { readonly error: string }

/** Per workload id. */
export type TorchResults = ReadonlyMap<string, TorchResult>

/** Runs the workloads that have a PyTorch body; one Python process for all of them. */
export const runTorch = (list: readonly Workload[], plan: TimingPlan): TorchResults => {
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
      const { setup, run, check } = w.torch
      return [{ id: w.id, inputs, setup, run, check, out: join(dir, `${w.id}.out`) }]
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
    const parsed = JSON.parse(readFileSync(resultsFile, 'utf8')) as { results: Record<string, { ms: number }> }
    for (const e of entries) {
      const ms = parsed.results[e.id]?.ms
      if (ms === undefined) results.set(e.id, { error: 'no result' })
      else results.set(e.id, { ms, output: new Float32Array(new Uint8Array(readFileSync(e.out)).buffer) })
    }
    return results
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
