/**
 * The copy backend's rows: every bandwidth-bound kernel goes in L2-sized slices (its inputs copied
 * in and its outputs out a slice at a time, so that the kernel reads what was just copied), and
 * only the kernels that cannot be cut by items run whole. The elementwise rows once lost their
 * slices without any test noticing (a 2M-float product then copied whole arrays through memory,
 * twice as slow); this pins the list, so that a row without slices is a decision. That a cut
 * gives the whole call's bits is props/kernels.prop.ts's (lengths past a slice).
 */
import { describe, expect, it } from 'vitest'
import { wasmRows } from '../../src/backend/wasm/kernels.js'

/** The rows that run whole, and why. */
const whole = {
  // compute-bound, each output summing a whole row or column of its operands (threads cut them)
  matmul: 'packed GEMM',
  conv2d: 'implicit im2col GEMM',
  conv2dGradInput: 'implicit im2col GEMM',
  conv2dGradWeight: 'sums every image',
  // a channel's statistics sum every item
  momentsPerChannel: 'sums every item',
  normalizeAlongAxisGrad: 'dweight and dbias sum every item',
  channelAffineGrad: 'dscale and dshift sum every item',
}

describe('wasm rows', () => {
  it('slice every kernel but those that sum across their items', () => {
    const unsliced = Object.entries(wasmRows)
      .filter(([, row]) => (row as { readonly slices?: unknown }).slices === undefined)
      .map(([name]) => name)
    expect(unsliced.sort()).toEqual(Object.keys(whole).sort())
  })
})
