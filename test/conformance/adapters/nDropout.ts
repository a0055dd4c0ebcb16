/** NDropout: the fixture's `mask` (given on the steps that draw one) is the layer's `ctx.draws`. */
import type { NDropoutState, Tensor } from '../../../src/index.js'
import { nDropout } from '../../../src/index.js'
import type { Adapter } from './adapter.js'

export const adapter: Adapter = {
  configKeys: ['p'],
  build: (config) => nDropout({ p: config.p as number }),
  params: (_fixture, initial) => initial,
  state: (_fixture, initial) => initial,
  stateView: (state): Readonly<Record<string, Tensor>> => {
    const { mask } = state as NDropoutState
    return mask === null ? {} : { mask }
  },
  draws: (step) => step.mask,
}
