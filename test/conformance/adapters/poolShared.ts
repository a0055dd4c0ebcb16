/** Fixture <-> layer mapping shared by the LIPool and SMaxPool adapters (state: the accumulated sum). */
import type { Tensor } from '../../../src/index.js'
import type { Values } from './adapter.js'

interface SumState {
  readonly sum: Tensor | null
}

/** BrainCog calls the accumulator `sumspike`; we call it `sum`. Either name is accepted. */
export const sumState = (fixture: Values | undefined, initial: unknown): SumState => {
  const v = fixture?.sum ?? fixture?.sumspike
  if (v === undefined) return initial as SumState
  if (typeof v === 'number') throw new Error('state.sum: expected a tensor')
  return { sum: v }
}

/** Our accumulator under both names (absent before the first step). */
export const sumStateView = (state: unknown): Values => {
  const { sum } = state as SumState
  return sum === null ? {} : { sum, sumspike: sum }
}
