/**
 * The WebAssembly SIMD backend: the rows of `kernels.ts` behind the kernel interface. One
 * wrapper serves every row: it lays the call's buffers out in the module's memory (sliced for
 * bandwidth-bound kernels, so that the copy in, the kernel and the copy out all stay in the L2
 * cache), calls the export and copies the outputs back. Float64 data, a row's `when` saying no,
 * and memory that cannot grow run the JavaScript reference; the kernels in `unported` always do.
 *
 * @module
 */
import type { Device } from '../../kernel/device.js'
import { type HostKernel, type HostKernels, hostDevice } from '../../kernel/host.js'
import type { KernelName } from '../../kernel/kernels.js'
import { type AttrsOf, attrsArg, bufferArgs, kernelNames, kernelSpecs, outputRule } from '../../kernel/spec.js'
import type { Data } from '../../tensor/tensor.js'
import { cpuKernels } from '../cpu/index.js'
import { Arena } from './arena.js'
import type { KernelExports } from './exports.js'
import { Heap } from './heap.js'
import { type Range, type Slice, unported, type WasmRow, wasmRows } from './kernels.js'

/** Bytes of input plus output per slice of a bandwidth-bound call: well inside a 512 KiB L2. */
const CHUNK_BYTES = 192 * 1024

const view = (d: Data, r: Range): Data => (r === undefined ? d : (d.subarray(r[0], r[0] + r[1]) as Data))

/** Kernel `name` run by its row, with the reference for what the row does not take. */
const rowKernel = <K extends KernelName>(
  name: K,
  row: WasmRow<K>,
  k: KernelExports,
  arena: Arena,
): HostKernel<K> => {
  const reference = cpuKernels[name] as (out: unknown, ...args: readonly unknown[]) => void
  const names = kernelSpecs[name].outputs
  const stats = new Set(kernelSpecs[name].stats ?? [])
  const kernel = (out: unknown, ...args: readonly unknown[]): void => {
    const buffers = bufferArgs<Data>(name, args)
    const attrs = attrsArg(name, args) as AttrsOf<K>
    const outs: readonly Data[] =
      names === 'list' ? (out as readonly Data[]) : names.length === 1 ? [out as Data] : names.map((n) => (out as Record<string, Data>)[n])
    // data in float32, statistics in float64: what the exports read and write
    const floats =
      buffers.every((b, i) => b === null || b instanceof (stats.has(i) ? Float64Array : Float32Array)) &&
      outs.every((o, i) => o instanceof (outputRule(name, i) === 'stats' ? Float64Array : Float32Array))
    if (!floats || outs.every((o) => o.length === 0) || row.when?.(attrs) === false) return reference(out, ...args)

    const carry = {}
    /** One call on one slice: false when the memory cannot hold it. */
    const run = ({ ranges, attrs: a }: Slice<AttrsOf<K>>): boolean => {
      const ins = buffers.map((b, i) => (b === null ? null : view(b, ranges[i])))
      const parts = outs.map((o, i) => view(o, ranges[buffers.length + i]))
      const present = ins.filter((b): b is Data => b !== null)
      const sizes = [...present, ...parts].map((d) => d.length * d.BYTES_PER_ELEMENT)
      const offsets = arena.reserve([...sizes, row.scratch?.(k, a) ?? 0])
      if (offsets === undefined) return false
      let at = 0
      const inPtrs = ins.map((b) => {
        if (b === null) return 0
        arena.write(offsets[at], b)
        return offsets[at++]
      })
      const outPtrs = parts.map((_, i) => offsets[present.length + i])
      row.call(k, { outs: outPtrs, ins: inPtrs, length: parts[0].length, scratch: offsets[offsets.length - 1], carry }, a)
      parts.forEach((p, i) => arena.read(outPtrs[i], p))
      return true
    }

    const slicing = row.slices?.(attrs, outs[0].length)
    let ok = true
    if (slicing === undefined) {
      ok = run({ ranges: [], attrs })
    } else {
      const per = Math.max(1, Math.floor(CHUNK_BYTES / Math.max(1, slicing.bytesPerItem)))
      for (let s = 0; s < slicing.items && ok; s += per) ok = run(slicing.part(s, Math.min(per, slicing.items - s)))
    }
    // the arena could not grow: the reference writes every output afresh
    if (!ok) reference(out, ...args)
  }
  return kernel as HostKernel<K>
}

/**
 * The destination-first kernel table of an instantiated module: the ported kernels through
 * their rows, the reference for `unported` (and for whatever a row does not take). Exported
 * for code that needs the kernels without the allocating device: tests that alias `out` with
 * an input, or pass outputs pre-filled to see that every element is written.
 */
export const wasmKernels = (k: KernelExports, heap: Heap = new Heap(k.memory)): HostKernels => {
  const arena = new Arena(heap)
  const ported = Object.fromEntries(
    (Object.keys(wasmRows) as (keyof typeof wasmRows)[]).map((name) => [
      name,
      rowKernel(name, wasmRows[name] as WasmRow<typeof name>, k, arena),
    ]),
  )
  return {
    ...ported,
    ...Object.fromEntries(unported.map((name) => [name, cpuKernels[name]])),
  } as unknown as HostKernels
}

/**
 * The WebAssembly kernels of an instantiated module, as a device over host arrays (the reference
 * for `unported`), its scratch taken from `heap` (shared with the module's resident device).
 * `bandwidthBound`: where the rows that slice run instead, the kernels of a single-threaded
 * instance over an unshared memory when `k`'s is shared: those calls are all copies, which V8
 * makes at about half speed into a shared memory, and their slices are too small for threads.
 */
export const wasmDeviceFrom = (
  k: KernelExports,
  heap: Heap = new Heap(k.memory),
  bandwidthBound?: HostKernels,
): Device<Data> => {
  const own = wasmKernels(k, heap)
  if (bandwidthBound === undefined) return hostDevice('wasm', own)
  const rows = wasmRows as Readonly<Partial<Record<KernelName, WasmRow<KernelName>>>>
  const kernels = kernelNames.map((name) => [name, (rows[name]?.slices === undefined ? own : bandwidthBound)[name]])
  return hostDevice('wasm', Object.fromEntries(kernels) as unknown as HostKernels)
}
