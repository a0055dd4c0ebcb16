/**
 * The exports of the compiled asm/kernels.ts, by name and arity. Pointers are byte offsets into
 * the module's memory. `test/wasm/exports.test.ts` checks this table against the compiled module,
 * so the two cannot drift apart unnoticed.
 *
 * @module
 */
import type { ThreadPool } from './threads.js'

/** Each export's number of parameters. */
export const exportArity = {
  matmulScratchBytes: 3,
  matmul: 10,
  matmulPart: 14,
  mul: 4,
  mulPart: 6,
  axpy: 5,
  adam: 21,
  pool2d: 12,
  upsampleNearest: 6,
  momentsAlongAxis: 6,
  momentsPerChannel: 6,
  normalizeAlongAxis: 11,
  channelAffine: 8,
  keepMaxAlongAxis: 8,
  liPoolStep: 9,
  uniformFill: 3,
  groupMean: 5,
  conv2dScratchBytes: 15,
  conv2d: 19,
  conv2dGradInput: 18,
  conv2dGradWeight: 18,
  conv2dPart: 21,
  conv2dGradInputPart: 20,
  conv2dGradWeightPart: 22,
  sumAlongAxis: 6,
  broadcastAlongAxis: 5,
  momentsAlongAxisGrad: 8,
  momentsPerChannelGrad: 9,
  normalizeAlongAxisGrad: 15,
  channelAffineGrad: 10,
  maxPool2dBy: 12,
  pool2dGrad: 13,
  maxPool2dByGrad: 13,
  upsampleNearestGrad: 6,
  groupMeanGrad: 5,
  scale: 4,
  neuron: 11,
  neuronGrad: 14,
  neuronPart: 13,
  neuronGradPart: 17,
  pool2dPart: 15,
  pool2dGradPart: 16,
  exp64: 1,
} as const

/**
 * The instantiated module's exports, and, for kernels.threads.wasm on a shared memory, the pool
 * of threads that the compute-bound rows spread a call over (see threads.ts).
 */
export type KernelExports = { readonly [K in keyof typeof exportArity]: (...args: number[]) => number } & {
  readonly memory: WebAssembly.Memory
  readonly threads?: ThreadPool
}
