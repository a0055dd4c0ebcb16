/**
 * `npm run bench:train [-- --quick] [--no-cpu] [--threads N]`: the kernels a training step adds,
 * cpu reference against wasm on one thread and on N (default 2). GFLOP/s for the matmuls of W1b
 * (x [256, 1024] @ W [1024, 1024], plain and with either operand stored transposed, plus the
 * backward's dW = x^T g) and for the demo's second convolution (x [256, 16, 14, 14], weight
 * [32, 16, 5, 5], padding 2: forward, input and weight gradients, 2 N O Ho Wo C kh kw flops
 * each); milliseconds for the bandwidth-bound backward kernels at the demo's sizes (the threads
 * column runs them on one thread too: only matmul and the convolutions are spread). Each cell is
 * the median of repeated calls (bench/harness.ts's plan), in wall-clock time and in this
 * process's CPU time (all its threads): on a shared machine the second is the steadier. The one-
 * and N-thread calls are timed round-robin, so load that drifts weighs on both alike. Every wasm
 * output is checked against the reference first, and the N-thread output against the one-thread
 * output bit for bit (`Object.is`).
 *
 * @module
 */
import { cpu, type Device, type Data, loadWasmBackend, wasmThreads } from '../src/index.js'
import type { ConvAttrs, PoolAttrs } from '../src/kernel/kernels.js'
import { fullPlan, mismatchFraction, quickPlan, type TimingPlan, uniformData, warmUp } from './harness.js'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const withCpu = !args.includes('--no-cpu')
const plan = quick ? quickPlan : fullPlan
const threadsAt = args.indexOf('--threads')
const threads = threadsAt >= 0 ? Number(args[threadsAt + 1]) : 2

const [loaded, loadedMany] = await Promise.all([
  loadWasmBackend(undefined, { threads: 1 }),
  loadWasmBackend(undefined, { threads }),
])
if (loaded === undefined || loadedMany === undefined) {
  console.error('the wasm kernels did not load: run `npm run build:wasm`')
  process.exit(1)
}
const wasm: Device<Data> = loaded
const wasmMany: Device<Data> = loadedMany

interface Timing {
  readonly wall: number
  readonly cpu: number
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/**
 * Median wall and CPU milliseconds per call of each of `fs`, timed round-robin (one call of each
 * per round; the harness's plan: warm-up, then rounds within a budget).
 */
const time = (fs: readonly (() => unknown)[], p: TimingPlan): readonly Timing[] => {
  const t0 = performance.now()
  fs.forEach((f) => f())
  const slow = performance.now() - t0 > 250 * fs.length
  // a round is one call of each: the warm-up's time scales with them
  if (!slow) warmUp(() => fs.forEach((f) => f()), { ...p, warmupMs: p.warmupMs * fs.length }, t0)
  const minRuns = slow ? Math.min(p.minRuns, 3) : p.minRuns
  const walls = fs.map((): number[] => [])
  const cpus = fs.map((): number[] => [])
  let spent = 0
  while (walls[0].length < p.maxRuns && (walls[0].length < minRuns || spent < p.budgetMs * fs.length)) {
    fs.forEach((f, i) => {
      const c0 = process.cpuUsage()
      const w0 = performance.now()
      f()
      const dt = performance.now() - w0
      const c = process.cpuUsage(c0)
      walls[i].push(dt)
      cpus[i].push((c.user + c.system) / 1000)
      spent += dt
    })
  }
  return fs.map((_, i) => ({ wall: median(walls[i]), cpu: median(cpus[i]) }))
}

interface Row {
  readonly name: string
  /** Floating-point operations per call (GFLOP/s rows), or undefined (ms rows). */
  readonly flops?: number
  readonly run: (device: Device<Data>) => Data
}

const scale = quick ? 8 : 1
const [m, k, n] = [256 / scale, 1024 / scale, 1024 / scale]
const x = uniformData(m * k, 1)
const w = uniformData(k * n, 2)
const g = uniformData(m * n, 3)
const mmFlops = 2 * m * k * n

const conv: ConvAttrs = {
  n: 256 / scale, c: 16, h: 14, w: 14, o: 32, kh: 5, kw: 5, sh: 1, sw: 1, ph: 2, pw: 2, dh: 1, dw: 1, groups: 1,
}
const cx = uniformData(conv.n * conv.c * conv.h * conv.w, 4)
const cw = uniformData(conv.o * conv.c * conv.kh * conv.kw, 5, -0.2, 0.2)
const cb = uniformData(conv.o, 6)
const cg = uniformData(conv.n * conv.o * conv.h * conv.w, 7)
const convFlops = 2 * conv.n * conv.o * conv.h * conv.w * conv.c * conv.kh * conv.kw

// the demo's first pooling and neuron layer: [256, 16, 28, 28]
const planes = (256 / scale) * 16
const cells = planes * 28 * 28
const px = Float32Array.from(uniformData(cells, 8), (v) => (v > 0.3 ? 1 : 0)) // spikes: ties everywhere
const pg = uniformData(cells / 4, 9)
const pool: PoolAttrs = {
  planes,
  height: 28,
  width: 28,
  window: { kernelH: 2, kernelW: 2, strideH: 2, strideW: 2, padH: 0, padW: 0 },
  mode: 'max',
}
const nv = uniformData(cells, 10, -0.5, 1)
const nx = uniformData(cells, 11, -0.5, 1)
const ng = uniformData(cells, 12)
const lif = {
  model: 'lif', tau: 2, threshold: 0.5, fireAt: '>', reset: 'hard', vReset: 0, surrogate: 'qgate', alpha: 2,
} as const
const affine = { outer: 256 / scale, channels: 32, inner: 196, steps: 4 }
const scaleShift = new Float64Array(4 * 32).map((_, i) => 0.5 + i / 256)

const rows: readonly Row[] = [
  { name: `matmul [${m}, ${k}] @ [${k}, ${n}]`, flops: mmFlops, run: (d) => d.matmul(x, w, null, { m, k, n }) },
  {
    name: 'matmul transA (a stored [k, m])',
    flops: mmFlops,
    run: (d) => d.matmul(x, w, null, { m, k, n, transA: true }),
  },
  {
    name: 'matmul transB (b stored [n, k])',
    flops: mmFlops,
    run: (d) => d.matmul(x, w, null, { m, k, n, transB: true }),
  },
  {
    name: `W1b dX = g W^T (transB)`,
    flops: mmFlops,
    run: (d) => d.matmul(g, w, null, { m, k: n, n: k, transB: true }),
  },
  {
    name: `W1b dW = x^T g (transA)`,
    flops: mmFlops,
    run: (d) => d.matmul(x, g, null, { m: k, k: m, n, transA: true }),
  },
  { name: `conv2d [${conv.n}, 16, 14, 14] * [32, 16, 5, 5]`, flops: convFlops, run: (d) => d.conv2d(cx, cw, cb, conv) },
  { name: 'conv2dGradInput', flops: convFlops, run: (d) => d.conv2dGradInput(cg, cw, conv) },
  { name: 'conv2dGradWeight', flops: convFlops, run: (d) => d.conv2dGradWeight(cg, cx, conv) },
  { name: `pool2dGrad 2x2 max [${planes}, 28, 28]`, run: (d) => d.pool2dGrad(pg, px, pool) },
  { name: `neuron LIF [${cells}]`, run: (d) => d.neuron(nv, nx, lif).v },
  { name: `neuronGrad LIF qgate [${cells}]`, run: (d) => d.neuronGrad(ng, ng, nv, nx, lif).dx },
  {
    name: `channelAffineGrad [${affine.outer}, 32, 196]`,
    run: (d) => d.channelAffineGrad(cg, cg, scaleShift, affine).dx,
  },
  {
    name: 'sumAlongAxis (conv bias: over n)',
    run: (d) => d.sumAlongAxis(cg, { outer: 1, axis: conv.n, inner: conv.o * 196 }),
  },
]

const fmt = (v: number, digits = 1) => v.toFixed(digits).padStart(8)
const many = `x${wasmThreads(wasmMany)}`
console.log(
  `node ${process.version}; ${quick ? 'quick sizes' : 'full sizes'}; medians of ${plan.minRuns}+ runs; ` +
    `wasm on 1 and ${wasmThreads(wasmMany)} threads`,
)
console.log(
  `${'kernel'.padEnd(44)} ${'cpu wall'.padStart(9)} ${'wasm wall'.padStart(9)} ${'wasm cpu'.padStart(9)} ` +
    `${`${many} wall`.padStart(9)} ${`${many} cpu`.padStart(9)} ${'speedup'.padStart(8)}  unit`,
)
for (const row of rows) {
  const want = withCpu ? row.run(cpu) : undefined
  const got = row.run(wasm)
  const gotMany = row.run(wasmMany)
  // the convolutions' gradients sum in another order (within the property suite's bounds)
  const off = want === undefined ? 0 : mismatchFraction(got, want, 1e-4)
  const differ = gotMany.length !== got.length || gotMany.some((v, i) => !Object.is(v, got[i]))
  const c = withCpu ? time([() => row.run(cpu)], plan)[0] : undefined
  const [t, tMany] = time([() => row.run(wasm), () => row.run(wasmMany)], plan)
  const show = (ms: number | undefined) =>
    ms === undefined ? '       -' : row.flops === undefined ? fmt(ms, 2) : fmt(row.flops / ms / 1e6)
  const unit = row.flops === undefined ? 'ms' : 'GFLOP/s'
  const cells = [show(c?.wall), show(t.wall), show(t.cpu), show(tMany.wall), show(tMany.cpu)].join('  ')
  const notes = `${off > 0 ? `  MISMATCH ${off}` : ''}${differ ? `  ${many} BITS DIFFER` : ''}`
  console.log(`${row.name.padEnd(44)} ${cells}  ${fmt(t.wall / tMany.wall, 2)}x  ${unit}${notes}`)
}
