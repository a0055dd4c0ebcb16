/**
 * SGD, Adam and AdamW fixtures (`torch.optim`): the config is the optimizer's arguments in
 * camelCase, passed on as they are, so a value our optimizers reject fails the case.
 */
import type { AdamConfig, SgdConfig } from '../../../src/index.js'
import { adam, adamW, sgd } from '../../../src/index.js'
import type { OptimizerAdapter } from './adapter.js'

export const sgdAdapter: OptimizerAdapter = {
  configKeys: ['lr', 'momentum', 'dampening', 'weightDecay', 'nesterov'],
  build: (config) => sgd(config as unknown as SgdConfig),
}

const adamKeys = ['lr', 'betas', 'eps', 'weightDecay', 'amsgrad']

export const adamAdapter: OptimizerAdapter = {
  configKeys: adamKeys,
  build: (config) => adam(config as AdamConfig),
}

export const adamWAdapter: OptimizerAdapter = {
  configKeys: adamKeys,
  build: (config) => adamW(config as AdamConfig),
}
