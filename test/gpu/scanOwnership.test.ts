/**
 * Buffer ownership in scans on a device whose `free` matters (the GPU device, and a traced
 * wrapper that throws on a double free or a freed buffer used): a step may hand the same new
 * buffer back as its output and in its state (a running sum that outputs itself), and a scan
 * of it must release that buffer once, after both the kept outputs and the state let go of it,
 * for every `read`, directly and nested in another scan.
 */
import * as E from 'fp-ts/lib/Either.js'
import { GPU } from 'gpu.js'
import { describe, expect, it } from 'vitest'
import { cpu } from '../../src/backend/cpu/index.js'
import { gpuBackend } from '../../src/gpu/index.js'
import { type Device, DeviceTensor } from '../../src/kernel/device.js'
import { evaluate } from '../../src/layer/context.js'
import { defineLayer } from '../../src/layer/define.js'
import { empty, type NoParams } from '../../src/layer/layer.js'
import { scan, scanOnDevice } from '../../src/layer/scan.js'
import { likeInput, nullable, record } from '../../src/layer/schema.js'
import { sequential } from '../../src/layer/sequential.js'
import { type Tensor, tensor } from '../../src/tensor/tensor.js'
import { traced } from '../support/tracedDevice.js'

/** A running sum of its inputs, output and new state one buffer. */
const running = defineLayer<NoParams, { readonly sum: Tensor | null }>({
  name: 'Running',
  outputShape: (s) => E.right(s),
  params: record({}),
  state: record({ sum: nullable(likeInput) }) as never,
  init: () => ({ params: empty, state: { sum: null } }),
  run: (d, _p, s, x) => {
    const next = s.sum === null ? d.scale(x.buffer, { alpha: 1 }) : d.axpy(s.sum.buffer, x.buffer, { alpha: 1 })
    return { output: new DeviceTensor(next, x.shape), state: { sum: new DeviceTensor(next, x.shape) } }
  },
})

const x = tensor([1, 2, 3, 4, 5, 6], [3, 2])
const want = { all: [1, 2, 4, 6, 9, 12], last: [9, 12], sum: [14, 20] } as const

describe('scans of a step whose output is also its new state', () => {
  const devices: readonly (readonly [string, () => Device<unknown>])[] = [
    ['traced cpu', () => cpu as Device<unknown>],
    ['gpu (gpu.js cpu mode)', () => gpuBackend({ gpu: new GPU({ mode: 'cpu' }) }) as Device<unknown>],
  ]
  it.each(devices)('release that buffer once, every read, direct and nested (%s)', (_name, make) => {
    for (const read of ['all', 'last', 'sum'] as const) {
      for (const layer of [running, sequential(running)]) {
        const t = traced(make())
        const state = layer === running ? { sum: null } : [{ sum: null }]
        const params = layer === running ? empty : [empty]
        const scanned = scanOnDevice(layer as typeof running, t.device, { read })
        const r = scanned.apply(params as never, state as never, x, evaluate())
        if (E.isLeft(r)) expect.fail(r.left.message)
        expect(Array.from(r.right.output.data), read).toEqual(want[read])
        expect(t.trace().live, `${read}: buffers left`).toBe(0)
      }
      // nested: the inner scan's step runs on the device, its loop slicing the input there
      const t = traced(make())
      const outer = scanOnDevice(scan(running), t.device, { read })
      const r = outer.apply(empty, { sum: null }, tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2]), evaluate())
      if (E.isLeft(r)) expect.fail(r.left.message)
      expect(t.trace().live, `nested ${read}: buffers left`).toBe(0)
    }
  })
})
