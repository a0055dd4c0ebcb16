/**
 * The threaded WebAssembly kernels give the same bits whatever the number of threads: matmul
 * (every transpose, with and without bias), conv2d, conv2dGradInput, conv2dGradWeight, mul,
 * neuron and neuronGrad, pool2d and pool2dGrad on 1, 2 and 3 threads, bit for bit (but for NaN
 * payloads, see `sameBits`), on shapes big enough to be cut (src/backend/wasm/split.ts cuts a call only
 * where each part has at least `minPartWork` multiply-adds, or elements) and at the edges of
 * the cut: fewer output rows or columns than threads, sizes off the micro-tile, summed
 * dimensions past the GEMM's 256 block, one image, groups, and the exact fallbacks
 * (non-finite weights, a -0 bias, values that could overflow float32).
 *
 * One thread is kernels.wasm, as without threads; props/kernels.prop.ts checks it against the
 * cpu reference, so equal bits here carry that comparison over to every thread count.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { KernelExports } from '../src/backend/wasm/exports.js'
import { threadPoolOf } from '../src/backend/wasm/load.js'
import {
  conv2dGradInputSplit,
  conv2dGradWeightSplit,
  conv2dSplit,
  elementwiseSplit,
  matmulSplit,
  minNeuronPartElements,
  minPartElements,
  minPartWork,
  planeSplit,
} from '../src/backend/wasm/split.js'
import type { ConvAttrs, Data, Device, PoolAttrs, PoolMode } from '../src/index.js'
import { loadResidentBackend, loadWasmBackend, wasmThreads } from '../src/index.js'
import { convOutputSize, pooledSize } from '../src/kernel/kernels.js'
import { neuronAttrs } from './kernels/cases.js'
import { f32, int, mostly, sparseValues } from './kernels/values.js'
import * as lib from '../src/index.js'
import { sameBits as sameTree } from './support.js'

const counts = [1, 2, 3] as const
const devices = await Promise.all(counts.map((threads) => loadWasmBackend(undefined, { threads })))

/**
 * Runs `f` on every thread count and expects the first's values bit for bit (`Object.is`: -0 is
 * not 0), NaN where it has NaN. A NaN's payload is the one thing left out: WebAssembly leaves it
 * to the engine, and V8's baseline and optimizing tiers of one function differ in it, so it can
 * change from call to call on one thread too.
 */
const sameBits = (f: (device: Device<Data>) => Data): void => expectSameBits(devices.map((d) => f(d as Device<Data>)))

/** Each thread count's values (one result per count, in `counts`' order) equal the first's, bit for bit. */
const expectSameBits = ([one, ...more]: readonly Data[]): void =>
  more.forEach((got, i) => {
    expect(got.length, `${counts[i + 1]} threads`).toBe(one.length)
    const at = got.findIndex((v, j) => !Object.is(v, one[j]))
    expect(at, `${counts[i + 1]} threads: first differing element`).toBe(-1)
  })

/**
 * The resident devices on the same thread counts: the elementwise rows are cut there (the copy
 * backend's slices are too small).
 */
const residents = await Promise.all(counts.map((threads) => loadResidentBackend(undefined, { threads })))

/**
 * `sameBits` on the resident devices: `f` runs a call on buffers it uploads with `up` (null
 * stays null) and gives back the buffers to compare, concatenated; all are freed after.
 */
const sameBitsResident = (f: (d: Device<unknown>, up: (x: Data | null) => unknown) => readonly unknown[]): void =>
  expectSameBits(
    residents.map((device) => {
      const d = device as Device<unknown>
      const made: unknown[] = []
      const up = (x: Data | null): unknown => (x === null ? null : made[made.push(d.upload(x)) - 1])
      const outs = f(d, up)
      const reads = outs.map((b) => d.read(b))
      for (const b of [...made, ...outs]) d.free(b)
      const values = new Float64Array(reads.reduce((n, r) => n + r.length, 0))
      reads.reduce((at, r) => (values.set(r, at), at + r.length), 0)
      return values
    }),
  )

/** Work (multiply-adds) from just enough for two parts to a few times what three need. */
const work = int(2 * minPartWork, 12 * minPartWork)

// ---------------------------------------------------------------------------------------------
// matmul
// ---------------------------------------------------------------------------------------------

/**
 * m and k in the regimes that matter (m under the thread count, m off the 4-row tile, k under
 * and past the 256 block), n what the work then asks for (under 8 columns to thousands).
 */
const matmulArb = fc
  .record({
    m: fc.oneof(int(1, 3), int(4, 70), int(240, 300)),
    k: fc.oneof(int(1, 40), int(200, 255), int(257, 700)),
    work,
    extra: int(0, 9),
  })
  .map(({ m, k, work: w, extra }) => ({ m, k, n: Math.max(1, Math.ceil(w / (m * k))) + extra }))
  .filter(({ m, k, n }) => m * k * n <= 2 ** 23 && k * n <= 2 ** 21 && m * n <= 2 ** 21)
  .chain(({ m, k, n }) =>
    fc.tuple(
      // one A in three mostly zeros: the sparse route (asm/sparseRows.ts), each part its own
      fc.oneof({ weight: 2, arbitrary: f32(m * k) }, { weight: 1, arbitrary: f32(m * k, sparseValues) }),
      f32(k * n),
      mostly(f32(n), fc.constant(null)),
      fc.record({ transA: fc.boolean(), transB: fc.boolean() }).map((t) => ({ m, k, n, ...t })),
    ),
  )

// ---------------------------------------------------------------------------------------------
// convolutions
// ---------------------------------------------------------------------------------------------

/** Multiply-adds of a convolution (each of the three kernels does as many). */
const convWork = (a: ConvAttrs): number => {
  const [oh, ow] = convOutputSize(a)
  return a.n * a.o * oh * ow * (a.c / a.groups) * a.kh * a.kw
}

/**
 * A geometry of every kind (groups, strides, dilations, padding, small and large images, up to
 * 10 x 5 x 5 taps), with as many images as the work asks for: one image where an image is
 * big, dozens where it is small.
 */
const convArb: fc.Arbitrary<ConvAttrs> = fc
  .record({
    groups: fc.constantFrom(1, 1, 2, 3),
    cg: int(1, 10),
    og: fc.oneof(int(1, 6), int(7, 40)),
    k: int(1, 5),
    stride: mostly(fc.constant(1), int(2, 3)),
    dilation: mostly(fc.constant(1), fc.constant(2)),
    pad: int(0, 2),
    extra: fc.oneof(int(0, 6), int(7, 40)),
    work,
  })
  .map(({ groups, cg, og, k, stride, dilation, pad, extra, work: w }) => {
    const side = Math.max(1, dilation * (k - 1) + 1 - 2 * pad) + extra
    const one: ConvAttrs = {
      n: 1, c: cg * groups, h: side, w: side + (extra % 3), o: og * groups, kh: k, kw: k,
      sh: stride, sw: stride, ph: pad, pw: pad, dh: dilation, dw: dilation, groups,
    }
    return { ...one, n: Math.min(128, Math.max(1, Math.round(w / convWork(one)))) }
  })
  .filter((a) => convWork(a) >= 2 * minPartWork && convWork(a) <= 2 ** 23)

/** 5 x 5, stride 1, channels enough for the input gradient to run Winograd (asm/winograd.ts), images split. */
const winogradArb: fc.Arbitrary<ConvAttrs> = fc
  .record({
    ...{ groups: fc.constantFrom(1, 2), cg: int(12, 20), og: int(12, 40) },
    ...{ pad: int(0, 4), h: int(10, 40), w: int(10, 40), work },
  })
  .map(({ groups, cg, og, pad, h, w, work: work_ }) => {
    const one: ConvAttrs = {
      n: 1, c: cg * groups, h, w, o: og * groups, kh: 5, kw: 5, sh: 1, sw: 1, ph: pad, pw: pad, dh: 1, dw: 1, groups,
    }
    return { ...one, n: Math.min(16, Math.max(2, Math.round(work_ / convWork(one)))) }
  })
  .filter((a) => a.h + 2 * a.ph >= 5 && a.w + 2 * a.pw >= 5 && convWork(a) <= 2 ** 24)

const convSizes = (a: ConvAttrs) => {
  const [oh, ow] = convOutputSize(a)
  return { x: a.n * a.c * a.h * a.w, weight: (a.o * a.c * a.kh * a.kw) / a.groups, out: a.n * a.o * oh * ow }
}

/**
 * Big buffers are seeded fills (props/kernels/values.ts): shrinking one only reseeds it, so stop at the
 * first failure.
 */
const runs = { endOnFailure: true }

describe('threads: the same bits on 1, 2 and 3 threads', () => {
  it('loads kernels.wasm for one thread and the threads build for two and three', () => {
    expect(devices.map((d) => d?.name)).toEqual(['wasm', 'wasm', 'wasm'])
    expect(devices.map((d) => wasmThreads(d as Device<Data>))).toEqual([...counts])
    expect(threadPoolOf(devices[0] as Device<Data>)).toBeUndefined()
  })

  it('matmul, every transpose, with and without bias', () => {
    fc.assert(
      fc.property(matmulArb, ([a, b, bias, attrs]) => sameBits((d) => d.matmul(a, b, bias, attrs))),
      runs,
    )
  })

  it('conv2d, on dense and on spike-like inputs (scattered)', () => {
    const args = convArb.chain((a) => {
      const s = convSizes(a)
      const x = mostly(f32(s.x), f32(s.x, sparseValues))
      return fc.tuple(x, f32(s.weight), mostly(f32(a.o), fc.constant(null)), fc.constant(a))
    })
    fc.assert(fc.property(args, ([x, w, bias, a]) => sameBits((d) => d.conv2d(x, w, bias, a))), runs)
  })

  it('conv2dGradInput, Winograd\'s included', () => {
    const args = fc.oneof(convArb, winogradArb).chain((a) => {
      const s = convSizes(a)
      return fc.tuple(f32(s.out), f32(s.weight), fc.constant(a))
    })
    fc.assert(fc.property(args, ([cot, w, a]) => sameBits((d) => d.conv2dGradInput(cot, w, a))), runs)
  })

  it('conv2dGradWeight, on dense and on spike-like inputs (scattered)', () => {
    const args = convArb.chain((a) => {
      const s = convSizes(a)
      return fc.tuple(f32(s.out), mostly(f32(s.x), f32(s.x, sparseValues)), fc.constant(a))
    })
    fc.assert(fc.property(args, ([cot, x, a]) => sameBits((d) => d.conv2dGradWeight(cot, x, a))), runs)
  })

  it('mul, on lengths off the vector of 8', () => {
    const args = int(2 * minPartElements, 7 * minPartElements).chain((n) => fc.tuple(f32(n), f32(n)))
    const product = ([a, b]: readonly [Data, Data]) => sameBitsResident((d, up) => [d.mul(up(a), up(b))])
    fc.assert(fc.property(args, product), { ...runs, numRuns: 12 })
  })

  it('pool2d and pool2dGrad by planes: max and average, windows that overlap, skip cells or pad', () => {
    const side = int(4, 20)
    const reach = int(1, 3)
    const cellsOf = (w: { readonly height: number; readonly width: number }) => w.height * w.width
    const attrs = fc
      .record({ height: side, width: side, kernelH: reach, kernelW: reach, strideH: reach, strideW: reach })
      .chain((w) =>
        fc.record({
          // enough planes to cut in two and in three
          planes: int(Math.ceil((2 * minPartElements) / cellsOf(w)), Math.ceil((5 * minPartElements) / cellsOf(w))),
          padH: int(0, w.kernelH >> 1),
          padW: int(0, w.kernelW >> 1),
          mode: fc.constantFrom<PoolMode>('max', 'avg'),
        }).map(({ planes, padH, padW, mode }): PoolAttrs => ({
          planes,
          height: w.height,
          width: w.width,
          window: { kernelH: w.kernelH, kernelW: w.kernelW, strideH: w.strideH, strideW: w.strideW, padH, padW },
          mode,
        })),
      )
    const pooled = (a: PoolAttrs) => a.planes * pooledSize(a.height, a.width, a.window).reduce((x, y) => x * y, 1)
    const args = attrs.chain((a) => fc.tuple(f32(a.planes * a.height * a.width), f32(pooled(a)), fc.constant(a)))
    const workerParts = () => residents.slice(1).map((d) => threadPoolOf(d as Device<unknown>)?.workerParts() ?? 0)
    const before = workerParts()
    fc.assert(
      fc.property(args, ([x, cot, a]) =>
        sameBitsResident((d, up) => [d.pool2d(up(x), a), d.pool2dGrad(up(cot), up(x), a)]),
      ),
      { ...runs, numRuns: 12 },
    )
    workerParts().forEach((parts, i) => expect(parts, `${counts[i + 1]} threads`).toBeGreaterThan(before[i]))
  })

  it('neuron and neuronGrad, on lengths off the vector of 8, with and without each optional array', () => {
    const length = int(2 * minNeuronPartElements, 5 * minNeuronPartElements)
    const maybe = (n: number) => mostly(f32(n), fc.constant(null))
    const forward = length.chain((n) => fc.tuple(maybe(n), f32(n), neuronAttrs))
    const workerParts = () => residents.slice(1).map((d) => threadPoolOf(d as Device<unknown>)?.workerParts() ?? 0)
    const before = workerParts()
    fc.assert(
      fc.property(forward, ([v, x, a]) =>
        sameBitsResident((d, up) => Object.values(d.neuron(up(v), up(x), a))),
      ),
      { ...runs, numRuns: 12 },
    )
    const backward = length.chain((n) => fc.tuple(maybe(n), maybe(n), maybe(n), f32(n), neuronAttrs))
    fc.assert(
      fc.property(backward, ([cs, cv, v, x, a]) =>
        sameBitsResident((d, up) => Object.values(d.neuronGrad(up(cs), up(cv), up(v), up(x), a))),
      ),
      { ...runs, numRuns: 12 },
    )
    // the calls were cut: every pool's workers ran parts of them
    workerParts().forEach((parts, i) => expect(parts, `${counts[i + 1]} threads`).toBeGreaterThan(before[i]))
  })

  it('the workers took part (the properties did not all run on the calling thread)', () => {
    for (const d of [...devices.slice(1), ...residents.slice(1)]) {
      expect(threadPoolOf(d as Device<Data>)?.workerParts()).toBeGreaterThan(0)
    }
  })
})

describe('threads: the cuts', () => {
  /** A module stand-in with `size` threads: the cuts read only the thread count and scratch sizes. */
  const on = (size: number) =>
    ({ threads: { size }, matmulScratchBytes: () => 16, conv2dScratchBytes: () => 16 }) as unknown as KernelExports

  /** Each cell of a `rows x cols` grid covered exactly once by the rectangles `[r0, r1, c0, c1]`. */
  const tiles = (rows: number, cols: number, parts: readonly (readonly number[])[]): boolean => {
    const seen = new Uint8Array(rows * cols)
    for (const [r0, r1, c0, c1] of parts) {
      for (let r = r0; r < r1; r++) for (let c = c0; c < c1; c++) seen[r * cols + c]++
    }
    return seen.every((v) => v === 1)
  }
  /** The ranges `[from, to)` cover [0, total) in order, each non-empty. */
  const ranges = (total: number, parts: readonly (readonly number[])[]): boolean =>
    parts.every(([from, to], i) => from < to && from === (i === 0 ? 0 : parts[i - 1][1])) && parts.at(-1)?.[1] === total

  const threads = int(2, 9)

  it('matmul: rectangles in whole micro-tiles that tile the output, at most one per thread', () => {
    const shape = fc.record({ m: int(1, 300), k: int(1, 700), n: int(1, 300) })
    fc.assert(
      fc.property(shape, threads, ({ m, k, n }, t) => {
        const s = matmulSplit(on(t), { m, k, n })
        if (s === undefined) return m * k * n < 2 * minPartWork || (m <= 4 && n <= 8)
        const aligned = s.parts.every(([r0, , c0]) => r0 % 4 === 0 && c0 % 8 === 0)
        const count = s.parts.length
        return count >= 2 && count <= t && s.threads === count && aligned && tiles(m, n, s.parts)
      }),
    )
  })

  it('convolutions: ranges of items that cover the call, weight rectangles that tile the weights', () => {
    fc.assert(
      fc.property(convArb, threads, (a, t) => {
        const [oh, ow] = convOutputSize(a)
        const forward = conv2dSplit(on(t), a)
        const input = conv2dGradInputSplit(on(t), a)
        const weight = conv2dGradWeightSplit(on(t), a)
        const blocks = Math.ceil((oh * ow) / 256)
        return (
          (forward === undefined || ranges(a.n * a.groups * blocks, forward.parts)) &&
          (input === undefined || ranges(a.n * a.groups, input.parts)) &&
          (weight === undefined || tiles(a.o / a.groups, (a.c / a.groups) * a.kh * a.kw, weight.parts)) &&
          [forward, input, weight].every((s) => s === undefined || (s.parts.length >= 2 && s.parts.length <= t))
        )
      }),
    )
  })

  it('elementwise: ranges of whole vectors of 8 that cover the elements, at most one per thread, each big enough', () => {
    const least = fc.constantFrom(minPartElements, minNeuronPartElements)
    fc.assert(
      fc.property(int(1, 12 * minPartElements), threads, least, (n, t, atLeast) => {
        const s = elementwiseSplit(on(t), 'mulPart', n, atLeast)
        if (s === undefined) return n < 2 * atLeast
        const count = s.parts.length
        const big = s.parts.every(([from, to]) => to - from >= atLeast - 8)
        return count >= 2 && count <= t && big && s.parts.every(([from]) => from % 8 === 0) && ranges(n, s.parts)
      }),
    )
  })

  it('planes: ranges of whole planes that cover them, at most one per thread, each big enough', () => {
    fc.assert(
      fc.property(int(1, 4096), int(1, 4096), threads, (planes, cells, t) => {
        const s = planeSplit(on(t), 'pool2dGradPart', planes, cells)
        if (s === undefined) return planes < 2 || planes * cells < 2 * minPartElements || t < 2
        const big = s.parts.every(([from, to]) => (to - from) * cells >= minPartElements - cells)
        return s.parts.length >= 2 && s.parts.length <= t && big && ranges(planes, s.parts)
      }),
    )
  })

  it('small calls are not cut', () => {
    expect(matmulSplit(on(8), { m: 64, k: 64, n: 127 })).toBeUndefined()
    expect(matmulSplit(on(1), { m: 1024, k: 1024, n: 1024 })).toBeUndefined()
    expect(matmulSplit(on(2), { m: 256, k: 1024, n: 1024 })?.parts).toEqual([[0, 256, 0, 512], [0, 256, 512, 1024]])
  })
})

// ---------------------------------------------------------------------------------------------
// a training step on the resident device
// ---------------------------------------------------------------------------------------------

describe('threads: a BPTT training step on the resident device', () => {
  /** Conv, tdBN, LIF over time, pool, conv, linear readout: every threaded kernel, forward and back. */
  const net = lib.sequential(
    lib.conv2d({ inChannels: 1, outChannels: 16, kernelSize: 5, padding: 2 }),
    lib.thresholdDependentBatchNorm2d({ numFeatures: 16, alpha: 1 }),
    lib.repeatSteps({ steps: 2 }),
    lib.scan(lib.lifNode()),
    lib.timeMerged(lib.maxPool({ kernelSize: 2 })),
    lib.timeMerged(lib.conv2d({ inChannels: 16, outChannels: 16, kernelSize: 3, padding: 1 })),
    lib.flatten({ startDim: 2 }),
    lib.customLinear({ inFeatures: 16 * 8 * 8, outFeatures: 10, bias: true }),
    lib.meanOverTime(),
  )
  const step = lib.lossAndGrad(net, lib.crossEntropyLoss())

  it('gives the loss and gradients of one thread on 2 and 3, the workers taking part', async () => {
    const residents = await Promise.all(counts.map((threads) => lib.loadResidentBackend(undefined, { threads })))
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 - 1 }), (seed) => {
        const { params, state } = lib.orThrow(net.init(lib.key(seed), [16, 1, 16, 16]))
        const x = lib.tensor(lib.uniform(lib.key(seed + 1), 16 * 16 * 16, 'float32'), [16, 1, 16, 16])
        const y = lib.tensor(Array.from({ length: 16 }, (_, i) => (seed + i) % 10), [16])
        const [one, ...more] = residents.map((d) => lib.orThrow(step(params, state, x, y, lib.train(lib.key(seed), d))))
        for (const r of more) {
          expect(Object.is(r.loss, one.loss)).toBe(true)
          expect(sameTree(r.grads, one.grads)).toBe(true)
        }
      }),
      { numRuns: 4 },
    )
    for (const d of residents.slice(1)) expect(threadPoolOf(d!)!.workerParts()).toBeGreaterThan(0)
  })
})
