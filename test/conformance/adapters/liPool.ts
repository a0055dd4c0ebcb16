/**
 * LIPool fixtures: config {child}, no params, state the accumulated sum (zeros initially).
 * BrainCog runs any child whose stride-2 output upsamples back to the input, overlapping or not,
 * so the adapter asks for that BrainCog behaviour.
 */
import type { PoolSpec } from '../../../src/index.js'
import { liPool } from '../../../src/index.js'
import type { Adapter } from './adapter.js'
import { sumState, sumStateView } from './poolShared.js'

export const adapter: Adapter = {
  configKeys: ['child'],
  build: (config) => liPool({ child: config.child as PoolSpec, allowOverlap: true }),
  params: (_fixture, initial) => initial,
  state: sumState,
  stateView: sumStateView,
}
