/**
 * Resident-scan rows of the GPU bench (issue 8): whole time scans on the GPU device, once with
 * every layer call uploading its arguments and reading its results back (`scan` with the GPU
 * device in the context) and once with the tensors kept on the GPU between layers and steps
 * (`scanOnDevice(net, gpu)`), beside braincog-fn's CPU kernels. No Node-only import: the same
 * code runs in Node and in the bench page.
 *
 * @module
 */
import type { AnyLayer, Ctx, ScanRead, Shape, Tensor } from '../src/index.js'
import {
  cpu,
  customLinear,
  customLinearParams,
  flatData,
  ifNeuron,
  key,
  liPool,
  orThrow,
  scan,
  scanOnDevice,
  sequential,
  votingLayer,
  wrap,
} from '../src/index.js'
import type { GpuDevice } from '../src/gpu/index.js'
import { type TimingPlan, mismatchFraction, timedDevice, timeIt, uniformData } from './harness.js'

/** A scanned network with its inputs. */
interface ScanWorkload {
  readonly id: string
  readonly what: string
  /** The step network (scanned by the row). */
  readonly net: AnyLayer
  readonly params: unknown
  readonly state: unknown
  /** Time-major input `[T, ...]`. */
  readonly input: Tensor
  readonly read: ScanRead
  /** Whether the resident scan reads the final state back (`scanOnDevice`'s `state` option). */
  readonly finalState: 'read' | 'reset'
  /** Fraction of output elements allowed to differ (spikes at a threshold flip under float32 sums). */
  readonly allowFlips: number
}

/** One resident-scan row; times in ms. */
export type ScanRow = {
  readonly id: string
  readonly what: string
} & (
  | {
      /** Median of the scan on the CPU reference kernels. */
      readonly cpuMs: number
      /** First call and median with the GPU device in the context (upload and readback every layer call). */
      readonly perCallFirstMs: number
      readonly perCallMs: number
      /** First call and median with the tensors resident on the GPU. */
      readonly residentFirstMs: number
      readonly residentMs: number
      /** Fraction of output elements off the CPU reference, per call / resident. */
      readonly mismatch: readonly [number, number]
      /**
       * One resident scan, by buffer operation and kernel: calls and the JavaScript time spent
       * in them (a GL device queues its work, so a kernel's time is gpu.js's and the driver's
       * overhead, and the GPU's own time shows up in the `read` that waits for it).
       */
      readonly breakdown: readonly MethodTime[]
    }
  | { readonly skipped: string }
)

const linearIfVote = (quick: boolean): ScanWorkload => {
  const [T, batch, inF, outF, voters] = quick ? [3, 2, 16, 20, 10] : [32, 64, 784, 1000, 10]
  const net = sequential(
    customLinear({ inFeatures: inF, outFeatures: outF }),
    ifNeuron({}),
    votingLayer({ voterNum: voters }),
  )
  const init = orThrow(net.init(key(0), [batch, inF]))
  const weight = orThrow(customLinearParams({ weight: wrap(uniformData(inF * outF, 15, -0.1, 0.1), [inF, outF]) }))
  return {
    id: 'S1',
    what: `scan T=${T}: CustomLinear ${inF}->${outF}, IFNeuron, VotingLayer ${voters}; batch ${batch} (W8), read all`,
    net,
    params: [weight, init.params[1], init.params[2]],
    state: init.state,
    input: wrap(uniformData(T * batch * inF, 14, 0, 1), [T, batch, inF]),
    read: 'all',
    finalState: 'read',
    allowFlips: 1e-2,
  }
}

const poolIf = (quick: boolean, state: 'read' | 'reset'): ScanWorkload => {
  const [T, n, c, h, w] = quick ? [3, 2, 4, 8, 8] : [16, 16, 64, 32, 32]
  const net = sequential(liPool({ child: { op: 'maxPool2d', kernelSize: 2 } }), ifNeuron({ threshold: 0.5 }))
  const shape: Shape = [n, c, h, w]
  const init = orThrow(net.init(key(0), shape))
  const size = n * c * h * w
  const spikes = uniformData(T * size, 16, 0, 1).map((u) => (u < 0.3 ? 1 : 0))
  return {
    id: state === 'read' ? 'S2' : 'S3',
    what:
      `scan T=${T}: LIPool max 2x2, IFNeuron [${shape.join(', ')}], read sum (spike counts)` +
      (state === 'read' ? '' : ", state 'reset' (final state not read back)"),
    net,
    params: init.params,
    state: init.state,
    input: wrap(spikes, [T, ...shape]),
    read: 'sum',
    finalState: state,
    allowFlips: 1e-3,
  }
}

/** Time spent in one buffer operation or kernel of the device during a scan. */
export interface MethodTime {
  readonly method: string
  readonly calls: number
  readonly ms: number
}

/** The resident-scan workloads, at full or (quick) tiny sizes. */
export const scanWorkloads = (quick: boolean): readonly ScanWorkload[] => [
  linearIfVote(quick),
  poolIf(quick, 'read'),
  poolIf(quick, 'reset'),
]

/** The output `read` asks for, computed from a plain scan's per-step outputs. */
const readOf = (all: Tensor, read: ScanRead): Float32Array => {
  const data = Float32Array.from(flatData(all))
  const T = all.shape[0]
  const step = T === 0 ? 0 : data.length / T
  if (read === 'all') return data
  if (read === 'last') return data.slice((T - 1) * step)
  const sum = new Float32Array(step)
  for (let t = 0; t < T; t++) for (let i = 0; i < step; i++) sum[i] += data[t * step + i]
  return sum
}

/**
 * Runs the scan workloads on `makeDevice()` (a fresh GPU device per workload, so first calls
 * pay their compilation): per-call, then resident tensors.
 */
export const runScanRows = async (
  quick: boolean,
  plan: TimingPlan,
  makeDevice: () => Promise<GpuDevice>,
  only?: readonly string[],
): Promise<ScanRow[]> => {
  const rows: ScanRow[] = []
  for (const w of scanWorkloads(quick)) {
    if (only && !only.includes(w.id)) continue
    const ctx = (backend: Ctx['backend']): Ctx => ({ training: false, backend })
    const plain = scan(w.net)
    const reference = readOf(orThrow(plain.apply(w.params, w.state, w.input, ctx(cpu))).output, w.read)
    const cpuMs = timeIt(() => plain.apply(w.params, w.state, w.input, ctx(cpu)), plan)
    let perCall: GpuDevice | undefined
    let resident: GpuDevice | undefined
    try {
      perCall = await makeDevice()
      const gpuCtx = ctx(perCall)
      const runPerCall = (): Tensor => orThrow(plain.apply(w.params, w.state, w.input, gpuCtx)).output
      let t0 = performance.now()
      const perCallOut = readOf(runPerCall(), w.read)
      const perCallFirstMs = performance.now() - t0
      const perCallMs = timeIt(runPerCall, plan)

      resident = await makeDevice()
      const onDevice = scanOnDevice(w.net, resident, { read: w.read, state: w.finalState })
      const residentCtx = ctx(resident)
      const runResident = (): Tensor => orThrow(onDevice.apply(w.params, w.state, w.input, residentCtx)).output
      t0 = performance.now()
      const residentOut = Float32Array.from(flatData(runResident()))
      const residentFirstMs = performance.now() - t0
      const residentMs = timeIt(runResident, plan)

      const times = new Map<string, { calls: number; ms: number }>()
      const timed = scanOnDevice(w.net, timedDevice(resident, times), { read: w.read, state: w.finalState })
      orThrow(timed.apply(w.params, w.state, w.input, residentCtx))
      const breakdown = [...times]
        .map(([method, t]) => ({ method, calls: t.calls, ms: t.ms }))
        .sort((a, b) => b.ms - a.ms)

      const mismatch = [mismatchFraction(perCallOut, reference), mismatchFraction(residentOut, reference)] as const
      const worst = Math.max(...mismatch)
      rows.push(
        worst > w.allowFlips
          ? { id: w.id, what: w.what, skipped: `output differs from cpu (${(worst * 100).toFixed(3)}%)` }
          : {
              id: w.id,
              what: w.what,
              cpuMs,
              perCallFirstMs,
              perCallMs,
              residentFirstMs,
              residentMs,
              mismatch,
              breakdown,
            },
      )
    } catch (e) {
      rows.push({ id: w.id, what: w.what, skipped: e instanceof Error ? e.message : String(e) })
    } finally {
      perCall?.destroy()
      resident?.destroy()
    }
  }
  return rows
}

/** The rows as a table: CPU, per-call GPU and resident GPU medians, and the resident speed-ups. */
export const formatScanRows = (rows: readonly ScanRow[]): string => {
  const header = ['id', 'cpu', 'per-call first', 'per-call', 'resident first', 'resident', 'per-call/resident', 'cpu/resident', 'workload']
  const lines = rows.map((r) =>
    'skipped' in r
      ? [r.id, 'skip', '-', '-', '-', '-', '-', '-', r.what]
      : [
          r.id,
          r.cpuMs.toFixed(2),
          r.perCallFirstMs.toFixed(1),
          r.perCallMs.toFixed(2),
          r.residentFirstMs.toFixed(1),
          r.residentMs.toFixed(2),
          (r.perCallMs / r.residentMs).toFixed(2),
          (r.cpuMs / r.residentMs).toFixed(2),
          r.what,
        ],
  )
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)))
  const fmt = (l: readonly string[]) => l.map((s, i) => (i === l.length - 1 ? s : s.padStart(widths[i]))).join('  ')
  const out = ['Resident scans (ms per scan; per-call = upload and readback every layer call)', fmt(header), ...lines.map(fmt)]
  for (const r of rows) {
    if ('skipped' in r) out.push(`  ${r.id}: ${r.skipped}`)
    else {
      const parts = r.breakdown.map((t) => `${t.method} ${t.ms.toFixed(1)} ms/${t.calls}`)
      out.push(`  ${r.id} one resident scan by device operation and kernel (ms/calls): ${parts.join(', ')}`)
    }
  }
  return out.join('\n')
}

/** The cost of one device kernel call in a chain of them, read once at the end; times in ms. */
export type CallRow = { readonly id: string; readonly what: string } & (
  | {
      /** Values per buffer. */
      readonly length: number
      /** Kernel calls chained per run. */
      readonly calls: number
      /** Median of one run (the chain and its final read) divided by `calls`. */
      readonly msPerCall: number
    }
  | { readonly skipped: string }
)

/**
 * `calls` chained `device.axpy` on buffers of `length` values, each consuming the last one's
 * output, then one read: what one resident kernel call costs on the device when the data is
 * tiny (`C1`: fixed per-call cost) and when it is a large feature map (`C2`).
 */
export const runCallRows = async (
  quick: boolean,
  plan: TimingPlan,
  makeDevice: () => Promise<GpuDevice>,
  only?: readonly string[],
): Promise<CallRow[]> => {
  const cases = [
    { id: 'C1', length: 1024 },
    { id: 'C2', length: quick ? 4096 : 16 * 64 * 32 * 32 },
  ]
  const calls = quick ? 4 : 64
  const rows: CallRow[] = []
  for (const c of cases) {
    if (only && !only.includes(c.id)) continue
    const what = `${calls} chained device.axpy on ${c.length} values, one read`
    let device: GpuDevice | undefined
    try {
      device = await makeDevice()
      const d = device
      const x = d.upload(uniformData(c.length, 17, 0, 1))
      const chain = (): unknown => {
        let acc = d.axpy(x, x, { alpha: 1 })
        for (let i = 1; i < calls; i++) {
          const next = d.axpy(acc, x, { alpha: 1 })
          d.free(acc)
          acc = next
        }
        const values = d.read(acc)
        d.free(acc)
        return values
      }
      const msPerCall = timeIt(chain, plan) / calls
      d.free(x)
      rows.push({ id: c.id, what, length: c.length, calls, msPerCall })
    } catch (e) {
      rows.push({ id: c.id, what, skipped: e instanceof Error ? e.message : String(e) })
    } finally {
      device?.destroy()
    }
  }
  return rows
}

/** The call rows as lines. */
export const formatCallRows = (rows: readonly CallRow[]): string =>
  [
    'Resident kernel calls (ms per call, the final read shared out)',
    ...rows.map((r) => ('skipped' in r ? `  ${r.id}: skipped: ${r.skipped}` : `  ${r.id}: ${r.msPerCall.toFixed(3)} ms per call: ${r.what}`)),
  ].join('\n')
