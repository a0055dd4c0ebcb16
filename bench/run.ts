/**
 * Runs every workload on braincog-fn (cpu kernels, the wasm copy backend, and the resident
 * wasm device, the default) and the tfjs peers in one process: checks each output against
 * braincog-fn's CPU reference, then times all of them round-robin. The forward rows (W1a-W8)
 * come first, then the backward rows (B1b-B8: the gradients are the output checked) and the
 * training steps (TR1, TR2: loss, gradients and the params after Adam checked; images per
 * second and peak memory reported).
 *
 * @module
 */
import type * as TF from '@tensorflow/tfjs-core'
import { cpu, type Data, type Device, loadResidentBackend, loadWasmBackend, wasmThreads } from '../src/index.js'
import { type CopyCost, measureCopies } from './copies.js'
import { GRAD_TOLERANCE, gradWorkloads } from './gradWorkloads.js'
import { type Contender, compareParts, fullPlan, quickPlan, timeInterleaved, type TimingPlan, uniformData } from './harness.js'
import { type HeapReport, heapOverLongScan, heapOverTraining, type TrainingHeapReport } from './heap.js'
import { oursTrainingMemory, type ProcessMemory } from './memory.js'
import { peers, setupTfjs, usePeer } from './peers.js'
import { runTorch, type TorchMemory, torchStatus } from './torch.js'
import { trainWorkloads } from './trainWorkloads.js'
import { PeerCannot, type Side, type Workload, workloads } from './workloads.js'

/**
 * One cell: median ms (with how far its check output was from ours: the fraction of elements
 * off, and the largest deviation relative to `1 + max |x|` of its part), why the peer cannot run
 * the workload (what tfjs said, e.g. a kernel missing on a backend), or why a cell is missing.
 */
export type Cell =
  | {
      readonly ms: number
      readonly mismatch: number
      readonly error?: number
      /** Set where the check alone took over {@link ONE_CALL_MS}: `ms` is that one call's time. */
      readonly oneCall?: true
    }
  | { readonly cannot: string }
  | { readonly skipped: string }

/** Which group a row is in. */
export type RowKind = 'forward' | 'backward' | 'train'

/** Peak memory of a training step, each side in a process of its own. */
export interface MemoryReport {
  readonly ours?: ProcessMemory | { readonly error: string }
  readonly torch?: TorchMemory
}

export interface Row {
  readonly id: string
  readonly what: string
  readonly kind: RowKind
  readonly flops?: number
  /** Images per call (training steps). */
  readonly images?: number
  readonly memory?: MemoryReport
  readonly cells: Readonly<Record<string, Cell>>
  /** braincog-fn's default (wasm) backend over the fastest tfjs peer. */
  readonly ratio?: number
  /** braincog-fn's wasm backend over single-thread PyTorch, where it ran. */
  readonly torchRatio?: number
  /** braincog-fn's resident wasm device (the default) over the fastest tfjs peer. */
  readonly residentRatio?: number
  /** braincog-fn's resident wasm device over single-thread PyTorch, where it ran. */
  readonly residentTorchRatio?: number
  /** The resident device with the tensors kept on it over single-thread PyTorch (single layer calls). */
  readonly onDeviceTorchRatio?: number
  /** The same on all cores over single-thread PyTorch (W7). */
  readonly onDeviceThreadsTorchRatio?: number
  /** The resident device on all cores over single-thread PyTorch (the threaded rows). */
  readonly threadsTorchRatio?: number
}

/** GFLOP/s of W1b's product and of its two transposed products (the backward's), per backend. */
export interface MatmulReport {
  readonly m: number
  readonly k: number
  readonly n: number
  /** Per column (braincog-fn wasm, tfjs-wasm): GFLOP/s of y = x W, dX = g W^T, dW = x^T g. */
  readonly gflops: Readonly<Record<string, { readonly forward: number; readonly dX: number; readonly dW: number }>>
}

export interface BenchResult {
  readonly quick: boolean
  readonly columns: readonly string[]
  readonly rows: readonly Row[]
  readonly matmul?: MatmulReport
  /** The gradient rows' check tolerance (relative to 1 + max |g| of each gradient). */
  readonly gradTolerance: number
  readonly copies?: CopyCost
  readonly heap?: HeapReport
  /** W8's heap rows on the resident device. */
  readonly residentHeap?: HeapReport
  /** A training loop's heap, on the copy backend and on the resident device. */
  readonly trainingHeap?: readonly TrainingHeapReport[]
  readonly torch: string
  readonly node: string
  /** The threads of the all-cores column (absent on one core). */
  readonly threads?: number
}

const OURS_CPU = 'braincog-fn cpu'
const OURS_WASM = 'braincog-fn wasm'
const OURS_RESIDENT = 'braincog-fn wasm-resident'
/**
 * The resident device, one thread, with the call's tensors kept in its memory (input uploaded
 * once, output freed after each call: PyTorch's tensors live in its allocator the same way),
 * on the single layer calls that define `onDevice`.
 */
const OURS_ON_DEVICE = 'braincog-fn wasm-resident, tensors on device'
/** The resident device on every core (the default device), timed on the rows that threads speed up. */
const OURS_THREADS = 'braincog-fn wasm-resident, all cores'
/** {@link OURS_ON_DEVICE} on every core, on the threaded rows that have that form. */
const OURS_ON_DEVICE_THREADS = 'braincog-fn wasm-resident, tensors on device, all cores'
/**
 * The rows the threads columns time: matmul- and convolution-bound, and W7's big product (only
 * those kernels are threaded).
 */
const THREADED_ROWS: ReadonlySet<string> = new Set(['W1b', 'W7', 'B1b', 'TR1', 'TR2'])
const TORCH = 'pytorch (1 thread)'

export interface BenchOptions {
  /** Tiny sizes and two timed runs: a smoke test. */
  readonly quick: boolean
  /** Progress lines. */
  readonly log?: (line: string) => void
  /** Only these workload ids (all by default). */
  readonly only?: readonly string[]
}

/**
 * A contender whose check call took longer than this is not called again: its cell is that one
 * call's time (the plain-JavaScript columns at the issues' sizes take 10-100 s per training step).
 */
export const ONE_CALL_MS = 5000

/** A side's check output and how long the call took. */
const checked = (side: Side): { readonly output: Float32Array; readonly ms: number } => {
  const t0 = performance.now()
  const output = side.check()
  return { output, ms: performance.now() - t0 }
}

/** What tfjs says when it cannot run a computation on a backend (as opposed to a bug in the peer's code). */
const TFJS_CANNOT = /not registered for backend|gradient function not found|cannot compute gradient/i

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]

/** Every workload, tagged with its group. */
const allWorkloads = (quick: boolean): readonly { readonly w: Workload; readonly kind: RowKind }[] => [
  ...workloads(quick).map((w) => ({ w, kind: 'forward' as const })),
  ...gradWorkloads(quick).map((w) => ({ w, kind: 'backward' as const })),
  ...trainWorkloads(quick).map((w) => ({ w, kind: 'train' as const })),
]

export const runBench = async (opts: BenchOptions): Promise<BenchResult> => {
  const log = opts.log ?? (() => undefined)
  const plan = opts.quick ? quickPlan : fullPlan
  const tf = await setupTfjs()
  // one thread, as the peers' columns (tfjs-wasm, PyTorch) run: bench:train has the threads column
  const wasm = await loadWasmBackend(undefined, { threads: 1 })
  const resident = (await loadResidentBackend(undefined, { threads: 1 })) as Device<unknown> | undefined
  // the default count (every core, at most 8): a column only where that is more than one
  const allCores = (await loadResidentBackend()) as Device<unknown> | undefined
  const threads = allCores === undefined ? 1 : wasmThreads(allCores)
  const threaded = threads > 1 ? allCores : undefined
  const torch = torchStatus()
  const columns = [
    OURS_CPU,
    OURS_WASM,
    OURS_RESIDENT,
    ...(resident ? [OURS_ON_DEVICE] : []),
    ...(threaded ? [OURS_THREADS, OURS_ON_DEVICE_THREADS] : []),
    ...peers.map((p) => p.name),
    ...(torch.version ? [TORCH] : []),
  ]
  const rows: Row[] = []
  const tagged = allWorkloads(opts.quick).filter((t) => opts.only === undefined || opts.only.includes(t.w.id))
  const list = tagged.map((t) => t.w)
  const references = new Map<string, Float32Array>()
  const compare = (w: Workload, output: Float32Array, reference: Float32Array) =>
    compareParts(output, reference, w.parts, w.tolerance)

  for (const { w, kind } of tagged) {
    const cells: Record<string, Cell> = {}
    const oursCpu = w.ours(cpu)
    const first = checked(oursCpu)
    const reference = first.output
    references.set(w.id, reference)
    const contenders: Contender[] = []
    const checks = new Map<string, { readonly mismatch: number; readonly error: number }>()
    /** Checks a side against the reference: one that agrees is timed, one that does not is reported. */
    const enlist = (name: string, side: Side, enter: () => Promise<unknown>, check = checked(side)): void => {
      const c = compare(w, check.output, reference)
      if (c.mismatch > (w.allowFlips ?? 0)) {
        const share = `${(c.mismatch * 100).toFixed(3)}% of elements of ${c.worst}`
        cells[name] = { skipped: `output differs from braincog-fn cpu (${share})` }
      } else if (check.ms > ONE_CALL_MS) {
        const error = kind === 'forward' ? {} : { error: c.error }
        cells[name] = { ms: check.ms, mismatch: c.mismatch, ...error, oneCall: true }
      } else {
        checks.set(name, c)
        contenders.push({ name, enter, run: side.run })
      }
    }
    const stay = () => Promise.resolve()
    enlist(OURS_CPU, oursCpu, stay, first)
    if (wasm) enlist(OURS_WASM, w.ours(wasm), stay)
    else cells[OURS_WASM] = { skipped: 'wasm kernels not built (npm run build:wasm)' }
    if (resident) enlist(OURS_RESIDENT, w.ours(resident), stay)
    else cells[OURS_RESIDENT] = { skipped: 'wasm kernels not built (npm run build:wasm)' }
    const kept = resident && w.onDevice ? w.onDevice(resident) : undefined
    if (kept) enlist(OURS_ON_DEVICE, kept, stay)
    const keptThreaded = threaded && w.onDevice && THREADED_ROWS.has(w.id) ? w.onDevice(threaded) : undefined
    if (keptThreaded) enlist(OURS_ON_DEVICE_THREADS, keptThreaded, stay)
    if (threaded && THREADED_ROWS.has(w.id)) enlist(OURS_THREADS, w.ours(threaded), stay)
    // tensors the peer sides create live until the scope ends, after timing
    tf.engine().startScope()
    try {
      for (const peer of peers) {
        if (!(await usePeer(peer))) {
          cells[peer.name] = { skipped: `tfjs backend ${peer.backend} did not start` }
          continue
        }
        let side: Side
        let check: ReturnType<typeof checked>
        try {
          side = w.peer(tf)
          check = checked(side)
        } catch (e) {
          const why = messageOf(e)
          const cannot = e instanceof PeerCannot || TFJS_CANNOT.test(why)
          cells[peer.name] = cannot ? { cannot: `tfjs: ${why}` } : { skipped: `failed: ${why}` }
          continue
        }
        enlist(peer.name, side, () => usePeer(peer), check)
      }
      const medians = await timeInterleaved(contenders, plan)
      for (const [name, ms] of medians) {
        const c = checks.get(name)
        cells[name] = { ms, mismatch: c?.mismatch ?? 0, ...(kind === 'forward' ? {} : { error: c?.error ?? 0 }) }
      }
    } finally {
      tf.engine().endScope()
      kept?.dispose?.()
      keptThreaded?.dispose?.()
    }
    log(`  ${w.id}: ${columns.map((c) => `${c} ${shortCell(cells[c])}`).join(', ')}`)
    const ours = cells[OURS_WASM]
    const mine = cells[OURS_RESIDENT]
    const best = Math.min(...peers.map((p) => cells[p.name]).map((c) => ('ms' in c ? c.ms : Infinity)))
    const steps = plan.warmup + plan.minRuns
    const memory = w.memory && wasm ? { ours: oursTrainingMemory(w.id, opts.quick, steps) } : undefined
    rows.push({
      id: w.id,
      what: w.what,
      kind,
      ...(w.flops === undefined ? {} : { flops: w.flops }),
      ...(w.images === undefined ? {} : { images: w.images }),
      ...(memory ? { memory } : {}),
      cells,
      ...('ms' in ours && Number.isFinite(best) ? { ratio: ours.ms / best } : {}),
      ...('ms' in mine && Number.isFinite(best) ? { residentRatio: mine.ms / best } : {}),
    })
  }

  if (torch.version) {
    log('  PyTorch (one thread, its own process; each training step in one of its own)...')
    const results = runTorch(list, plan)
    rows.forEach((row, i) => {
      const r = results.get(row.id)
      const cells = row.cells as Record<string, Cell>
      const reference = references.get(row.id) ?? new Float32Array(0)
      let memory = row.memory
      if (r === undefined) cells[TORCH] = { skipped: 'no PyTorch body for this workload' }
      else if ('error' in r) cells[TORCH] = { skipped: r.error }
      else {
        const c = compare(list[i], r.output, reference)
        const share = `${(c.mismatch * 100).toFixed(3)}% of elements of ${c.worst}`
        cells[TORCH] =
          c.mismatch > (list[i].allowFlips ?? 0)
            ? { skipped: `output differs from braincog-fn cpu (${share})` }
            : { ms: r.ms, mismatch: c.mismatch, ...(row.kind === 'forward' ? {} : { error: c.error }) }
        if (r.memory) memory = { ...memory, torch: r.memory }
      }
      const ours = cells[OURS_WASM]
      const mine = cells[OURS_RESIDENT]
      const all = cells[OURS_THREADS]
      const kept = cells[OURS_ON_DEVICE]
      const keptAll = cells[OURS_ON_DEVICE_THREADS]
      const theirs = cells[TORCH]
      rows[i] = {
        ...row,
        ...(memory ? { memory } : {}),
        ...(ours && 'ms' in ours && 'ms' in theirs ? { torchRatio: ours.ms / theirs.ms } : {}),
        ...(mine && 'ms' in mine && 'ms' in theirs ? { residentTorchRatio: mine.ms / theirs.ms } : {}),
        ...(all && 'ms' in all && 'ms' in theirs ? { threadsTorchRatio: all.ms / theirs.ms } : {}),
        ...(kept && 'ms' in kept && 'ms' in theirs ? { onDeviceTorchRatio: kept.ms / theirs.ms } : {}),
        ...(keptAll && 'ms' in keptAll && 'ms' in theirs ? { onDeviceThreadsTorchRatio: keptAll.ms / theirs.ms } : {}),
      }
    })
  }

  const matmul = wasm ? await measureMatmuls(wasm, tf, opts.quick, plan) : undefined
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
  const trainingHeap = [
    ...[wasm, resident].flatMap((d) => (d ? [heapOverTraining(d as Device<unknown>, 'lossAndGrad + adam', training)] : [])),
    ...(resident ? [heapOverTraining(resident as Device<unknown>, 'trainer', training)] : []),
  ]
  return {
    quick: opts.quick,
    columns,
    rows,
    ...(matmul ? { matmul } : {}),
    gradTolerance: GRAD_TOLERANCE,
    ...(copies ? { copies } : {}),
    ...(heap ? { heap } : {}),
    ...(residentHeap ? { residentHeap } : {}),
    ...(trainingHeap.length > 0 ? { trainingHeap } : {}),
    torch: torch.version
      ? `torch ${torch.version}, one thread (timed in its own process)`
      : `not available: ${torch.reason ?? ''}`,
    node: process.version,
    ...(threaded ? { threads } : {}),
  }
}

const shortCell = (c: Cell | undefined): string =>
  c === undefined ? '-' : 'ms' in c ? c.ms.toFixed(3) : 'cannot' in c ? 'cannot' : 'skipped'

/**
 * W1b's product and the two transposed products of its backward (dX = g W^T reads W as stored,
 * transposed; dW = x^T g reads x transposed), as kernel calls on our wasm backend and as
 * `tf.matMul` with `transposeA`/`transposeB` on tfjs-wasm, timed round-robin.
 */
const measureMatmuls = async (
  wasm: Device<Data>,
  tf: typeof TF,
  quick: boolean,
  plan: TimingPlan,
): Promise<MatmulReport> => {
  const [m, k, n] = quick ? [8, 32, 24] : [256, 1024, 1024]
  const x = uniformData(m * k, 1)
  const w = uniformData(k * n, 2, -0.1, 0.1)
  const g = uniformData(m * n, 16)
  const flops = 2 * m * k * n
  const stay = () => Promise.resolve()
  const contenders: Contender[] = [
    { name: 'ours forward', enter: stay, run: () => wasm.matmul(x, w, null, { m, k, n }) },
    { name: 'ours dX', enter: stay, run: () => wasm.matmul(g, w, null, { m, k: n, n: k, transB: true }) },
    { name: 'ours dW', enter: stay, run: () => wasm.matmul(x, g, null, { m: k, k: m, n, transA: true }) },
  ]
  const wasmPeer = peers.find((p) => p.backend === 'wasm')
  const tfjs = wasmPeer !== undefined && (await usePeer(wasmPeer))
  tf.engine().startScope()
  try {
    if (tfjs && wasmPeer) {
      const [tx, tw, tg] = [tf.tensor2d(x, [m, k]), tf.tensor2d(w, [k, n]), tf.tensor2d(g, [m, n])]
      const enter = () => usePeer(wasmPeer)
      const product = (f: () => TF.Tensor) => () => {
        const t = f()
        t.dataSync()
        t.dispose()
      }
      contenders.push(
        { name: 'tfjs forward', enter, run: product(() => tf.matMul(tx, tw)) },
        { name: 'tfjs dX', enter, run: product(() => tf.matMul(tg, tw, false, true)) },
        { name: 'tfjs dW', enter, run: product(() => tf.matMul(tx, tg, true, false)) },
      )
    }
    const ms = await timeInterleaved(contenders, plan)
    const rate = (name: string) => flops / (ms.get(name) ?? NaN) / 1e6
    const of = (who: string) => ({ forward: rate(`${who} forward`), dX: rate(`${who} dX`), dW: rate(`${who} dW`) })
    return { m, k, n, gflops: { [OURS_WASM]: of('ours'), ...(tfjs ? { [wasmPeer?.name ?? 'tfjs-wasm']: of('tfjs') } : {}) } }
  } finally {
    tf.engine().endScope()
  }
}

const MiB = 2 ** 20

/** A process's memory as `peak MiB (+growth over the pre-loop resident set)`. */
const showMemory = (m: ProcessMemory | TorchMemory | { readonly error: string } | undefined): string => {
  if (m === undefined) return 'not measured'
  if ('error' in m) return m.error
  const sampled = m.sampledRss !== undefined ? `, largest sampled after a step ${(m.sampledRss / MiB).toFixed(0)}` : ''
  return `peak RSS ${(m.peakRss / MiB).toFixed(0)} MiB (+${((m.peakRss - m.rssBefore) / MiB).toFixed(0)} over the ${(m.rssBefore / MiB).toFixed(0)} MiB before the first step${sampled})`
}

/** The result as the printed table and notes. */
export const format = (r: BenchResult): string => {
  const cell = (c: Cell | undefined): string =>
    c === undefined ? '-' : 'ms' in c ? `${c.ms.toFixed(3)}${c.oneCall ? '*' : ''}` : 'cannot' in c ? 'cannot' : 'skip'
  const withTorch = r.columns.includes(TORCH)
  const withThreads = r.columns.includes(OURS_THREADS)
  const withOnDevice = r.columns.includes(OURS_ON_DEVICE)
  const ratios = [
    'wasm/best tfjs',
    ...(withTorch ? ['wasm/pytorch'] : []),
    'resident/best tfjs',
    ...(withTorch ? ['resident/pytorch'] : []),
    ...(withTorch && withOnDevice ? ['on device/pytorch'] : []),
    ...(withTorch && withThreads ? ['all cores/pytorch', 'on device all cores/pytorch'] : []),
  ]
  const header = ['id', ...r.columns, ...ratios, 'GFLOP/s wasm', 'GFLOP/s resident', 'img/s resident', 'workload']
  const lines = r.rows.map((row) => {
    const rate = (c: Cell | undefined): string =>
      row.flops !== undefined && c && 'ms' in c ? (row.flops / c.ms / 1e6).toFixed(1) : ''
    const gflops = [rate(row.cells[OURS_WASM]), rate(row.cells[OURS_RESIDENT])]
    const mine = row.cells[OURS_RESIDENT]
    const images = row.images !== undefined && mine && 'ms' in mine ? ((row.images * 1000) / mine.ms).toFixed(0) : ''
    const versusTorch = withTorch ? [row.torchRatio?.toFixed(2) ?? '-'] : []
    const residentVersusTorch = withTorch ? [row.residentTorchRatio?.toFixed(2) ?? '-'] : []
    const onDeviceVersusTorch = withTorch && withOnDevice ? [row.onDeviceTorchRatio?.toFixed(2) ?? '-'] : []
    const threadsVersusTorch =
      withTorch && withThreads
        ? [row.threadsTorchRatio?.toFixed(2) ?? '-', row.onDeviceThreadsTorchRatio?.toFixed(2) ?? '-']
        : []
    const times = r.columns.map((c) => cell(row.cells[c]))
    const resident = [row.residentRatio?.toFixed(2) ?? '-', ...residentVersusTorch, ...onDeviceVersusTorch, ...threadsVersusTorch]
    return [row.id, ...times, row.ratio?.toFixed(2) ?? '-', ...versusTorch, ...resident, ...gflops, images, row.what]
  })
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)))
  const fmt = (l: readonly string[]) => l.map((s, i) => (i === l.length - 1 ? s : s.padStart(widths[i]))).join('  ')
  const title = `median ms per call (${r.quick ? 'quick sizes' : 'issue sizes'}), node ${r.node}`
  const out = [title, fmt(header), ...lines.map(fmt)]
  if (r.rows.some((row) => Object.values(row.cells).some((c) => 'oneCall' in c))) {
    out.push(`  *: one call (the check), not timed again: it took over ${ONE_CALL_MS / 1000} s`)
  }
  for (const row of r.rows) {
    for (const [col, c] of Object.entries(row.cells)) {
      if ('skipped' in c) out.push(`  ${row.id} ${col}: ${c.skipped}`)
      if ('cannot' in c) out.push(`  ${row.id} ${col} cannot: ${c.cannot}`)
    }
  }
  const graded = r.rows.filter((row) => row.kind !== 'forward')
  if (graded.length > 0) {
    out.push(
      `gradient and training rows: forward + backward per call (training: + Adam); each peer's gradients checked ` +
        `against braincog-fn cpu's, an element off when |diff| > ${r.gradTolerance} * (1 + max |g|) of its gradient; ` +
        'largest deviation |diff| / (1 + max |g|) per column:',
    )
    for (const row of graded) {
      const devs = r.columns.flatMap((col) => {
        const c = row.cells[col]
        if (c === undefined || !('ms' in c) || c.error === undefined) return []
        const flips = c.mismatch > 0 ? `, ${(c.mismatch * 100).toFixed(2)}% off (spikes flipped at the threshold)` : ''
        return [`${col} ${c.error.toExponential(1)}${flips}`]
      })
      out.push(`  ${row.id}: ${devs.join('; ')}`)
    }
  }
  for (const row of r.rows.filter((x) => x.images !== undefined)) {
    const perSecond = r.columns.flatMap((col) => {
      const c = row.cells[col]
      return c !== undefined && 'ms' in c ? [`${col} ${(((row.images ?? 0) * 1000) / c.ms).toFixed(0)}`] : []
    })
    out.push(`${row.id} images/s: ${perSecond.join(', ')}`)
    out.push(`${row.id} memory, braincog-fn (resident wasm, one thread, own Node process): ${showMemory(row.memory?.ours)}`)
    if (withTorch) out.push(`${row.id} memory, pytorch (own Python process): ${showMemory(row.memory?.torch)}`)
  }
  if (r.matmul) {
    const { m, k, n, gflops } = r.matmul
    out.push(`matmul GFLOP/s at W1b's sizes (m ${m}, k ${k}, n ${n}): y = x W, dX = g W^T (transB), dW = x^T g (transA)`)
    for (const [col, g] of Object.entries(gflops)) {
      const rel = (v: number) => `${v.toFixed(1)} (${((v / g.forward) * 100).toFixed(0)}%)`
      out.push(`  ${col}: forward ${g.forward.toFixed(1)}, dX ${rel(g.dX)}, dW ${rel(g.dW)}`)
    }
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
      `training loop (${h.runner}) over ${h.steps} steps (${h.device}), ${h.stepMs.toFixed(2)} ms a step; ` +
        `heapUsed+arrayBuffers after GC, MiB: ${series(h.retainedMiB)}`,
    )
    if (h.wasm) {
      out.push(
        `training loop WebAssembly memory (${h.runner}, ${h.device}), MiB: ${series(h.wasm.memoryMiB)}; in live blocks: ${series(h.wasm.liveMiB)}`,
      )
    }
  }
  if (withThreads) out.push(`${OURS_THREADS}: ${r.threads} threads, on ${[...THREADED_ROWS].join(', ')}`)
  out.push(`PyTorch column: ${r.torch}`)
  return out.join('\n')
}
