import { votingLayer } from '../../../src/index.js'
import type { Adapter } from './adapter.js'

export const adapter: Adapter = {
  configKeys: ['voterNum'],
  build: (config) => votingLayer({ voterNum: config.voterNum as number }),
  params: (_fixture, initial) => initial,
  state: (_fixture, initial) => initial,
}
