/**
 * The kernel parity table, shared by the Node tests (test/gpu/parity.test.ts, under fast-check)
 * and the browser page (a fixed sample of each case): for every kernel the GPU device ports, an
 * arbitrary of calls (host arguments: float32 buffers and attributes) with, per output, how it
 * must compare with the `cpu` device's: exactly (selections, copies), or within
 * `REL * scale + ABS` with `scale` the sum of the magnitudes of the terms behind that output.
 * The table's type makes it cover every ported kernel. No test runner here: {@link checkCall}
 * gives the problems it found as strings.
 */
import fc from 'fast-check'
import { cpu } from '../../../src/backend/cpu/index.js'
import type { GpuBuffer, GpuDevice, GpuUnported } from '../../../src/gpu/index.js'
import type { KernelName, NeuronAttrs, PoolMode, PoolWindow } from '../../../src/kernel/kernels.js'
import { kernelSpecs } from '../../../src/kernel/spec.js'

export const REL = 1e-5
export const ABS = 1e-7

// ---------------------------------------------------------------------------------------------
// data and arbitraries
// ---------------------------------------------------------------------------------------------

/** Deterministic float32 data in [-range, range) from a seed. */
export const data = (n: number, seed: number, range = 1): Float32Array => {
  let s = seed >>> 0 || 1
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    out[i] = (s / 2 ** 31 - 1) * range
  }
  return out
}

export const seedArb = fc.integer({ min: 1, max: 2 ** 31 - 1 })
export const dim = (max: number): fc.Arbitrary<number> => fc.integer({ min: 1, max })

/** Square or rectangular windows that fit the image; padding at most half the window. */
export const windowArb = (height: number, width: number): fc.Arbitrary<PoolWindow> =>
  fc
    .record({
      kernelH: dim(Math.min(4, height)),
      kernelW: dim(Math.min(4, width)),
      strideH: dim(3),
      strideW: dim(3),
      padFraction: fc.integer({ min: 0, max: 2 }),
    })
    .map(({ kernelH, kernelW, strideH, strideW, padFraction }) => ({
      kernelH,
      kernelW,
      strideH,
      strideW,
      padH: Math.min(padFraction, Math.floor(kernelH / 2)),
      padW: Math.min(padFraction, Math.floor(kernelW / 2)),
    }))

/** Up to `planes` images of up to `size` x `size` with a window that fits, and a data seed. */
export const poolCaseArb = (planes: number, size: number) =>
  fc
    .record({ planes: dim(planes), height: dim(size), width: dim(size), seed: seedArb })
    .chain((c) => windowArb(c.height, c.width).map((window) => ({ ...c, window })))

/** Data with a common offset, so that two-pass moments are tested where one pass would cancel. */
const offsetArb = fc.double({ min: -10, max: 10, noNaN: true })
const axesArb = fc.record({ outer: dim(5), axis: dim(9), inner: dim(20), seed: seedArb })
const modeArb = fc.constantFrom<PoolMode>('max', 'avg')

// ---------------------------------------------------------------------------------------------
// the table
// ---------------------------------------------------------------------------------------------

/** How one output must compare: exactly, or within the tolerance of `scale(i)`; `skip(i)`: not compared at i. */
export type Expect =
  | { readonly exact: true; readonly skip?: (i: number) => boolean }
  | { readonly exact?: false; readonly scale: (i: number) => number; readonly skip?: (i: number) => boolean }

/** One call: the host arguments (float32 buffers, then attributes) and how each output compares. */
export interface Call {
  readonly args: readonly unknown[]
  readonly outs: readonly Expect[]
  /** What the call was, for messages. */
  readonly what: string
}

const exact: Expect = { exact: true }
const close = (scale: (i: number) => number, skip?: (i: number) => boolean): Expect => ({ scale, skip })
const abs = Math.abs

/** The ported kernels. */
export type Ported = Exclude<KernelName, GpuUnported>

/** An arbitrary of calls for every ported kernel. */
export const kernelCases: { readonly [K in Ported]: fc.Arbitrary<Call> } = {
  matmul: fc
    .record({
      m: dim(9),
      k: dim(40),
      n: dim(9),
      bias: fc.boolean(),
      transA: fc.boolean(),
      transB: fc.boolean(),
      seed: seedArb,
    })
    .map(({ m, k, n, bias: withBias, transA, transB, seed }) => {
      const a = data(m * k, seed)
      const b = data(k * n, seed + 1)
      const bias = withBias ? data(n, seed + 2) : null
      const A = (i: number, p: number) => (transA ? a[p * m + i] : a[i * k + p])
      const B = (p: number, j: number) => (transB ? b[j * k + p] : b[p * n + j])
      const scale = (idx: number) => {
        const [i, j] = [Math.floor(idx / n), idx % n]
        let s = bias ? abs(bias[j]) : 0
        for (let p = 0; p < k; p++) s += abs(A(i, p) * B(p, j))
        return s
      }
      return { args: [a, b, bias, { m, k, n, transA, transB }], outs: [close(scale)], what: `${m}x${k}x${n}` }
    }),
  sumAlongAxis: axesArb.map(({ outer, axis, inner, seed }) => {
    const x = data(outer * axis * inner, seed, 3)
    const scale = (s: number) => {
      const [o, i] = [Math.floor(s / inner), s % inner]
      let t = 0
      for (let c = 0; c < axis; c++) t += abs(x[(o * axis + c) * inner + i])
      return t
    }
    return { args: [x, { outer, axis, inner }], outs: [close(scale)], what: `[${outer}, ${axis}, ${inner}]` }
  }),
  broadcastAlongAxis: axesArb.map(({ outer, axis, inner, seed }) => ({
    args: [data(outer * inner, seed, 3), { outer, axis, inner }],
    outs: [exact],
    what: `[${outer}, ${inner}] along ${axis}`,
  })),
  momentsAlongAxis: fc.tuple(axesArb, offsetArb).map(([{ outer, axis, inner, seed }, offset]) => {
    const x = Float32Array.from(data(outer * axis * inner, seed, 3), (v) => v + offset)
    const column = (f: (v: number) => number) => (s: number) => {
      const [o, i] = [Math.floor(s / inner), s % inner]
      let t = 0
      for (let c = 0; c < axis; c++) t += f(x[(o * axis + c) * inner + i])
      return t / axis
    }
    return {
      args: [x, { outer, axis, inner }],
      outs: [close(column(abs)), close(column((v) => v * v))],
      what: `[${outer}, ${axis}, ${inner}] + ${offset}`,
    }
  }),
  momentsPerChannel: fc.tuple(axesArb, offsetArb).map(([{ outer, axis: channels, inner, seed }, offset]) => {
    const x = Float32Array.from(data(outer * channels * inner, seed, 3), (v) => v + offset)
    const channel = (f: (v: number) => number) => (c: number) => {
      let t = 0
      for (let o = 0; o < outer; o++) for (let i = 0; i < inner; i++) t += f(x[(o * channels + c) * inner + i])
      return t / (outer * inner)
    }
    return {
      args: [x, { outer, channels, inner }],
      outs: [close(channel(abs)), close(channel((v) => v * v))],
      what: `[${outer}, ${channels}, ${inner}] + ${offset}`,
    }
  }),
  normalizeAlongAxis: fc
    .tuple(axesArb, fc.constantFrom(1e-5, 1e-3))
    .map(([{ outer, axis, inner, seed }, eps]) => {
      const x = data(outer * axis * inner, seed, 3)
      const mean = data(outer * inner, seed + 1)
      const variance = data(outer * inner, seed + 2, 2).map(abs)
      const weight = data(axis, seed + 3, 2)
      const bias = data(axis, seed + 4, 2)
      const scale = (idx: number) => {
        const [o, c, i] = [Math.floor(idx / (axis * inner)), Math.floor(idx / inner) % axis, idx % inner]
        const s = o * inner + i
        return ((abs(x[idx]) + abs(mean[s])) / Math.sqrt(variance[s] + eps)) * abs(weight[c]) + abs(bias[c])
      }
      return {
        args: [x, mean, variance, weight, bias, { outer, axis, inner, eps }],
        outs: [close(scale)],
        what: `[${outer}, ${axis}, ${inner}] eps ${eps}`,
      }
    }),
  channelScaleShift: fc
    .record({ channels: dim(9), steps: dim(4), gains: fc.boolean(), seed: seedArb })
    .map(({ channels, steps, gains: withGains, seed }) => {
      const [mean, weight, bias] = [1, 2, 3].map((j) => data(channels, seed + j, 2))
      const variance = data(channels, seed + 4, 2).map(abs)
      const gains = withGains ? data(steps, seed + 5, 2) : null
      const eps = 1e-5
      const s = (c: number) => abs(weight[c]) / Math.sqrt(variance[c] + eps)
      const g = (t: number) => (gains ? abs(gains[t]) : 1)
      const at = (i: number) => [Math.floor(i / channels), i % channels] as const
      return {
        args: [mean, variance, weight, bias, gains, { channels, steps: gains ? steps : 1, eps }],
        outs: [
          close((i) => s(at(i)[1]) * g(at(i)[0])),
          close((i) => (abs(bias[at(i)[1]]) + abs(mean[at(i)[1]]) * s(at(i)[1])) * g(at(i)[0])),
        ],
        what: `${channels} channels, ${gains ? steps : 1} steps`,
      }
    }),
  channelAffine: fc
    .record({ block: dim(3), steps: dim(3), channels: dim(7), inner: dim(12), seed: seedArb })
    .map(({ block, steps, channels, inner, seed }) => {
      const outer = block * steps
      const x = data(outer * channels * inner, seed, 3)
      const scale = data(steps * channels, seed + 1, 2)
      const shift = data(steps * channels, seed + 2, 2)
      const bound = (i: number) => {
        const o = Math.floor(i / (channels * inner))
        const row = Math.floor(o / block) * channels + (Math.floor(i / inner) % channels)
        return abs(x[i] * scale[row]) + abs(shift[row])
      }
      return {
        args: [x, scale, shift, { outer, channels, inner, steps }],
        outs: [close(bound)],
        what: `[${outer}, ${channels}, ${inner}] in ${steps} steps`,
      }
    }),
  runningStats: fc
    .record({
      n: dim(40),
      momentum: fc.double({ min: 0, max: 1, noNaN: true }),
      count: fc.integer({ min: 2, max: 1000 }),
      seed: seedArb,
    })
    .map(({ n, momentum, count, seed }) => {
      const [rm, mean] = [data(n, seed), data(n, seed + 1)]
      const [rv, variance] = [data(n, seed + 2).map(abs), data(n, seed + 3).map(abs)]
      const c = count / (count - 1)
      return {
        args: [rm, rv, mean, variance, { momentum, count }],
        outs: [
          close((i) => abs((1 - momentum) * rm[i]) + abs(momentum * mean[i])),
          close((i) => abs((1 - momentum) * rv[i]) + abs(momentum * variance[i] * c)),
        ],
        what: `${n} values, momentum ${momentum}, count ${count}`,
      }
    }),
  pool2d: fc.tuple(poolCaseArb(5, 12), modeArb).map(([{ planes, height, width, window, seed }, mode]) => ({
    args: [data(planes * height * width, seed), { planes, height, width, window, mode }],
    outs: [mode === 'max' ? exact : close(() => 1)],
    what: `${mode} [${planes}, ${height}, ${width}] ${JSON.stringify(window)}`,
  })),
  maxPool2dBy: poolCaseArb(5, 12).map(({ planes, height, width, window, seed }) => {
    const size = planes * height * width
    // spike-count keys: 0..3, many ties
    const key = Float32Array.from(data(size, seed), (v) => Math.floor((v + 1) * 2))
    return {
      args: [key, data(size, seed + 7), { planes, height, width, window }],
      outs: [exact],
      what: `[${planes}, ${height}, ${width}] ${JSON.stringify(window)}`,
    }
  }),
  upsampleNearest: fc
    .record({ planes: dim(4), height: dim(9), width: dim(9), factor: dim(4), seed: seedArb })
    .map(({ planes, height, width, factor, seed }) => ({
      args: [data(planes * height * width, seed), { planes, height, width, factor }],
      outs: [exact],
      what: `[${planes}, ${height}, ${width}] x${factor}`,
    })),
  liPoolStep: fc
    .record({ planes: dim(4), oh: dim(5), ow: dim(5), k: dim(3), mode: modeArb, withSum: fc.boolean(), seed: seedArb })
    .map(({ planes, oh, ow, k, mode, withSum, seed }) => {
      const [height, width] = [oh * k, ow * k]
      const sum = withSum ? data(planes * height * width, seed, 3) : null
      return {
        args: [sum, data(planes * height * width, seed + 1), { planes, height, width, k, mode }],
        outs: [mode === 'max' ? exact : close(() => 4), close(() => 8)],
        what: `${mode} [${planes}, ${height}, ${width}] k ${k}${withSum ? '' : ' (no sum)'}`,
      }
    }),
  groupMean: fc
    .record({ rows: dim(6), length: dim(30), size: dim(7), seed: seedArb })
    .filter(({ length, size }) => size <= length)
    .map(({ rows, length, size, seed }) => ({
      args: [data(rows * length, seed), { rows, length, size }],
      outs: [close(() => 1)],
      what: `[${rows}, ${length}] by ${size}`,
    })),
  mul: fc.tuple(dim(3000), seedArb).map(([n, seed]) => {
    const [a, b] = [data(n, seed), data(n, seed + 1)]
    return { args: [a, b], outs: [close((i) => abs(a[i] * b[i]))], what: `${n} values` }
  }),
  axpy: fc.tuple(dim(3000), fc.double({ min: -4, max: 4, noNaN: true }), seedArb).map(([n, alpha, seed]) => {
    const [a, b] = [data(n, seed), data(n, seed + 1)]
    return { args: [a, b, { alpha }], outs: [close((i) => abs(a[i]) + abs(alpha * b[i]))], what: `${n} values, alpha ${alpha}` }
  }),
  scale: fc.tuple(dim(3000), fc.double({ min: -4, max: 4, noNaN: true }), seedArb).map(([n, alpha, seed]) => {
    const x = data(n, seed)
    return { args: [x, { alpha }], outs: [close((i) => abs(alpha * x[i]))], what: `${n} values, alpha ${alpha}` }
  }),
  neuron: fc
    .record({
      n: dim(500),
      withV: fc.boolean(),
      model: fc.constantFrom<'if' | 'lif'>('if', 'lif'),
      fireAt: fc.constantFrom<'>' | '>='>('>', '>='),
      reset: fc.constantFrom<'soft' | 'hard'>('soft', 'hard'),
      threshold: fc.double({ min: 0.05, max: 1, noNaN: true }),
      tau: fc.double({ min: 1, max: 5, noNaN: true }),
      vReset: fc.double({ min: -1, max: 1, noNaN: true }),
      seed: seedArb,
    })
    .map(({ n, withV, seed, ...a }) => {
      const v = withV ? data(n, seed) : null
      const x = data(n, seed + 1)
      const attrs: NeuronAttrs = { ...a, surrogate: 'atan', alpha: 2 }
      const vi = (i: number) => (v === null ? 0 : v[i])
      const u = (i: number) => (a.model === 'lif' ? vi(i) + (x[i] - vi(i)) / a.tau : vi(i) + x[i])
      // float32 potentials within rounding of the threshold may fire on one side and not the other
      const near = (i: number) => abs(u(i) - a.threshold) <= 1e-6
      const scale = (i: number) => abs(vi(i)) + abs(x[i]) + a.threshold + abs(a.vReset)
      return {
        args: [v, x, attrs],
        outs: [{ exact: true, skip: near }, close(scale, near)],
        what: `${n} values ${JSON.stringify(a)}${withV ? '' : ' (no v)'}`,
      }
    }),
  fill: fc
    .tuple(dim(3000), fc.double({ min: -1e6, max: 1e6, noNaN: true }))
    .map(([length, value]) => ({ args: [{ length, value, dtype: 'float32' }], outs: [exact], what: `${length} x ${value}` })),
  concat: fc.tuple(fc.array(dim(40), { minLength: 1, maxLength: 5 }), seedArb).map(([lengths, seed]) => ({
    args: [lengths.map((n, j) => data(n, seed + j))],
    outs: [exact],
    what: `parts ${lengths.join(', ')}`,
  })),
  slice: fc
    .tuple(dim(100), seedArb)
    .chain(([n, seed]) =>
      fc
        .tuple(fc.integer({ min: 0, max: n - 1 }), dim(n))
        .filter(([offset, length]) => offset + length <= n)
        .map(([offset, length]) => ({ args: [data(n, seed), { offset, length }], outs: [exact], what: `[${offset}, +${length}) of ${n}` })),
    ),
}

// ---------------------------------------------------------------------------------------------
// checking a call
// ---------------------------------------------------------------------------------------------

/** The problems a comparison found (empty when it passed); the first few only. */
export const compare = (what: string, got: ArrayLike<number>, want: ArrayLike<number>, e: Expect): string[] => {
  if (got.length !== want.length) return [`${what}: length ${got.length}, expected ${want.length}`]
  const problems: string[] = []
  for (let i = 0; i < want.length && problems.length < 3; i++) {
    if (e.skip?.(i)) continue
    if (e.exact === true) {
      if (!Object.is(got[i], want[i])) problems.push(`${what}[${i}]: gpu ${got[i]} vs cpu ${want[i]}`)
      continue
    }
    const bound = REL * e.scale(i) + ABS
    const d = abs(got[i] - want[i])
    if (!(d <= bound)) problems.push(`${what}[${i}]: gpu ${got[i]} vs cpu ${want[i]} (|d| ${d} > ${bound})`)
  }
  return problems
}

/** What one call on the GPU device gave. */
export interface CallCheck {
  /** Mismatches against the `cpu` device, inputs changed by the call, or the call having run on the host. */
  readonly problems: readonly string[]
  /** The kinds of the buffers the call made. */
  readonly kinds: readonly GpuBuffer['kind'][]
  /** Largest |gpu - cpu| / (REL * scale + ABS) over the compared outputs (0 for exact ones that matched). */
  readonly worst: number
}

/**
 * Runs `call` of kernel `name` on `gpu` (its buffers uploaded) and on `cpu`, compares the
 * outputs, checks the inputs are unchanged and that the call ran on gpu.js (not the host), and
 * frees every buffer it made; `inspect` sees each output before it is read.
 */
export const checkCall = (
  gpu: GpuDevice,
  name: KernelName,
  call: Call,
  inspect: (b: GpuBuffer) => void = () => undefined,
): CallCheck => {
  const problems: string[] = []
  const inputs = kernelSpecs[name].inputs
  const uploaded: GpuBuffer[] = []
  const up = (d: unknown): unknown => {
    if (d === null) return null
    const b = gpu.upload(d as Float32Array)
    uploaded.push(b)
    return b
  }
  const gpuArgs =
    inputs === 'list'
      ? [(call.args[0] as readonly Float32Array[]).map(up), ...call.args.slice(1)]
      : [...call.args.slice(0, inputs).map(up), ...call.args.slice(inputs)]
  const hostBefore = gpu.hostCalls()[name] ?? 0
  const want = cpu.run(name, call.args)
  const got = gpu.run(name, gpuArgs)
  if ((gpu.hostCalls()[name] ?? 0) !== hostBefore) problems.push(`${name} ${call.what}: ran on the host`)
  const kinds = got.map((b) => b.kind)
  let worst = 0
  got.forEach((b, j) => {
    inspect(b)
    const values = gpu.read(b)
    gpu.free(b)
    const e = call.outs[j]
    const label = `${name}.${kernelSpecs[name].outputs[j]} ${call.what}`
    problems.push(...compare(label, values, want[j], e))
    if (e.exact !== true) {
      for (let i = 0; i < values.length; i++) {
        if (!e.skip?.(i)) worst = Math.max(worst, abs(values[i] - want[j][i]) / (REL * e.scale(i) + ABS))
      }
    }
  })
  const hostInputs = inputs === 'list' ? (call.args[0] as readonly Float32Array[]) : (call.args.slice(0, inputs).filter((a) => a !== null) as Float32Array[])
  uploaded.forEach((b, j) => {
    problems.push(...compare(`${name} input ${j} after the call`, gpu.read(b), hostInputs[j], exact))
    gpu.free(b)
  })
  return { problems, kinds, worst }
}

/** A fixed sample of each case (for the browser page): `runs` calls per kernel from `seed`. */
export const sampleCases = (runs: number, seed = 42): readonly (readonly [Ported, Call])[] =>
  (Object.keys(kernelCases) as Ported[]).flatMap((name) =>
    fc.sample(kernelCases[name] as fc.Arbitrary<Call>, { numRuns: runs, seed }).map((c) => [name, c] as const),
  )
