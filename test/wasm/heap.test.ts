/**
 * The allocator over WebAssembly memory (src/backend/wasm/heap.ts): aligned, reusing and
 * coalescing blocks, lowering its top, growing the memory only when nothing free fits, flat
 * over a repeated pattern, refusing double frees, and working over a shared memory (whose growth
 * keeps old views, shorter) as over a plain one (whose growth detaches them).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { guardAllocation } from '../../src/layer/check.js'
import { HEAP_BASE, Heap, sizeClass } from '../../src/backend/wasm/heap.js'
import * as E from 'fp-ts/lib/Either.js'

const memory = (shared = false): WebAssembly.Memory =>
  new WebAssembly.Memory({ initial: 1, maximum: 4096, ...(shared ? { shared: true } : {}) })

describe('the wasm heap', () => {
  it('gives 16-byte aligned, disjoint blocks above its base', () => {
    const h = new Heap(memory())
    const blocks = [1, 3, 16, 17, 100, 4096, 5].map((n) => [h.alloc(n), n] as const)
    for (const [p] of blocks) {
      expect(p % 16).toBe(0)
      expect(p).toBeGreaterThanOrEqual(HEAP_BASE)
    }
    const sorted = [...blocks].sort((a, b) => a[0] - b[0])
    for (let i = 1; i < sorted.length; i++) expect(sorted[i][0]).toBeGreaterThanOrEqual(sorted[i - 1][0] + sorted[i - 1][1])
    expect(h.stats().liveBlocks).toBe(blocks.length)
  })

  it('reuses a freed block of the same size, coalesces neighbours and lowers its top', () => {
    const h = new Heap(memory())
    const a = h.alloc(1000)
    const b = h.alloc(1000)
    const c = h.alloc(1000)
    h.free(b)
    expect(h.alloc(1000)).toBe(b)
    h.free(a)
    h.free(b)
    // a and b are one free block now: a request for both fits at a
    expect(h.stats().freeBlocks).toBe(1)
    const ab = h.alloc(2000)
    expect(ab).toBe(a)
    h.free(ab)
    h.free(c)
    expect(h.stats()).toMatchObject({ topBytes: HEAP_BASE, liveBytes: 0, freeBlocks: 0, freeBytes: 0 })
  })

  it('splits a larger block and keeps the rest free', () => {
    const h = new Heap(memory())
    const big = h.alloc(1 << 16)
    const guard = h.alloc(16)
    h.free(big)
    const small = h.alloc(100)
    expect(small).toBe(big)
    expect(h.stats().freeBytes).toBe((1 << 16) - 112)
    h.free(small)
    h.free(guard)
    expect(h.stats().topBytes).toBe(HEAP_BASE)
  })

  it('classes grow monotonically, four per power of two', () => {
    let last = 0
    for (let bytes = 16; bytes < 2 ** 31; bytes = Math.ceil((bytes * 1.07) / 16) * 16) {
      const c = sizeClass(bytes)
      expect(c).toBeGreaterThanOrEqual(last)
      last = c
    }
    expect(sizeClass(2 ** 20) - sizeClass(2 ** 19)).toBe(4)
  })

  it('random allocation and freeing: disjoint live blocks, and all back to the base at the end', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 70_000 }), fc.boolean()), { maxLength: 200 }), (ops) => {
        const h = new Heap(memory())
        const live = new Map<number, number>()
        for (const [bytes, freeOne] of ops) {
          if (freeOne && live.size > 0) {
            const p = [...live.keys()][bytes % live.size]
            h.free(p)
            live.delete(p)
          } else {
            const p = h.alloc(bytes)
            for (const [q, n] of live) expect(p + bytes <= q || q + n <= p, 'overlap').toBe(true)
            live.set(p, bytes)
          }
        }
        for (const p of live.keys()) h.free(p)
        expect(h.stats()).toMatchObject({ topBytes: HEAP_BASE, liveBytes: 0, freeBlocks: 0 })
      }),
      { numRuns: 60 },
    )
  })

  it('a repeated pattern settles: the memory and the highest top stop growing', () => {
    const h = new Heap(memory())
    const sizes = [4000, 262_144, 12, 80_000, 262_144, 4000, 3, 1_000_000]
    let keep: number[] = []
    const tops: number[] = []
    const memories: number[] = []
    for (let round = 0; round < 60; round++) {
      // a step: allocate its buffers, free the previous step's and some of its own
      const made = sizes.map((n) => h.alloc(n + (round % 3)))
      keep.forEach((p) => h.free(p))
      made.filter((_, i) => i % 2 === 0).forEach((p) => h.free(p))
      keep = made.filter((_, i) => i % 2 === 1)
      tops.push(h.stats().topBytes)
      memories.push(h.stats().memoryBytes)
    }
    // the pattern repeats every 6 rounds (sizes every 3, kept blocks every 2)
    expect(Math.max(...tops.slice(30))).toBeLessThanOrEqual(Math.max(...tops.slice(6, 30)))
    expect(new Set(memories.slice(6)).size).toBe(1)
    expect(h.stats().memoryBytes).toBeLessThan(8 * 2 ** 20)
  })

  it('throws on a double free and on a pointer it never gave', () => {
    const h = new Heap(memory())
    const p = h.alloc(64)
    h.free(p)
    expect(() => h.free(p)).toThrow(/not a live block/)
    expect(() => h.free(p + 16)).toThrow(/not a live block/)
  })

  it('a memory that cannot grow: a RangeError that guardAllocation reports as a LayerError', () => {
    const h = new Heap(new WebAssembly.Memory({ initial: 1, maximum: 4 }))
    expect(() => h.alloc(1 << 20)).toThrow(RangeError)
    const r = guardAllocation('Test', 'input', () => E.right(h.alloc(1 << 20)))
    expect(E.isLeft(r) && r.left.message).toMatch(/fit in memory/)
    // what fits still works
    expect(h.alloc(1000)).toBe(HEAP_BASE)
  })

  it.each([2 ** 32, 2 ** 44, Number.MAX_SAFE_INTEGER, Infinity, NaN])('a request of %d bytes, past the address space: the same RangeError, the heap unchanged', (bytes) => {
    const h = new Heap(memory())
    const p = h.alloc(100)
    const before = h.stats()
    expect(() => h.alloc(bytes)).toThrow(/Array buffer allocation failed/)
    expect(h.stats()).toEqual(before)
    h.free(p)
  })

  it.each([false, true])('views are re-made after growth (shared memory: %s)', (shared) => {
    const m = memory(shared)
    const h = new Heap(m)
    const p = h.alloc(1000)
    h.f32(p, 250).fill(7)
    const before = m.buffer
    const length = before.byteLength
    const q = h.alloc(10 * 2 ** 20)
    expect(m.buffer.byteLength).toBeGreaterThan(length)
    // a plain memory's old buffer is detached; a shared one's keeps its old length
    expect(before.byteLength).toBe(shared ? length : 0)
    expect(Array.from(h.f32(p, 250)).every((v) => v === 7)).toBe(true)
    h.f32(q, 4).set([1, 2, 3, 4])
    expect(Array.from(h.f32(q, 4))).toEqual([1, 2, 3, 4])
  })
})
