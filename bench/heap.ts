/**
 * W8's memory behaviour over a long run: the network stepped one time step at a time (what a
 * scan does), the heap sampled after a forced GC every `every` steps. A flat line means
 * nothing accumulates; the allocation per step is compared with what the step must allocate
 * (its outputs and new state).
 *
 * @module
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import {
  type Backend,
  customLinear,
  customLinearParams,
  ifNeuron,
  key,
  orThrow,
  sequential,
  type Tensor,
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

export interface HeapReport {
  readonly steps: number
  /** heapUsed + arrayBuffers after GC, MiB, at each sample. */
  readonly retainedMiB: readonly number[]
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

export const heapOverLongScan = (
  backend: Backend,
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
  gc()
  retained.push(mib())
  for (let t = 1; t <= steps; t++) {
    state = orThrow(net.apply(params, state, x, ctx)).state
    if (t % every === 0) {
      gc()
      retained.push(mib())
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
    retainedMiB: retained,
    allocatedPerStepKiB: deltas[deltas.length >> 1] / 1024,
    outputsAndStateKiB: needed / 1024,
  }
}
