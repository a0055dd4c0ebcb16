/**
 * Host devices: buffers are ordinary typed arrays, and kernels are written destination-first
 * (`kernel(out, ...arguments)`, the ndarray-ops / gl-matrix convention) so that the arithmetic
 * never allocates; {@link hostDevice} allocates each call's outputs from the kernel's spec and
 * hands them to the destination-first kernel.
 *
 * @module
 */
import type { Data, DType } from '../tensor/tensor.js'
import { allocateUnfilled } from '../tensor/view.js'
import { type Device, deviceFrom } from './device.js'
import type { KernelName, KernelOutputs, Kernels } from './kernels.js'
import { attrsArg, bufferArgs, kernelSpecs, outputDtype, outputLengths } from './spec.js'

/**
 * A destination-first host kernel: writes every element of its outputs into `out` (one array, or
 * a record of named arrays, sized as the kernel's spec says; their storage is not zeroed first)
 * and nothing else.
 */
export type HostKernel<K extends KernelName> = (out: KernelOutputs<K, Data>, ...args: Parameters<Kernels<Data>[K]>) => void

/** One destination-first implementation per kernel: a host backend's kernels. */
export type HostKernels = { readonly [K in KernelName]: HostKernel<K> }

/** A device whose buffers are host typed arrays, such as `cpu` and `wasmBackend()`: what `ctx.backend` usually is. */
export type Backend = Device<Data>

/** `float64` for Float64Array storage, `float32` otherwise. */
export const hostDtype = (b: Data): DType => (b instanceof Float64Array ? 'float64' : 'float32')

/**
 * A device over host typed arrays running `kernels`. `upload` borrows the data (no copy) and
 * `read` returns the buffer itself: both are safe because kernels never write to their
 * arguments; `free` does nothing.
 *
 * @example
 * import { cpu } from 'braincog-fn'
 * const a = cpu.upload(new Float32Array([1, 2]))
 * Array.from(cpu.read(cpu.axpy(a, a, { alpha: 2 }))) // [3, 6]
 */
export const hostDevice = (name: string, kernels: HostKernels): Device<Data> =>
  deviceFrom<Data>(
    {
      name,
      dtypeOf: hostDtype,
      lengthOf: (b) => b.length,
      upload: (d) => d,
      read: (b) => b,
      free: () => undefined,
      garbageCollected: true,
    },
    (kernel, args) => {
      const spec = kernelSpecs[kernel]
      const buffers = bufferArgs<Data>(kernel, args)
      const attrs = attrsArg(kernel, args)
      const dtypes = buffers.map((b) => (b === null ? undefined : hostDtype(b)))
      const lengths = outputLengths(kernel, attrs, buffers.map((b) => (b === null ? null : b.length)))
      // destination-first kernels write every element of `out` (props/kernels.prop.ts): no zeroing
      const outs = lengths.map((n, i) => allocateUnfilled('alloc', 'size', n, outputDtype(kernel, i, attrs, dtypes)))
      const names = spec.outputs
      const out = names === 'list' ? outs : names.length === 1 ? outs[0] : Object.fromEntries(names.map((n, i) => [n, outs[i]]))
      // nothing to write: skip the loops (an empty tensor may still have a huge leading axis)
      if (outs.some((o) => o.length > 0)) (kernels[kernel] as (out: unknown, ...rest: readonly unknown[]) => void)(out, ...args)
      return outs
    },
  )
