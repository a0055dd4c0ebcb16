/**
 * The WebAssembly SIMD kernels of braincog-fn (AssemblyScript). Every export takes byte
 * offsets into this module's memory; the JavaScript side (src/backend/wasm) lays out the
 * arguments, copies tensors in and results out, and falls back to the JavaScript reference
 * kernels for anything not here. Built by `npm run build:wasm`; the binary is never committed.
 */
export { matmul, matmulPart, matmulScratchBytes } from './matmul'
export { axpy, mul, mulPart } from './elementwise'
export { exp64, neuron, neuronGrad, neuronGradPart, neuronPart, scale } from './neuron'
export { broadcastAlongAxis, sumAlongAxis } from './axis'
export { maxPool2dBy, maxPool2dByGrad, pool2d, pool2dGrad, pool2dGradPart, pool2dPart, upsampleNearest, upsampleNearestGrad } from './pool'
export {
  channelAffine,
  channelAffineGrad,
  momentsAlongAxis,
  momentsAlongAxisGrad,
  momentsPerChannel,
  momentsPerChannelGrad,
  normalizeAlongAxis,
  normalizeAlongAxisGrad,
} from './moments'
export { groupMean, groupMeanGrad, keepMaxAlongAxis } from './select'
export { liPoolStep } from './liPool'
export { adam } from './optim'
export { uniformFill } from './random'
export {
  conv2d,
  conv2dGradInput,
  conv2dGradInputPart,
  conv2dGradWeight,
  conv2dGradWeightPart,
  conv2dPart,
  conv2dScratchBytes,
} from './conv'
