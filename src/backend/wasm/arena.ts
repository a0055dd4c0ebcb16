/**
 * Scratch space in a WebAssembly memory for one kernel call at a time: the copy backend's.
 *
 * The copy backend's tensors live in ordinary JavaScript typed arrays (layers allocate them,
 * callers keep them), so a call copies its inputs into this space, runs, and copies its outputs
 * back; the resident device (`resident.ts`) keeps tensors in the memory instead. The space is
 * one block of the module's {@link Heap}, shared with the resident device: it grows (to the
 * largest call seen) and is kept between calls, holding nothing a later call reads.
 *
 * @module
 */
import type { Heap } from './heap.js'

/** 16-byte alignment keeps v128 and float64 accesses aligned. */
const align = (bytes: number): number => (bytes + 15) & ~15

/** A scratch block of a heap, with views re-made whenever growth replaced the memory's buffer. */
export class Arena {
  private block = 0
  private size = 0
  private buffer: ArrayBufferLike | undefined
  private f32view = new Float32Array(0)
  private f64view = new Float64Array(0)

  constructor(private readonly heap: Heap) {}

  /**
   * Byte offsets for blocks of the given byte sizes, laid out one after another in the scratch
   * block, growing it first if needed. `undefined` when the memory cannot grow that far.
   */
  reserve(sizes: readonly number[]): number[] | undefined {
    const total = sizes.reduce((s, size) => s + align(size), 0)
    if (total > this.size) {
      if (this.block !== 0) this.heap.free(this.block)
      this.block = 0
      this.size = 0
      try {
        this.block = this.heap.alloc(total)
      } catch {
        return undefined
      }
      this.size = align(total)
    }
    const offsets: number[] = []
    let at = this.block
    for (const size of sizes) {
      offsets.push(at)
      at += align(size)
    }
    return offsets
  }

  private refresh(): void {
    const buffer = this.heap.memory.buffer
    if (this.buffer !== buffer || this.f32view.byteLength !== buffer.byteLength) {
      this.buffer = buffer
      this.f32view = new Float32Array(buffer)
      this.f64view = new Float64Array(buffer)
    }
  }

  /** Copies `data` in at byte offset `ptr`. */
  write(ptr: number, data: Float32Array | Float64Array): void {
    this.refresh()
    if (data instanceof Float32Array) this.f32view.set(data, ptr >>> 2)
    else this.f64view.set(data, ptr >>> 3)
  }

  /** Copies `out.length` elements out of byte offset `ptr` into `out`. */
  read(ptr: number, out: Float32Array | Float64Array): void {
    this.refresh()
    if (out instanceof Float32Array) out.set(this.f32view.subarray(ptr >>> 2, (ptr >>> 2) + out.length))
    else out.set(this.f64view.subarray(ptr >>> 3, (ptr >>> 3) + out.length))
  }
}
