/**
 * CustomLinear fixtures give BrainCog's constructor arguments as params (`weight` [in, out],
 * optional `mask`) and an empty config: the layer's sizes come from the weight.
 */
import type { CustomLinearLayer, CustomLinearParams, Tensor } from '../../../src/index.js'
import { customLinear, customLinearParams, layerError, orThrow } from '../../../src/index.js'
import type { Adapter } from './adapter.js'

export const adapter: Adapter = {
  // the sizes come from the weight
  configKeys: [],
  build: (_config, _dtype, params) => {
    const weight = params.weight
    if (weight === undefined || weight.shape.length !== 2) {
      throw new Error(layerError('CustomLinear', 'params.weight', 'a weight [in, out]', String(weight?.shape)).message)
    }
    const [inFeatures, outFeatures] = weight.shape
    return customLinear({ inFeatures, outFeatures })
  },
  params: (fixture) => orThrow(customLinearParams({ weight: fixture.weight, mask: fixture.mask ?? null })),
  state: (_fixture, initial) => initial,
  paramsView: (params): Readonly<Record<string, Tensor>> => {
    const { weight, mask } = params as CustomLinearParams
    return mask === null ? { weight } : { weight, mask }
  },
  update: (layer, params, dw) => (layer as CustomLinearLayer).update(params as CustomLinearParams, dw),
}
