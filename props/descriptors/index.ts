/** Every layer's descriptors: the table the generic laws run over. */
import type { LayerDescriptor } from './descriptor.js'
import { descriptors as customLinear } from './customLinear.js'
import { descriptors as ifNeuron } from './ifNeuron.js'
import { descriptors as ifNode } from './ifNode.js'
import { descriptors as layerNorm } from './layerNorm.js'
import { descriptors as liPool } from './liPool.js'
import { descriptors as nDropout } from './nDropout.js'
import { descriptors as sMaxPool } from './sMaxPool.js'
import { descriptors as tebn } from './tebn.js'
import { descriptors as thresholdDependentBatchNorm2d } from './thresholdDependentBatchNorm2d.js'
import { descriptors as votingLayer } from './votingLayer.js'
import { descriptors as wtaLayer } from './wtaLayer.js'

export const allDescriptors: readonly LayerDescriptor[] = [
  ...ifNeuron,
  ...ifNode,
  ...customLinear,
  ...votingLayer,
  ...wtaLayer,
  ...nDropout,
  ...layerNorm,
  ...thresholdDependentBatchNorm2d,
  ...tebn,
  ...liPool,
  ...sMaxPool,
]
