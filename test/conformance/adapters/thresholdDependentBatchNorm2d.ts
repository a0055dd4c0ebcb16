/**
 * ThresholdDependentBatchNorm2d fixtures: config {numFeatures, alpha, threshold, timeAware?},
 * params {weight, bias}, state {runningMean, runningVar, numBatchesTracked}.
 */
import type { ThresholdDependentBatchNorm2dParams, ThresholdDependentBatchNorm2dState } from '../../../src/index.js'
import { thresholdDependentBatchNorm2d } from '../../../src/index.js'
import type { Adapter } from './adapter.js'
import { batchNormParams, batchNormState, batchNormStateView } from './batchNormShared.js'

export const adapter: Adapter = {
  configKeys: ['numFeatures', 'alpha', 'threshold', 'eps', 'momentum', 'timeAware'],
  // Only BrainCog's own constructor arguments: BrainCog drops eps/momentum, so a case recorded
  // with them used the defaults, and so must we.
  build: (config) =>
    thresholdDependentBatchNorm2d({
      numFeatures: config.numFeatures as number,
      alpha: config.alpha as number,
      ...(config.threshold === undefined ? {} : { threshold: config.threshold as number }),
      // SpikingJelly's multi-step tdBN on [T, N, C, H, W] (the layer checks it is a boolean)
      ...(config.timeAware === undefined ? {} : { timeAware: config.timeAware as boolean }),
    }),
  params: (fixture, initial) => batchNormParams(fixture, initial as ThresholdDependentBatchNorm2dParams),
  state: (fixture, initial) => batchNormState(fixture, initial as ThresholdDependentBatchNorm2dState),
  stateView: (state) => batchNormStateView(state as ThresholdDependentBatchNorm2dState),
}
