/**
 * Host fallback: a kernel call on a device that cannot run it itself (a kernel it has not
 * ported, a size past its limits, a compile failure), run on a host device instead.
 *
 * It is generic over the device: all it needs is the device's `read`, `upload` and `free`, so
 * the GPU device uses it for every kernel it leaves to the host, and any other device with
 * buffers off the host (a resident WebAssembly device, say) can do the same.
 *
 * @module
 */
import type { Data } from '../tensor/tensor.js'
import type { BufferOps, Device, RunKernel } from './device.js'
import { kernelSpecs } from './spec.js'

/**
 * A {@link RunKernel} over `device`'s buffers that runs every call on `host`: each buffer
 * argument (each entry of a list argument) is read back (`device.read`) and lent to `host`
 * (`host.upload`), `host`'s kernel runs on them with the same attributes, each output is read
 * (`host.read`) and uploaded to the device (`device.upload`), and every host buffer of the call
 * is freed (`host.free`). Null arguments stay null. The device's argument buffers are borrowed:
 * never freed or changed. If an upload fails, the outputs already uploaded are freed before
 * the error goes on.
 *
 * What precision the outputs keep is the device's `upload`'s decision (the GPU device rounds
 * to float32, unless it keeps float64 data exact on the host).
 */
export const fallbackTo =
  <B>(host: Device<Data>, device: Pick<BufferOps<B>, 'read' | 'upload' | 'free'>): RunKernel<B> =>
    (name, args) => {
      const lent: Data[] = []
      const toHost = (b: B | null): Data | null => {
        if (b === null) return null
        const h = host.upload(device.read(b))
        lent.push(h)
        return h
      }
      const inputs = kernelSpecs[name].inputs
      const hostArgs =
      inputs === 'list'
        ? [(args[0] as readonly B[]).map(toHost), ...args.slice(1)]
        : [...(args.slice(0, inputs) as readonly (B | null)[]).map(toHost), ...args.slice(inputs)]
      try {
        const outs = host.run(name, hostArgs)
        const uploaded: B[] = []
        try {
          for (const o of outs) uploaded.push(device.upload(host.read(o)))
          return uploaded
        } catch (e) {
          uploaded.forEach((b) => device.free(b))
          throw e
        } finally {
          outs.forEach((o) => host.free(o))
        }
      } finally {
        lent.forEach((h) => host.free(h))
      }
    }
