import type { LayerNormConfig, LayerNormParams } from '../../../src/index.js'
import { layerNorm } from '../../../src/index.js'
import type { Adapter } from './adapter.js'

export const adapter: Adapter = {
  configKeys: ['normalizedShape', 'eps', 'dataFormat'],
  build: (config) => layerNorm(config as unknown as LayerNormConfig),
  params: (fixture, initial) => ({ ...(initial as LayerNormParams), ...fixture }),
  state: (_fixture, initial) => initial,
}
