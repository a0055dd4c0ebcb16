/**
 * Params and state trees on a device: the same nesting of records and arrays, with each
 * tensor replaced by a {@link DeviceTensor}. How a layer's step sees its params and state.
 *
 * @module
 */
import type { NdArray } from 'ndarray'
import type { Data } from '../tensor/tensor.js'
import { flatData, wrap } from '../tensor/tensor.js'
import { type BufferOps, DeviceTensor } from './device.js'

/** A params or state type with every tensor moved onto a device with buffers `B`. */
export type OnDevice<T, B> = T extends NdArray<Data>
  ? DeviceTensor<B>
  : T extends null | undefined | number | string | boolean | bigint | symbol
    ? T
    : { readonly [K in keyof T]: OnDevice<T[K], B> }

/**
 * True for an ndarray over float data (what validated params and state hold). Never throws: a
 * value whose getters throw (or a revoked Proxy) is not one.
 */
export const isTensor = (v: unknown): v is NdArray<Data> => {
  if (typeof v !== 'object' || v === null) return false
  try {
    const t = v as { readonly data?: unknown; readonly shape?: unknown }
    return (t.data instanceof Float32Array || t.data instanceof Float64Array) && Array.isArray(t.shape)
  } catch {
    return false
  }
}

const isPlain = (v: unknown): v is Readonly<Record<string, unknown>> => {
  if (typeof v !== 'object' || v === null) return false
  const proto = Object.getPrototypeOf(v) as unknown
  return proto === Object.prototype || proto === null
}

/**
 * Maps the leaves of a tree of plain records and arrays: tensors (host side) and device
 * tensors are leaves, and so is anything else that is not a plain record or an array.
 */
export const mapLeaves = (tree: unknown, leaf: (v: unknown) => unknown): unknown => {
  if (isTensor(tree) || tree instanceof DeviceTensor) return leaf(tree)
  if (Array.isArray(tree)) return tree.map((v) => mapLeaves(v, leaf))
  if (isPlain(tree)) return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, mapLeaves(v, leaf)]))
  return leaf(tree)
}

/** Every device tensor's buffer in a device tree, in tree order. */
export const buffersOf = <B>(tree: unknown): B[] => {
  const out: B[] = []
  mapLeaves(tree, (v) => {
    if (v instanceof DeviceTensor) out.push(v.buffer as B)
    return v
  })
  return out
}

/** A host tree on a device: every tensor uploaded (`upload` decides how), everything else as it is. */
export const toDevice = <T, B>(tree: T, upload: (t: NdArray<Data>) => B): OnDevice<T, B> =>
  mapLeaves(tree, (v) => (isTensor(v) ? new DeviceTensor(upload(v), v.shape.slice()) : v)) as OnDevice<T, B>

/** A device tree back on the host: every device tensor read (`read` decides how), everything else as it is. */
export const fromDevice = <T, B>(tree: OnDevice<T, B>, read: (t: DeviceTensor<B>) => NdArray<Data>): T =>
  mapLeaves(tree, (v) => (v instanceof DeviceTensor ? read(v as DeviceTensor<B>) : v)) as T

/** Uploads a host tensor's elements (packed when it is a strided view). */
export const uploadTensor = <B>(d: Pick<BufferOps<B>, 'upload'>, t: NdArray<Data>): B => d.upload(flatData(t))

/** Reads a device tensor back as a host tensor of its shape. */
export const readTensor = <B>(d: Pick<BufferOps<B>, 'read'>, t: DeviceTensor<B>): NdArray<Data> =>
  wrap(d.read(t.buffer), t.shape)

/**
 * A host tree (params, state) on `device`: every tensor uploaded, everything else as it is. On a
 * gradient tracer the uploads are constants: what a function given to `valueAndGrad` uses for
 * values it does not differentiate.
 */
export const onDevice = <T, B>(device: Pick<BufferOps<B>, 'upload'>, tree: T): OnDevice<T, B> =>
  toDevice(tree, (t) => uploadTensor(device, t))
