/**
 * The wasm forward convolution and its weight gradient scatter spike-like inputs (an image's
 * group with at most one non-zero cell in four, see asm/conv.ts) and run the GEMM on the others.
 * The forward gives the cpu reference's bits either way; the weight gradient the GEMM's bits,
 * within the bound props/kernels.prop.ts states of the reference's float64 sums.
 * props/kernels.prop.ts checks both on random geometries; these pin the demo's second
 * convolution and the cases that must leave the scatter: an infinite or NaN weight, a -0
 * bias, and a batch whose images fall on both sides of the bound.
 */
import { describe, expect, it } from 'vitest'
import { cpu, type ConvAttrs, type Data, type Device, wasmBackend } from '../../src/index.js'
import { spikes, uniform } from '../support/seeded.js'

const wasm = wasmBackend() as Device<Data>
/** The demo's second convolution (examples/train/network.ts) on two images. */
const conv: ConvAttrs = {
  ...{ n: 2, c: 16, h: 14, w: 14, o: 32, kh: 5, kw: 5 },
  ...{ sh: 1, sw: 1, ph: 2, pw: 2, dh: 1, dw: 1, groups: 1 },
}

const sizes = (a: ConvAttrs) => ({ x: a.n * a.c * a.h * a.w, w: (a.o * a.c * a.kh * a.kw) / a.groups })

/** The first element where wasm's conv2d differs from the reference's (`Object.is`), or -1. */
const firstDifference = (x: Data, w: Data, bias: Data | null, a: ConvAttrs): number => {
  const expected = cpu.conv2d(x, w, bias, a)
  const got = wasm.conv2d(x, w, bias, a)
  expect(got.length).toBe(expected.length)
  return got.findIndex((v, i) => !Object.is(v, expected[i]))
}

describe('wasm conv2d on spike-like inputs', () => {
  const s = sizes(conv)
  const w = uniform(s.w, 2)
  const bias = uniform(conv.o, 3)

  it('gives the reference bits on spikes, on spikes with other values, with and without bias', () => {
    for (const density of [0.02, 0.1, 0.16, 0.24]) {
      expect(firstDifference(spikes(s.x, density, 1), w, bias, conv)).toBe(-1)
      expect(firstDifference(spikes(s.x, density, 4, -2.75), w, null, conv)).toBe(-1)
    }
  })

  it('gives the reference bits where it must run the GEMM: a NaN or infinite weight, a -0 bias', () => {
    const x = spikes(s.x, 0.1, 5)
    for (const bad of [Number.NaN, Infinity]) {
      const w2 = w.slice()
      w2[7] = bad
      expect(firstDifference(x, w2, bias, conv)).toBe(-1)
    }
    const b2 = bias.slice()
    b2[3] = -0
    expect(firstDifference(x, w, b2, conv)).toBe(-1)
    // all zeros, the sparsest input: -0 plus the taps' zero products is +0, which a scatter would miss
    expect(firstDifference(new Float32Array(s.x), w, b2, conv)).toBe(-1)
  })

  it('gives the reference bits on a batch of sparse and dense images, groups, strides and blocks', () => {
    const dense = uniform(s.x / 2, 6)
    const mixed = new Float32Array(s.x)
    mixed.set(spikes(s.x / 2, 0.05, 7))
    mixed.set(dense, s.x / 2)
    expect(firstDifference(mixed, w, bias, conv)).toBe(-1)
    // more than one block of 256 positions, two groups, a stride and a dilation
    const big: ConvAttrs = {
      ...{ ...conv, n: 1, c: 4, h: 40, w: 30, o: 6, kh: 3, kw: 3 },
      ...{ sh: 2, sw: 1, dh: 1, dw: 2, groups: 2 },
    }
    const b = sizes(big)
    expect(firstDifference(spikes(b.x, 0.1, 8, 3.5), uniform(b.w, 9), uniform(big.o, 10), big)).toBe(-1)
    // stride 1 (the rectangle walk) over blocks of 256 positions, with groups
    const wide: ConvAttrs = { ...big, n: 2, h: 20, w: 21, sh: 1, sw: 1, ph: 1, pw: 1, dh: 1, dw: 1 }
    const u = sizes(wide)
    expect(firstDifference(spikes(u.x, 0.15, 14, -0.5), uniform(u.w, 15), uniform(wide.o, 16), wide)).toBe(-1)
  })

  it("weight gradient: a scattered image's partial sums are the GEMM's bits", () => {
    // an image of 10% spikes (of 1, or of another value) is scattered; with its first half of
    // channels dense it runs the GEMM; the weights of the other channels see the same inputs
    // either way
    const wide: ConvAttrs = { ...conv, n: 1, c: 8, h: 20, w: 21, o: 10, kh: 3, kw: 3, ph: 1, pw: 1, groups: 2 }
    // 40 output channels (registers of 32 and of 8), padding past the kernel's reach on one axis
    const padded: ConvAttrs = { ...conv, n: 2, c: 4, h: 9, w: 11, o: 40, kh: 3, kw: 3, ph: 3, pw: 0 }
    for (const [a, value] of [conv, wide, padded].flatMap((g) => [[g, 1], [g, 1.25]] as const)) {
      const { x: nx } = sizes(a)
      const plane = a.h * a.w
      const perImage = a.c * plane
      const oh = a.h + 2 * a.ph - a.kh + 1
      const ow = a.w + 2 * a.pw - a.kw + 1
      const cot = uniform(a.n * a.o * oh * ow, 17)
      const sparse = spikes(nx, 0.1, 18, value)
      const dense = sparse.slice()
      const filled = a.c / a.groups / 2
      for (let img = 0; img < a.n; img++) {
        for (let grp = 0; grp < a.groups; grp++) {
          const from = img * perImage + grp * (a.c / a.groups) * plane
          dense.set(uniform(filled * plane, 19 + img), from)
        }
      }
      const scattered = wasm.conv2dGradWeight(cot, sparse, a)
      const gemm = wasm.conv2dGradWeight(cot, dense, a)
      const taps = a.kh * a.kw
      const cg = a.c / a.groups
      let compared = 0
      for (let i = 0; i < scattered.length; i++) {
        const ch = Math.floor(i / taps) % cg
        if (ch < filled) continue
        expect(Object.is(scattered[i], gemm[i])).toBe(true)
        compared++
      }
      expect(compared).toBeGreaterThan(0)
      expect(scattered.some((v) => v !== 0)).toBe(true)
    }
  })

  it('weight gradient: the reference within float32 partial sums of the taps, spikes and dense images alike', () => {
    const cot = uniform(conv.n * conv.o * 196, 11)
    const mixed = spikes(s.x, 0.1, 12, 1.5)
    mixed.set(uniform(s.x / 2, 13), s.x / 2)
    for (const x of [spikes(s.x, 0.1, 12, 1.5), mixed]) {
      const expected = cpu.conv2dGradWeight(cot, x, conv)
      const got = wasm.conv2dGradWeight(cot, x, conv)
      // every weight sums at most 2 * 196 terms of |cot * x| <= 1.5 / 2: float32 rounding of 196-term blocks
      let worst = 0
      got.forEach((v: number, i: number) => (worst = Math.max(worst, Math.abs(v - expected[i]))))
      expect(worst).toBeLessThan(2 * 197 * 2 ** -24 * 2 * 196 * 0.75)
      expect(got.some((v) => v !== 0)).toBe(true)
    }
  })
})
