/** SMaxPool fixtures: config {child}, no params, state the accumulated sum (zeros initially). */
import type { PoolSpec } from '../../../src/index.js'
import { sMaxPool } from '../../../src/index.js'
import type { Adapter } from './adapter.js'
import { sumState, sumStateView } from './poolShared.js'

export const adapter: Adapter = {
  configKeys: ['child'],
  // BrainCog's formula (mode 'braincog', the default) is what the fixtures record
  build: (config) => sMaxPool({ child: config.child as PoolSpec }),
  params: (_fixture, initial) => initial,
  state: sumState,
  stateView: sumStateView,
}
