/**
 * A device wrapper for the device tests (Node and browser): it delegates every call to the
 * device it wraps and records what went through, so a test can check that a scan read back
 * only at its end, that every buffer it made was freed, and what kind each buffer was. Using a
 * buffer that is not live (freed, or never made here), freeing one twice, or a kernel handing
 * back a live buffer throws, so ownership mistakes fail loudly.
 */
import type { Device } from '../../src/device/device.js'

/** What a traced device saw. */
export interface Trace {
  /** Calls of `read` (readbacks). */
  readonly reads: number
  /** Calls of `upload`. */
  readonly uploads: number
  /** Kernel calls (everything but upload, read, free and the queries). */
  readonly kernels: number
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

/** Wraps `device`; `kindOf` names a buffer's kind (e.g. 'texture'). */
export const traced = <B>(
  device: Device<B>,
  kindOf: (b: B) => string,
): { readonly device: Device<B>; readonly trace: () => Trace } => {
  let reads = 0
  let uploads = 0
  let kernels = 0
  let madeCount = 0
  let frees = 0
  const live = new Set<B>()
  const kinds: Record<string, number> = {}
  const argumentKinds: Record<string, number> = {}
  const made = <T extends B>(b: T): T => {
    if (live.has(b)) throw new Error('traced device: a kernel returned a live buffer')
    live.add(b)
    madeCount++
    const k = kindOf(b)
    kinds[k] = (kinds[k] ?? 0) + 1
    return b
  }
  const use = (what: string, ...bs: readonly B[]): void => {
    for (const b of bs) if (!live.has(b)) throw new Error(`traced device: ${what} a buffer that is not live`)
  }
  const args = (...bs: readonly (B | null | undefined)[]): void => {
    kernels++
    for (const b of bs) {
      if (b === null || b === undefined) continue
      if (!live.has(b)) throw new Error('traced device: a kernel got a buffer that is not live')
      const k = kindOf(b)
      argumentKinds[k] = (argumentKinds[k] ?? 0) + 1
    }
  }
  const wrapped: Device<B> = {
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
    readAll: (bs) => {
      use('read', ...bs)
      reads++
      return device.readAll(bs)
    },
    free: (b) => {
      if (!live.delete(b)) throw new Error('traced device: freed a buffer that is not live')
      frees++
      device.free(b)
    },
    matmul: (a, b, m, k, n, bias) => {
      args(a, b, bias)
      return made(device.matmul(a, b, m, k, n, bias))
    },
    fire: (v, x, threshold, reset, vReset) => {
      args(v, x)
      const r = device.fire(v, x, threshold, reset, vReset)
      return { spikes: made(r.spikes), v: made(r.v) }
    },
    liPoolStep: (sum, x, planes, height, width, k, mode) => {
      args(sum, x)
      const r = device.liPoolStep(sum, x, planes, height, width, k, mode)
      return { out: made(r.out), nextSum: made(r.nextSum) }
    },
    pool2d: (x, planes, height, width, window, mode) => {
      args(x)
      return made(device.pool2d(x, planes, height, width, window, mode))
    },
    maxPool2dBy: (key, value, planes, height, width, window) => {
      args(key, value)
      return made(device.maxPool2dBy(key, value, planes, height, width, window))
    },
    axpy: (a, alpha, b) => {
      args(a, b)
      return made(device.axpy(a, alpha, b))
    },
    mul: (a, b) => {
      args(a, b)
      return made(device.mul(a, b))
    },
    channelAffine: (x, outer, channels, inner, scale, shift) => {
      args(x)
      return made(device.channelAffine(x, outer, channels, inner, scale, shift))
    },
    groupMean: (x, rows, length, size) => {
      args(x)
      return made(device.groupMean(x, rows, length, size))
    },
  }
  return {
    device: wrapped,
    trace: () => ({
      reads,
      uploads,
      kernels,
      live: live.size,
      made: madeCount,
      frees,
      kinds: { ...kinds },
      argumentKinds: { ...argumentKinds },
    }),
  }
}
