/**
 * Every kernel's gradient rule, or why it has none. One entry per kernel: a new kernel is a
 * compile error here until it says how it differentiates.
 *
 * @module
 */
import type { KernelName } from '../../kernel/kernels.js'
import type { GradRule, NoGradient } from '../rule.js'
import { axpyGrad, mulGrad, neuronGrad, reluGrad, scaleGrad } from './elementwise.js'
import { conv2dGrad } from './conv.js'
import { concatGrad, sliceGrad, splitGrad } from './layout.js'
import { crossEntropyGrad } from './loss.js'
import { matmulGrad } from './matmul.js'
import { channelAffineGrad, channelScaleShiftGrad, normalizeAlongAxisGrad } from './normalize.js'
import { liPoolStepGrad, maxPool2dByGrad, pool2dGrad, upsampleNearestGrad } from './pool.js'
import {
  broadcastAlongAxisGrad,
  groupMeanGrad,
  momentsAlongAxisGrad,
  momentsPerChannelGrad,
  sumAlongAxisGrad,
} from './reductions.js'
import { winnerTakeAllGrad } from './select.js'

const backward: NoGradient = { noGradient: 'a backward kernel (no second derivatives)' }
const random: NoGradient = { noGradient: 'random draws are constants' }

/** The rules. */
export const gradRules: { readonly [K in KernelName]: GradRule<K> | NoGradient } = {
  matmul: matmulGrad,
  sumAlongAxis: sumAlongAxisGrad,
  momentsAlongAxis: momentsAlongAxisGrad,
  momentsPerChannel: momentsPerChannelGrad,
  normalizeAlongAxis: normalizeAlongAxisGrad,
  channelScaleShift: channelScaleShiftGrad,
  channelAffine: channelAffineGrad,
  runningStats: { noGradient: "running statistics are buffers, not learned (PyTorch's too)" },
  pool2d: pool2dGrad,
  maxPool2dBy: maxPool2dByGrad,
  upsampleNearest: upsampleNearestGrad,
  liPoolStep: liPoolStepGrad,
  winnerTakeAll: winnerTakeAllGrad,
  groupMean: groupMeanGrad,
  mul: mulGrad,
  axpy: axpyGrad,
  scale: scaleGrad,
  neuron: neuronGrad,
  uniform: random,
  bernoulliMask: random,
  fill: { noGradient: 'a constant' },
  adam: { noGradient: 'an optimizer step, outside the model' },
  concat: concatGrad,
  slice: sliceGrad,
  broadcastAlongAxis: broadcastAlongAxisGrad,
  momentsAlongAxisGrad: backward,
  momentsPerChannelGrad: backward,
  normalizeAlongAxisGrad: backward,
  channelScaleShiftGrad: backward,
  channelAffineGrad: backward,
  pool2dGrad: backward,
  maxPool2dByGrad: backward,
  upsampleNearestGrad: backward,
  winnerTakeAllGrad: backward,
  groupMeanGrad: backward,
  neuronGrad: backward,
  conv2d: conv2dGrad,
  conv2dGradInput: backward,
  conv2dGradWeight: backward,
  crossEntropy: crossEntropyGrad,
  crossEntropyGrad: backward,
  relu: reluGrad,
  reluGrad: backward,
  split: splitGrad,
}
