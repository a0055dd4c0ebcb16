// placeholder: replaced by the layer's descriptors
import type { LayerDescriptor } from './descriptor.js'

export const descriptors: readonly LayerDescriptor[] = []
