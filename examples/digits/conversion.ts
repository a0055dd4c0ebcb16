/**
 * `npm run demo:conversion`: why LIPool exists.
 *
 * An ANN converted to an SNN keeps its max-pooling layers, but pooling spikes is not pooling
 * rates: a max over spikes passes a spike whenever any neuron of the window fires, so its rate
 * is far above the max of the rates. BrainCog offers two spiking max pools. SMaxPool passes the
 * spikes of the window's neuron with the largest count so far; LIPool subtracts what it has
 * already passed from every neuron of the window (lateral inhibition), so the count it has
 * passed always equals the largest input count.
 *
 * This demo takes digit images as analog activations `[N, 1, 28, 28]`, Poisson-encodes them
 * over T steps, pools the spike trains with both layers (2x2 max child), and compares each
 * layer's average output rate with the analog `maxPool2d` of the input rates.
 *
 *   npm run demo:conversion -- --digits 100 --gain 0.5 --steps 8,16,32,64,128,256 --seed 0 --out out
 *
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  flatData,
  foldIn,
  key,
  liPool,
  maxPool2d,
  orThrow,
  poissonEncode,
  type PoolSpec,
  type Rank5,
  reshape,
  scan,
  sMaxPool,
  type Tensor,
  train,
  wrap,
} from '../../src/index.js'
import { commonOptions, intFlag, progressBar, runAsScript } from './cli.js'
import { CLASSES, loadDigits } from './data.js'
import { document, lineChart, text } from './svg.js'

/** Command-line options. */
export interface ConversionOptions {
  readonly digits: number
  /** Activations are the pixel values times this (rates must stay in [0, 1]). */
  readonly gain: number
  readonly steps: readonly number[]
  readonly seed: number
  readonly out: string
  readonly progress: boolean
}

/** One row of the table. */
export interface ConversionRow {
  readonly steps: number
  /** Mean |rate - analog max| over all pooled positions. */
  readonly liPool: number
  readonly sMaxPool: number
  /** Mean (rate - analog max): positive means too many spikes. */
  readonly sMaxPoolBias: number
  /** The same for LIPool (the max of noisy rates is biased up a little too). */
  readonly liPoolBias: number
  /** Mean |rate - analog max| of maxPool2d applied to each step's spikes: the naive way. */
  readonly naive: number
  /** Largest |LIPool rate - max of the input spike rates|: LIPool is exact on its input. */
  readonly liPoolVsSpikes: number
  /** Mean |max of the input spike rates - analog max|: the encoding noise alone. */
  readonly encodingNoise: number
}

/** What a run measured. */
export interface ConversionResult {
  readonly rows: readonly ConversionRow[]
  readonly svgPath: string
}

const usage = 'usage: npm run demo:conversion -- [--digits N] [--gain G] [--steps T1,T2,...] [--seed S] [--out DIR]'

/** Parses argv (without node and the script) into options; throws on bad values. */
export const parseConversionOptions = (argv: readonly string[]): ConversionOptions => {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      digits: { type: 'string', default: '100' },
      gain: { type: 'string', default: '0.5' },
      steps: { type: 'string', short: 'T', default: '8,16,32,64,128,256' },
      ...commonOptions,
    },
  })
  if (values.help) throw new RangeError(usage)
  const int = (name: string, v: string, min: number): number => intFlag(name, v, min, usage)
  return {
    digits: int('digits', values.digits, CLASSES),
    gain: gainOf(values.gain),
    steps: values.steps.split(',').map((s) => int('steps', s.trim(), 1)),
    seed: int('seed', values.seed, 0),
    out: values.out,
    progress: !values['no-progress'],
  }
}

const gainOf = (v: string): number => {
  const g = Number(v)
  if (!(g > 0 && g <= 1)) throw new RangeError(`--gain: expected a number in (0, 1], got ${v}\n${usage}`)
  return g
}

const CHILD: PoolSpec = { op: 'maxPool2d', kernelSize: 2 }

/** The average over the leading time axis of `[T, ...]`, as flat data. */
const meanOverTime = (x: Tensor): Float64Array => {
  const [T] = x.shape
  const step = x.size / T
  const d = flatData(x)
  const out = new Float64Array(step)
  for (let t = 0; t < T; t++) for (let i = 0; i < step; i++) out[i] += d[t * step + i]
  for (let i = 0; i < step; i++) out[i] /= T
  return out
}

/** Runs one pooling layer (scanned over time) on spike trains `[T, N, C, H, W]`. */
const poolSpikes = (layer: typeof liPool | typeof sMaxPool, spikes: Tensor): Float64Array => {
  const pool = scan(layer({ child: CHILD }))
  const { params, state } = orThrow(pool.init(key(0), spikes.shape))
  return meanOverTime(orThrow(pool.apply(params, state, spikes as Tensor<Rank5>, train())).output)
}

const mean = (xs: ArrayLike<number>): number => {
  let s = 0
  for (let i = 0; i < xs.length; i++) s += xs[i]
  return xs.length ? s / xs.length : 0
}

/** Measures one presentation length. */
const measure = (images: Tensor, analog: Float32Array | Float64Array, steps: number, seed: number): ConversionRow => {
  const spikes = poissonEncode(foldIn(key(seed), steps), images, steps)
  const li = poolSpikes(liPool, spikes)
  const sm = poolSpikes(sMaxPool, spikes)
  // the analog max pool of the rates the spikes actually had: what an ideal spiking pool gives
  const [N, C, H, W] = images.shape
  const empirical = flatData(orThrow(maxPool2d(wrap(Float32Array.from(meanOverTime(spikes)), [N, C, H, W]), CHILD)))
  // the naive spiking pool: the analog max pool applied to every step's spikes
  const perStep = orThrow(maxPool2d(reshape(spikes, [steps * N, C, H, W]), CHILD))
  const naive = meanOverTime(reshape(perStep, [steps, N, C, H / 2, W / 2]))
  const diff = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from({ length: a.length }, (_, i) => a[i] - b[i])
  return {
    steps,
    liPool: mean(diff(li, analog).map(Math.abs)),
    sMaxPool: mean(diff(sm, analog).map(Math.abs)),
    sMaxPoolBias: mean(diff(sm, analog)),
    liPoolBias: mean(diff(li, analog)),
    naive: mean(diff(naive, analog).map(Math.abs)),
    liPoolVsSpikes: Math.max(0, ...diff(li, empirical).map(Math.abs)),
    encodingNoise: mean(diff(empirical, analog).map(Math.abs)),
  }
}

const f4 = (x: number, width = 8): string => x.toFixed(4).padStart(width)

const HEADER = '       T    LIPool  SMaxPool  naive max  | bias: LIPool  SMaxPool | encoding noise  LIPool vs spike max'

/** One table line; the columns of {@link HEADER}. */
const line = (r: ConversionRow): string =>
  `${String(r.steps).padStart(8)}  ${f4(r.liPool)}  ${f4(r.sMaxPool)}  ${f4(r.naive, 9)}  |      ${f4(r.liPoolBias, 7)}  ${f4(r.sMaxPoolBias)} |  ${f4(r.encodingNoise, 14)}  ${r.liPoolVsSpikes.toExponential(1).padStart(19)}`

/** How fast a column falls: the exponent a of `value ~ T^a` between the first and last row. */
const decay = (rows: readonly ConversionRow[], f: (r: ConversionRow) => number): number => {
  const [a, b] = [rows[0], rows[rows.length - 1]]
  return Math.log(f(b) / f(a)) / Math.log(b.steps / a.steps)
}

/** What the table shows, in words, with the measured numbers. */
export const conclusions = (rows: readonly ConversionRow[]): string[] => {
  if (rows.length === 0) return []
  const [a, b] = [rows[0], rows[rows.length - 1]]
  const span = rows.length > 1 ? ` (error ~ T^${decay(rows, (r) => r.liPool).toFixed(2)})` : ''
  const smSpan = rows.length > 1 ? `, about T^${decay(rows, (r) => r.sMaxPoolBias).toFixed(2)}` : ''
  return [
    `LIPool: passes exactly the largest input spike count of each window (largest deviation from the max of the input spike rates: ${b.liPoolVsSpikes.toExponential(1)}), ` +
      `so its only error is the Poisson encoding noise, ${a.liPool.toFixed(4)} at T = ${a.steps} down to ${b.liPool.toFixed(4)} at T = ${b.steps}${span}.`,
    `SMaxPool: overestimates. It passes a spike whenever the neuron with the largest count so far fires, and a trailing neuron that draws level ` +
      `counts as a leader, so every tie for the lead adds a spike that the max rate does not have: its rate is above the analog max by ` +
      `${a.sMaxPoolBias.toFixed(4)} on average at T = ${a.steps} and ${b.sMaxPoolBias.toFixed(4)} at T = ${b.steps}` +
      `${smSpan}, since neurons of similar rates keep drawing level about sqrt(T) times.`,
    `Naive maxPool2d of each step's spikes: passes a spike whenever any neuron of the window fires; its error stays near ${b.naive.toFixed(4)} however long T is.`,
  ]
}

const drawSvg = (rows: readonly ConversionRow[], o: ConversionOptions): string => {
  const top = Math.max(...rows.flatMap((r) => [r.liPool, r.sMaxPool, r.naive]))
  const yMax = Math.ceil(top * 50) / 50 || 0.02
  const steps = rows.map((r) => r.steps)
  return document(620, 430, [
    lineChart(
      [
        { label: 'SMaxPool', color: '#d62728', points: rows.map((r) => [r.steps, r.sMaxPool] as const) },
        { label: 'LIPool', color: '#1f77b4', points: rows.map((r) => [r.steps, r.liPool] as const) },
        { label: 'naive max of spikes', color: '#999', points: rows.map((r) => [r.steps, r.naive] as const) },
      ],
      {
        x: 80,
        y: 50,
        width: 500,
        height: 300,
        title: `Spiking max pooling vs analog maxPool2d (${o.digits} digits x ${o.gain}, 2x2)`,
        xLabel: 'time steps T (log scale)',
        yLabel: 'mean |spiking rate - analog max|',
        xRange: [Math.min(...steps), Math.max(...steps)],
        yRange: [0, yMax],
        log2X: true,
        xTicks: steps,
        yTicks: Array.from({ length: 5 }, (_, i) => Math.round(((yMax * i) / 4) * 1000) / 1000),
      },
    ),
    text(40, 400, 'LIPool passes exactly the largest input count (its error is the Poisson noise of the input);', { size: 11 }),
    text(40, 416, 'SMaxPool adds a spike each time a trailing neuron draws level with the leader; the naive max never converges.', { size: 11 }),
  ])
}

/** Runs the study with `argv` flags; `log` receives every result line. */
export const conversionMain = (
  argv: readonly string[] = process.argv.slice(2),
  log: (line: string) => void = console.log,
): ConversionResult => {
  const o = parseConversionOptions(argv)
  const { train: digits } = loadDigits(Math.floor(o.digits / CLASSES), 0)
  const n = digits.labels.length
  // float32 rates, as a network's activations would be
  const images = wrap(Float32Array.from(flatData(digits.images), (v) => Math.fround(v * o.gain)), [n, 1, 28, 28])
  const analog = flatData(orThrow(maxPool2d(images, CHILD)))
  log(`spiking max pooling of ${n} digits [${n}, 1, 28, 28], 2x2 windows, Poisson rates = ${o.gain} x pixel value`)
  log(`mean absolute error of the average output rate against maxPool2d of the input rates:`)
  log(HEADER)
  const bar = progressBar(o.progress, 'steps', o.steps.length)
  const rows: ConversionRow[] = []
  for (const T of o.steps) {
    const r = measure(images, analog, T, o.seed)
    rows.push(r)
    // while the bar is drawn, lines wait for it to finish
    if (bar.active) bar.tick()
    else log(line(r))
  }
  if (bar.active) {
    bar.stop()
    for (const r of rows) log(line(r))
  }
  for (const l of conclusions(rows)) log(l)
  mkdirSync(o.out, { recursive: true })
  const svgPath = join(o.out, 'conversion.svg')
  writeFileSync(svgPath, drawSvg(rows, o))
  log(`wrote ${svgPath}`)
  return { rows, svgPath }
}

runAsScript(import.meta.url, conversionMain)
