/**
 * braincog-fn: BrainCog's spiking-network connection layers as pure functions over typed
 * `ndarray` tensors.
 *
 * @module
 */
export * from './errors.js'
export * from './tensor/tensor.js'
export * from './random/key.js'
export type * from './kernel/kernels.js'
export { convOutputSize, pooledSize } from './kernel/kernels.js'
export type { AnyBuffer, AttrsOf, KernelSpec, LastOf, OutputDtype } from './kernel/spec.js'
export { kernelSpecs } from './kernel/spec.js'
export type { BufferOps, Device, RunKernel } from './kernel/device.js'
export { DeviceTensor, deviceFrom } from './kernel/device.js'
export type { Backend, HostKernel, HostKernels } from './kernel/host.js'
export { hostDevice } from './kernel/host.js'
export { type OnDevice, onDevice } from './kernel/tree.js'
export * from './layer/layer.js'
export * from './layer/context.js'
export { expectAxisSize, expectMinRank, expectRank, expectSameShape, expectShape, expectTensor } from './layer/check.js'
export * from './layer/schema.js'
export { defineLayer, type LayerSpec } from './layer/define.js'
export { expectLayer, isLayer, type Pipeline, type PipelineParams, type PipelineState, sequential } from './layer/sequential.js'
export * from './layer/scan.js'
export * from './encoding/poisson.js'
export { cpu, cpuKernels } from './backend/cpu/index.js'
export { bestBackend, loadResidentBackend, loadWasmBackend, residentBackend, wasmBackend, type WasmOptions, wasmThreads } from './backend/wasm/index.js'
export type { HeapStats } from './backend/wasm/heap.js'
export { type ResidentDevice, WasmBuffer } from './backend/wasm/resident.js'
export * from './ops/pool.js'
export * from './layers/ifNeuron.js'
export * from './layers/ifNode.js'
export type { NeuronState } from './layers/internal/neuron.js'
export type { PoolState } from './layers/internal/accumulatingPool.js'
export * from './layers/customLinear.js'
export * from './layers/votingLayer.js'
export * from './layers/wtaLayer.js'
export * from './layers/nDropout.js'
export * from './layers/layerNorm.js'
export * from './layers/thresholdDependentBatchNorm2d.js'
export * from './layers/tebn.js'
export * from './layers/liPool.js'
export * from './layers/sMaxPool.js'
// paramsVjp and its types stay inside (lossAndGrad's)
export { type Cotangent, type Cotangents, type PullbackOptions, type ValueAndGrad, type Vjp, valueAndGrad, vjp } from './grad/vjp.js'
export { customVjp, type CustomVjpSpec } from './grad/customVjp.js'
export type { GradCall, GradRule, NoGradient } from './grad/rule.js'
export { gradRules } from './grad/rules/index.js'
export * from './layers/conv2d.js'
export * from './layers/shape.js'
export * from './layers/pool.js'
export * from './layer/timeMerged.js'
export * from './loss/loss.js'
export * from './grad/lossAndGrad.js'
export * from './layer/recording.js'
export type { Buffers, TreePath } from './optim/tree.js'
export {
  type Grads,
  type LearningRate,
  type Optimizer,
  type OptimizerState,
  type OptimizerUpdate,
  type Schedule,
  type Trainable,
  trainableExcept,
} from './optim/optimizer.js'
export { type SgdBuffers, type SgdConfig, sgd } from './optim/sgd.js'
export { type AdamBuffers, type AdamConfig, type AdamOptimizer, type AmsgradBuffer, adam, adamW } from './optim/adam.js'
export { type CosineScheduleConfig, cosineSchedule } from './optim/schedule.js'
export { type Clipped, clipByGlobalNorm } from './optim/clip.js'
export * from './train/trainer.js'
export { flattenTree, type NamedEntries, unflattenTree } from './checkpoint/tree.js'
export {
  fromSafetensors,
  MAX_HEADER_BYTES,
  type Safetensors,
  toSafetensors,
  treeFromSafetensors,
} from './checkpoint/safetensors.js'
export { loadCheckpoint, saveCheckpoint } from './checkpoint/file.js'
export { importStateDict, type ParamsAndState, type StateDictOptions } from './checkpoint/stateDict.js'
