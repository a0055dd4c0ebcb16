/**
 * torch-nn fixtures: PyTorch's building blocks (Conv2d, MaxPool2d, AvgPool2d, Flatten, the
 * mean over time, and the losses, whose forward steps carry a `target`).
 */
import type { AnyLayer, Conv2dConfig, Conv2dParams, PoolOptions, Tensor } from '../../../src/index.js'
import {
  avgPool,
  conv2d,
  crossEntropyLoss,
  flatten,
  maxPool,
  meanOverTime,
  mseLoss,
  withTarget,
} from '../../../src/index.js'
import type { Adapter } from './adapter.js'

/** A stateless layer without params. */
const plain = (configKeys: readonly string[], build: Adapter['build']): Adapter => ({
  configKeys,
  build,
  params: (_fixture, initial) => initial,
  state: (_fixture, initial) => initial,
})

/** Only PyTorch's defaults for the options braincog-fn has no other value of. */
const only = (config: Readonly<Record<string, unknown>>, key: string, value: unknown): void => {
  if (config[key] !== undefined && config[key] !== value) {
    throw new Error(`config.${key}: only ${JSON.stringify(value)} is supported, got ${JSON.stringify(config[key])}`)
  }
}

const poolOptions = (config: Readonly<Record<string, unknown>>): PoolOptions => {
  only(config, 'ceilMode', false)
  only(config, 'countIncludePad', true)
  return { kernelSize: config.kernelSize as number, stride: config.stride as number, padding: config.padding as number }
}

export const conv2dAdapter: Adapter = {
  configKeys: ['inChannels', 'outChannels', 'kernelSize', 'stride', 'padding', 'dilation', 'groups', 'bias'],
  build: (config) => conv2d(config as unknown as Conv2dConfig),
  params: (fixture, initial) => ({ ...(initial as Conv2dParams), ...fixture }),
  state: (_fixture, initial) => initial,
}

export const maxPoolAdapter = plain(['kernelSize', 'stride', 'padding', 'ceilMode'], (c) => maxPool(poolOptions(c)))
export const avgPoolAdapter = plain(['kernelSize', 'stride', 'padding', 'ceilMode', 'countIncludePad'], (c) =>
  avgPool(poolOptions(c)),
)
export const flattenAdapter = plain(['startDim', 'endDim'], (c) =>
  flatten({ startDim: c.startDim as number | undefined, endDim: c.endDim as number | undefined }),
)
export const meanOverTimeAdapter = plain([], () => meanOverTime())

/** A loss: the layer is rebuilt for each forward step around that step's target. */
const lossAdapter = (configKeys: readonly string[], build: (c: Readonly<Record<string, unknown>>) => ReturnType<typeof mseLoss>): Adapter => {
  let config: Readonly<Record<string, unknown>> = {}
  return {
    configKeys,
    build: (c) => {
      config = c
      // the layer for steps without a target (none in these sets): the loss against nothing fails
      return withTarget(build(c), undefined as unknown as Tensor)
    },
    params: (_fixture, initial) => initial,
    state: (_fixture, initial) => initial,
    withTarget: (_layer: AnyLayer, target: Tensor) => withTarget(build(config), target),
  }
}

export const crossEntropyAdapter = lossAdapter(['labelSmoothing'], (c) =>
  crossEntropyLoss({ labelSmoothing: c.labelSmoothing as number | undefined }),
)
export const mseAdapter = lossAdapter([], () => mseLoss())
