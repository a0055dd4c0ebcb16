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
 * Not garbage-collected: a buffer lives until `free`. Freeing a buffer twice, or handing a
 * kernel a freed one, throws (it would corrupt the heap otherwise). `liveBuffers()` counts the
 * buffers not yet freed, `heapStats()` the memory (flat over a long scan or a training loop).
 *
 * @module
 */
import type { Device, RunKernel } from '../../kernel/device.js'
import { deviceFrom } from '../../kernel/device.js'
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
    /** Byte offset of the first value (16-byte aligned). */
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
 * the copy backend of the same module, which takes its scratch from the same heap).
 */
export const residentDeviceFrom = (k: KernelExports, heap: Heap): ResidentDevice => {
  const live = new Set<WasmBuffer>()
  const rows = wasmRows as Readonly<Partial<Record<KernelName, WasmRow<KernelName>>>>

  const make = (length: number, dtype: DType): WasmBuffer => {
    const bytes = length * bytesPer(dtype)
    const b = new WasmBuffer(bytes === 0 ? HEAP_BASE : heap.alloc(bytes), length, dtype)
    live.add(b)
    return b
  }
  const release = (b: WasmBuffer): void => {
    if (!live.delete(b)) throw new Error("wasm device: freed a buffer that is not live (freed before, or not this device's)")
    if (b.length > 0) heap.free(b.ptr)
  }
  /** A view of a buffer's block: valid until the next allocation. */
  const view = (b: WasmBuffer): Data =>
    b.length === 0
      ? b.dtype === 'float64'
        ? new Float64Array(0)
        : new Float32Array(0)
      : b.dtype === 'float64'
        ? heap.f64(b.ptr, b.length)
        : heap.f32(b.ptr, b.length)
  const expectLive = (what: string, b: WasmBuffer): void => {
    if (!live.has(b)) throw new Error(`wasm device: ${what} a buffer that is not live (freed, or not this device's)`)
  }

  /** Whether a row takes the call: float32 data, float64 statistics, and the row's own condition. */
  const rowTakes = (
    name: KernelName,
    row: WasmRow<KernelName>,
    buffers: readonly (WasmBuffer | null)[],
    outs: readonly WasmBuffer[],
    attrs: object,
  ): boolean => {
    const stats = statsPositions[name]
    return (
      buffers.every((b, i) => b === null || b.dtype === (stats.inputs.has(i) ? 'float64' : 'float32')) &&
      outs.every((o, i) => o.dtype === (stats.outputs[i] ? 'float64' : 'float32')) &&
      row.when?.(attrs as never) !== false
    )
  }

  /** The reference kernel over views of the blocks: what the rows leave. */
  const onViews = (name: KernelName, args: readonly unknown[], outs: readonly WasmBuffer[]): void => {
    const spec = kernelSpecs[name]
    const toView = (b: WasmBuffer | null): Data | null => (b === null ? null : view(b))
    const views = outs.map(view)
    const names = spec.outputs
    const out = names === 'list' ? views : names.length === 1 ? views[0] : Object.fromEntries(names.map((n, i) => [n, views[i]]))
    const hostArgs =
      spec.inputs === 'list'
        ? [(args[0] as readonly WasmBuffer[]).map(toView), ...args.slice(1)]
        : [...(args.slice(0, spec.inputs) as readonly (WasmBuffer | null)[]).map(toView), ...args.slice(spec.inputs)]
    ;(cpuKernels[name] as (out: unknown, ...rest: readonly unknown[]) => void)(out, ...hostArgs)
  }

  const run: RunKernel<WasmBuffer> = (name, args) => {
    const buffers = bufferArgs<WasmBuffer>(name, args)
    for (const b of buffers) if (b !== null) expectLive(`kernel ${name} got`, b)
    const attrs = attrsArg(name, args)
    const dtypes = buffers.map((b) => b?.dtype)
    const lengths = outputLengths(name, attrs, buffers.map((b) => (b === null ? null : b.length)))
    const outs: WasmBuffer[] = []
    try {
      lengths.forEach((n, i) => outs.push(make(n, outputDtype(name, i, attrs, dtypes))))
      // nothing to write: skip the loops (an empty tensor may still have a huge leading axis)
      if (outs.every((o) => o.length === 0)) return outs
      const row = rows[name]
      if (row === undefined || !rowTakes(name, row, buffers, outs, attrs)) {
        onViews(name, args, outs)
        return outs
      }
      const bytes = row.scratch?.(k, attrs as never) ?? 0
      const scratch = bytes > 0 ? heap.alloc(bytes) : 0
      try {
        const pointers = {
          outs: outs.map((o) => o.ptr),
          ins: buffers.map((b) => (b === null ? 0 : b.ptr)),
          length: outs[0].length,
          scratch,
          carry: {},
        }
        row.call(k, pointers, attrs as never)
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
        const b = make(data.length, data instanceof Float64Array ? 'float64' : 'float32')
        view(b).set(data)
        return b
      },
      read: (b) => {
        expectLive('read', b)
        // a copy into a fresh (never shared) ArrayBuffer
        return b.dtype === 'float64' ? new Float64Array(view(b)) : new Float32Array(view(b))
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
        if (target.dtype === 'float32') k.axpy(target.ptr, target.ptr, 1, x.ptr, target.length)
        else cpuKernels.axpy(view(target), view(target), view(x), { alpha: 1 })
      },
    },
    run,
  )
  return { ...device, liveBuffers: () => live.size, heapStats: () => heap.stats() }
}
