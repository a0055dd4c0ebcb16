/**
 * `npm run demo`: trains the spiking digit classifier of `network.ts` on MNIST digits with a
 * local learning rule, prints the accuracy per epoch and on held-out digits, and draws what it
 * learned to `OUT/digits.svg`.
 *
 *   npm run demo -- --train 5000 --test 2500 --steps 16 --epochs 1 --seed 0 --out out
 *
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { flatData, foldIn, key, type Key, poissonEncode, split, type Tensor } from '../../src/index.js'
import { commonOptions, intFlag, progressBar, runAsScript } from './cli.js'
import { CLASSES, type Digits, loadDigits, PIXELS } from './data.js'
import {
  classMask,
  currentsOf,
  defaultConfig,
  epochBatches,
  initSynapses,
  type Learned,
  network,
  type Network,
  predict,
  rows,
  scoresOverTime,
  trainBatch,
} from './network.js'
import { document, image, lineChart, text } from './svg.js'

/** Command-line options. */
export interface DemoOptions {
  readonly train: number
  readonly test: number
  readonly steps: number
  readonly epochs: number
  readonly voters: number
  readonly batch: number
  readonly seed: number
  readonly out: string
  /** Show progress bars (on a terminal only). */
  readonly progress: boolean
}

/** What a run measured. */
export interface DemoResult {
  /** Online training accuracy of each epoch (each batch classified before learning from it). */
  readonly trainAccuracy: readonly number[]
  /** Test accuracy after each epoch. */
  readonly testAccuracy: readonly number[]
  /** Final test accuracy when the presentation is cut after t = 1..T steps. */
  readonly accuracyByStep: readonly number[]
  readonly svgPath: string
  readonly seconds: number
}

const usage = `usage: npm run demo -- [--train N] [--test N] [--steps T] [--epochs E] [--voters V] [--batch B] [--seed S] [--out DIR]`

/** Parses argv (without node and the script) into options; throws on bad values. */
export const parseOptions = (argv: readonly string[]): DemoOptions => {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      train: { type: 'string', default: '5000' },
      test: { type: 'string', default: '2500' },
      steps: { type: 'string', short: 'T', default: '16' },
      epochs: { type: 'string', default: '1' },
      voters: { type: 'string', default: String(defaultConfig.voters) },
      batch: { type: 'string', default: '10' },
      ...commonOptions,
    },
  })
  if (values.help) throw new RangeError(usage)
  const int = (name: string, v: string, min: number): number => intFlag(name, v, min, usage)
  return {
    train: int('train', values.train, CLASSES),
    test: int('test', values.test, CLASSES),
    steps: int('steps', values.steps, 1),
    epochs: int('epochs', values.epochs, 1),
    // the teacher normalizes over one class's neurons: with 2 or fewer no neuron ever stands
    // teacherOffset = 1 standard deviation above the others, so nothing would learn
    voters: int('voters', values.voters, 3),
    batch: int('batch', values.batch, 1),
    seed: int('seed', values.seed, 0),
    out: values.out,
    progress: !values['no-progress'],
  }
}

/** Test accuracy when the presentation stops after each step t = 1..T. */
const evaluateTest = (net: Network, syn: Learned, test: Digits, steps: number, k: Key, show: boolean): number[] => {
  const correct = new Array<number>(steps).fill(0)
  const size = 100
  const n = test.labels.length
  const bar = progressBar(show, 'test ', n)
  for (let at = 0, b = 0; at < n; at += size, b++) {
    const indices = Array.from({ length: Math.min(size, n - at) }, (_, i) => at + i)
    const [kEnc, kCortex] = split(foldIn(k, b), 2)
    const pre = poissonEncode(kEnc, rows(test.images, indices), steps)
    const scores = scoresOverTime(net, currentsOf(net, syn, pre), kCortex)
    for (let t = 0; t < steps; t++) {
      const predicted = predict(flatData(scores.pick(t) as Tensor), indices.length)
      predicted.forEach((p, i) => {
        if (p === test.labels[indices[i]]) correct[t]++
      })
    }
    bar.tick(indices.length)
  }
  bar.stop()
  return correct.map((c) => c / n)
}

const pct = (a: number): string => `${(100 * a).toFixed(1)}%`

/** The picture: learned prototypes (one row per class) and accuracy against T. */
const drawSvg = (net: Network, syn: Learned, r: Omit<DemoResult, 'svgPath' | 'seconds'>, o: DemoOptions): string => {
  const shown = Math.min(net.cfg.voters, 8)
  const scale = 2
  const cell = 28 * scale + 4
  const w = flatData(syn.weight)
  const body: string[] = [
    text(20, 24, `braincog-fn spiking digit classifier: ${pct(r.testAccuracy[r.testAccuracy.length - 1])} on ${o.test} test digits (T = ${o.steps}, seed ${o.seed})`, { size: 15, weight: 'bold' }),
    text(20, 48, `Learned synapses of ${shown} of the ${net.cfg.voters} neurons per class (one row per class)`, { size: 12 }),
  ]
  for (let c = 0; c < CLASSES; c++) {
    body.push(text(20, 70 + c * cell + cell / 2 + 4, String(c), { size: 14, weight: 'bold' }))
    for (let v = 0; v < shown; v++) {
      const j = c * net.cfg.voters + v
      const col = new Float32Array(PIXELS)
      let max = 0
      for (let i = 0; i < PIXELS; i++) max = Math.max(max, (col[i] = w[i * net.neurons + j]))
      for (let i = 0; i < PIXELS; i++) col[i] /= max || 1
      body.push(image(col, 28, 28, 40 + v * cell, 66 + c * cell, scale))
    }
  }
  const chartX = 40 + shown * cell + 80
  const T = r.accuracyByStep.length
  const lo = Math.max(0, Math.floor(Math.min(...r.accuracyByStep) * 10) / 10)
  body.push(
    lineChart(
      [{ label: 'test accuracy', color: '#1f77b4', points: r.accuracyByStep.map((a, t) => [t + 1, a] as const) }],
      {
        x: chartX,
        y: 90,
        width: 360,
        height: 260,
        title: 'Test accuracy against time steps T',
        xLabel: 'time steps T (presentation cut after T steps)',
        yLabel: 'accuracy',
        xRange: [1, Math.max(2, T)],
        yRange: [lo, 1],
        xTicks: Array.from(new Set([1, Math.round(T / 4), Math.round(T / 2), Math.round((3 * T) / 4), T])).filter(
          (t) => t >= 1,
        ),
        yTicks: Array.from({ length: Math.round((1 - lo) * 10) + 1 }, (_, i) => Math.round((lo + i / 10) * 10) / 10),
      },
    ),
  )
  r.trainAccuracy.forEach((a, e) =>
    body.push(text(chartX, 400 + e * 18, `epoch ${e + 1}: online train ${pct(a)}, test ${pct(r.testAccuracy[e])}`, { size: 12 })),
  )
  return document(chartX + 400, Math.max(66 + CLASSES * cell + 20, 420 + r.trainAccuracy.length * 18), body)
}

/**
 * Runs the demo with `argv` flags; `log` receives every result line. Returns the measurements.
 */
export const main = (
  argv: readonly string[] = process.argv.slice(2),
  log: (line: string) => void = console.log,
): DemoResult => {
  const started = performance.now()
  const o = parseOptions(argv)
  const data = loadDigits(Math.floor(o.train / CLASSES), Math.floor(o.test / CLASSES))
  const net = network({ ...defaultConfig, voters: o.voters })
  const [kInit, kTrain, kTest] = split(key(o.seed), 3)
  log(
    `spiking digit classifier: ${data.train.labels.length} training / ${data.test.labels.length} test digits, ` +
      `T = ${o.steps}, ${o.voters} neurons per class, ${o.epochs} epoch(s), seed ${o.seed}`,
  )
  let syn = initSynapses(net, data.train, kInit)
  const masks = Array.from({ length: CLASSES }, (_, c) => classMask(net, c))
  const trainAccuracy: number[] = []
  const testAccuracy: number[] = []
  let accuracyByStep: number[] = []
  for (let e = 0; e < o.epochs; e++) {
    const kEpoch = foldIn(kTrain, e)
    const batches = epochBatches(data.train.labels, o.batch, kEpoch)
    const bar = progressBar(o.progress, `epoch ${e + 1}`, data.train.labels.length)
    let correct = 0
    batches.forEach((batch, b) => {
      const r = trainBatch(net, syn, masks, data.train, batch, o.steps, foldIn(kEpoch, b + 1))
      syn = r.syn
      correct += r.correct
      bar.tick(batch.indices.length)
    })
    bar.stop()
    trainAccuracy.push(correct / data.train.labels.length)
    accuracyByStep = evaluateTest(net, syn, data.test, o.steps, kTest, o.progress)
    testAccuracy.push(accuracyByStep[o.steps - 1])
    log(`epoch ${e + 1}: train accuracy ${pct(trainAccuracy[e])} (online), test accuracy ${pct(testAccuracy[e])}`)
  }
  const curve = accuracyByStep.map((a, t) => `T=${t + 1}: ${pct(a)}`).join(', ')
  log(`test accuracy by time steps: ${curve}`)
  log(`final test accuracy: ${pct(testAccuracy[o.epochs - 1])} on ${data.test.labels.length} held-out digits`)
  mkdirSync(o.out, { recursive: true })
  const svgPath = join(o.out, 'digits.svg')
  writeFileSync(svgPath, drawSvg(net, syn, { trainAccuracy, testAccuracy, accuracyByStep }, o))
  const seconds = (performance.now() - started) / 1000
  log(`wrote ${svgPath} (${seconds.toFixed(1)} s)`)
  return { trainAccuracy, testAccuracy, accuracyByStep, svgPath, seconds }
}

runAsScript(import.meta.url, main)
