/**
 * Small pipelines for the device tests (Node and browser), built from the public layers, and
 * the comparison of a device scan with the plain CPU scan. Layers gain their device forms
 * (`lower`) one by one; a pipeline says whether all of its layers have one, and only then is a
 * scan over it expected to stay resident (no readback between layers or steps).
 */
import * as E from 'fp-ts/lib/Either.js'
import type { Device } from '../../../src/device/device.js'
import type { DeviceRead } from '../../../src/device/scanOnDevice.js'
import { scanOnDevice } from '../../../src/device/scanOnDevice.js'
import type { AnyLayer } from '../../../src/layer/layer.js'
import { sequential } from '../../../src/layer/sequential.js'
import { scan } from '../../../src/layer/scan.js'
import { evaluate } from '../../../src/layer/context.js'
import { customLinear } from '../../../src/layers/customLinear.js'
import { ifNeuron } from '../../../src/layers/ifNeuron.js'
import { liPool } from '../../../src/layers/liPool.js'
import { sMaxPool } from '../../../src/layers/sMaxPool.js'
import { votingLayer } from '../../../src/layers/votingLayer.js'
import { key, uniform } from '../../../src/random/key.js'
import type { Shape, Tensor } from '../../../src/tensor/tensor.js'
import { wrap } from '../../../src/tensor/tensor.js'
import { type Trace, traced } from '../../support/tracedDevice.js'

/** A pipeline and the shape of one step's input. */
export interface Pipeline {
  readonly name: string
  readonly layers: readonly AnyLayer[]
  readonly stepShape: Shape
  /** How many state buffers a resident scan reads back at its end. */
  readonly stateBuffers: number
}

/**
 * An MLP of spiking layers (customLinear, ifNeuron soft and hard, votingLayer), and a pooling
 * stack (liPool, ifNeuron, sMaxPool).
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
    stateBuffers: 2,
  },
  {
    name: 'pooling',
    layers: [
      liPool({ child: { op: 'maxPool2d', kernelSize: 2 } }),
      ifNeuron({ threshold: 0.5 }),
      sMaxPool({ child: { op: 'maxPool2d', kernelSize: 2 } }),
    ],
    stepShape: [2, 3, 8, 10],
    stateBuffers: 3,
  },
]

/** Whether every layer of the pipeline has a device form. */
export const resident = (p: Pipeline): boolean => p.layers.every((l) => l.lower !== undefined)

/** The tensors inside a state (nested arrays and records), in order. */
const tensorsOf = (s: unknown): Tensor[] => {
  if (s === null || typeof s !== 'object') return []
  if ('data' in s && 'shape' in s) return [s as Tensor]
  return Object.values(s).flatMap(tensorsOf)
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  if (a.length !== b.length) return Infinity
  let d = 0
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]))
  return Number.isNaN(d) ? Infinity : d
}

/** A device scan against the CPU scan. */
export interface ScanComparison {
  readonly pipeline: string
  readonly steps: number
  readonly read: DeviceRead
  readonly resident: boolean
  /** How many state buffers a resident scan reads back at its end. */
  readonly stateBuffers: number
  /** Largest |device - cpu| over the output. */
  readonly outputError: number
  /** Largest |device - cpu| over the final state's tensors (Infinity if their layout differs). */
  readonly stateError: number
  /** What the traced device saw. */
  readonly trace: Trace
}

/**
 * Runs the pipeline over `steps` steps of deterministic input in [0, 1), with `scan` on the CPU
 * and with `scanOnDevice` on (a trace of) `device`, and compares output and final state.
 */
export const compareScan = <B>(
  p: Pipeline,
  device: Device<B>,
  kindOf: (b: B) => string,
  steps: number,
  read: DeviceRead,
): ScanComparison => {
  const net = sequential(...p.layers)
  const shape = [steps, ...p.stepShape]
  const size = shape.reduce((a, b) => a * b, 1)
  const x = wrap(uniform(key(7), size), shape)
  const init = net.init(key(1), p.stepShape)
  if (E.isLeft(init)) throw new Error(init.left.message)
  const { params, state } = init.right
  const want = scan(net).apply(params, state, x, evaluate())
  if (E.isLeft(want)) throw new Error(want.left.message)
  const t = traced(device, kindOf)
  const got = scanOnDevice(net, t.device, { read }).apply(params, state, x, evaluate())
  if (E.isLeft(got)) throw new Error(got.left.message)
  const wantOut = want.right.output.data as ArrayLike<number>
  const stepSize = wantOut.length / Math.max(steps, 1)
  let expected: ArrayLike<number> = wantOut
  if (read === 'last') expected = Array.from(wantOut).slice((steps - 1) * stepSize)
  if (read === 'sum') {
    const sum = new Float64Array(stepSize)
    for (let s = 0; s < steps; s++) for (let i = 0; i < stepSize; i++) sum[i] += wantOut[s * stepSize + i]
    expected = sum
  }
  const wantState = tensorsOf(want.right.state)
  const gotState = tensorsOf(got.right.state)
  const stateError =
    wantState.length !== gotState.length
      ? Infinity
      : wantState.reduce((d, w, i) => Math.max(d, maxDiff(gotState[i].data, w.data)), 0)
  return {
    pipeline: p.name,
    steps,
    read,
    resident: resident(p),
    stateBuffers: p.stateBuffers,
    outputError: maxDiff(got.right.output.data as ArrayLike<number>, expected),
    stateError,
    trace: t.trace(),
  }
}
