/**
 * The allocator over the kernel module's memory: where the resident device keeps its tensors
 * and where the copy backend takes its per-call scratch.
 *
 * Blocks are 16-byte aligned (v128 and float64 accesses stay aligned) and sized in multiples of
 * 16 bytes; their bookkeeping lives in JavaScript maps, never in the memory itself, so a kernel
 * that wrote past its output could not corrupt the allocator (only a neighbour's values).
 *
 * Layout: everything from {@link HEAP_BASE} (the compiled module keeps nothing in memory; the
 * base also keeps 0 free to mean "no buffer" to the kernels) up to `top` is either a live block
 * or a free one; above `top` the memory is untouched. Allocation:
 *
 * 1. *Good fit from segregated free lists.* Free blocks sit in one of ~120 size classes: exact
 *    16-byte steps below 256 bytes, then four classes per power of two (each class spans 25% of
 *    its lower bound). A request first looks at a few blocks of its own class (a repeated size,
 *    the common case of a loop, finds its old block exactly), then takes any block of the next
 *    non-empty larger class, which always fits (a bitmap finds that class in a few steps).
 * 2. *Splitting.* The rest of a larger block, if any, goes back to its class: the only waste
 *    inside a block is the rounding to 16 bytes.
 * 3. *Bump.* With no free block to fit, the block is taken at `top` (joining a free block that
 *    ends there), and the memory grows when `top` passes its end: by at least an eighth of its
 *    size, so a growing workload grows the memory a logarithmic number of times.
 *
 * Freeing coalesces a block with free neighbours at once (both sides, found in O(1) through
 * maps by start and end), and a free block that reaches `top` lowers `top` instead. So no two
 * free blocks are ever adjacent, and the memory grows only when no free block of a larger class
 * exists and none of the request's own class (among those looked at) is large enough. A loop
 * that allocates and frees the same sizes in the same order reaches a fixed point after its
 * first iteration: the memory stops growing (bench/heap.ts measures it over 2000 steps).
 *
 * The memory may be shared (`WebAssembly.Memory({ shared: true })`, for kernels that run on
 * several threads): growing it then keeps views valid but they keep their old length; growing
 * a non-shared one detaches them. Either way views are made afresh from `memory.buffer` after
 * any allocation ({@link Heap.f32}, {@link Heap.f64}), never kept across one.
 *
 * @module
 */

/** Where blocks start: memory below it is never handed out. */
export const HEAP_BASE = 65536
const PAGE = 65536
const ALIGN = 16
/** Blocks of a class looked at before a larger class is taken. */
const LOOK = 8
/** wasm32 addresses: the memory cannot grow past 4 GiB. */
const MAX_BYTES = 2 ** 32

/** The size class of a block of `bytes` (a multiple of 16, at least 16). */
export const sizeClass = (bytes: number): number => {
  const units = bytes / ALIGN
  if (units < 16) return units
  const fl = 31 - Math.clz32(units)
  const sl = Math.floor(units / 2 ** (fl - 2)) & 3
  return 16 + (fl - 4) * 4 + sl
}
const CLASSES = sizeClass(MAX_BYTES) + 1

/** What a heap holds, in bytes (for tests and the benchmark's heap rows). */
export interface HeapStats {
  /** The memory's size. */
  readonly memoryBytes: number
  /** The end of the highest block ever in use (the memory above it is untouched). */
  readonly topBytes: number
  /** Bytes in live blocks. */
  readonly liveBytes: number
  /** Live blocks. */
  readonly liveBlocks: number
  /** Bytes in free blocks below `top`. */
  readonly freeBytes: number
  /** Free blocks below `top`. */
  readonly freeBlocks: number
}

/** An allocator over a WebAssembly memory; see the module doc. */
export class Heap {
  private top = HEAP_BASE
  /** Live blocks: start to size. */
  private readonly live = new Map<number, number>()
  /** Free blocks: start to size, and end to start. */
  private readonly freeSize = new Map<number, number>()
  private readonly freeEnd = new Map<number, number>()
  /** Free blocks by size class, and a bitmap of the classes that have any. */
  private readonly bins: Set<number>[] = Array.from({ length: CLASSES }, () => new Set<number>())
  private readonly nonEmpty = new Uint32Array(Math.ceil(CLASSES / 32))
  private liveBytes = 0

  constructor(readonly memory: WebAssembly.Memory) {}

  /**
   * A block of at least `bytes` bytes (16-byte aligned, contents undefined), growing the memory
   * if needed. Throws a RangeError ("Array buffer allocation failed: ...", as a failed typed
   * array allocation does, so that callers report it alike) when the memory cannot grow.
   */
  alloc(bytes: number): number {
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN)
    // beyond the address space no size class exists: refuse before looking one up
    if (!(size <= MAX_BYTES - HEAP_BASE)) this.refuse(size)
    const cls = sizeClass(size)
    let start = -1
    let found = 0
    let looked = 0
    for (const s of this.bins[cls]) {
      const have = this.freeSize.get(s)!
      if (have >= size && (start < 0 || have < found)) {
        start = s
        found = have
        if (have === size) break
      }
      if (++looked >= LOOK) break
    }
    if (start < 0) {
      const larger = this.firstNonEmpty(cls + 1)
      if (larger >= 0) {
        start = this.bins[larger].values().next().value!
        found = this.freeSize.get(start)!
      }
    }
    if (start >= 0) {
      this.unlink(start, found)
      if (found > size) this.link(start + size, found - size)
    } else {
      // at the top, joining a free block that ends there
      const below = this.freeEnd.get(this.top)
      start = this.top
      if (below !== undefined) {
        this.unlink(below, this.top - below)
        start = below
      }
      this.ensure(start + size)
      this.top = start + size
    }
    this.live.set(start, size)
    this.liveBytes += size
    return start
  }

  /** Frees a block `alloc` gave; throws if it is not live (a double free, or never allocated). */
  free(ptr: number): void {
    const size = this.live.get(ptr)
    if (size === undefined) throw new Error(`wasm heap: freed ${ptr}, which is not a live block`)
    this.live.delete(ptr)
    this.liveBytes -= size
    let start = ptr
    let end = ptr + size
    const left = this.freeEnd.get(start)
    if (left !== undefined) {
      this.unlink(left, start - left)
      start = left
    }
    const right = this.freeSize.get(end)
    if (right !== undefined) {
      this.unlink(end, right)
      end += right
    }
    if (end === this.top) this.top = start
    else this.link(start, end - start)
  }

  /** The size of a live block (its requested size rounded up to 16 bytes). */
  sizeOf(ptr: number): number | undefined {
    return this.live.get(ptr)
  }

  /** A float32 view of `length` values at byte `ptr` (valid until the next allocation). */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length)
  }

  /** A float64 view of `length` values at byte `ptr` (valid until the next allocation). */
  f64(ptr: number, length: number): Float64Array {
    return new Float64Array(this.memory.buffer, ptr, length)
  }

  /** What the heap holds now. */
  stats(): HeapStats {
    let freeBytes = 0
    for (const s of this.freeSize.values()) freeBytes += s
    return {
      memoryBytes: this.memory.buffer.byteLength,
      topBytes: this.top,
      liveBytes: this.liveBytes,
      liveBlocks: this.live.size,
      freeBytes,
      freeBlocks: this.freeSize.size,
    }
  }

  private link(start: number, size: number): void {
    this.freeSize.set(start, size)
    this.freeEnd.set(start + size, start)
    const cls = sizeClass(size)
    this.bins[cls].add(start)
    this.nonEmpty[cls >>> 5] |= 1 << (cls & 31)
  }

  private unlink(start: number, size: number): void {
    this.freeSize.delete(start)
    this.freeEnd.delete(start + size)
    const cls = sizeClass(size)
    const bin = this.bins[cls]
    bin.delete(start)
    if (bin.size === 0) this.nonEmpty[cls >>> 5] &= ~(1 << (cls & 31))
  }

  /** The first class at or above `from` that holds a free block, or -1. */
  private firstNonEmpty(from: number): number {
    for (let w = from >>> 5; w < this.nonEmpty.length; w++) {
      const bits = w === from >>> 5 ? this.nonEmpty[w] & ~((1 << (from & 31)) - 1) : this.nonEmpty[w]
      if (bits !== 0) return w * 32 + (31 - Math.clz32(bits & -bits))
    }
    return -1
  }

  /** The RangeError a failed typed-array allocation gives, so that callers report both alike. */
  private refuse(bytes: number): never {
    throw new RangeError(`Array buffer allocation failed: the WebAssembly memory cannot grow to ${bytes} bytes`)
  }

  /** Grows the memory to hold `end` bytes: by an eighth at least, else by what is needed. */
  private ensure(end: number): void {
    const have = this.memory.buffer.byteLength
    if (end <= have) return
    const fail = (): never => this.refuse(end)
    if (end > MAX_BYTES) fail()
    const needed = Math.ceil((end - have) / PAGE)
    const generous = Math.min(Math.max(needed, Math.ceil(have / 8 / PAGE)), MAX_BYTES / PAGE - have / PAGE)
    try {
      this.memory.grow(generous)
    } catch {
      try {
        this.memory.grow(needed)
      } catch {
        fail()
      }
    }
  }
}
