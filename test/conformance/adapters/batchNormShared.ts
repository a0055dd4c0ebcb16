/** Fixture <-> layer mapping shared by the two batch-norm adapters (tdBN and TEBN). */
import type { BatchNormState, Tensor } from '../../../src/index.js'
import { reshape } from '../../../src/index.js'
import type { Values } from './adapter.js'

/**
 * The fixture's params laid over the initial ones, by name. Per-channel and per-step vectors
 * recorded in BrainCog's broadcast layout (TEBN's `p` is [step, 1, 1, 1, 1]) become flat.
 */
export const batchNormParams = <P extends object>(fixture: Readonly<Record<string, Tensor>>, initial: P): P => ({
  ...initial,
  ...Object.fromEntries(Object.entries(fixture).map(([k, t]) => [k, t.shape.length > 1 ? reshape(t, [t.size]) : t])),
})

/** The fixture's running statistics laid over the initial ones. */
export const batchNormState = (fixture: Values | undefined, initial: BatchNormState): BatchNormState => {
  if (fixture === undefined) return initial
  const tensorOr = (name: string, fallback: Tensor): Tensor => {
    const v = fixture[name]
    return v === undefined ? fallback : typeof v === 'number' ? (fail(name) as never) : v
  }
  const n = fixture.numBatchesTracked
  return {
    runningMean: tensorOr('runningMean', initial.runningMean),
    runningVar: tensorOr('runningVar', initial.runningVar),
    // a count, or PyTorch's 0-d buffer written as a one-element tensor
    numBatchesTracked:
      n === undefined ? initial.numBatchesTracked : typeof n === 'number' ? n : n.size === 1 ? n.data[n.offset] : fail('numBatchesTracked'),
  }
}

const fail = (name: string): never => {
  throw new Error(`state.${name}: unexpected kind of value`)
}

/** Our state under the fixture's names; `numBatchesTracked` compares as a number. */
export const batchNormStateView = (state: BatchNormState): Values => ({
  runningMean: state.runningMean,
  runningVar: state.runningVar,
  numBatchesTracked: state.numBatchesTracked,
})
