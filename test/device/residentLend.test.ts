/**
 * Lent host arrays on the resident device (`lend`, what `Session` does with a call's inputs,
 * params and state) and `take`: a call whose arguments are all on the host runs there and
 * leaves nothing in the module's memory; a call that needs an argument in memory copies it in
 * once; the caller's array is never written; a taken result is handed over; a result read twice
 * (an output also kept in the state) comes back as two arrays. Bits are the copy backend's
 * throughout.
 */
import * as E from 'fp-ts/lib/Either.js'
import { describe, expect, it } from 'vitest'
import type { NoParams, ResidentDevice, Tensor } from '../../src/index.js'
import { defineLayer, DeviceTensor, empty, key, nDropout, orThrow, record, residentBackend, tensor, tensorOf, train, uniform, wasmBackend } from '../../src/index.js'
import { sameBits } from '../../props/support.js'

const resident = residentBackend() as ResidentDevice
const copy = wasmBackend()!

/** `n` float32 values in [-1, 1) from `seed`. */
const floats = (n: number, seed: number): Float32Array => Float32Array.from(uniform(key(seed), n, 'float32'), (u) => 2 * u - 1)

const same = (a: ArrayLike<number>, b: ArrayLike<number>): boolean =>
  a.length === b.length && Array.from(a).every((v, i) => Object.is(v, b[i]))

/** What `body` leaves in the heap's live bytes, and its result. */
const liveAfter = <T>(body: () => T): { readonly bytes: number; readonly value: T } => {
  const before = resident.heapStats().liveBytes
  const value = body()
  return { bytes: resident.heapStats().liveBytes - before, value }
}

describe('lent arrays on the resident device', () => {
  it('a bandwidth-bound call on lent arrays runs on the host: nothing in the heap, the copy backend bits', () => {
    // big enough to take many slices, and odd-sized so the last slice is short
    const a = floats(300_001, 1)
    const b = floats(300_001, 2)
    const { bytes, value } = liveAfter(() => {
      const x = resident.lend!(a)
      const y = resident.lend!(b)
      const out = resident.mul(x, y)
      const sum = resident.axpy(out, x, { alpha: 0.5 })
      const got = resident.read(sum)
      for (const buffer of [x, y, out, sum]) resident.free(buffer)
      return got
    })
    expect(bytes).toBe(0)
    expect(same(value, copy.axpy(copy.mul(a, b), a, { alpha: 0.5 }))).toBe(true)
  })

  it('a small call on lent arrays runs in memory (the cache holds it): inputs copied in, output in a block', () => {
    const a = floats(4096, 12)
    const x = resident.lend!(a)
    const { bytes, value } = liveAfter(() => resident.mul(x, x))
    expect(bytes).toBe(2 * 4 * 4096)
    expect(same(resident.read(value), copy.mul(a, a))).toBe(true)
    resident.free(value)
    resident.free(x)
  })

  it('a call that needs a lent array in memory copies it in once, and later calls read that copy', () => {
    const a = floats(64 * 48, 3)
    const w = floats(48 * 32, 4)
    const x = resident.lend!(a)
    const weight = resident.upload(w)
    // matmul has no slices: the lent input is copied into a block of its own (and stays there)
    const { bytes } = liveAfter(() => resident.matmul(x, weight, null, { m: 64, k: 48, n: 32 }))
    expect(bytes).toBe(4 * (64 * 48 + 64 * 32))
    const y = resident.matmul(x, weight, null, { m: 64, k: 48, n: 32 })
    expect(same(resident.read(y), copy.matmul(a, w, null, { m: 64, k: 48, n: 32 }))).toBe(true)
    // a mixed call (one argument in memory) runs in memory too
    const mixed = resident.lend!(floats(64 * 32, 5))
    const z = liveAfter(() => resident.mul(mixed, y))
    expect(z.bytes).toBe(2 * 4 * 64 * 32)
    for (const b of [x, weight, y, mixed, z.value]) resident.free(b)
  })

  it('never writes the caller array: addInPlace into a lent buffer changes the device copy only', () => {
    for (const wide of [false, true]) {
      const a = wide ? Float64Array.from(floats(1000, 6)) : floats(1000, 6)
      const kept = a.slice()
      const target = resident.lend!(a)
      // used once in memory first: its block and the caller's array both hold its values
      const before = resident.matmul(target, target, null, { m: 1, k: 1000, n: 1, transB: true })
      const x = resident.upload(wide ? Float64Array.from(floats(1000, 7)) : floats(1000, 7))
      resident.addInPlace!(target, x)
      expect(same(a, kept)).toBe(true)
      const sum = copy.axpy(kept, resident.read(x), { alpha: 1 })
      expect(same(resident.read(target), sum)).toBe(true)
      // and later calls see the sum, on the host path too
      const again = resident.scale(target, { alpha: 1 })
      expect(same(resident.read(again), sum)).toBe(true)
      for (const b of [target, x, before, again]) resident.free(b)
    }
  })

  it('take: the values, and the buffer freed (a host result handed over, a block copied out)', () => {
    const a = floats(5000, 8)
    const lent = resident.lend!(a)
    const onHost = resident.mul(lent, lent)
    const inMemory = resident.upload(a)
    const buffers = resident.liveBuffers()
    expect(same(resident.take!(onHost), copy.mul(a, a))).toBe(true)
    expect(same(resident.take!(inMemory), a)).toBe(true)
    expect(resident.liveBuffers()).toBe(buffers - 2)
    expect(() => resident.read(onHost)).toThrow(/not live/)
    expect(() => resident.take!(inMemory)).toThrow(/not live/)
    // a lent array is never handed over: taking a lent buffer gives a copy
    const copied = resident.take!(lent)
    expect(copied).not.toBe(a)
    expect(same(copied, a)).toBe(true)
  })

  it('float64 and empty arrays: the reference on the host arrays', () => {
    const a = Float64Array.from(floats(999, 9))
    const x = resident.lend!(a)
    const y = resident.scale(x, { alpha: 3 })
    expect(resident.dtypeOf(y)).toBe('float64')
    expect(same(resident.read(y), copy.scale(a, { alpha: 3 }))).toBe(true)
    const e = resident.lend!(new Float32Array(0))
    expect(resident.read(resident.mul(e, e)).length).toBe(0)
    for (const b of [x, y, e]) resident.free(b)
  })
})

describe('apply on the default device with lent arrays', () => {
  it('an output also kept in the state comes back as two arrays, equal and independent', () => {
    const keepsOutput = defineLayer<NoParams, { readonly last: Tensor }>({
      name: 'KeepsOutput',
      outputShape: (s) => E.right(s),
      params: record({}),
      state: record({ last: tensorOf([3]) }),
      init: (_k, shape) => ({ params: empty, state: { last: tensor(new Float32Array(shape[0]), [shape[0]]) } }),
      run: (d, _p, _s, x) => {
        const y = d.axpy(x.buffer, x.buffer, { alpha: 1 })
        return { output: new DeviceTensor(y, x.shape), state: { last: new DeviceTensor(y, x.shape) } }
      },
    })
    const init = orThrow(keepsOutput.init(key(0), [3]))
    const buffers = resident.liveBuffers()
    const r = orThrow(keepsOutput.apply(init.params, init.state, tensor([1, 2, 3], [3]), train(key(1), resident)))
    expect(resident.liveBuffers()).toBe(buffers)
    const out = r.output as Tensor
    const last = (r.state as { readonly last: Tensor }).last
    expect(Array.from(out.data)).toEqual([2, 4, 6])
    expect(out.data).not.toBe(last.data)
    out.data[0] = 100
    expect(Array.from(last.data)).toEqual([2, 4, 6])
  })

  it('NDropout with a held mask: the copy backend bits, the caller arrays untouched, nothing left', () => {
    // 1.6 MiB an array: more than the cache holds, so the multiply runs sliced on the host
    const shape = [16, 65, 129]
    const size = 16 * 65 * 129
    const x = tensor(floats(size, 10), shape)
    const mask = tensor(Float32Array.from(floats(size, 11), (v) => (v > 0 ? 2 : 0)), shape)
    const xs = x.data.slice()
    const drop = nDropout({ p: 0.5 })
    const buffers = resident.liveBuffers()
    const live = resident.heapStats().liveBytes
    const got = orThrow(drop.apply(empty, { mask }, x, train(key(2), resident)))
    const want = orThrow(drop.apply(empty, { mask }, x, train(key(2), copy)))
    expect(sameBits(got.output, want.output)).toBe(true)
    expect(got.state.mask).toBe(mask)
    expect(same(x.data, xs)).toBe(true)
    expect(resident.liveBuffers()).toBe(buffers)
    expect(resident.heapStats().liveBytes).toBe(live)
  })
})
