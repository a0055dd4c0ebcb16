/**
 * `allocateUnfilled`, the storage host devices give their destination-first kernels' outputs:
 * a whole buffer of its own (transferable, never a view into a pool), the dtype and length
 * asked for, zeroed below its size threshold, and `allocate`'s errors for sizes no engine
 * allocates. That kernels then write every element is props/kernels.prop.ts's law 6.
 */
import { describe, expect, it } from 'vitest'
import { cpu } from '../../src/index.js'
import { AllocationError, allocateUnfilled } from '../../src/tensor/view.js'

describe('allocateUnfilled', () => {
  it('gives a buffer of its own of the dtype and length asked for', () => {
    for (const [dtype, kind, per] of [['float32', Float32Array, 4], ['float64', Float64Array, 8]] as const) {
      for (const n of [0, 7, 4096, 100_003]) {
        const d = allocateUnfilled('f', 'a', n, dtype)
        expect(d).toBeInstanceOf(kind)
        expect(d.length).toBe(n)
        expect(d.byteOffset).toBe(0)
        expect(d.buffer.byteLength).toBe(n * per)
      }
    }
  })

  it('zeroes small arrays, where skipping it gains nothing', () => {
    const d = allocateUnfilled('f', 'a', 100, 'float32')
    expect(d.every((v) => Object.is(v, 0))).toBe(true)
  })

  it("names the function and the argument for sizes past a typed array's", () => {
    expect(() => allocateUnfilled('f', 'a', 2 ** 33, 'float32')).toThrow(AllocationError)
    expect(() => allocateUnfilled('f', 'a', 2 ** 33, 'float32')).toThrow(/^f: a: /)
  })

  it("a host device's big outputs are fresh buffers with every element written", () => {
    const n = 70_000
    const a = Float32Array.from({ length: n }, (_, i) => i % 7)
    const b = Float32Array.from({ length: n }, (_, i) => (i % 3) - 1)
    for (let round = 0; round < 4; round++) {
      const out = cpu.mul(a, b)
      expect(out.byteOffset).toBe(0)
      expect(out.buffer.byteLength).toBe(n * 4)
      expect(out.every((v, i) => v === (i % 7) * ((i % 3) - 1))).toBe(true)
    }
  })
})
