/**
 * `npm run demo:conversion`: ANN-to-SNN conversion, the way BrainCog's LIPool was meant to be
 * used.
 *
 * 1. Train a ReLU CNN of the demo's shape (conv 1->16 5x5, ReLU, max pool 2, conv 16->32 5x5,
 *    ReLU, max pool 2, linear 1568->10) with the same machinery (`lossAndGrad`, Adam).
 * 2. Convert it: ReLUs become integrate-and-fire neurons (threshold 1, soft reset), the weights
 *    are normalized layer by layer with the data (BrainCog's convertor, after Rueckauer et al.
 *    2017: each layer's weights times `lambda_{l-1} / lambda_l`, its bias divided by
 *    `lambda_l`, with `lambda_l` the 99.99th percentile of layer l's activations on training
 *    images), and each max pool becomes LIPool (or SMaxPool, for comparison). The image is fed
 *    as a constant current at every step; the first convolution runs once.
 * 3. Test both spiking networks for T = 8 ... 256 steps (the class is the argmax of the output
 *    layer's input summed over the steps so far) beside the ANN's accuracy, and draw
 *    `OUT/conversion.svg`.
 *
 *   npm run demo:conversion -- --train 8000 --test 1000 --epochs 3 --seed 0 --out out
 *
 * @module
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  adam,
  conv2d,
  type Conv2dParams,
  cosineSchedule,
  crossEntropyLoss,
  customLinear,
  type CustomLinearParams,
  evaluate,
  flatData,
  flatten,
  foldIn,
  ifNeuron,
  key,
  liPool,
  lossAndGrad,
  maxPool,
  orThrow,
  recording,
  relu,
  repeatSteps,
  scan,
  sequential,
  sMaxPool,
  type Tensor,
  train as trainCtx,
  wrap,
} from '../../src/index.js'
import { commonOptions, intFlag, progressBar, runAsScript } from '../digits/cli.js'
import { CLASSES, loadSplit } from '../digits/data.js'
import { document, lineChart, text } from '../digits/svg.js'
import { argmax, batchOf, permutation } from './batches.js'

/** Command-line options. */
export interface ConversionOptions {
  readonly train: number
  readonly test: number
  readonly epochs: number
  readonly batch: number
  readonly steps: readonly number[]
  readonly seed: number
  readonly out: string
  readonly progress: boolean
}

/** One row of the table: test accuracy of both spiking networks after T steps. */
export interface ConversionRow {
  readonly steps: number
  readonly liPool: number
  readonly sMaxPool: number
}

/** What a run measured. */
export interface ConversionResult {
  readonly annAccuracy: number
  readonly rows: readonly ConversionRow[]
  readonly svgPath: string
  readonly seconds: number
}

const usage =
  'usage: npm run demo:conversion -- [--train N] [--test N] [--epochs E] [--batch B] [--steps 8,16,...,256] [--seed S] [--out DIR]'

/** Parses argv into options; throws on bad values. */
export const parseConversionOptions = (argv: readonly string[]): ConversionOptions | undefined => {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      ...commonOptions,
      train: { type: 'string', default: '8000' },
      test: { type: 'string', default: '1000' },
      epochs: { type: 'string', default: '3' },
      batch: { type: 'string', default: '64' },
      steps: { type: 'string', default: '8,16,32,64,128,256' },
    },
  })
  if (values.help) return undefined
  const steps = values.steps.split(',').map((s) => intFlag('steps', s, 1, usage))
  if (steps.some((s, i) => i > 0 && s <= steps[i - 1])) throw new RangeError(`--steps: expected increasing step counts\n${usage}`)
  return {
    train: intFlag('train', values.train, 1, usage),
    test: intFlag('test', values.test, 1, usage),
    epochs: intFlag('epochs', values.epochs, 1, usage),
    batch: intFlag('batch', values.batch, 2, usage),
    steps,
    seed: intFlag('seed', values.seed, 0, usage),
    out: values.out,
    progress: !values['no-progress'],
  }
}

/** The ANN: ReLU activations, max pooling. */
export const reluCnn = () =>
  sequential(
    conv2d({ inChannels: 1, outChannels: 16, kernelSize: 5, padding: 2 }),
    relu(),
    maxPool({ kernelSize: 2 }),
    conv2d({ inChannels: 16, outChannels: 32, kernelSize: 5, padding: 2 }),
    relu(),
    maxPool({ kernelSize: 2 }),
    flatten(),
    customLinear({ inFeatures: 32 * 7 * 7, outFeatures: 10, bias: true }),
  )

type AnnParams = readonly [Conv2dParams, object, object, Conv2dParams, object, object, object, CustomLinearParams]

/** The spiking network over `steps` steps: the first convolution once, the rest scanned, pooled by `pool`. */
const spikingNet = (steps: number, pool: 'liPool' | 'sMaxPool') => {
  const child = { op: 'maxPool2d' as const, kernelSize: 2 }
  const spikingPool = () => (pool === 'liPool' ? liPool({ child }) : sMaxPool({ child }))
  return sequential(
    conv2d({ inChannels: 1, outChannels: 16, kernelSize: 5, padding: 2 }),
    repeatSteps({ steps }),
    scan(
      sequential(
        ifNeuron({ threshold: 1 }),
        spikingPool(),
        conv2d({ inChannels: 16, outChannels: 32, kernelSize: 5, padding: 2 }),
        ifNeuron({ threshold: 1 }),
        spikingPool(),
        flatten(),
        customLinear({ inFeatures: 32 * 7 * 7, outFeatures: 10, bias: true }),
      ),
    ),
  )
}

/** The `q`-quantile of `values`. */
const quantile = (values: Float32Array, q: number): number => {
  const sorted = Float32Array.from(values).sort()
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]
}

/** `t`'s values times `s` (a new tensor). */
const scaled = (t: Tensor, s: number): Tensor => wrap(flatData(t).map((v) => v * s), t.shape)

/**
 * Data-based normalization: the 99.99th percentiles of the two ReLU layers' activations on
 * `sample`, and the ANN's params rescaled so that each spiking layer's activations stay below
 * its threshold of 1.
 */
const normalize = (ann: ReturnType<typeof reluCnn>, params: AnnParams, sample: Tensor) => {
  const r = orThrow(recording(ann)(params as never, ann.reset(orThrow(ann.init(key(0), sample.shape)).state), sample, evaluate()))
  const l1 = quantile(flatData(r.records.get('1')!.outputs[0]) as Float32Array, 0.9999)
  const l2 = quantile(flatData(r.records.get('4')!.outputs[0]) as Float32Array, 0.9999)
  const [c1, c2, fc] = [params[0], params[3], params[7]]
  return {
    lambdas: [l1, l2] as const,
    conv1: { weight: scaled(c1.weight, 1 / l1), bias: c1.bias === null ? null : scaled(c1.bias, 1 / l1) },
    conv2: { weight: scaled(c2.weight, l1 / l2), bias: c2.bias === null ? null : scaled(c2.bias, 1 / l2) },
    fc: { ...fc, weight: scaled(fc.weight, l2) },
  }
}

/** Runs the demo; `log` receives the result lines. */
export const conversionMain = (argv: readonly string[], log: (line: string) => void = console.log): ConversionResult | undefined => {
  const o = parseConversionOptions(argv)
  if (o === undefined) {
    log(usage)
    return undefined
  }
  const started = performance.now()
  const { train, test } = loadSplit(o.train, o.test)
  const root = key(o.seed)

  // 1. the ANN
  const ann = reluCnn()
  const init = orThrow(ann.init(foldIn(root, 0), [o.batch, 1, 28, 28]))
  const batches = Math.floor(o.train / o.batch)
  const optimizer = adam({ lr: cosineSchedule({ base: 2e-3, steps: o.epochs * batches, min: 1e-4 }) })
  let params = init.params
  let opt = optimizer.init(params)
  const step = lossAndGrad(ann, crossEntropyLoss())
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const order = permutation(o.train, foldIn(foldIn(root, 1), epoch))
    const bar = progressBar(o.progress, `ANN epoch ${epoch + 1}/${o.epochs}`, batches, ['loss'])
    let sum = 0
    for (let b = 0; b < batches; b++) {
      const { x, y } = batchOf(train, order, b * o.batch, o.batch)
      const r = orThrow(step(params, init.state, x, y, trainCtx(foldIn(root, 2))))
      const u = orThrow(optimizer.update(r.grads, opt, params))
      params = u.params
      opt = u.state
      sum += r.loss
      bar.tick(1, { loss: (sum / (b + 1)).toFixed(3) })
    }
    bar.stop()
    log(`ANN epoch ${epoch + 1}: loss ${(sum / batches).toFixed(4)}`)
  }
  const testOrder = Array.from({ length: o.test }, (_, i) => i)
  const chunk = 100
  let annRight = 0
  for (let from = 0; from < o.test; from += chunk) {
    const { x, y } = batchOf(test, testOrder, from, Math.min(chunk, o.test - from))
    const scores = orThrow(ann.apply(params, init.state, x as never, evaluate())).output
    argmax(scores, CLASSES).forEach((p, i) => (annRight += p === flatData(y)[i] ? 1 : 0))
  }
  const annAccuracy = annRight / o.test
  log(`ANN test accuracy: ${(100 * annAccuracy).toFixed(2)}%`)

  // 2. the conversion
  const sample = batchOf(train, permutation(o.train, foldIn(root, 3)), 0, Math.min(500, o.train)).x
  const n = normalize(ann, params as unknown as AnnParams, sample)
  log(`normalization: lambda = ${n.lambdas.map((l) => l.toFixed(3)).join(', ')} (99.99th percentiles of the ReLU layers)`)
  const maxSteps = o.steps[o.steps.length - 1]

  // 3. the spiking networks, every checkpoint T from one run of maxSteps steps
  const accuracyAt = (pool: 'liPool' | 'sMaxPool'): number[] => {
    const snn = spikingNet(maxSteps, pool)
    const sInit = orThrow(snn.init(key(0), [chunk, 1, 28, 28]))
    const p = [n.conv1, {}, [{}, {}, n.conv2, {}, {}, {}, n.fc]] as never
    const right = o.steps.map(() => 0)
    const bar = progressBar(o.progress, `SNN (${pool})`, Math.ceil(o.test / chunk))
    for (let from = 0; from < o.test; from += chunk) {
      const count = Math.min(chunk, o.test - from)
      const { x, y } = batchOf(test, testOrder, from, count)
      const out = flatData(orThrow(snn.apply(p, snn.reset(sInit.state) as never, x as never, evaluate())).output)
      // out is [T, count, 10]: sum over the steps, checked at each checkpoint
      const acc = new Float64Array(count * CLASSES)
      let next = 0
      for (let t = 0; t < maxSteps; t++) {
        for (let i = 0; i < count * CLASSES; i++) acc[i] += out[t * count * CLASSES + i]
        if (t + 1 === o.steps[next]) {
          argmax(wrap(Float32Array.from(acc), [count, CLASSES]), CLASSES).forEach((c, i) => (right[next] += c === flatData(y)[i] ? 1 : 0))
          next++
        }
      }
      bar.tick()
    }
    bar.stop()
    return right.map((r) => r / o.test)
  }
  const li = accuracyAt('liPool')
  const sm = accuracyAt('sMaxPool')
  const rows = o.steps.map((steps, i) => ({ steps, liPool: li[i], sMaxPool: sm[i] }))
  log('')
  log('   T   LIPool  SMaxPool  (test accuracy; ANN ' + (100 * annAccuracy).toFixed(2) + '%)')
  for (const r of rows) log(`${String(r.steps).padStart(4)}  ${(100 * r.liPool).toFixed(2).padStart(6)}%  ${(100 * r.sMaxPool).toFixed(2).padStart(7)}%`)
  const within = rows.find((r) => annAccuracy - r.liPool <= 0.01)
  log(within ? `LIPool is within 1 point of the ANN from T = ${within.steps}` : 'LIPool does not come within 1 point of the ANN at these T')

  mkdirSync(o.out, { recursive: true })
  const svgPath = join(o.out, 'conversion.svg')
  const ts = o.steps
  writeFileSync(
    svgPath,
    document(520, 380, [
      text(20, 24, 'ANN-to-SNN conversion: test accuracy against time steps', { size: 16, weight: 'bold' }),
      lineChart(
        [
          { label: 'ANN (ReLU, max pool)', color: '#333', points: ts.map((t) => [t, annAccuracy] as const) },
          { label: 'SNN with LIPool', color: '#1f77b4', points: rows.map((r) => [r.steps, r.liPool] as const) },
          { label: 'SNN with SMaxPool', color: '#d62728', points: rows.map((r) => [r.steps, r.sMaxPool] as const) },
        ],
        {
          x: 60,
          y: 70,
          width: 400,
          height: 240,
          title: `${o.test} held-out digits`,
          xLabel: 'time steps T',
          yLabel: 'test accuracy',
          xRange: [ts[0], ts[ts.length - 1]],
          yRange: [0, 1],
          log2X: true,
          xTicks: ts,
          yTicks: [0, 0.25, 0.5, 0.75, 1],
        },
      ),
    ]),
  )
  const seconds = (performance.now() - started) / 1000
  log(`wrote ${svgPath} (${seconds.toFixed(1)} s)`)
  return { annAccuracy, rows, svgPath, seconds }
}

runAsScript(import.meta.url, () => conversionMain(process.argv.slice(2)))

