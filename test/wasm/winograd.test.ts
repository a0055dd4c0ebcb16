/**
 * The wasm input gradient of 5x5, stride-1 convolutions runs Winograd's F(4x4, 5x5) where it
 * pays (asm/winograd.ts). props/kernels.prop.ts checks it against its error bound on small
 * geometries; these pin the demo's second convolution, images wider than one panel of eight
 * tiles, groups, every padding the route takes, and cotangents that must leave it (values the
 * transforms could overflow, NaN).
 */
import { describe, expect, it } from 'vitest'
import { cpu, type ConvAttrs, type Data, type Device, wasmBackend } from '../../src/index.js'
import { uniform } from '../support/seeded.js'

const wasm = wasmBackend() as Device<Data>

const geometry = (n: number, c: number, o: number, h: number, w: number, pad: number, groups = 1): ConvAttrs => ({
  ...{ n, c, h, w, o, kh: 5, kw: 5, sh: 1, sw: 1, ph: pad, pw: pad, dh: 1, dw: 1, groups },
})

const cotangentLength = (a: ConvAttrs) => a.n * a.o * (a.h + 2 * a.ph - 4) * (a.w + 2 * a.pw - 4)
const weightLength = (a: ConvAttrs) => (a.o * a.c * 25) / a.groups

/** The largest |wasm - cpu| over 1 + the largest |cpu|, and the two results. */
const relativeError = (cot: Data, w: Data, a: ConvAttrs) => {
  const expected = cpu.conv2dGradInput(cot, w, a)
  const got = wasm.conv2dGradInput(cot, w, a)
  let err = 0
  let scale = 0
  for (let i = 0; i < expected.length; i++) {
    if (Number.isFinite(expected[i]!)) {
      err = Math.max(err, Math.abs(got[i]! - expected[i]!))
      scale = Math.max(scale, Math.abs(expected[i]!))
    }
  }
  return { error: err / (1 + scale), expected, got }
}

describe('wasm conv2dGradInput by Winograd', () => {
  it.each([
    ['the demo\'s second convolution', geometry(2, 16, 32, 14, 14, 2)],
    ['an image three panels wide, odd sizes', geometry(1, 16, 16, 21, 41, 2)],
    ['two groups', geometry(1, 32, 32, 18, 33, 2, 2)],
    ['no padding', geometry(1, 16, 24, 20, 20, 0)],
    ['the widest padding', geometry(1, 16, 24, 17, 19, 4)],
    ['three half panels (the last panel half empty), a partial tile row', geometry(2, 16, 24, 11, 12, 2)],
  ])('is the reference within the transforms\' roundings: %s', (_, a) => {
    // about 2-5e-6 here, where the direct routes err by 3e-7: Winograd's transforms add
    // roundings of values up to ten times the inputs, which then cancel
    const { error } = relativeError(uniform(cotangentLength(a), 1), uniform(weightLength(a), 2), a)
    expect(error).toBeGreaterThan(0) // a sum in another order than the reference's
    expect(error).toBeLessThan(1e-5)
  })

  it('leaves Winograd for values its transforms could overflow, and still sums them finitely', () => {
    const a = geometry(2, 16, 32, 14, 14, 2)
    const cot = uniform(cotangentLength(a), 3).map((v) => v * 1e34)
    const { error, got } = relativeError(cot, uniform(weightLength(a), 4), a)
    expect(got.every((v) => Number.isFinite(v))).toBe(true)
    expect(error).toBeLessThan(1e-6) // the direct route's rounding, not Winograd's
  })

  it('runs the reference loop on an image holding NaN, the other image as before', () => {
    const a = geometry(2, 16, 32, 14, 14, 2)
    const cot = uniform(cotangentLength(a), 5)
    const w = uniform(weightLength(a), 6)
    const clean = wasm.conv2dGradInput(cot, w, a)
    const poisoned = Float32Array.from(cot)
    poisoned[7] = Number.NaN
    const { expected, got } = relativeError(poisoned, w, a)
    const half = expected.length / 2
    for (let i = 0; i < half; i++) expect(Object.is(got[i], expected[i])).toBe(true)
    for (let i = half; i < expected.length; i++) expect(Object.is(got[i], clean[i])).toBe(true)
  })
})
