/**
 * braincog-fn: BrainCog's spiking-network connection layers as pure functions over typed
 * `ndarray` tensors.
 *
 * @module
 */
export * from './errors.js'
export * from './tensor/tensor.js'
export * from './random/key.js'
export * from './layer/layer.js'
export * from './layer/context.js'
export * from './layer/sequential.js'
export * from './layer/scan.js'
export * from './encoding/poisson.js'
export type { Backend, PoolMode, PoolWindow, Stats } from './backend/backend.js'
export { pooledSize } from './backend/backend.js'
export { cpu } from './backend/cpu/index.js'
export { bestBackend, loadWasmBackend, wasmBackend } from './backend/wasm/index.js'
export * from './ops/pool.js'
export * from './layers/ifNeuron.js'
export * from './layers/customLinear.js'
export * from './layers/votingLayer.js'
export * from './layers/wtaLayer.js'
export * from './layers/nDropout.js'
export * from './layers/layerNorm.js'
export * from './layers/thresholdDependentBatchNorm2d.js'
export * from './layers/tebn.js'
export * from './layers/liPool.js'
export * from './layers/sMaxPool.js'
export type { Device, DeviceProgram, Lowering } from './device/device.js'
export { hostDevice } from './device/host.js'
export { chainPrograms, hostProgram, programFor } from './device/program.js'
export * from './device/scanOnDevice.js'
