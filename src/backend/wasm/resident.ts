/**
 * The resident WebAssembly device: tensors that live in the kernel module's memory.
 *
 * A buffer is a {@link WasmBuffer}, a small handle to a block of the module's memory that the
 * {@link Heap} allocator manages. Kernels run on the blocks in place, through the same rows as
 * the copy backend (`kernels.ts`: one `call` with the pointers of the call's buffers), with no
 * copies and no slicing; `upload` allocates a block and copies the host array in, `read` copies
 * a block out into a fresh host array, `free` gives the block back. So a runner that owns its
 * intermediates (a pipeline, a scan, the gradient tape, the training step) keeps all of them in
 * WebAssembly memory and copies only its inputs in and its results out; this device is the
 * default (`bestBackend()`), and `Session`, the scan loop and the tape free what they made.
 *
 * What the rows do not take runs the JavaScript reference (`cpuKernels`) directly over views of
 * the blocks (again without copies): the kernels of `unported` (fills, concatenation and slices
 * as `set`/`fill` inside the memory; the per-channel folds; the loss), float64 data (rows are
 * float32; the reference gives float64 its exact bits), and calls a row's `when` refuses. Every
 * result is bit for bit the copy backend's (the same kernels on the same values).
 *
 * Lent host arrays (`lend`: what a runner does with a call's inputs, params and state) are not
 * copied in up front. A call whose buffer arguments are all still on the host runs on the host
 * device this one was given (a copy backend: slices copied through an L2-sized arena, as
 * `wasmBackend()` runs every call) when it is the reference, or a bandwidth-bound row (one that
 * slices) over more than {@link HOST_BYTES}; its outputs stay on the host, where `take` hands
 * them to the runner without another copy. So one `apply` of an elementwise layer on big arrays
 * costs what it costs on the copy backend, not an upload and a readback of every tensor. A host
 * buffer is copied into a block of its own the first time a call needs it in memory (an
 * unsliced row such as matmul, a small call, a call with an argument in memory, `addInPlace`);
 * later calls use the block. A lent array is never written.
 *
 * `slice` and `split` (a scan's time steps, and their cotangents) give views: buffers over a
 * part of their argument's block, no copy. Kernels never write their arguments, so a block may
 * be shared; it is freed with the last buffer over it, and `addInPlace`, the one write into a
 * buffer, first gives a shared target a block of its own.
 *
 * Not garbage-collected: a buffer lives until `free`. Freeing a buffer twice, or handing a
 * kernel a freed one, throws (it would corrupt the heap otherwise). `liveBuffers()` counts the
 * buffers not yet freed, `heapStats()` the memory (flat over a long scan or a training loop).
 *
 * @module
 */
import type { Device, RunKernel } from '../../kernel/device.js'
import { deviceFrom } from '../../kernel/device.js'
import { hostDtype } from '../../kernel/host.js'
import type { KernelName } from '../../kernel/kernels.js'
import {
  attrsArg,
  bufferArgs,
  kernelNames,
  kernelSpecs,
  outputDtype,
  outputLengths,
  outputRule,
} from '../../kernel/spec.js'
import type { Data, DType } from '../../tensor/tensor.js'
import { cpuKernels } from '../cpu/index.js'
import type { KernelExports } from './exports.js'
import { HEAP_BASE, type Heap, type HeapStats } from './heap.js'
import { type WasmRow, wasmRows } from './kernels.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** A tensor's values in the module's memory: `length` values of `dtype` from byte `ptr`. */
export class WasmBuffer {
  constructor(
    /**
     * Byte offset of the first value (16-byte aligned); 0 for a lent buffer whose values are
     * still only in the caller's array (set when the device copies them in).
     */
    readonly ptr: number,
    /** Number of values. */
    readonly length: number,
    /** float32 (4 bytes a value) or float64 (8). */
    readonly dtype: DType,
  ) {}
}

/** The resident device: a {@link Device} over {@link WasmBuffer}s; see the module doc. */
export interface ResidentDevice extends Device<WasmBuffer> {
  /** Buffers made (uploads and kernel outputs) and not freed yet. */
  readonly liveBuffers: () => number
  /** The heap's bytes now: live, free, the top, the memory's size. */
  readonly heapStats: () => HeapStats
}

// ---------------------------------------------------------------------------------------------
// constructor
// ---------------------------------------------------------------------------------------------

const bytesPer = (dtype: DType): number => (dtype === 'float64' ? 8 : 4)

/**
 * Bytes of arguments and outputs above which a bandwidth-bound call on host arrays runs sliced
 * on the host: twice a 512 KiB L2 cache. Smaller ones are copied in whole and run in memory,
 * cheaper than slicing what the cache holds anyway.
 */
const HOST_BYTES = 1 << 20

const bytesOf = (b: WasmBuffer): number => b.length * bytesPer(b.dtype)

/** A lent buffer's block, once the device has copied its values in (the one write to `ptr`). */
const placeAt = (b: WasmBuffer, ptr: number): void => {
  // eslint-disable-next-line no-restricted-syntax
  ;(b as { ptr: number }).ptr = ptr
}

/** Per kernel: which buffer arguments and outputs a row reads and writes as float64 statistics. */
type StatsPositions = { readonly inputs: ReadonlySet<number>; readonly outputs: readonly boolean[] }
const statsPositions = Object.fromEntries(
  kernelNames.map((name) => {
    const spec = kernelSpecs[name]
    const outputs = spec.outputs === 'list' ? 1 : spec.outputs.length
    return [
      name,
      {
        inputs: new Set(spec.stats ?? []),
        outputs: Array.from({ length: outputs }, (_, i) => outputRule(name, i) === 'stats'),
      },
    ]
  }),
) as unknown as Readonly<Record<KernelName, StatsPositions>>

/**
 * The resident device over an instantiated module and the heap over its memory (shared with
 * the copy backend of the same module, which takes its scratch from the same heap); `host`
 * runs the calls whose arguments are all on the host (see the module doc).
 */
export const residentDeviceFrom = (k: KernelExports, heap: Heap, host: Device<Data>): ResidentDevice => {
  const live = new Set<WasmBuffer>()
  /**
   * Buffers whose values are in a host array, not (yet) in the memory: lent ones (the caller's
   * array) and the outputs of calls that ran on the host (`own`: the device's array).
   */
  const hosted = new Map<WasmBuffer, { readonly data: Data; readonly own: boolean }>()
  const rows = wasmRows as Readonly<Partial<Record<KernelName, WasmRow<KernelName>>>>

  const onHost = (data: Data, own: boolean): WasmBuffer => {
    const b = new WasmBuffer(0, data.length, hostDtype(data))
    live.add(b)
    hosted.set(b, { data, own })
    return b
  }
  const make = (length: number, dtype: DType): WasmBuffer => {
    const bytes = length * bytesPer(dtype)
    const b = new WasmBuffer(bytes === 0 ? HEAP_BASE : heap.alloc(bytes), length, dtype)
    live.add(b)
    return b
  }
  /**
   * The blocks that several live buffers share (a buffer and the views `slice` and `split` made
   * of it), by their first byte: how many share it. A block is freed with its last buffer.
   */
  const sharers = new Map<number, number>()
  /** The block (its first byte) of each live view, whose own `ptr` lies inside it. */
  const blockOfView = new Map<WasmBuffer, number>()
  const blockOf = (b: WasmBuffer): number => blockOfView.get(b) ?? b.ptr
  /** Strikes `b` off its block's sharers; whether it was the block's last buffer. */
  const unshare = (b: WasmBuffer): boolean => {
    const block = blockOf(b)
    blockOfView.delete(b)
    const n = sharers.get(block)
    if (n === undefined) return true
    if (n > 2) sharers.set(block, n - 1)
    else sharers.delete(block)
    return false
  }
  /** `length` values of `x` from value `offset` on, as a buffer over `x`'s block: no copy. */
  const viewOf = (x: WasmBuffer, offset: number, length: number): WasmBuffer => {
    const block = blockOf(x)
    const b = new WasmBuffer(x.ptr + offset * bytesPer(x.dtype), length, x.dtype)
    live.add(b)
    blockOfView.set(b, block)
    sharers.set(block, (sharers.get(block) ?? 1) + 1)
    return b
  }
  const release = (b: WasmBuffer): void => {
    if (!live.delete(b)) throw new Error("wasm device: freed a buffer that is not live (freed before, or not this device's)")
    if (hosted.delete(b) || b.length === 0) return
    const block = blockOf(b)
    if (unshare(b)) heap.free(block)
  }
  /** A view of a buffer's block: valid until the next allocation. */
  const blockView = (b: WasmBuffer): Data =>
    b.length === 0
      ? b.dtype === 'float64'
        ? new Float64Array(0)
        : new Float32Array(0)
      : b.dtype === 'float64'
        ? heap.f64(b.ptr, b.length)
        : heap.f32(b.ptr, b.length)
  /** A view of a buffer's values: its host array where it has one, else its block. */
  const view = (b: WasmBuffer): Data => hosted.get(b)?.data ?? blockView(b)
  /** The buffer's block, a lent buffer's values copied into one first. */
  const pointerOf = (b: WasmBuffer): number => {
    const h = hosted.get(b)
    if (h !== undefined) {
      placeAt(b, heap.alloc(bytesOf(b)))
      hosted.delete(b)
      blockView(b).set(h.data)
    }
    return b.ptr
  }
  /**
   * `slice` and `split` of a buffer in memory as views of its block (kernels never write their
   * arguments, so sharing is safe; `addInPlace` gives its target a block of its own first), or
   * `undefined` where a copy is due: a buffer still on the host, an empty result, or a part
   * whose first value would not be 16-byte aligned (every block's is). The range is checked
   * before (`outputLengths`).
   */
  const viewsFor = (name: KernelName, args: readonly unknown[]): WasmBuffer[] | undefined => {
    if (name !== 'slice' && name !== 'split') return undefined
    const x = args[0] as WasmBuffer
    if (hosted.has(x) || x.length === 0) return undefined
    const aligned = (values: number): boolean => (values * bytesPer(x.dtype)) % 16 === 0
    if (name === 'slice') {
      const { offset, length } = args[1] as { readonly offset: number; readonly length: number }
      return length > 0 && aligned(offset) ? [viewOf(x, offset, length)] : undefined
    }
    const { count } = args[1] as { readonly count: number }
    const part = x.length / count
    return aligned(part) ? Array.from({ length: count }, (_, i) => viewOf(x, i * part, part)) : undefined
  }
  /** Gives `b`, which shares its block, a block of its own with its values: a write reaches no other buffer. */
  const ownBlock = (b: WasmBuffer): void => {
    const ptr = heap.alloc(bytesOf(b))
    const values = blockView(b)
    ;(b.dtype === 'float64' ? heap.f64(ptr, b.length) : heap.f32(ptr, b.length)).set(values)
    unshare(b)
    placeAt(b, ptr)
  }
  /** A copy of a buffer's values into a fresh (never shared) ArrayBuffer. */
  const readOut = (b: WasmBuffer): Data => (b.dtype === 'float64' ? new Float64Array(view(b)) : new Float32Array(view(b)))
  const expectLive = (what: string, b: WasmBuffer): void => {
    if (!live.has(b)) throw new Error(`wasm device: ${what} a buffer that is not live (freed, or not this device's)`)
  }

  /** Whether a row takes the call: float32 data, float64 statistics, and the row's own condition. */
  const rowTakes = (
    name: KernelName,
    row: WasmRow<KernelName>,
    buffers: readonly (WasmBuffer | null)[],
    outs: readonly DType[],
    attrs: object,
  ): boolean => {
    const stats = statsPositions[name]
    return (
      buffers.every((b, i) => b === null || b.dtype === (stats.inputs.has(i) ? 'float64' : 'float32')) &&
      outs.every((dtype, i) => dtype === (stats.outputs[i] ? 'float64' : 'float32')) &&
      row.when?.(attrs as never) !== false
    )
  }

  /**
   * Whether a call runs on the host device: every argument still on the host, and the reference
   * (`row` undefined) or a bandwidth-bound row on more than {@link HOST_BYTES}.
   */
  const forHost = (
    buffers: readonly (WasmBuffer | null)[],
    row: WasmRow<KernelName> | undefined,
    lengths: readonly number[],
    outs: readonly DType[],
  ): boolean => {
    // nothing on the host (a training step's calls): no work on the hot path
    if (hosted.size === 0) return false
    const given = buffers.filter((b): b is WasmBuffer => b !== null)
    if (given.length === 0 || !given.every((b) => hosted.has(b))) return false
    if (row === undefined) return true
    if (row.slices === undefined) return false
    const read = given.reduce((n, b) => n + bytesOf(b), 0)
    return read + lengths.reduce((n, l, i) => n + l * bytesPer(outs[i]), 0) > HOST_BYTES
  }

  /** A call's arguments with every buffer as a view of its values (valid until the next allocation). */
  const hostArgs = (name: KernelName, args: readonly unknown[]): unknown[] => {
    const inputs = kernelSpecs[name].inputs
    const toView = (b: WasmBuffer | null): Data | null => (b === null ? null : view(b))
    return inputs === 'list'
      ? [(args[0] as readonly WasmBuffer[]).map(toView), ...args.slice(1)]
      : [...(args.slice(0, inputs) as readonly (WasmBuffer | null)[]).map(toView), ...args.slice(inputs)]
  }

  /** The reference kernel over views of the blocks: what the rows leave. */
  const onViews = (name: KernelName, args: readonly unknown[], outs: readonly WasmBuffer[]): void => {
    const views = outs.map(view)
    const names = kernelSpecs[name].outputs
    const out = names === 'list' ? views : names.length === 1 ? views[0] : Object.fromEntries(names.map((n, i) => [n, views[i]]))
    ;(cpuKernels[name] as (out: unknown, ...rest: readonly unknown[]) => void)(out, ...hostArgs(name, args))
  }

  const run: RunKernel<WasmBuffer> = (name, args) => {
    const buffers = bufferArgs<WasmBuffer>(name, args)
    for (const b of buffers) if (b !== null) expectLive(`kernel ${name} got`, b)
    const attrs = attrsArg(name, args)
    const dtypes = buffers.map((b) => b?.dtype)
    const lengths = outputLengths(name, attrs, buffers.map((b) => (b === null ? null : b.length)))
    const outDtypes = lengths.map((_, i) => outputDtype(name, i, attrs, dtypes))
    const views = viewsFor(name, args)
    if (views !== undefined) return views
    const row = rows[name]
    const byRow = row !== undefined && rowTakes(name, row, buffers, outDtypes, attrs)
    if (forHost(buffers, byRow ? row : undefined, lengths, outDtypes)) {
      const results = host.run(name, hostArgs(name, args))
      return results.map((data) => (data.length === 0 ? make(0, hostDtype(data)) : onHost(data, true)))
    }
    const outs: WasmBuffer[] = []
    try {
      lengths.forEach((n, i) => outs.push(make(n, outDtypes[i])))
      // nothing to write: skip the loops (an empty tensor may still have a huge leading axis)
      if (outs.every((o) => o.length === 0)) return outs
      if (!byRow) {
        onViews(name, args, outs)
        return outs
      }
      const ins = buffers.map((b) => (b === null ? 0 : pointerOf(b)))
      const bytes = row.scratch?.(k, attrs as never) ?? 0
      const scratch = bytes > 0 ? heap.alloc(bytes) : 0
      try {
        row.call(k, { outs: outs.map((o) => o.ptr), ins, length: outs[0].length, scratch, carry: {} }, attrs as never)
      } finally {
        if (scratch !== 0) heap.free(scratch)
      }
      return outs
    } catch (e) {
      outs.forEach(release)
      throw e
    }
  }

  const device = deviceFrom<WasmBuffer>(
    {
      name: 'wasm-resident',
      dtypeOf: (b) => b.dtype,
      lengthOf: (b) => b.length,
      upload: (data) => {
        const b = make(data.length, hostDtype(data))
        view(b).set(data)
        return b
      },
      lend: (data) => (data.length === 0 ? make(0, hostDtype(data)) : onHost(data, false)),
      read: (b) => {
        expectLive('read', b)
        return readOut(b)
      },
      take: (b) => {
        expectLive('took', b)
        const h = hosted.get(b)
        const data = h?.own === true ? h.data : readOut(b)
        release(b)
        return data
      },
      free: release,
      addInPlace: (target, x) => {
        expectLive('added into', target)
        expectLive('added', x)
        if (target.length !== x.length || target.dtype !== x.dtype) {
          throw new Error(`wasm device: addInPlace of ${x.length} ${x.dtype} into ${target.length} ${target.dtype}`)
        }
        if (target.length === 0) return
        // axpy with out = a: elementwise, each value read before it is written; the same bits
        // (a host target is copied in first: the caller's array is never written; a shared
        // block is left to the buffers that share it)
        pointerOf(target)
        if (sharers.has(blockOf(target))) ownBlock(target)
        const into = target.ptr
        if (target.dtype === 'float32') k.axpy(into, into, 1, pointerOf(x), target.length)
        else cpuKernels.axpy(blockView(target), blockView(target), view(x), { alpha: 1 })
      },
    },
    run,
  )
  return { ...device, liveBuffers: () => live.size, heapStats: () => heap.stats() }
}
