/**
 * TEBN fixtures: config {numFeatures, step}, params {weight, bias, p [step]}, state as batch
 * norm; input time-major [(T*B), C, H, W] (BrainCog) or [T, B, C, H, W] (SpikingJelly).
 */
import type { TEBNParams, TEBNState } from '../../../src/index.js'
import { tebn } from '../../../src/index.js'
import type { Adapter } from './adapter.js'
import { batchNormParams, batchNormState, batchNormStateView } from './batchNormShared.js'

export const adapter: Adapter = {
  configKeys: ['numFeatures', 'step', 'eps', 'momentum'],
  // Only BrainCog's effective arguments: its TEBN ignores eps/momentum (BatchNorm3d defaults).
  build: (config) => tebn({ numFeatures: config.numFeatures as number, step: config.step as number }),
  params: (fixture, initial) => batchNormParams(fixture, initial as TEBNParams),
  state: (fixture, initial) => batchNormState(fixture, initial as TEBNState),
  stateView: (state) => batchNormStateView(state as TEBNState),
}
