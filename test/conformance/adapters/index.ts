/**
 * Fixture layer name (BrainCog's class) -> adapter: the layers whose cases the runner checks,
 * and, apart, the optimizers (`torch.optim`'s class names). A fixture whose layer is missing
 * from both fails, unless `../pending.ts` lists it as not supported yet (then it is skipped);
 * an adapter registered here takes precedence over that list.
 */
import type { Adapter, OptimizerAdapter } from './adapter.js'
import { adapter as customLinear } from './customLinear.js'
import { adapter as layerNorm } from './layerNorm.js'
import { adapter as liPool } from './liPool.js'
import { adapter as nDropout } from './nDropout.js'
import { ifNodeAdapter, lifNodeAdapter } from './node.js'
import {
  avgPoolAdapter,
  conv2dAdapter,
  crossEntropyAdapter,
  flattenAdapter,
  maxPoolAdapter,
  meanOverTimeAdapter,
  mseAdapter,
} from './torchNn.js'
import { adamAdapter, adamWAdapter, sgdAdapter } from './optimizers.js'
import { adapter as sMaxPool } from './sMaxPool.js'
import { adapter as tebn } from './tebn.js'
import { adapter as thresholdDependentBatchNorm2d } from './thresholdDependentBatchNorm2d.js'
import { adapter as votingLayer } from './votingLayer.js'
import { adapter as wtaLayer } from './wtaLayer.js'

const entries: readonly (readonly [string, Adapter | undefined])[] = [
  ['CustomLinear', customLinear],
  ['VotingLayer', votingLayer],
  ['WTALayer', wtaLayer],
  ['NDropout', nDropout],
  ['LayerNorm', layerNorm],
  ['ThresholdDependentBatchNorm2d', thresholdDependentBatchNorm2d],
  ['TEBN', tebn],
  ['LIPool', liPool],
  ['SMaxPool', sMaxPool],
  ['IFNode', ifNodeAdapter],
  ['LIFNode', lifNodeAdapter],
  ['Conv2d', conv2dAdapter],
  ['MaxPool2d', maxPoolAdapter],
  ['AvgPool2d', avgPoolAdapter],
  ['Flatten', flattenAdapter],
  ['MeanOverTime', meanOverTimeAdapter],
  ['CrossEntropyLoss', crossEntropyAdapter],
  ['MSELoss', mseAdapter],
]

export const adapters: Readonly<Record<string, Adapter>> = Object.fromEntries(
  entries.filter((e): e is readonly [string, Adapter] => e[1] !== undefined),
)

/** Fixture layer name (`torch.optim`'s class) -> optimizer adapter: the optimizers whose cases the runner checks. */
export const optimizerAdapters: Readonly<Record<string, OptimizerAdapter>> = {
  SGD: sgdAdapter,
  Adam: adamAdapter,
  AdamW: adamWAdapter,
}
