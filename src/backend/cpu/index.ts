/**
 * The CPU backend: readable JavaScript reference kernels, destination-first. Every other
 * backend is tested against these.
 *
 * @module
 */
import type { Device } from '../../kernel/device.js'
import { type HostKernels, hostDevice } from '../../kernel/host.js'
import type { Data } from '../../tensor/tensor.js'
import { conv2d, conv2dGradInput, conv2dGradWeight } from './conv.js'
import { adam } from './optim.js'
import { axpy, concat, fill, mul, neuron, neuronGrad, relu, reluGrad, scale, slice, split } from './elementwise.js'
import { broadcastAlongAxis, matmul, sumAlongAxis } from './linalg.js'
import { crossEntropy, crossEntropyGrad } from './loss.js'
import {
  channelAffine,
  channelAffineGrad,
  channelScaleShift,
  channelScaleShiftGrad,
  momentsAlongAxis,
  momentsAlongAxisGrad,
  momentsPerChannel,
  momentsPerChannelGrad,
  normalizeAlongAxis,
  normalizeAlongAxisGrad,
  runningStats,
} from './moments.js'
import { liPoolStep, maxPool2dBy, maxPool2dByGrad, pool2d, pool2dGrad, upsampleNearest, upsampleNearestGrad } from './pool.js'
import { bernoulliMask, uniform } from './random.js'
import { groupMean, groupMeanGrad, winnerTakeAll, winnerTakeAllGrad } from './select.js'

/** The reference kernels, destination-first: what `cpu` runs and what other backends fall back to by name. */
export const cpuKernels: HostKernels = {
  matmul,
  sumAlongAxis,
  momentsAlongAxis,
  momentsPerChannel,
  normalizeAlongAxis,
  channelScaleShift,
  channelAffine,
  runningStats,
  pool2d,
  maxPool2dBy,
  upsampleNearest,
  liPoolStep,
  winnerTakeAll,
  groupMean,
  mul,
  axpy,
  scale,
  neuron,
  uniform,
  bernoulliMask,
  fill,
  concat,
  slice,
  broadcastAlongAxis,
  momentsAlongAxisGrad,
  momentsPerChannelGrad,
  normalizeAlongAxisGrad,
  channelScaleShiftGrad,
  channelAffineGrad,
  pool2dGrad,
  maxPool2dByGrad,
  upsampleNearestGrad,
  winnerTakeAllGrad,
  groupMeanGrad,
  neuronGrad,
  conv2d,
  conv2dGradInput,
  conv2dGradWeight,
  crossEntropy,
  crossEntropyGrad,
  relu,
  reluGrad,
  split,
  adam,
}

/** The JavaScript reference device: host typed arrays, the readable kernels. */
export const cpu: Device<Data> = hostDevice('cpu', cpuKernels)
