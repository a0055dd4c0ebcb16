/**
 * W8's memory behaviour over a long run: the network stepped one time step at a time (what a
 * scan does), the heap sampled after a forced GC every `every` steps. A flat line means
 * nothing accumulates; the allocation per step is compared with what the step must allocate
 * (its outputs and new state). On the resident device the WebAssembly memory is sampled too
 * (its size, and the bytes in live blocks), and so is a training loop's (lossAndGrad + adam, and
 * a trainer).
 *
 * @module
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import {
  adam,
  crossEntropyLoss,
  customLinear,
  customLinearParams,
  type Device,
  ifNeuron,
  key,
  lifNode,
  lossAndGrad,
  meanOverTime,
  orThrow,
  type ResidentDevice,
  scan,
  sequential,
  type Tensor,
  tensor,
  train,
  trainer,
  votingLayer,
  wrap,
} from '../src/index.js'
import { uniformData } from './harness.js'

/** Network sizes, number of steps, and how often the heap is sampled. */
export interface HeapRun {
  readonly batch: number
  readonly inF: number
  readonly outF: number
  readonly voters: number
  readonly steps: number
  readonly every: number
}

/** The WebAssembly memory at each sample, on the resident device. */
export interface WasmMemorySamples {
  /** The memory's size, MiB. */
  readonly memoryMiB: readonly number[]
  /** Bytes in live heap blocks, MiB (between calls: what the caller holds, plus the copy backend's scratch). */
  readonly liveMiB: readonly number[]
}

export interface HeapReport {
  readonly steps: number
  /** The device's name. */
  readonly device: string
  /** heapUsed + arrayBuffers after GC, MiB, at each sample. */
  readonly retainedMiB: readonly number[]
  /** On the resident device: its WebAssembly memory at each sample. */
  readonly wasm?: WasmMemorySamples
  /** Array-buffer growth of one step, KiB (median over 15 steps, so a GC during one does not count). */
  readonly allocatedPerStepKiB: number
  /** The step's outputs and new state, KiB. */
  readonly outputsAndStateKiB: number
}

/** A full GC; run twice, as array buffers freed by the first are released by the second. */
const collector = (): (() => void) => {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  return () => {
    gc()
    gc()
  }
}

const mib = (): number => {
  const m = process.memoryUsage()
  return (m.heapUsed + m.arrayBuffers) / 2 ** 20
}

/** Samples of the resident device's memory, or nothing on other devices. */
const wasmSampler = (backend: Device<unknown>) => {
  const stats = (backend as Partial<ResidentDevice>).heapStats
  const memoryMiB: number[] = []
  const liveMiB: number[] = []
  return {
    sample: (): void => {
      if (stats === undefined) return
      const s = stats()
      memoryMiB.push(s.memoryBytes / 2 ** 20)
      liveMiB.push(s.liveBytes / 2 ** 20)
    },
    report: (): { readonly wasm?: WasmMemorySamples } => (stats === undefined ? {} : { wasm: { memoryMiB, liveMiB } }),
  }
}

export const heapOverLongScan = (
  backend: Device<unknown>,
  { batch, inF, outF, voters, steps, every }: HeapRun,
): HeapReport => {
  const gc = collector()
  const net = sequential(
    customLinear({ inFeatures: inF, outFeatures: outF }),
    ifNeuron({}),
    votingLayer({ voterNum: voters }),
  )
  const init = orThrow(net.init(key(0), [batch, inF]))
  const weight = wrap(uniformData(inF * outF, 15, -0.1, 0.1), [inF, outF])
  const params = [orThrow(customLinearParams({ weight })), init.params[1], init.params[2]] as const
  const x = wrap(uniformData(batch * inF, 14, 0, 1), [batch, inF]) as Tensor
  const ctx = { training: false, backend }
  let state = init.state
  const retained: number[] = []
  const wasm = wasmSampler(backend)
  gc()
  retained.push(mib())
  wasm.sample()
  for (let t = 1; t <= steps; t++) {
    state = orThrow(net.apply(params, state, x, ctx)).state
    if (t % every === 0) {
      gc()
      retained.push(mib())
      wasm.sample()
    }
  }
  // per-step growth of array buffers; the median ignores the steps during which a GC ran
  const deltas: number[] = []
  gc()
  for (let t = 0; t < 15; t++) {
    const before = process.memoryUsage().arrayBuffers
    state = orThrow(net.apply(params, state, x, ctx)).state
    deltas.push(process.memoryUsage().arrayBuffers - before)
  }
  deltas.sort((a, b) => a - b)
  // customLinear output, IFNeuron's spikes and potential, the vote
  const needed = (batch * outF * 3 + batch * (outF / voters)) * 4
  return {
    steps,
    device: backend.name,
    retainedMiB: retained,
    ...wasm.report(),
    allocatedPerStepKiB: deltas[deltas.length >> 1] / 1024,
    outputsAndStateKiB: needed / 1024,
  }
}

/** A small training run: sizes, steps, how often the heap is sampled. */
export interface TrainingRun {
  readonly batch: number
  readonly inF: number
  readonly hidden: number
  readonly timeSteps: number
  readonly steps: number
  readonly every: number
}

/** How a training loop steps: `lossAndGrad` then `optimizer.update`, or a `trainer`. */
export type TrainingRunner = 'lossAndGrad + adam' | 'trainer'

export interface TrainingHeapReport {
  readonly steps: number
  readonly device: string
  readonly runner: TrainingRunner
  /** heapUsed + arrayBuffers after GC, MiB, at each sample. */
  readonly retainedMiB: readonly number[]
  /** On the resident device: its WebAssembly memory at each sample. */
  readonly wasm?: WasmMemorySamples
  /** Median ms per training step. */
  readonly stepMs: number
}

/**
 * A training loop's memory: a small spiking network (CustomLinear, LIFNode, CustomLinear over
 * T steps, the mean over time, cross-entropy) trained with Adam for `steps` batches by
 * `runner`, the heap sampled after a forced GC every `every` steps.
 */
export const heapOverTraining = (
  backend: Device<unknown>,
  runner: TrainingRunner,
  { batch, inF, hidden, timeSteps, steps, every }: TrainingRun,
): TrainingHeapReport => {
  const gc = collector()
  const net = sequential(
    scan(
      sequential(
        customLinear({ inFeatures: inF, outFeatures: hidden }),
        lifNode(),
        customLinear({ inFeatures: hidden, outFeatures: 10 }),
      ),
    ),
    meanOverTime(),
  )
  const init = orThrow(net.init(key(0), [timeSteps, batch, inF]))
  const opt = adam({ lr: 1e-3 })
  const shape = [timeSteps, batch, inF]
  const inputs = [0, 1, 2, 3].map((i) => wrap(uniformData(timeSteps * batch * inF, 30 + i, 0, 1), shape) as Tensor)
  const targets = [0, 1, 2, 3].map((i) => tensor(Array.from({ length: batch }, (_, j) => (i + j) % 10), [batch]))
  let state = init.state
  /** One step on batch `t % 4`: the model's new state. */
  let stepOnce: (t: number) => typeof state
  let finish = (): void => undefined
  if (runner === 'trainer') {
    const loop = trainer(net, crossEntropyLoss(), opt)
    let training = orThrow(loop.start(init.params, { backend }))
    stepOnce = (t) => {
      const r = orThrow(loop.step(training, state, inputs[t % 4], targets[t % 4], train(key(t))))
      training = r.next
      return r.state
    }
    finish = () => loop.dispose(training)
  } else {
    const step = lossAndGrad(net, crossEntropyLoss())
    let params = init.params
    let o = opt.init(params)
    stepOnce = (t) => {
      const r = orThrow(step(params, state, inputs[t % 4], targets[t % 4], train(key(t), backend)))
      const u = orThrow(opt.update(r.grads, o, params))
      params = u.params
      o = u.state
      return r.state
    }
  }
  const retained: number[] = []
  const wasm = wasmSampler(backend)
  const times: number[] = []
  gc()
  retained.push(mib())
  wasm.sample()
  for (let t = 1; t <= steps; t++) {
    const t0 = performance.now()
    state = net.reset(stepOnce(t))
    times.push(performance.now() - t0)
    if (t % every === 0) {
      gc()
      retained.push(mib())
      wasm.sample()
    }
  }
  finish()
  times.sort((a, b) => a - b)
  const stepMs = times[times.length >> 1]
  return { steps, device: backend.name, runner, retainedMiB: retained, ...wasm.report(), stepMs }
}
