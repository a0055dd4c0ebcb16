/**
 * Scratch space in a WebAssembly memory for one kernel call at a time.
 *
 * Tensors live in ordinary JavaScript typed arrays (layers allocate them, callers keep them),
 * so a call copies its inputs into this memory, runs, and copies its outputs back. Keeping
 * tensors inside the memory instead would save those copies but tie every tensor's lifetime
 * to a manual allocator, and growing a non-shared memory detaches every view of it. The copies
 * are plain memcpy (`TypedArray.set`), measured by `npm run bench` next to the kernels.
 * The memory only grows (to the largest call seen) and holds nothing between calls.
 *
 * @module
 */

/** Where scratch starts: above anything the compiled module might place at low addresses. */
const BASE = 65536
const PAGE = 65536

/** 16-byte alignment keeps v128 and float64 accesses aligned. */
const align = (bytes: number): number => (bytes + 15) & ~15

/** A view of a memory's buffer, re-made whenever growth replaced the buffer. */
export class Arena {
  private buffer: ArrayBuffer | undefined
  private f32view = new Float32Array(0)
  private f64view = new Float64Array(0)

  constructor(private readonly memory: WebAssembly.Memory) {}

  /**
   * Byte offsets for blocks of the given byte sizes, laid out one after another, growing the
   * memory first if needed. `undefined` when the memory cannot grow that far.
   */
  reserve(sizes: readonly number[]): number[] | undefined {
    const offsets: number[] = []
    let at = BASE
    for (const size of sizes) {
      offsets.push(at)
      at += align(size)
    }
    const have = this.memory.buffer.byteLength
    if (at > have) {
      try {
        this.memory.grow(Math.ceil((at - have) / PAGE))
      } catch {
        return undefined
      }
    }
    return offsets
  }

  private refresh(): void {
    if (this.buffer !== this.memory.buffer) {
      this.buffer = this.memory.buffer
      this.f32view = new Float32Array(this.buffer)
      this.f64view = new Float64Array(this.buffer)
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
