import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus'
import type { Data } from '../../tensor/tensor.js'

/** 2^-24: a 24-bit integer times this is exact in float32 and float64 alike. */
const UNIT = 5.960464477539063e-8

/**
 * `out.length` draws of pure-rand's xoroshiro128+ from `state` (a Key's four words), each the
 * low 24 bits of an output times 2^-24. The reference behind `uniform`; the wasm kernel
 * reproduces it bit for bit.
 */
export const uniformFill = (out: Data, state: readonly number[]): void => {
  const g = xoroshiro128plusFromState(state)
  for (let i = 0; i < out.length; i++) out[i] = (g.next() & 0xffffff) * UNIT
}
