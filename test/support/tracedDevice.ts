/**
 * A device wrapper for the device tests (Node and browser): built with `deviceFrom` around the
 * wrapped device's `run` and buffer operations, it delegates everything and records what went
 * through, so a test can check that a scan read back only at its end, that every buffer it
 * made was freed, which kernels ran, and what kind each buffer was. Using a buffer that is not
 * live (freed, or never made here), freeing one twice, or a kernel handing back a live buffer
 * throws, so ownership mistakes fail loudly.
 */
import { type Device, deviceFrom } from '../../src/kernel/device.js'
import type { KernelName } from '../../src/kernel/kernels.js'
import { bufferArgs } from '../../src/kernel/spec.js'

/** What a traced device saw. */
export interface Trace {
  /** Calls of `read` (readbacks). */
  readonly reads: number
  /** Calls of `upload`. */
  readonly uploads: number
  /** Kernel calls. */
  readonly kernels: number
  /** Kernel calls by kernel name. */
  readonly calls: Readonly<Partial<Record<KernelName, number>>>
  /** Buffers made (uploads and kernel outputs) and not freed yet. */
  readonly live: number
  /** Buffers made (uploads and kernel outputs). */
  readonly made: number
  /** Calls of `free`. */
  readonly frees: number
  /** Buffers made, by the kind `kindOf` gives. */
  readonly kinds: Readonly<Record<string, number>>
  /** Kernel arguments by the kind `kindOf` gives (what kernels were handed). */
  readonly argumentKinds: Readonly<Record<string, number>>
}

/** Wraps `device`; `kindOf` names a buffer's kind (e.g. 'texture'; default 'buffer'). */
export const traced = <B>(
  device: Device<B>,
  kindOf: (b: B) => string = () => 'buffer',
): { readonly device: Device<B>; readonly trace: () => Trace } => {
  let reads = 0
  let uploads = 0
  let kernels = 0
  let madeCount = 0
  let frees = 0
  const live = new Set<B>()
  const kinds: Record<string, number> = {}
  const argumentKinds: Record<string, number> = {}
  const calls: Partial<Record<KernelName, number>> = {}
  const count = (into: Record<string, number>, k: string): void => {
    into[k] = (into[k] ?? 0) + 1
  }
  const made = (b: B): B => {
    if (live.has(b)) throw new Error('traced device: a kernel returned a live buffer')
    live.add(b)
    madeCount++
    count(kinds, kindOf(b))
    return b
  }
  const use = (what: string, b: B): void => {
    if (!live.has(b)) throw new Error(`traced device: ${what} a buffer that is not live`)
  }
  const wrapped = deviceFrom<B>(
    {
      name: `traced(${device.name})`,
      dtypeOf: (b) => {
        use('asked the dtype of', b)
        return device.dtypeOf(b)
      },
      lengthOf: (b) => {
        use('asked the length of', b)
        return device.lengthOf(b)
      },
      upload: (data) => {
        uploads++
        return made(device.upload(data))
      },
      read: (b) => {
        use('read', b)
        reads++
        return device.read(b)
      },
      free: (b) => {
        if (!live.delete(b)) throw new Error('traced device: freed a buffer that is not live')
        frees++
        device.free(b)
      },
    },
    (name, args) => {
      kernels++
      calls[name] = (calls[name] ?? 0) + 1
      for (const b of bufferArgs<B>(name, args)) {
        if (b === null) continue
        use(`kernel ${name} got`, b)
        count(argumentKinds, kindOf(b))
      }
      return device.run(name, args).map(made)
    },
  )
  return {
    device: wrapped,
    trace: () => ({
      reads,
      uploads,
      kernels,
      calls: { ...calls },
      live: live.size,
      made: madeCount,
      frees,
      kinds: { ...kinds },
      argumentKinds: { ...argumentKinds },
    }),
  }
}
