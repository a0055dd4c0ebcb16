/**
 * The reference uniform draw: pure-rand's xoroshiro128+ from a key's four words, each output's
 * low 24 bits times 2^-24. `uniform` draws with it, and every backend's `uniform` kernel
 * reproduces it bit for bit.
 *
 * @module
 */
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus'
import type { Data } from '../tensor/tensor.js'

/** 2^-24: a 24-bit integer times this is exact in float32 and float64 alike. */
const UNIT = 5.960464477539063e-8

/** Fills `out` with draws in [0, 1) from the xoroshiro128+ state `state` (four uint32 words). */
export const uniformFill = (out: Data, state: readonly number[]): void => {
  const g = xoroshiro128plusFromState(state)
  for (let i = 0; i < out.length; i++) out[i] = (g.next() & 0xffffff) * UNIT
}
