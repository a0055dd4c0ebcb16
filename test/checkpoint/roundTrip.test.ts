/**
 * Every layer's params and state (after a few training steps, so running statistics, sums,
 * potentials and masks are set) and an optimizer's state go through safetensors bytes and come
 * back bit for bit, in float32 and float64, into the template `init` gives.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { keyArb, tensorArb } from '../../src/arbitraries/index.js'
import type { DType, Tensor } from '../../src/index.js'
import {
  adam,
  astype,
  dtypeOf,
  flatData,
  foldIn,
  fromSafetensors,
  orThrow,
  toSafetensors,
  train,
  treeFromSafetensors,
} from '../../src/index.js'
import { allDescriptors } from '../../props/descriptors/index.js'

const isTensor = (v: unknown): v is Tensor => typeof v === 'object' && v !== null && 'data' in v && 'shape' in v

/** The same tree, bit for bit: tensors of the same dtype, shape and bytes; numbers and nulls identical. */
const sameBits = (a: unknown, b: unknown, at = 'tree'): void => {
  if (isTensor(a)) {
    expect(isTensor(b), at).toBe(true)
    const t = b as Tensor
    expect(dtypeOf(t), at).toBe(dtypeOf(a))
    expect(t.shape, at).toEqual(a.shape)
    const bytes = (x: Tensor) => {
      const d = flatData(x)
      return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
    }
    expect(bytes(t), at).toEqual(bytes(a))
    return
  }
  if (Array.isArray(a)) {
    expect(Array.isArray(b) && b.length === a.length, at).toBe(true)
    a.forEach((v, i) => sameBits(v, (b as unknown[])[i], `${at}[${i}]`))
    return
  }
  if (typeof a === 'object' && a !== null) {
    expect(Object.keys(b as object).sort(), at).toEqual(Object.keys(a).sort())
    for (const [k, v] of Object.entries(a)) sameBits(v, (b as Record<string, unknown>)[k], `${at}.${k}`)
    return
  }
  expect(Object.is(a, b), `${at}: ${String(a)} vs ${String(b)}`).toBe(true)
}

describe.each(allDescriptors.map((d) => [d.name, d] as const))('checkpoint round trip: %s', (_name, d) => {
  const layer = d.make()
  it.each(['float32', 'float64'] as const)('%s params and state after training steps, bit for bit', (dtype: DType) => {
    const caseArb = d.inputShape.chain((shape) =>
      fc.tuple(fc.constant(shape), fc.array((d.input ?? tensorArb)(shape), { minLength: 1, maxLength: 3 }), keyArb()),
    )
    fc.assert(
      fc.property(caseArb, ([shape, inputs, k]) => {
        const init = orThrow(layer.init(foldIn(k, 1), shape, dtype))
        let state = init.state
        inputs.forEach((x, t) => {
          state = orThrow(layer.apply(init.params, state, astype(x, dtype), train(foldIn(k, 10 + t)))).state
        })
        const opt = adam({ lr: 0.1, amsgrad: true })
        const optState = orThrow(opt.update(init.params as never, opt.init(init.params), init.params)).state
        const tree = { params: init.params, state, opt: optState }
        const bytes = orThrow(toSafetensors(tree, { layer: d.name }))
        expect(orThrow(fromSafetensors(bytes)).metadata).toEqual({ layer: d.name })
        const template = { params: init.params, state: init.state, opt: opt.init(init.params) }
        sameBits(tree, orThrow(treeFromSafetensors(bytes, template)))
      }),
      { numRuns: 10 },
    )
  })
})
