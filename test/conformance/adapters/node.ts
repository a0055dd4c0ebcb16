/**
 * IFNode and LIFNode fixtures: config {threshold, actFun, alpha} (LIFNode also tau), no params,
 * state {v}: the potential after the step's reset (null, i.e. 0, at the start).
 */
import type { NodeState, SurrogateName } from '../../../src/index.js'
import { ifNode, lifNode } from '../../../src/index.js'
import type { Adapter, Values } from './adapter.js'

const nodeAdapter = (lif: boolean): Adapter => ({
  configKeys: lif ? ['threshold', 'tau', 'actFun', 'alpha'] : ['threshold', 'actFun', 'alpha'],
  build: (config) => {
    const common = {
      threshold: config.threshold as number | undefined,
      surrogate: config.actFun as SurrogateName | undefined,
      alpha: config.alpha as number | undefined,
    }
    return lif ? lifNode({ ...common, tau: config.tau as number | undefined }) : ifNode(common)
  },
  params: (_fixture, initial) => initial,
  state: (_fixture, initial) => initial,
  stateView: (state): Values => {
    const v = (state as NodeState).v
    return v === null ? {} : { v }
  },
})

export const ifNodeAdapter = nodeAdapter(false)
export const lifNodeAdapter = nodeAdapter(true)
