import type { Ctx } from '../layer/context.js'
import type { Backend } from './backend.js'
import { cpu } from './cpu/index.js'

/** The backend a call runs on: the one in `ctx`, else the CPU reference. */
export const backendOf = (ctx: Ctx): Backend => ctx.backend ?? cpu
