/**
 * GPU rows for the benchmark (issue 8): the workloads of bench/workloads.ts with the gpu.js
 * device as their context's device (each call uploading its arguments and reading its results
 * back), with the first call (kernel compilation for the shape, plus the call) reported apart
 * from the median of later calls, beside braincog-fn's CPU kernels. No Node-only import: the
 * same code runs in Node (bench/gpu.ts) and in a browser page (bench/gpu-page).
 *
 * From the bench runner: `const r = await runGpuBench({ quick }); console.log(formatGpu(r))`.
 * Where gpu.js is not installed the rows are skipped with the reason, nothing fails.
 *
 * @module
 */
import { cpu } from '../src/index.js'
import type { GpuDevice, GpuMode } from '../src/gpu/index.js'
import { gpuUnported, loadGpuBackend } from '../src/gpu/index.js'
import { fullPlan, mismatchFraction, quickPlan, timeIt } from './harness.js'
import { type CallRow, type ScanRow, formatCallRows, formatScanRows, runCallRows, runScanRows } from './scanRows.js'
import { workloads } from './workloads.js'

/** One workload on the GPU device; times in ms. */
export type GpuRow = {
  readonly id: string
  readonly what: string
} & (
  | {
      /** Fresh kernel cache: setting the workload up and its first call, compilation included. */
      readonly firstMs: number
      /** Median of later calls (kernels cached). */
      readonly medianMs: number
      /** The same workload's median on braincog-fn's CPU kernels. */
      readonly cpuMs: number
      /** Kernels compiled for this workload. */
      readonly kernels: number
      /** Fraction of output elements off the CPU reference (see harness.mismatchFraction). */
      readonly mismatch: number
      /**
       * Kernels that did not run in the device's mode (gpu.js fell back), that gpu.js failed
       * on, or that ran on the host although the device ports them.
       */
      readonly degraded: readonly string[]
    }
  | { readonly skipped: string }
)

export interface GpuBenchResult {
  readonly quick: boolean
  /** Where it ran: `node v20.x`, or the browser's user agent. */
  readonly where: string
  /** The gpu.js mode asked for, and the one its kernels compiled for. */
  readonly requested: string
  readonly mode: string
  readonly rows: readonly GpuRow[]
  /** Whole scans, per-call kernels against tensors resident on the GPU (bench/scanRows.ts). */
  readonly scans: readonly ScanRow[]
  /** What one resident kernel call costs, chained (bench/scanRows.ts). */
  readonly calls: readonly CallRow[]
}

export interface GpuBenchOptions {
  readonly quick: boolean
  readonly mode?: GpuMode
  /** Workload ids to run (default: all). */
  readonly only?: readonly string[]
  /** Where it runs, for the table's title (default: the Node version). */
  readonly where?: string
  readonly log?: (line: string) => void
  /** The resident rows' devices pack their textures (`packTextures`, four values per texel). */
  readonly packTextures?: boolean
}

/**
 * The kernels that did not run as they should have: in another mode than the device's (gpu.js
 * fell back), failed on gpu.js, or ported but run on the host.
 */
const degradedOf = (gpu: GpuDevice): string[] => {
  const hostCalls = gpu.hostCalls()
  return [
    ...gpu.kernelModes().filter((k) => k.mode !== gpu.mode).map((k) => `${k.kernel} ran on ${k.mode}`),
    ...gpu.fallbacks().map((f) => `${f.kernel} fell back to the CPU kernel: ${f.reason}`),
    ...(Object.keys(hostCalls) as (keyof typeof hostCalls)[])
      .filter((k) => !(gpuUnported as readonly string[]).includes(k))
      .map((k) => `${k} ran on the host (${hostCalls[k]} calls)`),
  ]
}

/** Runs the workloads on a fresh GPU device each, so every first call pays its compilation. */
export const runGpuBench = async (opts: GpuBenchOptions): Promise<GpuBenchResult> => {
  const log = opts.log ?? (() => undefined)
  const plan = opts.quick ? quickPlan : fullPlan
  const requested = opts.mode ?? 'gpu'
  const rows: GpuRow[] = []
  let mode = 'none'
  for (const w of workloads(opts.quick)) {
    if (opts.only && !opts.only.includes(w.id)) continue
    let gpu: GpuDevice
    try {
      gpu = await loadGpuBackend({ mode: requested })
    } catch (e) {
      rows.push({ id: w.id, what: w.what, skipped: (e as Error).message })
      continue
    }
    mode = gpu.mode
    try {
      const reference = w.ours(cpu).check()
      const cpuMs = timeIt(w.ours(cpu).run, plan)
      const t0 = performance.now()
      // the workloads pass their argument on as the context's device, which takes any device
      const side = w.ours(gpu as unknown as Parameters<typeof w.ours>[0])
      side.run()
      const firstMs = performance.now() - t0
      const kernels = gpu.cachedKernels()
      const degraded = degradedOf(gpu)
      const mismatch = mismatchFraction(side.check(), reference)
      if (mismatch > (w.allowFlips ?? 0)) {
        rows.push({ id: w.id, what: w.what, skipped: `output differs from cpu (${(mismatch * 100).toFixed(3)}%)` })
      } else {
        const medianMs = timeIt(side.run, plan)
        rows.push({ id: w.id, what: w.what, firstMs, medianMs, cpuMs, kernels, mismatch, degraded })
      }
      const last = rows[rows.length - 1]
      log(`  ${w.id} gpu.js ${mode}: ${'skipped' in last ? last.skipped : `first ${last.firstMs.toFixed(1)} ms, then ${last.medianMs.toFixed(3)} ms`}`)
    } finally {
      gpu.destroy()
    }
  }
  const resident = () => loadGpuBackend({ mode: requested, packTextures: opts.packTextures === true })
  const scans = await runScanRows(opts.quick, plan, resident, opts.only)
  for (const s of scans) log(`  ${s.id} ${'skipped' in s ? s.skipped : `resident ${s.residentMs.toFixed(2)} ms, per call ${s.perCallMs.toFixed(2)} ms`}`)
  const where = opts.where ?? (typeof process === 'undefined' ? 'unknown' : `node ${process.version}`)
  const calls = await runCallRows(opts.quick, plan, resident, opts.only)
  return { quick: opts.quick, where, requested, mode, rows, scans, calls }
}

/** The rows as a table: first call, steady-state median, CPU median, their ratio. */
export const formatGpu = (r: GpuBenchResult): string => {
  const header = ['id', 'first call', 'median', 'cpu median', 'cpu/gpu', 'kernels', 'workload']
  const lines = r.rows.map((row) =>
    'skipped' in row
      ? [row.id, 'skip', '-', '-', '-', '-', row.what]
      : [
          row.id,
          row.firstMs.toFixed(1),
          row.medianMs.toFixed(3),
          row.cpuMs.toFixed(3),
          row.medianMs > 0 ? (row.cpuMs / row.medianMs).toFixed(2) : '-',
          String(row.kernels),
          row.what,
        ],
  )
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)))
  const fmt = (l: readonly string[]) => l.map((s, i) => (i === l.length - 1 ? s : s.padStart(widths[i]))).join('  ')
  const out = [
    `GPU device (gpu.js mode '${r.requested}', compiled for '${r.mode}') on ${r.where}, ms per call, ` +
      `${r.quick ? 'quick sizes' : 'issue sizes'}; 'first call' = fresh kernel cache: set-up + first call, compilation included`,
    fmt(header),
    ...lines.map(fmt),
  ]
  for (const row of r.rows) {
    if ('skipped' in row) out.push(`  ${row.id}: ${row.skipped}`)
    else for (const d of row.degraded) out.push(`  ${row.id}: ${d}`)
  }
  if (r.mode === 'webasm' || r.mode === 'cpu') {
    out.push(`  note: gpu.js mode '${r.mode}' runs on the CPU (no GL here); in a browser gpu.js compiles for WebGL2.`)
  }
  if (/SwiftShader/i.test(r.where)) out.push('  note: WebGL2 here is SwiftShader, software rendering on the CPU, not a GPU.')
  if (r.scans.length > 0) out.push('', formatScanRows(r.scans))
  if (r.calls.length > 0) out.push('', formatCallRows(r.calls))
  return out.join('\n')
}
