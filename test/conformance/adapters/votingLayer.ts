// placeholder: replaced by the layer's adapter
import type { Adapter } from './adapter.js'

export const adapter: Adapter | undefined = undefined
