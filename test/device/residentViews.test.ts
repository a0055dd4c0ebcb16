/**
 * `slice` and `split` on the resident WebAssembly device give views of their argument's block
 * (src/backend/wasm/resident.ts): no copy, no new block, the copy backend's values. The block
 * lives until its last buffer is freed, in any order, and `addInPlace` on any buffer of a shared
 * block writes no other. Where a view cannot be (a part whose first value is not 16-byte
 * aligned, a buffer still on the host) the kernel copies, as before.
 */
import { describe, expect, it } from 'vitest'
import type { Data, Device, ResidentDevice, WasmBuffer } from '../../src/index.js'
import { residentBackend, wasmBackend } from '../../src/index.js'

const resident = residentBackend() as ResidentDevice
const copy = wasmBackend() as Device<Data>

const ramp = (n: number, from = 0): Float32Array => Float32Array.from({ length: n }, (_, i) => from + i * 0.25)

/** The bytes and blocks in use now. */
const inUse = () => {
  const s = resident.heapStats()
  return { bytes: s.liveBytes, blocks: s.liveBlocks, buffers: resident.liveBuffers() }
}

const values = (b: WasmBuffer): number[] => Array.from(resident.read(b))

describe('resident device: slice and split as views', () => {
  it('make no block and no copy, and give the copy backend values', () => {
    const x = resident.upload(ramp(64))
    const before = inUse()
    const parts = resident.split(x, { count: 4 })
    const middle = resident.slice(x, { offset: 8, length: 40 })
    const after = inUse()
    expect(after.bytes).toBe(before.bytes)
    expect(after.blocks).toBe(before.blocks)
    expect(after.buffers).toBe(before.buffers + 5)
    const host = ramp(64)
    copy.split(host, { count: 4 }).forEach((p, i) => expect(values(parts[i])).toEqual(Array.from(p)))
    expect(values(middle)).toEqual(Array.from(copy.slice(host, { offset: 8, length: 40 })))
    for (const b of [x, middle, ...parts]) resident.free(b)
    expect(inUse().bytes).toBe(before.bytes - 64 * 4)
  })

  it('free the block with its last buffer, in any order', () => {
    const before = inUse()
    const orders = [
      [0, 1, 2, 3, 4],
      [4, 3, 2, 1, 0],
      [2, 0, 4, 1, 3],
    ]
    for (const order of orders) {
      const x = resident.upload(ramp(32))
      const buffers = [x, ...resident.split(x, { count: 4 })]
      order.slice(0, -1).forEach((i) => {
        resident.free(buffers[i])
        expect(inUse().bytes).toBe(before.bytes + 32 * 4)
      })
      // the last one still reads its values
      const last = buffers[order[order.length - 1]]
      expect(values(last).length).toBe(last === x ? 32 : 8)
      resident.free(last)
      expect(inUse()).toEqual(before)
      // a second free of a view is an error, as of any buffer
      expect(() => resident.free(buffers[1])).toThrow(/not live/)
    }
  })

  it('a view of a view shares the first block', () => {
    const before = inUse()
    const x = resident.upload(ramp(64))
    const half = resident.slice(x, { offset: 32, length: 32 })
    const quarters = resident.split(half, { count: 2 })
    resident.free(x)
    resident.free(half)
    expect(values(quarters[1])).toEqual(Array.from(ramp(16, 48 * 0.25)))
    expect(inUse().bytes).toBe(before.bytes + 64 * 4)
    quarters.forEach((q) => resident.free(q))
    expect(inUse()).toEqual(before)
  })

  it('addInPlace into a view or into the buffer it views writes no other buffer', () => {
    const add = (target: WasmBuffer, x: WasmBuffer): void => resident.addInPlace!(target, x)
    const x = resident.upload(ramp(32))
    const [a, b, c, d] = resident.split(x, { count: 4 })
    const ones = resident.upload(new Float32Array(8).fill(1))
    add(b, ones)
    expect(values(b)).toEqual(Array.from(ramp(8, 2)).map((v) => v + 1))
    expect(values(x)).toEqual(Array.from(ramp(32)))
    expect(values(a)).toEqual(Array.from(ramp(8)))
    expect(values(c)).toEqual(Array.from(ramp(8, 4)))
    const all = resident.upload(new Float32Array(32).fill(10))
    add(x, all)
    expect(values(x)).toEqual(Array.from(ramp(32)).map((v) => v + 10))
    expect(values(d)).toEqual(Array.from(ramp(8, 6)))
    for (const buffer of [x, a, b, c, d, ones, all]) resident.free(buffer)
  })

  it('copy where a view cannot be (an unaligned part, a host array; float64 alike); refuse a range past the end', () => {
    const x = resident.upload(ramp(30))
    const before = inUse()
    const odd = resident.slice(x, { offset: 1, length: 6 })
    const thirds = resident.split(x, { count: 3 })
    // neither 1 value nor 10 float32s is a multiple of 16 bytes: copies
    expect(inUse().blocks).toBe(before.blocks + 4)
    expect(values(odd)).toEqual(Array.from(ramp(6, 0.25)))
    expect(values(thirds[2])).toEqual(Array.from(ramp(10, 5)))
    // a range past the end is refused, here as on the copy backend
    expect(() => resident.slice(x, { offset: 24, length: 8 })).toThrow(/slice: attributes/)
    expect(() => copy.slice(ramp(30), { offset: 24, length: 8 })).toThrow(/slice: attributes/)
    const lent = resident.lend!(ramp(16))
    const lentHalf = resident.slice(lent, { offset: 8, length: 8 })
    expect(values(lentHalf)).toEqual(Array.from(ramp(8, 2)))
    const f64 = resident.upload(Float64Array.from(ramp(8)))
    const f64Halves = resident.split(f64, { count: 2 })
    expect(Array.from(resident.read(f64Halves[1]))).toEqual(Array.from(ramp(4, 1)))
    for (const b of [x, odd, ...thirds, lent, lentHalf, f64, ...f64Halves]) resident.free(b)
  })
})
