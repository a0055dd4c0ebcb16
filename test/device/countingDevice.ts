/**
 * The device tests' view of a traced device (test/support/tracedDevice.ts): its counts as
 * `books`, read when asked (so after a scan they hold what the scan did).
 */
import type { Data, Device } from '../../src/index.js'
import { traced } from '../support/tracedDevice.js'

/** What a counting device has seen so far. */
export interface Books {
  readonly uploads: number
  readonly reads: number
  readonly frees: number
  /** Buffers made (uploads and kernel outputs). */
  readonly made: number
  /** Buffers handed out and not freed. */
  readonly live: { readonly size: number }
}

/** Wraps `inner` with the books kept; ownership mistakes throw (see tracedDevice). */
export const countingDevice = (inner: Device<Data>): { readonly device: Device<Data>; readonly books: Books } => {
  const { device, trace } = traced(inner, () => 'host')
  const books: Books = {
    get uploads() {
      return trace().uploads
    },
    get reads() {
      return trace().reads
    },
    get frees() {
      return trace().frees
    },
    get made() {
      return trace().made
    },
    get live() {
      return { size: trace().live }
    },
  }
  return { device, books }
}
