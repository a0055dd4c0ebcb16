/**
 * importStateDict: a state_dict written by PyTorch itself (fixtures/tiny.safetensors, from
 * fixtures/make_state_dict.py, whose safetensors bytes are written by hand: an independent
 * writer) loaded into the matching pipeline, its values and its forward pass; and the name
 * mapping (prefixes, TEBN, module., BrainCog's CustomLinear, strict) with its errors.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { Tensor } from '../../src/index.js'
import {
  customLinear,
  evaluate,
  fromSafetensors,
  importStateDict,
  key,
  orThrow,
  sequential,
  tebn,
  tensor,
  thresholdDependentBatchNorm2d,
  toArray,
  toNested,
  votingLayer,
  zeros,
} from '../../src/index.js'
import { expectLayerError } from '../layers/layerError.js'

interface Recorded {
  readonly shape: readonly number[]
  readonly data: readonly number[]
}

const fixtures = resolve(import.meta.dirname, 'fixtures')
const bytes = readFileSync(resolve(fixtures, 'tiny.safetensors'))
const record = JSON.parse(readFileSync(resolve(fixtures, 'tiny.json'), 'utf8')) as {
  readonly stateDict: Readonly<Record<string, Recorded & { readonly dtype: string }>>
  readonly input: Recorded
  readonly convOutput: Recorded
  readonly output: Recorded
}
const f32 = (r: Recorded): Tensor => tensor(r.data, r.shape)

/** The pipeline after the convolution: nn.BatchNorm2d(3) as tdBN, nn.Linear(4, 5) on the last axis. */
const norm = thresholdDependentBatchNorm2d({ numFeatures: 3, alpha: 1, threshold: 1 })
const linear = customLinear({ inFeatures: 4, outFeatures: 5, bias: true })
const tail = sequential(norm, linear)

/**
 * The template of the whole nn.Sequential: braincog-fn's Conv2d params are [out, in/groups, kh,
 * kw] weights and an [out] bias, written out here so that this test does not need the layer.
 */
const template = () => {
  const t = orThrow(tail.init(key(0), [2, 3, 4, 4]))
  return {
    params: [{ weight: zeros([3, 2, 3, 3]), bias: zeros([3]) }, t.params[0], t.params[1]] as const,
    state: [{}, t.state[0], t.state[1]] as const,
  }
}

describe('a state_dict written by PyTorch', () => {
  const r = orThrow(importStateDict(bytes, template()))

  it('reads as the entries PyTorch saved (F32, and num_batches_tracked as an I64 counter)', () => {
    const { entries, metadata } = orThrow(fromSafetensors(bytes))
    expect(metadata).toEqual({ format: 'pt' })
    expect(Object.keys(entries)).toEqual(Object.keys(record.stateDict))
    for (const [k, want] of Object.entries(record.stateDict)) {
      const got = entries[k]
      if (want.dtype === 'I64') expect(got).toBe(want.data[0])
      else expect(toArray(got as Tensor)).toEqual(Array.from(Float32Array.from(want.data)))
    }
  })

  it('loads into the pipeline: conv weight as is, BN buffers renamed into the state, Linear transposed', () => {
    const sd = record.stateDict
    expect(toArray(r.params[0].weight)).toEqual(toArray(f32(sd['0.weight'])))
    expect(r.params[0].weight.shape).toEqual([3, 2, 3, 3])
    expect(toArray(r.params[0].bias)).toEqual(toArray(f32(sd['0.bias'])))
    expect(toArray(r.params[1].weight)).toEqual(toArray(f32(sd['1.weight'])))
    expect(toArray(r.params[1].bias)).toEqual(toArray(f32(sd['1.bias'])))
    expect(toArray(r.state[1].runningMean)).toEqual(toArray(f32(sd['1.running_mean'])))
    expect(toArray(r.state[1].runningVar)).toEqual(toArray(f32(sd['1.running_var'])))
    expect(r.state[1].numBatchesTracked).toBe(3)
    const w = f32(sd['2.weight'])
    expect(r.params[2].weight.shape).toEqual([4, 5])
    for (let i = 0; i < 4; i++) for (let o = 0; o < 5; o++) expect(r.params[2].weight.get(i, o)).toBe(w.get(o, i))
    expect(toArray(r.params[2].bias!)).toEqual(toArray(f32(sd['2.bias'])))
    expect(r.params[2].mask).toBeNull()
  })

  it("gives PyTorch's forward output: batch norm (running statistics) and linear on the convolution's output", () => {
    const y = orThrow(tail.apply([r.params[1], r.params[2]], [r.state[1], r.state[2]], f32(record.convOutput), evaluate()))
    expect(y.output.shape).toEqual(record.output.shape)
    toArray(y.output).forEach((v, i) => expect(Math.abs(v - record.output.data[i])).toBeLessThanOrEqual(1e-5))
  })
})

describe('importStateDict maps names', () => {
  const w = tensor([1, 2, 3, 4, 5, 6], [2, 3])
  const pipe = sequential(customLinear({ inFeatures: 3, outFeatures: 2 }), tebn({ numFeatures: 2, step: 4 }))
  // [(T*B), C, H, in]: the linear map acts on the last axis, TEBN on the channels
  const t = orThrow(pipe.init(key(0), [4, 2, 1, 3]))

  it("reads BrainCog's TEBN (bn. inside, p [4, 1, 1, 1, 1]), module. prefixes and a prefix table", () => {
    const sd = {
      'module.fc.weight': tensor([1, 2, 3, 4, 5, 6], [3, 2]),
      'module.norm.bn.weight': tensor([2, 3], [2]),
      'module.norm.bn.bias': tensor([0, 1], [2]),
      'module.norm.bn.running_mean': tensor([0.5, 0.5], [2]),
      'module.norm.bn.running_var': tensor([2, 2], [2]),
      'module.norm.bn.num_batches_tracked': 7,
      'module.norm.p': tensor([1, 2, 3, 4], [4, 1, 1, 1, 1]),
    }
    const r = orThrow(importStateDict(sd, t, { prefixes: { fc: 0, norm: 1 }, linear: 'braincog' }))
    expect(toNested(r.params[0].weight)).toEqual([
      [1, 2],
      [3, 4],
      [5, 6],
    ])
    expect(toNested(r.params[1].p)).toEqual([1, 2, 3, 4])
    expect(toNested(r.params[1].weight)).toEqual([2, 3])
    expect(toNested(r.state[1].runningVar)).toEqual([2, 2])
    expect(r.state[1].numBatchesTracked).toBe(7)
  })

  it('walks a Sequential inside a Sequential (2.0.weight)', () => {
    const nested = sequential(votingLayer({ voterNum: 1 }), sequential(customLinear({ inFeatures: 2, outFeatures: 2 })))
    const r = orThrow(importStateDict({ '1.0.weight': tensor([1, 2, 3, 4], [2, 2]) }, orThrow(nested.init(key(0), [1, 2]))))
    expect(toNested(r.params[1][0].weight)).toEqual([
      [1, 3],
      [2, 4],
    ])
  })

  it('converts to the template dtype, and leaves entries out with rename or strict: false', () => {
    const t64 = orThrow(sequential(customLinear({ inFeatures: 3, outFeatures: 2 })).init(key(0), [1, 3], 'float64'))
    const r = orThrow(importStateDict({ '0.weight': w, '0.extra': zeros([1]) }, t64, { rename: (k) => (k.endsWith('extra') ? null : k) }))
    expect(r.params[0].weight.data).toBeInstanceOf(Float64Array)
    expect(toNested(r.params[0].weight)).toEqual([
      [1, 4],
      [2, 5],
      [3, 6],
    ])
    const loose = orThrow(importStateDict({ '1.weight': zeros([2]), junk: zeros([1]) }, t, { strict: false }))
    expect(loose.params[0].weight).toBe(t.params[0].weight)
    expect(toNested(loose.params[1].weight)).toEqual([0, 0])
  })

  it('names the key and both shapes when something does not fit', () => {
    const full = (extra: Record<string, unknown>) => ({
      '0.weight': w,
      '1.weight': zeros([2]),
      '1.bias': zeros([2]),
      '1.p': zeros([4]),
      '1.running_mean': zeros([2]),
      '1.running_var': zeros([2]),
      '1.num_batches_tracked': 0,
      ...extra,
    })
    expect(importStateDict(full({}), t)._tag).toBe('Right')
    expectLayerError(importStateDict(full({ '0.weight': zeros([2, 4]) }), t), {
      layer: 'importStateDict',
      argument: 'stateDict["0.weight"]',
      expected: "nn.Linear's [out, in] = [2, 3], transposed into params.0.weight [3, 2]",
      got: '[2, 4]',
    })
    expectLayerError(importStateDict(full({ '0.weight': zeros([3, 2]) }), t), {
      layer: 'importStateDict',
      argument: 'stateDict["0.weight"]',
      got: "linear: 'braincog'",
    })
    expectLayerError(importStateDict(full({ '1.running_var': zeros([3]) }), t), {
      layer: 'importStateDict',
      argument: 'stateDict["1.running_var"]',
      expected: '[2] for state.1.runningVar',
      got: '[3]',
    })
    expectLayerError(importStateDict(full({ '0.bias': zeros([2]) }), t), {
      layer: 'importStateDict',
      argument: 'stateDict["0.bias"]',
      expected: 'null in the template',
    })
    expectLayerError(importStateDict(full({ '1.scale': zeros([2]) }), t), {
      layer: 'importStateDict',
      argument: 'stateDict["1.scale"]',
      expected: 'a name layer 1 has',
    })
    expectLayerError(importStateDict(full({ 'features.0.weight': w }), t), {
      layer: 'importStateDict',
      argument: 'stateDict["features.0.weight"]',
      expected: 'a layer index in [0, 2)',
    })
    expectLayerError(importStateDict(full({ '1.num_batches_tracked': zeros([2]) }), t), {
      layer: 'importStateDict',
      argument: 'stateDict["1.num_batches_tracked"]',
      expected: 'one number',
    })
    const { '1.running_mean': _m, '1.running_var': _v, ...partial } = full({})
    expectLayerError(importStateDict(partial, t), {
      layer: 'importStateDict',
      argument: 'stateDict',
      got: 'none for state.1.runningMean (and 1 more: state.1.runningVar)',
    })
    // a malformed file's errors name the function called, not the reader inside it
    expectLayerError(importStateDict(bytes.subarray(0, 12), t), { layer: 'importStateDict', argument: 'header' })
  })
})
