/**
 * Small pipelines of every layer for the device tests (Node and browser), and the comparison
 * of a device scan with the plain scan on the `cpu` reference. Every layer runs on every
 * device; a pipeline names the kernels it leaves to the host on the GPU (its layers' draws and
 * WTALayer's selection), and `compareScan` reports what a traced wrapper of the device saw.
 */
import * as E from 'fp-ts/lib/Either.js'
import { cpu } from '../../../src/backend/cpu/index.js'
import type { Device } from '../../../src/kernel/device.js'
import type { KernelName } from '../../../src/kernel/kernels.js'
import { evaluate, train } from '../../../src/layer/context.js'
import type { AnyLayer } from '../../../src/layer/layer.js'
import { type ScanRead, scan, scanOnDevice } from '../../../src/layer/scan.js'
import { sequential } from '../../../src/layer/sequential.js'
import { conv2d } from '../../../src/layers/conv2d.js'
import { customLinear } from '../../../src/layers/customLinear.js'
import { ifNeuron } from '../../../src/layers/ifNeuron.js'
import { ifNode, lifNode } from '../../../src/layers/ifNode.js'
import { layerNorm } from '../../../src/layers/layerNorm.js'
import { liPool } from '../../../src/layers/liPool.js'
import { nDropout } from '../../../src/layers/nDropout.js'
import { avgPool, maxPool } from '../../../src/layers/pool.js'
import { flatten, meanOverTime, repeatSteps, reshapeTo } from '../../../src/layers/shape.js'
import { sMaxPool } from '../../../src/layers/sMaxPool.js'
import { tebn } from '../../../src/layers/tebn.js'
import { thresholdDependentBatchNorm2d } from '../../../src/layers/thresholdDependentBatchNorm2d.js'
import { votingLayer } from '../../../src/layers/votingLayer.js'
import { wtaLayer } from '../../../src/layers/wtaLayer.js'
import { key, uniform } from '../../../src/random/key.js'
import type { Shape, Tensor } from '../../../src/tensor/tensor.js'
import { wrap } from '../../../src/tensor/tensor.js'
import { type Trace, traced } from '../../support/tracedDevice.js'

/** A pipeline and the shape of one step's input. */
export interface Pipeline {
  readonly name: string
  readonly layers: readonly AnyLayer[]
  readonly stepShape: Shape
  /** Training mode (batch statistics, dropout) or eval. */
  readonly training: boolean
  /** The kernels the GPU device leaves to the host in this pipeline (none: fully resident). */
  readonly hostKernels: readonly KernelName[]
  /** The largest |device - cpu| / (1 + |cpu|) allowed, output and state. */
  readonly tolerance: number
}

/**
 * Pipelines that together hold every layer that runs step by step (and both modes of the norms
 * and SMaxPool): the connection layers, the neurons, and the training layers.
 */
export const pipelines = (): readonly Pipeline[] => [
  {
    name: 'mlp',
    layers: [
      customLinear({ inFeatures: 12, outFeatures: 20, bias: true }),
      ifNeuron({ threshold: 0.3 }),
      customLinear({ inFeatures: 20, outFeatures: 15 }),
      ifNeuron({ threshold: 0.2, reset: 'hard', vReset: -0.1 }),
      votingLayer({ voterNum: 5 }),
    ],
    stepShape: [3, 12],
    training: false,
    hostKernels: [],
    tolerance: 1e-5,
  },
  {
    name: 'pooling',
    layers: [
      liPool({ child: { op: 'maxPool2d', kernelSize: 2 } }),
      ifNeuron({ threshold: 0.5 }),
      sMaxPool({ child: { op: 'maxPool2d', kernelSize: 2 } }),
      sMaxPool({ child: { op: 'maxPool2d', kernelSize: 2 }, mode: 'exact' }),
    ],
    stepShape: [2, 3, 8, 12],
    training: false,
    hostKernels: [],
    tolerance: 1e-5,
  },
  {
    name: 'pooling-avg',
    layers: [
      liPool({ child: { op: 'avgPool2d', kernelSize: 2 } }),
      sMaxPool({ child: { op: 'avgPool2d', kernelSize: 3, stride: 2, padding: 1 } }),
    ],
    stepShape: [2, 2, 6, 8],
    training: false,
    hostKernels: [],
    // SMaxPool's child(x + 1000 S) - child(1000 S): an average of values in the thousands,
    // summed in float32 on the GPU (in float64 by the reference), less another: its float32
    // rounding (2.4e-4 at 4000) is what is left of an output of magnitude 1
    tolerance: 2e-3,
  },
  {
    name: 'norms (training)',
    layers: [
      layerNorm({ normalizedShape: 3, dataFormat: 'channels_first' }),
      thresholdDependentBatchNorm2d({ numFeatures: 3, alpha: 1 }),
      tebn({ numFeatures: 3, step: 2 }),
      layerNorm({ normalizedShape: 5 }),
    ],
    stepShape: [4, 3, 2, 5],
    training: true,
    hostKernels: [],
    tolerance: 1e-5,
  },
  {
    name: 'norms (eval)',
    layers: [thresholdDependentBatchNorm2d({ numFeatures: 3, alpha: 1 }), tebn({ numFeatures: 3, step: 2 })],
    stepShape: [4, 3, 2, 5],
    training: false,
    hostKernels: [],
    tolerance: 1e-5,
  },
  {
    name: 'conv (training layers)',
    layers: [
      conv2d({ inChannels: 2, outChannels: 3, kernelSize: 3, padding: 1 }),
      lifNode({ threshold: 0.05 }),
      maxPool({ kernelSize: 2 }),
      avgPool({ kernelSize: 3, stride: 1, padding: 1 }),
      flatten(),
      customLinear({ inFeatures: 27, outFeatures: 4 }),
      ifNode({ threshold: 0.02 }),
    ],
    stepShape: [2, 2, 6, 6],
    training: false,
    hostKernels: ['conv2d'],
    tolerance: 1e-5,
  },
  {
    name: 'shapes',
    layers: [repeatSteps({ steps: 3 }), reshapeTo({ shape: [3, 2, -1] }), meanOverTime(), flatten({ startDim: 0 })],
    stepShape: [2, 3, 2],
    training: false,
    hostKernels: [],
    tolerance: 1e-5,
  },
  {
    name: 'stochastic (training)',
    layers: [
      customLinear({ inFeatures: 6, outFeatures: 8 }),
      wtaLayer({ k: 2 }),
      nDropout({ p: 0.25 }),
      ifNeuron({ threshold: 0.05 }),
    ],
    stepShape: [3, 6],
    training: true,
    hostKernels: ['uniform', 'winnerTakeAll', 'bernoulliMask'],
    tolerance: 1e-5,
  },
]

/** The tensors inside a state (nested arrays and records), in order. */
export const tensorsOf = (s: unknown): Tensor[] => {
  if (s === null || typeof s !== 'object') return []
  if ('data' in s && 'shape' in s) return [s as Tensor]
  return Object.values(s).flatMap(tensorsOf)
}

/** Largest |a - b| / (1 + |b|): float32 rounding relative to the values (SMaxPool's run to 1000s). */
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) return Infinity
  let d = 0
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]) / (1 + Math.abs(b[i])))
  return Number.isNaN(d) ? Infinity : d
}

/** A device scan against the CPU scan. */
export interface ScanComparison {
  readonly pipeline: string
  readonly steps: number
  readonly read: ScanRead
  /** The kernels the pipeline leaves to the host on the GPU. */
  readonly hostKernels: readonly KernelName[]
  /** The pipeline's tolerance for the errors below. */
  readonly tolerance: number
  /** Largest |device - cpu| / (1 + |cpu|) over the output. */
  readonly outputError: number
  /** The same over the final state's tensors (Infinity if their layout differs). */
  readonly stateError: number
  /** Readbacks a resident scan needs: its output's and each state tensor that changed. */
  readonly expectedReads: number
  /** What the traced device saw. */
  readonly trace: Trace
}

/**
 * Runs the pipeline over `steps` steps of deterministic input in [0, 1), with `scan` on the
 * CPU and with `scanOnDevice` on (a trace of) `device`, and compares output and final state.
 */
export const compareScan = <B>(
  p: Pipeline,
  device: Device<B>,
  kindOf: (b: B) => string,
  steps: number,
  read: ScanRead,
): ScanComparison => {
  const net = sequential(...p.layers)
  const shape = [steps, ...p.stepShape]
  const size = shape.reduce((a, b) => a * b, 1)
  const x = wrap(uniform(key(7), size), shape)
  const init = net.init(key(1), p.stepShape)
  if (E.isLeft(init)) throw new Error(init.left.message)
  const { params, state } = init.right
  const ctx = p.training ? train(key(3), cpu) : evaluate(cpu, key(3))
  const want = scan(net).apply(params, state, x, ctx)
  if (E.isLeft(want)) throw new Error(want.left.message)
  const t = traced(device, kindOf)
  const got = scanOnDevice(net, t.device, { read }).apply(params, state, x, ctx)
  if (E.isLeft(got)) throw new Error(got.left.message)
  const wantOut = want.right.output.data as ArrayLike<number>
  const stepSize = wantOut.length / Math.max(steps, 1)
  const gotOut = got.right.output.data as ArrayLike<number>
  let expected: ArrayLike<number> = wantOut
  // no steps: zeros of one step's output
  if (steps === 0 && read !== 'all') expected = new Float64Array(gotOut.length)
  else if (read === 'last') expected = Array.from(wantOut).slice((steps - 1) * stepSize)
  else if (read === 'sum') {
    const sum = new Float64Array(stepSize)
    for (let s = 0; s < steps; s++) for (let i = 0; i < stepSize; i++) sum[i] += wantOut[s * stepSize + i]
    expected = sum
  }
  const wantState = tensorsOf(want.right.state)
  const gotState = tensorsOf(got.right.state)
  const given = new Set(tensorsOf(state))
  const stateError =
    wantState.length !== gotState.length
      ? Infinity
      : wantState.reduce((d, w, i) => Math.max(d, maxDiff(gotState[i].data, w.data)), 0)
  return {
    pipeline: p.name,
    steps,
    read,
    hostKernels: p.hostKernels,
    tolerance: p.tolerance,
    outputError: maxDiff(gotOut, expected),
    stateError,
    expectedReads: 1 + gotState.filter((s) => !given.has(s)).length,
    trace: t.trace(),
  }
}
