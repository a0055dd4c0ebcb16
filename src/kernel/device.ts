/**
 * Devices: where kernels run and buffers live.
 *
 * A {@link Device} is the kernel interface ({@link Kernels}) over buffers `B` plus the few
 * operations that move values between the host and the device. Every layer's arithmetic is
 * written once, as a step over a device; `apply` runs that step on a host device (the CPU
 * reference or the WebAssembly kernels, whose buffers are ordinary typed arrays), a device
 * scan runs it on any device (a GPU, say), and the gradient tracer runs it on a device that
 * records each kernel call.
 *
 * Ownership: a kernel never frees or changes its arguments; each buffer it returns belongs to
 * the caller, who frees it when it is no longer needed (on host devices `free` does nothing,
 * the garbage collector owns host memory).
 *
 * @module
 */
import type { Data, DType, Shape } from '../tensor/tensor.js'
import type { KernelName, Kernels } from './kernels.js'
import { kernelNames, kernelSpecs } from './spec.js'

/** The operations of a device besides its kernels. */
export interface BufferOps<B> {
  /** The device's name, e.g. `cpu`, `wasm` or `gpu(webgl2)`. */
  readonly name: string
  /** The precision a buffer holds (a GPU holds float32 only). */
  dtypeOf(buffer: B): DType
  /** The number of values in a buffer. */
  lengthOf(buffer: B): number
  /**
   * A buffer holding `data`'s values. Host devices borrow `data` without copying (kernels never
   * write to their arguments), so the caller must leave it unchanged while the buffer is in use.
   */
  upload(data: Data): B
  /**
   * Optional: a buffer that reads `data` where it lies, for as long as the buffer lives, so the
   * caller must leave `data` unchanged until it frees the buffer. For runners lending a call's
   * inputs, params and state (`Session`): the resident device runs a big bandwidth-bound call on
   * lent arrays alone on the host, as the copy backend does, and copies a lent array in once,
   * when a call first needs it in memory, instead of copying everything in up front. Absent:
   * the runner uses `upload`.
   */
  lend?(data: Data): B
  /**
   * The buffer's values on the host (the buffer stays valid). Host devices may return the
   * buffer itself: do not write to the result while the device still uses the buffer.
   */
  read(buffer: B): Data
  /**
   * Optional: the buffer's values on the host, and the buffer freed, for a runner's last read of
   * a buffer it made. A device may hand over storage of its own instead of copying it (the
   * resident device does for outputs it kept in a host array). Absent: `read`, then `free`.
   */
  take?(buffer: B): Data
  /** Frees a buffer; it must not be used again. */
  free(buffer: B): void
  /**
   * True when buffers are host arrays the garbage collector frees (`free` does nothing), so
   * runners need not track them.
   */
  readonly garbageCollected?: boolean
  /**
   * Optional: `target += x` elementwise, in place, bit for bit what `axpy(target, x, { alpha: 1 })`
   * gives (same length and dtype). Only for a caller that owns `target` alone and may change it:
   * the gradient tape accumulates cotangents this way instead of allocating each sum.
   */
  addInPlace?(target: B, x: B): void
}

/**
 * Runs kernel `name` with its positional arguments (buffers, then attributes, as in
 * {@link Kernels}) and gives its outputs in the order its spec names them.
 */
export type RunKernel<B> = (name: KernelName, args: readonly unknown[]) => readonly B[]

/** A set of kernels over buffers `B` that live on one device, and the buffer operations. */
export interface Device<B = unknown> extends BufferOps<B>, Kernels<B> {
  /** Every kernel through one entry (what wrappers such as the gradient tracer intercept). */
  readonly run: RunKernel<B>
}

/**
 * A device from its buffer operations and one `run` for every kernel: each kernel method calls
 * `run` and hands back its single output, or a record of its named outputs.
 */
export const deviceFrom = <B>(ops: BufferOps<B>, run: RunKernel<B>): Device<B> => {
  const methods: Record<string, (...args: readonly unknown[]) => unknown> = {}
  for (const name of kernelNames) {
    const names = kernelSpecs[name].outputs
    methods[name] =
      names === 'list'
        ? (...args) => run(name, args)
        : names.length === 1
        ? (...args) => run(name, args)[0]
        : (...args) => {
          const outs = run(name, args)
          return Object.fromEntries(names.map((n, i) => [n, outs[i]]))
        }
  }
  return {
    name: ops.name,
    dtypeOf: (b) => ops.dtypeOf(b),
    lengthOf: (b) => ops.lengthOf(b),
    upload: (d) => ops.upload(d),
    read: (b) => ops.read(b),
    free: (b) => ops.free(b),
    ...(ops.garbageCollected === true ? { garbageCollected: true } : {}),
    ...(ops.lend === undefined ? {} : { lend: (d: Data) => ops.lend!(d) }),
    ...(ops.take === undefined ? {} : { take: (b: B) => ops.take!(b) }),
    ...(ops.addInPlace === undefined ? {} : { addInPlace: (t: B, x: B) => ops.addInPlace!(t, x) }),
    ...(methods as unknown as Kernels<B>),
    run,
  }
}

/** A buffer together with the shape it holds: how layers pass tensors around on a device. */
export class DeviceTensor<B = unknown> {
  constructor(
    /** The values, flat and row-major. */
    readonly buffer: B,
    /** The tensor's shape. */
    readonly shape: Shape,
  ) {}
}
