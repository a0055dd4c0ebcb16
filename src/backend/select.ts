import type { Ctx } from '../layer/context.js'
import type { Backend } from './backend.js'
import { bestBackend } from './wasm/index.js'

/**
 * The backend a call runs on: the one in `ctx`, else the best available (the WebAssembly SIMD
 * kernels where built and supported, else the CPU reference; `BRAINCOG_BACKEND` overrides).
 */
export const backendOf = (ctx: Ctx): Backend => ctx.backend ?? bestBackend()
