/**
 * A device that wraps another and keeps the books: uploads, reads and frees counted, every
 * buffer it handed out and not yet freed kept in `live`. Using a buffer that is not live (freed,
 * or never made here) or freeing one twice throws, so ownership mistakes fail loudly.
 */
import type { Data, Device } from '../../src/index.js'

/** What a counting device has seen. */
export interface Books {
  uploads: number
  reads: number
  frees: number
  /** Buffers made (uploads and kernel outputs). */
  made: number
  /** Buffers handed out and not freed. */
  readonly live: Set<Data>
}

export const countingDevice = (inner: Device<Data>): { readonly device: Device<Data>; readonly books: Books } => {
  const books: Books = { uploads: 0, reads: 0, frees: 0, made: 0, live: new Set() }
  const use = (...buffers: readonly (Data | null | undefined)[]): void => {
    for (const b of buffers) {
      if (b != null && !books.live.has(b)) throw new Error('countingDevice: a buffer used after free (or foreign)')
    }
  }
  const own = (b: Data): Data => {
    if (books.live.has(b)) throw new Error('countingDevice: a kernel returned a live buffer')
    books.live.add(b)
    books.made++
    return b
  }
  const device: Device<Data> = {
    name: `counting(${inner.name})`,
    dtypeOf: (b) => {
      use(b)
      return inner.dtypeOf(b)
    },
    lengthOf: (b) => {
      use(b)
      return inner.lengthOf(b)
    },
    upload: (data) => {
      books.uploads++
      return own(inner.upload(data))
    },
    read: (b) => {
      use(b)
      books.reads++
      return inner.read(b)
    },
    readAll: (bs) => {
      use(...bs)
      books.reads++
      return inner.readAll(bs)
    },
    free: (b) => {
      use(b)
      books.live.delete(b)
      books.frees++
      inner.free(b)
    },
    matmul: (a, b, m, k, n, bias) => {
      use(a, b, bias)
      return own(inner.matmul(a, b, m, k, n, bias))
    },
    fire: (v, x, threshold, reset, vReset) => {
      use(v, x)
      const r = inner.fire(v, x, threshold, reset, vReset)
      own(r.spikes)
      own(r.v)
      return r
    },
    liPoolStep: (sum, x, planes, height, width, k, mode) => {
      use(sum, x)
      const r = inner.liPoolStep(sum, x, planes, height, width, k, mode)
      own(r.out)
      own(r.nextSum)
      return r
    },
    pool2d: (x, planes, height, width, window, mode) => {
      use(x)
      return own(inner.pool2d(x, planes, height, width, window, mode))
    },
    maxPool2dBy: (key, value, planes, height, width, window) => {
      use(key, value)
      return own(inner.maxPool2dBy(key, value, planes, height, width, window))
    },
    axpy: (a, alpha, b) => {
      use(a, b)
      return own(inner.axpy(a, alpha, b))
    },
    mul: (a, b) => {
      use(a, b)
      return own(inner.mul(a, b))
    },
    channelAffine: (x, outer, channels, inner_, scale, shift) => {
      use(x)
      return own(inner.channelAffine(x, outer, channels, inner_, scale, shift))
    },
    groupMean: (x, rows, length, size) => {
      use(x)
      return own(inner.groupMean(x, rows, length, size))
    },
  }
  return { device, books }
}
