/**
 * The CPU backend: readable JavaScript reference kernels. Every other backend is tested
 * against these.
 *
 * @module
 */
import type { Backend } from '../backend.js'
import { axpy, fire, mul } from './elementwise.js'
import { matmul } from './matmul.js'
import { channelAffine, momentsAlongAxis, momentsPerChannel, normalizeAlongAxis } from './moments.js'
import { pool2d, upsampleNearest } from './pool.js'
import { liPoolStep } from './liPool.js'
import { maxPool2dBy } from './poolBy.js'
import { uniformFill } from './random.js'
import { groupMean, keepMaxAlongAxis, kthLargestAlongAxis } from './select.js'

/** The JavaScript reference backend, the default everywhere. */
export const cpu: Backend = {
  name: 'cpu',
  matmul,
  momentsAlongAxis,
  momentsPerChannel,
  normalizeAlongAxis,
  channelAffine,
  pool2d,
  maxPool2dBy,
  upsampleNearest,
  kthLargestAlongAxis,
  keepMaxAlongAxis,
  liPoolStep,
  uniformFill,
  groupMean,
  mul,
  axpy,
  fire,
}
