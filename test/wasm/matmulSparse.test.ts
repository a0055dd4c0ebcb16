/**
 * The wasm matmul sums only the non-zero entries of an A that is mostly zeros (at most one in
 * three non-zero, B not transposed: asm/sparseRows.ts) and runs the GEMM otherwise; both give
 * the cpu reference's bits. props/kernels.prop.ts and props/threads.prop.ts check that on
 * random shapes; these pin the spiking MLP's layers (bench TR1: MNIST digits, 19% non-zero, and
 * spikes) and the cases that must leave the route: an infinite or NaN entry of B, a -0 bias.
 */
import { describe, expect, it } from 'vitest'
import { cpu, type Data, type Device, type MatmulAttrs, wasmBackend } from '../../src/index.js'
import { spikes, uniform } from '../support/seeded.js'

const wasm = wasmBackend() as Device<Data>

/** The first element where wasm's matmul differs from the reference's (`Object.is`), or -1. */
const firstDifference = (a: Data, b: Data, bias: Data | null, attrs: MatmulAttrs): number => {
  const expected = cpu.matmul(a, b, bias, attrs)
  const got = wasm.matmul(a, b, bias, attrs)
  expect(got.length).toBe(expected.length)
  return got.findIndex((v, i) => !Object.is(v, expected[i]))
}

describe('wasm matmul on a mostly-zero A', () => {
  it("gives the reference bits on the spiking MLP's products, forward and weight gradient", () => {
    for (const density of [0.007, 0.1, 0.19, 0.3]) {
      // x [64, 784] @ W [784, 800] + b; spikes [512, 800] @ W [800, 10] + b
      const x = spikes(64 * 784, density, 1, 0.37)
      expect(firstDifference(x, uniform(784 * 800, 2), uniform(800, 3), { m: 64, k: 784, n: 800 })).toBe(-1)
      const s = spikes(512 * 800, density, 4)
      expect(firstDifference(s, uniform(800 * 10, 5), uniform(10, 6), { m: 512, k: 800, n: 10 })).toBe(-1)
      // the weight gradients x^T g and s^T g: A read transposed
      expect(firstDifference(x, uniform(64 * 800, 7), null, { m: 784, k: 64, n: 800, transA: true })).toBe(-1)
      expect(firstDifference(s, uniform(512 * 10, 8), null, { m: 800, k: 512, n: 10, transA: true })).toBe(-1)
    }
  })

  it('gives the reference bits on every block width, with and without bias', () => {
    for (const n of [1, 3, 4, 5, 27, 28, 29, 33, 60]) {
      const a = spikes(13 * 37, 0.2, 10 + n, -2.5)
      expect(firstDifference(a, uniform(37 * n, 11), uniform(n, 12), { m: 13, k: 37, n })).toBe(-1)
      expect(firstDifference(a, uniform(37 * n, 13), null, { m: 37, k: 13, n, transA: true })).toBe(-1)
    }
  })

  it('gives the reference bits where it must run the GEMM: NaN or an infinity in B, a -0 bias', () => {
    const a = spikes(8 * 40, 0.1, 14)
    const attrs = { m: 8, k: 40, n: 30 }
    for (const bad of [Number.NaN, Infinity, -Infinity]) {
      const b = uniform(40 * 30, 15)
      b[7 * 30 + 29] = bad
      expect(firstDifference(a, b, null, attrs)).toBe(-1)
      expect(firstDifference(a, b, null, { m: 40, k: 8, n: 30, transA: true })).toBe(-1)
    }
    const bias = uniform(30, 16)
    bias[29] = -0
    expect(firstDifference(a, uniform(40 * 30, 17), bias, attrs)).toBe(-1)
    // all zeros, the sparsest A: -0 plus the zero products is +0, which the route would miss
    const sum = cpu.matmul(new Float32Array(8 * 40), uniform(40 * 30, 17), bias, attrs)
    expect(Object.is(sum[29], 0)).toBe(true)
    expect(firstDifference(new Float32Array(8 * 40), uniform(40 * 30, 17), bias, attrs)).toBe(-1)
  })
})
