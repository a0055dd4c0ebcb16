/**
 * Kernel parity: every WebAssembly kernel against its JavaScript reference on random shapes.
 * Bit-identical where the arithmetic is the same (elementwise, pooling windows, upsampling,
 * normalize/affine in float64 lanes, strided-axis moments, group means, the fused LIPool step
 * and WTA selection, uniform draws); other max-type kernels equal
 * as numbers (SIMD max may pick +0 where the reference keeps -0, NaN propagates in both);
 * matmul within float32 accumulation error; contiguous moments within float64 rounding.
 * Also: strided views through layer ops give the contiguous result on the wasm backend.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { keyArb, stridedViewArb, tensorArb } from '../src/arbitraries/index.js'
import type { Backend, PoolWindow } from '../src/backend/backend.js'
import { pooledSize } from '../src/backend/backend.js'
import { cpu } from '../src/backend/cpu/index.js'
import { wasmBackend } from '../src/backend/wasm/index.js'
import { copy, evaluate, layerNorm, maxPool2d, orThrow, type Tensor, upsampleNearest } from '../src/index.js'
import { customLinear, customLinearParams, key, uniform } from '../src/index.js'

const loaded = wasmBackend()
// `npm test` builds the module first (pretest); a missing module is a failure, not a skip
const wasm = loaded as Backend

const dim = (max: number) => fc.integer({ min: 1, max })
const f32 = (n: number, nan = false) =>
  fc.float32Array({ minLength: n, maxLength: n, min: -100, max: 100, noNaN: !nan, noDefaultInfinity: true })

/** Same bits, element by element (NaN equal to NaN). */
const sameBits = (a: ArrayLike<number>, b: ArrayLike<number>): void => {
  expect(a.length).toBe(b.length)
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) expect([i, a[i]]).toEqual([i, b[i]])
}

/** Equal as numbers (+0 == -0, NaN == NaN). */
const sameNumbers = (a: ArrayLike<number>, b: ArrayLike<number>): void => {
  expect(a.length).toBe(b.length)
  for (let i = 0; i < a.length; i++) {
    const ok = a[i] === b[i] || (Number.isNaN(a[i]) && Number.isNaN(b[i]))
    if (!ok) expect([i, a[i]]).toEqual([i, b[i]])
  }
}

/** Both backends write into fresh outputs (pre-filled with NaN so unwritten cells show). */
const both = <T extends Float32Array | Float64Array>(
  make: () => T,
  run: (b: Backend, ...outs: T[]) => void,
  outs = 1,
) => {
  const mk = () => Array.from({ length: outs }, () => make().fill(Number.NaN) as T)
  const a = mk()
  const b = mk()
  run(cpu, ...a)
  run(wasm, ...b)
  return { cpu: a, wasm: b }
}

describe('wasm kernels match the cpu reference', () => {
  it('the WebAssembly module loads (npm run build:wasm)', () => {
    expect(loaded?.name).toBe('wasm')
  })

  it('matmul: within float32 accumulation error', () => {
    fc.assert(
      fc.property(
        fc.tuple(dim(13), dim(300), dim(21), fc.boolean()).chain(([m, k, n, withBias]) =>
          fc.tuple(fc.constant([m, k, n] as const), f32(m * k), f32(k * n), withBias ? f32(n) : fc.constant(undefined)),
        ),
        ([[m, k, n], a, b, bias]) => {
          const r = both(() => new Float32Array(m * n), (be, out) => be.matmul(out, a, b, m, k, n, bias))
          for (let i = 0; i < m; i++) {
            for (let j = 0; j < n; j++) {
              let scale = Math.abs(bias?.[j] ?? 0)
              for (let p = 0; p < k; p++) scale += Math.abs(a[i * k + p] * b[p * n + j])
              const bound = (k + 2) * 2 ** -23 * scale + 1e-30
              const d = Math.abs(r.cpu[0][i * n + j] - r.wasm[0][i * n + j])
              if (!(d <= bound)) expect({ i, j, d }).toEqual({ i, j, d: `<= ${bound}` })
            }
          }
        },
      ),
    )
  })

  it('mul and axpy: bit-identical', () => {
    fc.assert(
      fc.property(
        dim(70).chain((n) => fc.tuple(f32(n, true), f32(n, true), fc.double({ min: -4, max: 4, noNaN: true }))),
        ([a, b, alpha]) => {
          const n = a.length
          const m = both(() => new Float32Array(n), (be, out) => be.mul(out, a, b))
          sameBits(m.wasm[0], m.cpu[0])
          const x = both(() => new Float32Array(n), (be, out) => be.axpy(out, a, alpha, b))
          sameBits(x.wasm[0], x.cpu[0])
        },
      ),
    )
  })

  it('pool2d: bit-identical (max: equal as numbers), any window', () => {
    const windowArb = fc
      .record({ k: dim(4), s: dim(3), p: fc.integer({ min: 0, max: 2 }), max: fc.boolean() })
      .filter(({ k, p }) => p <= Math.floor(k / 2))
    fc.assert(
      fc.property(
        fc
          .tuple(dim(3), dim(12), dim(12), windowArb, fc.boolean())
          .filter(([, h, w, { k, p }]) => h + 2 * p >= k && w + 2 * p >= k)
          .chain(([planes, h, w, win, nan]) => fc.tuple(fc.constant({ planes, h, w, win }), f32(planes * h * w, nan))),
        ([{ planes, h, w, win }, x]) => {
          const window: PoolWindow = {
            kernelH: win.k,
            kernelW: win.k,
            strideH: win.s,
            strideW: win.s,
            padH: win.p,
            padW: win.p,
          }
          const [oh, ow] = pooledSize(h, w, window)
          const mode = win.max ? 'max' : 'avg'
          const run = (be: Backend, out: Float32Array) => be.pool2d(out, x, planes, h, w, window, mode)
          const r = both(() => new Float32Array(planes * oh * ow), run)
          if (win.max) sameNumbers(r.wasm[0], r.cpu[0])
          else sameBits(r.wasm[0], r.cpu[0])
        },
      ),
    )
  })

  it('pool2d 2x2 stride 2 max (the SIMD path), with NaN', () => {
    const window: PoolWindow = { kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0 }
    fc.assert(
      fc.property(
        fc.tuple(dim(3), fc.integer({ min: 2, max: 20 }), fc.integer({ min: 2, max: 40 }), fc.boolean())
          .chain(([planes, h, w, nan]) => fc.tuple(fc.constant([planes, h, w] as const), f32(planes * h * w, nan))),
        ([[planes, h, w], x]) => {
          const [oh, ow] = pooledSize(h, w, window)
          const run = (be: Backend, out: Float32Array) => be.pool2d(out, x, planes, h, w, window, 'max')
          const r = both(() => new Float32Array(planes * oh * ow), run)
          sameNumbers(r.wasm[0], r.cpu[0])
        },
      ),
    )
  })

  it('upsampleNearest: bit-identical', () => {
    fc.assert(
      fc.property(
        fc.tuple(dim(3), dim(7), dim(11), dim(3)).chain(([planes, h, w, f]) =>
          fc.tuple(fc.constant([planes, h, w, f] as const), f32(planes * h * w, true)),
        ),
        ([[planes, h, w, f], x]) => {
          const run = (be: Backend, out: Float32Array) => be.upsampleNearest(out, x, planes, h, w, f)
          const r = both(() => new Float32Array(planes * h * w * f * f), run)
          sameBits(r.wasm[0], r.cpu[0])
        },
      ),
    )
  })

  const blockArb = fc.tuple(dim(4), dim(40), fc.oneof(fc.constant(1), dim(13))).chain(([outer, axis, inner]) =>
    fc.tuple(fc.constant([outer, axis, inner] as const), f32(outer * axis * inner)),
  )

  it('momentsAlongAxis: bit-identical along a strided axis, within float64 rounding along a contiguous one', () => {
    fc.assert(
      fc.property(blockArb, ([[outer, axis, inner], x]) => {
        const run = (be: Backend, m: Float64Array, v: Float64Array) => be.momentsAlongAxis(m, v, x, outer, axis, inner)
        const r = both(() => new Float64Array(outer * inner), run, 2)
        if (inner > 1) {
          sameBits(r.wasm[0], r.cpu[0])
          sameBits(r.wasm[1], r.cpu[1])
        } else {
          for (let i = 0; i < outer; i++) {
            expect(Math.abs(r.wasm[0][i] - r.cpu[0][i])).toBeLessThanOrEqual(1e-12)
            expect(Math.abs(r.wasm[1][i] - r.cpu[1][i])).toBeLessThanOrEqual(1e-9)
          }
        }
      }),
    )
  })

  it('momentsPerChannel: within float64 rounding', () => {
    fc.assert(
      fc.property(blockArb, ([[outer, channels, inner], x]) => {
        const run = (be: Backend, m: Float64Array, v: Float64Array) =>
          be.momentsPerChannel(m, v, x, outer, channels, inner)
        const r = both(() => new Float64Array(channels), run, 2)
        for (let c = 0; c < channels; c++) {
          expect(Math.abs(r.wasm[0][c] - r.cpu[0][c])).toBeLessThanOrEqual(1e-12)
          expect(Math.abs(r.wasm[1][c] - r.cpu[1][c])).toBeLessThanOrEqual(1e-9)
        }
      }),
    )
  })

  it('normalizeAlongAxis and channelAffine: bit-identical', () => {
    fc.assert(
      fc.property(
        blockArb.chain(([[outer, axis, inner], x]) =>
          fc.tuple(
            fc.constant([outer, axis, inner] as const),
            fc.constant(x),
            fc.float64Array({ minLength: outer * inner, maxLength: outer * inner, min: -5, max: 5, noNaN: true }),
            fc.float64Array({ minLength: outer * inner, maxLength: outer * inner, min: 0, max: 5, noNaN: true }),
            f32(axis),
            f32(axis),
            fc.float64Array({ minLength: axis, maxLength: axis, min: -5, max: 5, noNaN: true }),
          ),
        ),
        ([[outer, axis, inner], x, mean, invStd, weight, bias, scale]) => {
          const n = outer * axis * inner
          const r = both(() => new Float32Array(n), (be, out) =>
            be.normalizeAlongAxis(out, x, outer, axis, inner, mean, invStd, weight, bias),
          )
          sameBits(r.wasm[0], r.cpu[0])
          const shift = Float64Array.from(scale, (s) => s / 3)
          const affine = (be: Backend, out: Float32Array) => be.channelAffine(out, x, outer, axis, inner, scale, shift)
          const a = both(() => new Float32Array(n), affine)
          sameBits(a.wasm[0], a.cpu[0])
        },
      ),
    )
  })

  it('kthLargestAlongAxis: equal as numbers (k = 1 in wasm, k > 1 delegated), with NaN', () => {
    fc.assert(
      fc.property(
        fc
          .tuple(dim(4), dim(40), fc.oneof(fc.constant(1), dim(13)), fc.boolean(), dim(3))
          .chain(([outer, axis, inner, nan, k]) =>
            fc.tuple(fc.constant([outer, axis, inner, Math.min(k, axis)] as const), f32(outer * axis * inner, nan)),
          ),
        ([[outer, axis, inner, k], x]) => {
          const run = (be: Backend, out: Float32Array) => be.kthLargestAlongAxis(out, x, outer, axis, inner, k)
          const r = both(() => new Float32Array(outer * inner), run)
          sameNumbers(r.wasm[0], r.cpu[0])
        },
      ),
    )
  })

  it('groupMean: bit-identical, remainder dropped', () => {
    fc.assert(
      fc.property(
        fc.tuple(dim(5), dim(60), dim(12)).chain(([rows, length, size]) =>
          fc.tuple(fc.constant([rows, length, Math.min(size, length)] as const), f32(rows * length)),
        ),
        ([[rows, length, size], x]) => {
          const groups = Math.floor(length / size)
          const r = both(() => new Float32Array(rows * groups), (be, out) => be.groupMean(out, x, rows, length, size))
          sameBits(r.wasm[0], r.cpu[0])
        },
      ),
    )
  })

  it('calls larger than one slice (192 KiB) match too: slices cut at planes, rows, outer blocks', () => {
    fc.assert(
      fc.property(
        fc.tuple(fc.integer({ min: 30_000, max: 70_000 }), fc.integer({ min: 40, max: 90 })).chain(([n, planes]) =>
          fc.tuple(fc.constant([n, planes] as const), f32(n), f32(n), f32(planes * 32 * 32)),
        ),
        ([[n, planes], a, b, img]) => {
          const m = both(() => new Float32Array(n), (be, out) => be.axpy(out, a, 0.5, b))
          sameBits(m.wasm[0], m.cpu[0])
          const window: PoolWindow = { kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0 }
          const pool = (be: Backend, out: Float32Array) => be.pool2d(out, img, planes, 32, 32, window, 'max')
          const p = both(() => new Float32Array(planes * 256), pool)
          sameNumbers(p.wasm[0], p.cpu[0])
          const upsample = (be: Backend, out: Float32Array) => be.upsampleNearest(out, img, planes, 32, 32, 2)
          const up = both(() => new Float32Array(planes * 4096), upsample)
          sameBits(up.wasm[0], up.cpu[0])
          const [outer, axis, inner] = [planes, 4, 256]
          const moments = (be: Backend, mu: Float64Array, va: Float64Array) =>
            be.momentsAlongAxis(mu, va, img, outer, axis, inner)
          const mv = both(() => new Float64Array(outer * inner), moments, 2)
          sameBits(mv.wasm[0], mv.cpu[0])
          sameBits(mv.wasm[1], mv.cpu[1])
          const w = Float32Array.from({ length: axis }, (_, i) => 1 + i / 8)
          const norm = (be: Backend, out: Float32Array) =>
            be.normalizeAlongAxis(out, img, outer, axis, inner, mv.cpu[0], mv.cpu[1], w, w)
          const nz = both(() => new Float32Array(img.length), norm)
          sameBits(nz.wasm[0], nz.cpu[0])
          const g = both(() => new Float32Array(planes * 102), (be, out) => be.groupMean(out, img, planes, 1024, 10))
          sameBits(g.wasm[0], g.cpu[0])
          const max = (be: Backend, out: Float32Array) => be.kthLargestAlongAxis(out, img, outer, axis, inner, 1)
          const kth = both(() => new Float32Array(outer * inner), max)
          sameNumbers(kth.wasm[0], kth.cpu[0])
          const noise = Float32Array.from(img, (_, i) => (i % 7) / 7)
          const keep = (be: Backend, out: Float32Array) => be.keepMaxAlongAxis(out, img, noise, outer, axis, inner)
          const kept = both(() => new Float32Array(img.length), keep)
          sameBits(kept.wasm[0], kept.cpu[0])
          for (const [k, mode] of [[2, 'max'], [4, 'avg']] as const) {
            const step = (be: Backend) => {
              const out = new Float32Array(img.length / (k * k))
              const next = new Float32Array(img.length)
              be.liPoolStep(out, next, noise, img, planes, 32, 32, k, mode)
              return [out, next]
            }
            const [[co, cn], [wo, wn]] = [step(cpu), step(wasm)]
            sameBits(wo, co)
            sameBits(wn, cn)
          }
        },
      ),
      { numRuns: 5 },
    )
  })

  it('liPoolStep: bit-identical, max and avg, any k, with and without a sum, with NaN', () => {
    fc.assert(
      fc.property(
        fc
          .tuple(dim(3), dim(4), dim(6), dim(6), fc.boolean(), fc.boolean(), fc.boolean())
          .chain(([planes, k, oh, ow, max, withSum, nan]) => {
            const n = planes * oh * k * ow * k
            const sum = withSum ? f32(n, nan) : fc.constant(undefined)
            return fc.tuple(fc.constant({ planes, k, h: oh * k, w: ow * k, max }), f32(n, nan), sum)
          }),
        ([{ planes, k, h, w, max }, x, sum]) => {
          const mode = max ? 'max' : 'avg'
          const n = planes * h * w
          const outN = n / (k * k)
          const make = () => [new Float32Array(outN).fill(Number.NaN), new Float32Array(n).fill(Number.NaN)] as const
          const [co, cs] = make()
          const [wo, ws] = make()
          cpu.liPoolStep(co, cs, sum, x, planes, h, w, k, mode)
          wasm.liPoolStep(wo, ws, sum, x, planes, h, w, k, mode)
          sameBits(wo, co)
          sameBits(ws, cs)
          // and the fused reference is the unfused step it replaced: axpy, pool2d, upsample, axpy
          const total = new Float32Array(n)
          if (sum === undefined) total.set(x)
          else cpu.axpy(total, sum, 1, x)
          const window: PoolWindow = { kernelH: k, kernelW: k, strideH: k, strideW: k, padH: 0, padW: 0 }
          const out = new Float32Array(outN)
          cpu.pool2d(out, total, planes, h, w, window, mode)
          const up = new Float32Array(n)
          cpu.upsampleNearest(up, out, planes, h / k, w / k, k)
          const next = new Float32Array(n)
          cpu.axpy(next, total, -1, up)
          sameBits(co, out)
          sameBits(cs, next)
        },
      ),
    )
  })

  it('keepMaxAlongAxis: bit-identical, and equal to mul, column max and select, with NaN', () => {
    fc.assert(
      fc.property(
        fc
          .tuple(dim(4), dim(20), fc.oneof(fc.constant(1), dim(13)), fc.boolean())
          .chain(([outer, axis, inner, nan]) => {
            const n = outer * axis * inner
            const noise = fc.float32Array({ minLength: n, maxLength: n, min: 0, max: 1, noNaN: true })
            // small integers make ties common, as spikes do
            const spikes = fc
              .array(fc.integer({ min: -1, max: 2 }), { minLength: n, maxLength: n })
              .map((a) => Float32Array.from(a))
            return fc.tuple(fc.constant([outer, axis, inner] as const), fc.oneof(f32(n, nan), spikes), noise)
          }),
        ([[outer, axis, inner], x, u]) => {
          const run = (be: Backend, out: Float32Array) => be.keepMaxAlongAxis(out, x, u, outer, axis, inner)
          const r = both(() => new Float32Array(x.length), run)
          sameBits(r.wasm[0], r.cpu[0])
          const score = new Float32Array(x.length)
          cpu.mul(score, x, u)
          const best = new Float32Array(outer * inner)
          cpu.kthLargestAlongAxis(best, score, outer, axis, inner, 1)
          const want = new Float32Array(x.length)
          for (let j = 0; j < x.length; j++) {
            const column = Math.floor(j / (axis * inner)) * inner + (j % inner)
            if (score[j] >= best[column]) want[j] = x[j]
          }
          sameBits(r.cpu[0], want)
        },
      ),
    )
  })

  it('uniformFill: the same bits as uniform(key, n), float32 and float64, across slices', () => {
    fc.assert(
      fc.property(keyArb(), fc.oneof(fc.nat(70), fc.integer({ min: 40_000, max: 120_000 })), (k, n) => {
        const want = uniform(k, n)
        const got = new Float32Array(n).fill(Number.NaN)
        wasm.uniformFill(got, k)
        sameBits(got, want)
        const ref = new Float32Array(n).fill(Number.NaN)
        cpu.uniformFill(ref, k)
        sameBits(ref, want)
        const wide = new Float64Array(n)
        wasm.uniformFill(wide, k)
        sameBits(wide, uniform(k, n, 'float64'))
      }),
      { numRuns: 30 },
    )
  })

  it('float64 data runs the reference kernels (bit-identical)', () => {
    const a = Float64Array.from({ length: 12 }, (_, i) => Math.sin(i) * 1e-3 + 1 / 3)
    const r = both(() => new Float64Array(12), (be, out) => be.axpy(out, a, Math.PI, a))
    sameBits(r.wasm[0], r.cpu[0])
  })
})

describe('strided inputs through layer ops on the wasm backend', () => {
  const nchw = fc.tuple(dim(2), dim(3), fc.integer({ min: 2, max: 9 }), fc.integer({ min: 2, max: 9 }))

  it('maxPool2d and upsampleNearest: a strided view gives the contiguous result (and the cpu one)', () => {
    fc.assert(
      fc.property(
        nchw.chain((shape) => tensorArb(shape).chain((t) => fc.tuple(fc.constant(t), stridedViewArb(t)))),
        ([t, view]) => {
          const spec = { kernelSize: 2 }
          const ref = orThrow(maxPool2d(t, spec, cpu))
          sameNumbers(orThrow(maxPool2d(view, spec, wasm)).data, ref.data)
          sameBits(orThrow(upsampleNearest(view, 2, wasm)).data, orThrow(upsampleNearest(t, 2, cpu)).data)
        },
      ),
    )
  })

  it('customLinear and layerNorm: a strided view on wasm gives the cpu result on the contiguous copy', () => {
    fc.assert(
      fc.property(
        fc.tuple(dim(5), dim(9), dim(7)).chain(([n, i, o]) =>
          fc.tuple(tensorArb([n, i]).chain((t) => fc.tuple(fc.constant(t), stridedViewArb(t))), tensorArb([i, o])),
        ),
        ([[x, view], weight]) => {
          const features = x.shape[1]
          const linear = customLinear({ inFeatures: features, outFeatures: weight.shape[1] })
          const params = orThrow(customLinearParams({ weight }))
          const ref = orThrow(linear.apply(params, {}, copy(x), evaluate(cpu))).output as Tensor
          const got = orThrow(linear.apply(params, {}, view, evaluate(wasm))).output as Tensor
          for (let j = 0; j < ref.data.length; j++) {
            expect(Math.abs(got.data[j] - ref.data[j])).toBeLessThanOrEqual(1e-4)
          }
          const ln = layerNorm({ normalizedShape: features })
          const lp = orThrow(ln.init(key(0), x.shape)).params
          const a = orThrow(ln.apply(lp, {}, copy(x), evaluate(cpu))).output as Tensor
          const b = orThrow(ln.apply(lp, {}, view, evaluate(wasm))).output as Tensor
          for (let j = 0; j < a.data.length; j++) expect(Math.abs(b.data[j] - a.data[j])).toBeLessThanOrEqual(1e-5)
        },
      ),
    )
  })
})
