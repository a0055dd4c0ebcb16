/**
 * Runs every workload on braincog-fn (cpu kernels, the wasm copy backend, and the resident
 * wasm device, the default) and the tfjs peers in one process: checks each output against
 * braincog-fn's CPU reference, then times all of them round-robin.
 *
 * @module
 */
import { cpu, type Device, loadResidentBackend, loadWasmBackend } from '../src/index.js'
import { type CopyCost, measureCopies } from './copies.js'
import { type Contender, fullPlan, mismatchFraction, quickPlan, timeInterleaved } from './harness.js'
import { type HeapReport, heapOverLongScan, heapOverTraining, type TrainingHeapReport } from './heap.js'
import { peers, setupTfjs, usePeer } from './peers.js'
import { runTorch, torchStatus } from './torch.js'
import { type Side, workloads } from './workloads.js'

/** One cell: median ms, or why there is none. */
export type Cell = { readonly ms: number; readonly mismatch: number } | { readonly skipped: string }

export interface Row {
  readonly id: string
  readonly what: string
  readonly flops?: number
  readonly cells: Readonly<Record<string, Cell>>
  /** braincog-fn's default (wasm) backend over the fastest tfjs peer. */
  readonly ratio?: number
  /** braincog-fn's wasm backend over single-thread PyTorch, where it ran. */
  readonly torchRatio?: number
  /** braincog-fn's resident wasm device (the default) over the fastest tfjs peer. */
  readonly residentRatio?: number
  /** braincog-fn's resident wasm device over single-thread PyTorch, where it ran. */
  readonly residentTorchRatio?: number
}

export interface BenchResult {
  readonly quick: boolean
  readonly columns: readonly string[]
  readonly rows: readonly Row[]
  readonly copies?: CopyCost
  readonly heap?: HeapReport
  /** W8's heap rows on the resident device. */
  readonly residentHeap?: HeapReport
  /** A training loop's heap, on the copy backend and on the resident device. */
  readonly trainingHeap?: readonly TrainingHeapReport[]
  readonly torch: string
  readonly node: string
}

const OURS_CPU = 'braincog-fn cpu'
const OURS_WASM = 'braincog-fn wasm'
const OURS_RESIDENT = 'braincog-fn wasm-resident'
const TORCH = 'pytorch (1 thread)'

export interface BenchOptions {
  /** Tiny sizes and two timed runs: a smoke test. */
  readonly quick: boolean
  /** Progress lines. */
  readonly log?: (line: string) => void
}

export const runBench = async (opts: BenchOptions): Promise<BenchResult> => {
  const log = opts.log ?? (() => undefined)
  const plan = opts.quick ? quickPlan : fullPlan
  const tf = await setupTfjs()
  // one thread, as the peers' columns (tfjs-wasm, PyTorch) run: bench:train has the threads column
  const wasm = await loadWasmBackend(undefined, { threads: 1 })
  const resident = (await loadResidentBackend(undefined, { threads: 1 })) as Device<unknown> | undefined
  const torch = torchStatus()
  const columns = [OURS_CPU, OURS_WASM, OURS_RESIDENT, ...peers.map((p) => p.name), ...(torch.version ? [TORCH] : [])]
  const rows: Row[] = []
  const list = workloads(opts.quick)
  const references = new Map<string, Float32Array>()

  for (const w of list) {
    const cells: Record<string, Cell> = {}
    const reference = w.ours(cpu).check()
    references.set(w.id, reference)
    const contenders: Contender[] = []
    const mismatches = new Map<string, number>()
    /** Checks a side against the reference: one that agrees is timed, one that does not is reported. */
    const enlist = (name: string, side: Side, enter: () => Promise<unknown>): void => {
      const mismatch = mismatchFraction(side.check(), reference)
      if (mismatch > (w.allowFlips ?? 0)) {
        const share = `${(mismatch * 100).toFixed(3)}% of elements`
        cells[name] = { skipped: `output differs from braincog-fn cpu (${share})` }
      } else {
        mismatches.set(name, mismatch)
        contenders.push({ name, enter, run: side.run })
      }
    }
    const stay = () => Promise.resolve()
    enlist(OURS_CPU, w.ours(cpu), stay)
    if (wasm) enlist(OURS_WASM, w.ours(wasm), stay)
    else cells[OURS_WASM] = { skipped: 'wasm kernels not built (npm run build:wasm)' }
    if (resident) enlist(OURS_RESIDENT, w.ours(resident), stay)
    else cells[OURS_RESIDENT] = { skipped: 'wasm kernels not built (npm run build:wasm)' }
    // tensors the peer sides create live until the scope ends, after timing
    tf.engine().startScope()
    try {
      for (const peer of peers) {
        if (await usePeer(peer)) enlist(peer.name, w.peer(tf), () => usePeer(peer))
        else cells[peer.name] = { skipped: `tfjs backend ${peer.backend} did not start` }
      }
      const medians = await timeInterleaved(contenders, plan)
      for (const [name, ms] of medians) cells[name] = { ms, mismatch: mismatches.get(name) ?? 0 }
    } finally {
      tf.engine().endScope()
    }
    const shown = (c: Cell | undefined): string => (c === undefined ? '-' : 'ms' in c ? c.ms.toFixed(3) : 'skipped')
    log(`  ${w.id}: ${columns.map((c) => `${c} ${shown(cells[c])}`).join(', ')}`)
    const ours = cells[OURS_WASM]
    const mine = cells[OURS_RESIDENT]
    const best = Math.min(...peers.map((p) => cells[p.name]).map((c) => ('ms' in c ? c.ms : Infinity)))
    rows.push({
      id: w.id,
      what: w.what,
      ...(w.flops === undefined ? {} : { flops: w.flops }),
      cells,
      ...('ms' in ours && Number.isFinite(best) ? { ratio: ours.ms / best } : {}),
      ...('ms' in mine && Number.isFinite(best) ? { residentRatio: mine.ms / best } : {}),
    })
  }

  if (torch.version) {
    log('  PyTorch (one thread, its own process)...')
    const results = runTorch(list, plan)
    rows.forEach((row, i) => {
      const r = results.get(row.id)
      const cells = row.cells as Record<string, Cell>
      const reference = references.get(row.id) ?? new Float32Array(0)
      if (r === undefined) cells[TORCH] = { skipped: 'no PyTorch body for this workload' }
      else if ('error' in r) cells[TORCH] = { skipped: r.error }
      else {
        const mismatch = mismatchFraction(r.output, reference)
        const share = `${(mismatch * 100).toFixed(3)}% of elements`
        cells[TORCH] =
          mismatch > (list[i].allowFlips ?? 0)
            ? { skipped: `output differs from braincog-fn cpu (${share})` }
            : { ms: r.ms, mismatch }
      }
      const ours = cells[OURS_WASM]
      const mine = cells[OURS_RESIDENT]
      const theirs = cells[TORCH]
      if ('ms' in theirs) {
        rows[i] = {
          ...row,
          ...(ours && 'ms' in ours ? { torchRatio: ours.ms / theirs.ms } : {}),
          ...(mine && 'ms' in mine ? { residentTorchRatio: mine.ms / theirs.ms } : {}),
        }
      }
    })
  }

  const copies = wasm ? measureCopies(wasm, cpu, opts.quick ? 4096 : 2 ** 21, plan) : undefined
  const w8 = opts.quick
    ? { batch: 2, inF: 16, outF: 20, voters: 10, steps: 40, every: 10 }
    : { batch: 64, inF: 784, outF: 1000, voters: 10, steps: 2000, every: 250 }
  log('  heap rows...')
  const heap = wasm ? heapOverLongScan(wasm, w8) : undefined
  const residentHeap = resident ? heapOverLongScan(resident, w8) : undefined
  const training = opts.quick
    ? { batch: 4, inF: 16, hidden: 20, timeSteps: 2, steps: 20, every: 5 }
    : { batch: 32, inF: 256, hidden: 128, timeSteps: 4, steps: 2000, every: 250 }
  const trainingHeap = [wasm, resident].flatMap((d) => (d ? [heapOverTraining(d as Device<unknown>, training)] : []))
  return {
    quick: opts.quick,
    columns,
    rows,
    ...(copies ? { copies } : {}),
    ...(heap ? { heap } : {}),
    ...(residentHeap ? { residentHeap } : {}),
    ...(trainingHeap.length > 0 ? { trainingHeap } : {}),
    torch: torch.version
      ? `torch ${torch.version}, one thread (timed in its own process)`
      : `not available: ${torch.reason ?? ''}`,
    node: process.version,
  }
}

/** The result as the printed table and notes. */
export const format = (r: BenchResult): string => {
  const cell = (c: Cell | undefined): string => (c === undefined ? '-' : 'ms' in c ? c.ms.toFixed(3) : 'skip')
  const withTorch = r.columns.includes(TORCH)
  const ratios = ['wasm/best tfjs', ...(withTorch ? ['wasm/pytorch'] : []), 'resident/best tfjs', ...(withTorch ? ['resident/pytorch'] : [])]
  const header = ['id', ...r.columns, ...ratios, 'GFLOP/s wasm', 'GFLOP/s resident', 'workload']
  const lines = r.rows.map((row) => {
    const rate = (c: Cell | undefined): string =>
      row.flops !== undefined && c && 'ms' in c ? (row.flops / c.ms / 1e6).toFixed(1) : ''
    const gflops = [rate(row.cells[OURS_WASM]), rate(row.cells[OURS_RESIDENT])]
    const versusTorch = withTorch ? [row.torchRatio?.toFixed(2) ?? '-'] : []
    const residentVersusTorch = withTorch ? [row.residentTorchRatio?.toFixed(2) ?? '-'] : []
    const times = r.columns.map((c) => cell(row.cells[c]))
    const resident = [row.residentRatio?.toFixed(2) ?? '-', ...residentVersusTorch]
    return [row.id, ...times, row.ratio?.toFixed(2) ?? '-', ...versusTorch, ...resident, ...gflops, row.what]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)))
  const fmt = (l: readonly string[]) => l.map((s, i) => (i === l.length - 1 ? s : s.padStart(widths[i]))).join('  ')
  const title = `median ms per call (${r.quick ? 'quick sizes' : 'issue sizes'}), node ${r.node}`
  const out = [title, fmt(header), ...lines.map(fmt)]
  for (const row of r.rows) {
    for (const [col, c] of Object.entries(row.cells)) if ('skipped' in c) out.push(`  ${row.id} ${col}: ${c.skipped}`)
  }
  if (r.copies) {
    const c = r.copies
    const ms = (v: number) => `${v.toFixed(3)} ms`
    out.push(
      `copy cost (tensors live in JS arrays), mul over ${c.elements} floats: kernel on data in wasm memory ` +
        `${ms(c.kernelMs)}, whole-array copies in+out ${ms(c.copyMs)}, wasm backend call (sliced copies + kernel) ` +
        `${ms(c.backendMs)}, cpu reference ${ms(c.cpuMs)}`,
    )
  }
  const series = (xs: readonly number[]): string => xs.map((m) => m.toFixed(1)).join(' ')
  for (const h of [r.heap, r.residentHeap]) {
    if (h === undefined) continue
    out.push(
      `W8 heap over ${h.steps} single steps (${h.device}), heapUsed+arrayBuffers after GC, MiB: ${series(h.retainedMiB)}`,
      `W8 allocation per step (${h.device}) ~${h.allocatedPerStepKiB.toFixed(1)} KiB; ` +
        `outputs + new state need ${h.outputsAndStateKiB.toFixed(1)} KiB`,
    )
    if (h.wasm) {
      out.push(
        `W8 WebAssembly memory (${h.device}), MiB: ${series(h.wasm.memoryMiB)}; in live blocks: ${series(h.wasm.liveMiB)}`,
      )
    }
  }
  for (const h of r.trainingHeap ?? []) {
    out.push(
      `training loop (lossAndGrad + adam) over ${h.steps} steps (${h.device}), ${h.stepMs.toFixed(2)} ms a step; ` +
        `heapUsed+arrayBuffers after GC, MiB: ${series(h.retainedMiB)}`,
    )
    if (h.wasm) {
      out.push(
        `training loop WebAssembly memory (${h.device}), MiB: ${series(h.wasm.memoryMiB)}; in live blocks: ${series(h.wasm.liveMiB)}`,
      )
    }
  }
  out.push(`PyTorch column: ${r.torch}`)
  return out.join('\n')
}
