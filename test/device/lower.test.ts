/**
 * Which layers have a device form in which mode, and what their programs do with the buffers
 * they are given (counted with a wrapping device).
 */
import { describe, expect, it } from 'vitest'
import type { AnyLayer, Shape } from '../../src/index.js'
import {
  cpu,
  customLinear,
  evaluate,
  hostDevice,
  ifNeuron,
  key,
  layerNorm,
  liPool,
  nDropout,
  none,
  orThrow,
  sMaxPool,
  tebn,
  tensor,
  thresholdDependentBatchNorm2d,
  train,
  votingLayer,
  wtaLayer,
  zeros,
} from '../../src/index.js'
import { expectLayerError } from '../layers/layerError.js'
import { countingDevice } from './countingDevice.js'

/** The program a lowering gave (the test fails where it gave none). */
const programOf = <T>(program: T | null | undefined): T => {
  if (program == null) throw new Error('expected a device form')
  return program
}

const modes = [
  ['training', train(key(0), cpu)],
  ['eval', evaluate(cpu)],
] as const

/** `[layer, step shape, lowered in training, lowered in eval]`. */
const table: readonly (readonly [string, AnyLayer, Shape, boolean, boolean])[] = [
  ['IFNeuron', ifNeuron(), [2, 3], true, true],
  ['CustomLinear', customLinear({ inFeatures: 3, outFeatures: 2, bias: true }), [4, 3], true, true],
  ['VotingLayer', votingLayer({ voterNum: 2 }), [2, 6], true, true],
  ['NDropout', nDropout({ p: 0.5 }), [2, 3], true, true],
  ['LIPool tiling', liPool({ child: { op: 'avgPool2d', kernelSize: 2 } }), [1, 2, 4, 4], true, true],
  [
    'LIPool allowOverlap, overlapping',
    liPool({ child: { op: 'maxPool2d', kernelSize: 3, stride: 2, padding: 1 }, allowOverlap: true }),
    [1, 2, 4, 4],
    false,
    false,
  ],
  ['SMaxPool braincog', sMaxPool({ child: { op: 'maxPool2d', kernelSize: 3, stride: 2, padding: 1 } }), [1, 2, 5, 5], true, true],
  ['SMaxPool exact', sMaxPool({ child: { op: 'maxPool2d', kernelSize: 2 }, mode: 'exact' }), [1, 2, 4, 4], true, true],
  ['tdBN', thresholdDependentBatchNorm2d({ numFeatures: 2, alpha: 1 }), [2, 2, 3, 3], false, true],
  ['TEBN', tebn({ numFeatures: 2, step: 2 }), [4, 2, 3, 3], false, true],
  ['LayerNorm', layerNorm({ normalizedShape: 3 }), [2, 3], false, false],
  ['WTALayer', wtaLayer(), [2, 3], false, false],
]

describe('device forms', () => {
  it.each(table)('%s', (_name, layer, shape, inTraining, inEval) => {
    const { params } = orThrow(layer.init(key(1), shape))
    for (const [mode, ctx] of modes) {
      const { device, books } = countingDevice(hostDevice(cpu))
      const program = layer.lower?.(device, params, shape, ctx) ?? null
      expect(program !== null, `${mode}`).toBe(mode === 'training' ? inTraining : inEval)
      program?.dispose()
      expect(books.live.size).toBe(0)
    }
  })

  it('CustomLinear with params it would reject: no device form (the host reports the error)', () => {
    const fc = customLinear({ inFeatures: 3, outFeatures: 2 })
    const { device, books } = countingDevice(hostDevice(cpu))
    const params = { weight: zeros([2, 3]), mask: null, bias: null }
    expect(fc.lower?.(device, params as never, [3], evaluate(cpu))).toBeNull()
    expect(books.made).toBe(0)
  })

  it('NDropout in eval hands the input buffer on as its output', () => {
    const { device, books } = countingDevice(hostDevice(cpu))
    const program = programOf((nDropout({ p: 0.5 }).lower?.(device, none, [3], evaluate(cpu))))
    const x = device.upload(new Float32Array([1, 2, 3]))
    const state = orThrow(program.enter({ mask: null }))
    const r = orThrow(program.step(state, x, evaluate(cpu)))
    expect(r.output).toBe(x)
    expect(program.exit(r.state)).toEqual({ mask: null })
    device.free(r.output)
    expect(books.live.size).toBe(0)
  })

  it('a held state of another shape: enter gives the error apply gives, and uploads nothing', () => {
    const { device, books } = countingDevice(hostDevice(cpu))
    const neuron = ifNeuron()
    const state = { v: zeros([4]) }
    const program = programOf((neuron.lower?.(device, none, [2, 3], train(key(0), cpu))))
    const entered = program.enter(state)
    expect(entered).toEqual(neuron.apply(none, state, zeros([2, 3]), train(key(0), cpu)))
    expectLayerError(entered, { layer: 'IFNeuron', argument: 'input' })
    expect(books.made).toBe(0)
  })

  it('a step owns its input and state: after exit only the output is left', () => {
    const { device, books } = countingDevice(hostDevice(cpu))
    const pool = sMaxPool({ child: { op: 'maxPool2d', kernelSize: 2 } })
    const program = programOf((pool.lower?.(device, none, [1, 1, 2, 2], train(key(0), cpu))))
    let state = orThrow(program.enter({ sum: tensor([1, 0, 0, 0], [1, 1, 2, 2]) }))
    const outputs = []
    for (let t = 0; t < 3; t++) {
      const r = orThrow(program.step(state, device.upload(new Float32Array([0, 1, 0, 0])), train(key(0), cpu)))
      outputs.push(r.output)
      state = r.state
    }
    const final = program.exit(state)
    expect(final.sum?.shape).toEqual([1, 1, 2, 2])
    expect(Array.from(final.sum?.data ?? [])).toEqual([1, 3, 0, 0])
    program.dispose()
    expect(books.live.size).toBe(outputs.length)
    outputs.forEach((b) => device.free(b))
    expect(books.live.size).toBe(0)
  })
})
