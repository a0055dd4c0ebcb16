/**
 * Running a layer's step from host tensors: upload what the step needs, run it, read back what
 * the caller gets, free the rest. `apply`, `scan` and `scanOnDevice` all go through here, so
 * ownership on a device is handled in one place.
 *
 * On a host device uploads borrow and reads hand over (nothing is copied), except that an
 * output is never one of the caller's own arrays: a step that hands its input on as its output
 * (an identity) gets a copy, so the result never aliases an argument.
 *
 * @module
 */
import type { NdArray } from 'ndarray'
import { type Device, deviceFrom } from '../kernel/device.js'
import { DeviceTensor } from '../kernel/device.js'
import { buffersOf, fromDevice, type OnDevice, toDevice } from '../kernel/tree.js'
import type { Data, Tensor } from '../tensor/tensor.js'
import { flatData, wrap } from '../tensor/tensor.js'

/**
 * One counting wrapper per device whose `free` matters, shared by every session on it: each
 * kernel output goes to the innermost open session (`open`'s last entry), a free is struck off
 * whichever open session holds the buffer. Building a wrapper (a method per kernel) costs more
 * than a small layer call, and sessions on one device nest only as calls do (a host-only layer
 * applied inside a scan's step), so the innermost session is the one a kernel call belongs to.
 */
interface Counting<B> {
  readonly device: Device<B>
  readonly open: Set<B>[]
}

const counting = new WeakMap<Device<unknown>, Counting<unknown>>()

const countingFor = <B>(inner: Device<B>): Counting<B> => {
  const known = counting.get(inner as Device<unknown>) as Counting<B> | undefined
  if (known !== undefined) return known
  const open: Set<B>[] = []
  const device = deviceFrom<B>(
    {
      name: inner.name,
      dtypeOf: (b) => inner.dtypeOf(b),
      lengthOf: (b) => inner.lengthOf(b),
      upload: (data) => inner.upload(data),
      read: (b) => inner.read(b),
      free: (b) => {
        for (let i = open.length - 1; i >= 0; i--) if (open[i].delete(b)) break
        inner.free(b)
      },
    },
    (name, args) => {
      const outs = inner.run(name, args)
      const made = open[open.length - 1]
      if (made !== undefined) for (const o of outs) made.add(o)
      return outs
    },
  )
  const entry: Counting<B> = { device, open }
  counting.set(inner as Device<unknown>, entry as Counting<unknown>)
  return entry
}

/**
 * The buffers one host call lends a device, remembered with the tensors they came from, and
 * every buffer it makes, so that all can be freed once the call's results are read: on success
 * and when a step fails midway (a step of a layer without one throws), whatever the steps made
 * and did not free goes when the session closes.
 */
export class Session<B> {
  /** Lent buffers, with the tensor each came from and whether a result may be that tensor itself. */
  private readonly lent = new Map<B, { readonly tensor: NdArray<Data>; readonly reusable: boolean; readonly early: boolean }>()
  private readonly made = new Set<B>()
  /** Buffers read back for the last time and freed, with what they gave (a second read copies it). */
  private readonly taken = new Map<B, Data>()
  private readonly counting: Counting<B> | undefined
  /**
   * The device to run on: the one given when its buffers are garbage-collected, else a wrapper
   * that counts every kernel output as made (until freed).
   */
  readonly device: Device<B>

  constructor(private readonly inner: Device<B>) {
    this.counting = inner.garbageCollected === true ? undefined : countingFor(inner)
    this.counting?.open.push(this.made)
    this.device = this.counting?.device ?? inner
  }

  /**
   * A host tensor on the device (remembered, to be recognised and freed later). `reusable`:
   * a state entry handed back unchanged may be this very tensor (true for state, which the
   * caller gave as such; false for inputs, whose arrays callers refill between calls).
   */
  upload(t: NdArray<Data>, reusable = false, early = false): B {
    const data = flatData(t)
    // the caller's arrays stay as they are until close, so a device may read them in place
    const b = this.inner.lend !== undefined ? this.inner.lend(data) : this.inner.upload(data)
    if (!this.lent.has(b)) this.lent.set(b, { tensor: t, reusable, early })
    return b
  }

  /**
   * A buffer the caller no longer needs, freed now: one the device made, or a lent one
   * uploaded as `early` (a scan's step input). Params and state stay lent until `close`.
   */
  release(b: B): void {
    const lent = this.lent.get(b)
    if (lent === undefined) {
      this.made.delete(b)
      this.inner.free(b)
    } else if (lent.early) {
      this.lent.delete(b)
      this.inner.free(b)
    }
  }

  /** A host tree on the device (`reusable` as in {@link Session.upload}). */
  enter<T>(tree: T, reusable = false): OnDevice<T, B> {
    return toDevice(tree, (t) => this.upload(t, reusable))
  }

  /** Marks buffers the device made as the session's, to free at the end. */
  own(buffers: readonly B[]): void {
    for (const b of buffers) if (!this.lent.has(b)) this.made.add(b)
  }

  /**
   * An output read back: a fresh host tensor (a lent buffer handed on is copied). `last`: the
   * session's steps are done with the buffer, so the device may hand its storage over (`take`).
   */
  output(t: DeviceTensor<B>, last = false): Tensor {
    const lent = this.lent.get(t.buffer)
    if (lent !== undefined) return wrap(flatData(lent.tensor).slice(), t.shape)
    const taken = this.taken.get(t.buffer)
    // read twice (the output kept in the state too): the second gets its own copy
    if (taken !== undefined) return wrap(taken.slice(), t.shape)
    if (!last || this.inner.take === undefined) {
      this.made.add(t.buffer)
      return wrap(this.inner.read(t.buffer), t.shape)
    }
    this.made.delete(t.buffer)
    const data = this.inner.take(t.buffer)
    this.taken.set(t.buffer, data)
    return wrap(data, t.shape)
  }

  /**
   * A state tree read back: unchanged state entries come back as the tensors they were, others
   * fresh (`last` as in {@link Session.output}).
   */
  exit<T>(tree: OnDevice<T, B>, last = false): T {
    return fromDevice(tree, (t: DeviceTensor<B>) => {
      const lent = this.lent.get(t.buffer)
      if (lent !== undefined && lent.reusable) return lent.tensor
      return this.output(t, last)
    })
  }

  /** Frees every buffer the session lent or saw made (reads are done by now); closes it. */
  close(): void {
    const open = this.counting?.open
    const at = open?.lastIndexOf(this.made) ?? -1
    if (at >= 0) open!.splice(at, 1)
    for (const b of this.lent.keys()) this.inner.free(b)
    for (const b of this.made) if (!this.lent.has(b)) this.inner.free(b)
    this.lent.clear()
    this.made.clear()
    this.taken.clear()
  }
}

/** The buffers of `before` that are not in `after` (what a step made dead). */
export const deadBuffers = <B>(before: unknown, after: unknown): readonly B[] => {
  const alive = new Set(buffersOf<B>(after))
  return buffersOf<B>(before).filter((b) => !alive.has(b))
}

export { DeviceTensor }
