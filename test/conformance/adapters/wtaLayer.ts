/** WTALayer: the fixture's per-step `noise` is the layer's `ctx.draws`. */
import { wtaLayer } from '../../../src/index.js'
import type { Adapter } from './adapter.js'

export const adapter: Adapter = {
  configKeys: ['k'],
  build: (config) => wtaLayer({ k: (config.k as number | undefined) ?? 1 }),
  params: (_fixture, initial) => initial,
  state: (_fixture, initial) => initial,
  draws: (step) => step.noise,
}
