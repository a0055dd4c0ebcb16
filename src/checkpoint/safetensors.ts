/**
 * The safetensors format (Hugging Face's; what PyTorch users exchange weights in), read and
 * written over bytes, so it works the same in Node and in a browser: 8 bytes of little-endian
 * header length `N`, `N` bytes of UTF-8 JSON header
 * `{ NAME: { dtype, shape, data_offsets: [begin, end] }, ..., "__metadata__": { KEY: "value" } }`,
 * then the tensors' little-endian, row-major bytes, each at its offsets from the data's start.
 *
 * Reading treats the bytes as hostile: every length and offset is checked against the file
 * before it is used, and anything that does not fit is a `LayerError`, never an exception.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { chain } from '../either.js'
import { describeValue, layerFailure, type LayerError } from '../errors.js'
import { guardAllocation } from '../layer/check.js'
import type { Data, Tensor } from '../tensor/tensor.js'
import { dtypeOf, flatData, wrap } from '../tensor/tensor.js'
import { brief } from '../optim/tree.js'
import { flattenTree, type NamedEntries, unflattenTree } from './tree.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

/** What a safetensors file holds. */
export interface Safetensors {
  /**
   * The entries by name. `F32` and `F64` tensors come back as float32 and float64 tensors (a
   * 0-d one as a tensor of shape `[]`); 0-d `I64` and `I32` tensors (PyTorch's
   * `num_batches_tracked`) as numbers.
   */
  readonly entries: NamedEntries
  /** The header's `__metadata__` (string to string; `{}` when there is none). */
  readonly metadata: Readonly<Record<string, string>>
}

/** The largest header read, as the reference implementation's limit: 100 MB. */
export const MAX_HEADER_BYTES = 100_000_000

/** The element types read and written, with their sizes in bytes. */
const itemSize = { F64: 8, I64: 8, F32: 4, I32: 4 } as const

type DTypeName = keyof typeof itemSize

const little = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1


// ---------------------------------------------------------------------------------------------
// writing
// ---------------------------------------------------------------------------------------------

interface Planned {
  readonly name: string
  readonly dtype: DTypeName
  readonly shape: readonly number[]
  /** The bytes, little-endian. */
  readonly bytes: Uint8Array
}

/** A typed array's bytes in little-endian order (a view where the platform is little-endian). */
const littleEndianBytes = (d: Data | BigInt64Array): Uint8Array => {
  if (little) return new Uint8Array(d.buffer, d.byteOffset, d.byteLength)
  const out = new Uint8Array(d.byteLength)
  const view = new DataView(out.buffer)
  for (let i = 0; i < d.length; i++) {
    if (d instanceof Float64Array) view.setFloat64(i * 8, d[i], true)
    else if (d instanceof Float32Array) view.setFloat32(i * 4, d[i], true)
    else view.setBigInt64(i * 8, (d as BigInt64Array)[i], true)
  }
  return out
}

/** The entries as the file will hold them (the checks of `flattenTree` already made). */
const plan = (entries: NamedEntries): Planned[] =>
  Object.entries(entries).map(([key, v]) => {
    if (typeof v === 'number') {
      return Number.isSafeInteger(v)
        ? { name: key, dtype: 'I64', shape: [], bytes: littleEndianBytes(new BigInt64Array([BigInt(v)])) }
        : { name: key, dtype: 'F64', shape: [], bytes: littleEndianBytes(new Float64Array([v])) }
    }
    const dtype = dtypeOf(v) === 'float64' ? 'F64' : 'F32'
    return { name: key, dtype, shape: v.shape.slice(), bytes: littleEndianBytes(flatData(v)) }
  })

/** Metadata as a caller may pass it: a plain record of strings, read once into its entries. */
const readMetadata = (fn: string, metadata: unknown): E.Either<LayerError, readonly (readonly [string, string])[]> => {
  const expected = 'a record of strings (a plain object)'
  let entries: readonly (readonly [string, unknown])[]
  try {
    const proto = typeof metadata === 'object' && metadata !== null ? (Object.getPrototypeOf(metadata) as unknown) : undefined
    // a Map, a Date, a boxed string or an array would pass their own properties off as metadata
    if (proto !== Object.prototype && proto !== null) return layerFailure(fn, 'metadata', expected, brief(metadata))
    entries = Object.entries(metadata as object)
  } catch (e) {
    return layerFailure(fn, 'metadata', expected, `a value whose property access threw (${describeValue(e)})`)
  }
  for (const [k, v] of entries) {
    const at = `metadata.${k.length > 40 ? `${k.slice(0, 37)}...` : k}`
    if (typeof v !== 'string') return layerFailure(fn, at, 'a string (safetensors metadata is text)', brief(v))
  }
  return E.right(entries as readonly (readonly [string, string])[])
}

/**
 * A tree as safetensors bytes. Every tensor leaf becomes an entry named by its path, joined by
 * dots as PyTorch's `state_dict` names are (`0.weight`, `1.runningMean`; pipelines are arrays,
 * so their layers are numbered); numbers become 0-d `I64` entries when they are safe integers
 * (as PyTorch stores `num_batches_tracked`) and 0-d `F64` ones otherwise; `null` leaves (an
 * absent bias) are left out. float32 tensors are `F32`, float64 ones `F64`; strided views are
 * written in row-major order. The layout is the reference writer's: entries ordered by
 * alignment (8-byte types first) then name, so each starts aligned to its element size, and
 * the header padded with spaces to a multiple of 8 bytes.
 *
 * Rejects (as `LayerError`): a leaf that is not a tensor, a number or `null`; two leaves with
 * the same dotted name (`{ "a.b": x, a: { b: y } }`) or one named `__metadata__`; metadata
 * values that are not strings.
 *
 * @example
 * import { fromSafetensors, orThrow, tensor, toNested, toSafetensors } from 'braincog-fn'
 * const bytes = orThrow(toSafetensors([{ weight: tensor([1, 2, 3, 4], [2, 2]), bias: null }, { count: 3 }]))
 * const { entries } = orThrow(fromSafetensors(bytes))
 * Object.keys(entries) // ['1.count', '0.weight']
 * toNested(entries['0.weight']) // [[1, 2], [3, 4]]
 * entries['1.count'] // 3
 */
export const toSafetensors = (
  tree: unknown,
  metadata: Readonly<Record<string, string>> = {},
  name = 'toSafetensors',
): E.Either<LayerError, Uint8Array> => {
  const meta = readMetadata(name, metadata)
  if (E.isLeft(meta)) return meta
  const flat = flattenTree(tree, name)
  if (E.isLeft(flat)) return flat
  const entries = plan(flat.right).sort(
    (a, b) => itemSize[b.dtype] - itemSize[a.dtype] || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  )
  return guardAllocation(name, 'tree', () => {
    const header: Record<string, unknown> = {}
    if (meta.right.length > 0) header.__metadata__ = Object.fromEntries(meta.right)
    let offset = 0
    for (const e of entries) {
      header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + e.bytes.length] }
      offset += e.bytes.length
    }
    const json = new TextEncoder().encode(JSON.stringify(header))
    const padded = Math.ceil(json.length / 8) * 8
    const out = new Uint8Array(8 + padded + offset)
    const view = new DataView(out.buffer)
    view.setUint32(0, padded % 2 ** 32, true)
    view.setUint32(4, Math.floor(padded / 2 ** 32), true)
    out.set(json, 8)
    out.fill(0x20, 8 + json.length, 8 + padded)
    let at = 8 + padded
    for (const e of entries) {
      out.set(e.bytes, at)
      at += e.bytes.length
    }
    return E.right(out)
  })
}

// ---------------------------------------------------------------------------------------------
// reading
// ---------------------------------------------------------------------------------------------

interface Described {
  readonly name: string
  readonly dtype: DTypeName
  readonly shape: readonly number[]
  readonly begin: number
  readonly end: number
}

/** True for a `Uint8Array` (a Node `Buffer` too) or an `ArrayBuffer`; never throws (a revoked Proxy is neither). */
export const isBytes = (v: unknown): v is Uint8Array | ArrayBuffer => {
  try {
    return v instanceof Uint8Array || v instanceof ArrayBuffer
  } catch {
    return false
  }
}

/** `header["0.weight"]`: an entry in an argument, its name cut short. */
const headerAt = (key: string): string => `header["${key.length > 60 ? `${key.slice(0, 57)}...` : key}"]`

/** Checks one header entry against the data's length. */
const describeEntry = (
  name: string,
  key: string,
  info: unknown,
  dataLength: number,
): E.Either<LayerError, Described> => {
  const at = headerAt(key)
  if (typeof info !== 'object' || info === null || Array.isArray(info)) {
    return layerFailure(name, at, '{ dtype, shape, data_offsets }', brief(info))
  }
  const { dtype, shape, data_offsets: offsets } = info as Readonly<Record<string, unknown>>
  if (typeof dtype !== 'string' || !Object.hasOwn(itemSize, dtype)) {
    return layerFailure(name, `${at}.dtype`, 'one of F32, F64 (tensors), I64, I32 (0-d counters)', brief(dtype))
  }
  const size = itemSize[dtype as DTypeName]
  if (!Array.isArray(shape) || shape.length > 64 || !shape.every((d) => typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) {
    return layerFailure(name, `${at}.shape`, 'an array of at most 64 integers >= 0', brief(shape))
  }
  if (
    !Array.isArray(offsets) ||
    offsets.length !== 2 ||
    !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0)
  ) {
    return layerFailure(name, `${at}.data_offsets`, '[begin, end]: two integers >= 0', brief(offsets))
  }
  const [begin, end] = offsets as [number, number]
  if (begin > end || end > dataLength) {
    return layerFailure(name, `${at}.data_offsets`, `0 <= begin <= end <= ${dataLength} (the data's length)`, `[${begin}, ${end}]`)
  }
  // the product of the dimensions, stopped as soon as it passes what the range can hold
  const dims = shape as number[]
  let count = dims.includes(0) ? 0 : 1
  for (const d of dims) {
    if (count === 0) break
    count *= d
    if (count * size > end - begin) break
  }
  if (count * size !== end - begin) {
    const bytes = dims.reduce((a, d) => a * d, size)
    const want = `${bytes} bytes for [${dims.join(', ')}] of ${dtype} (${size} bytes each)`
    return layerFailure(name, `${at}.data_offsets`, want, `[${begin}, ${end}]: ${end - begin} bytes`)
  }
  if ((dtype === 'I64' || dtype === 'I32') && dims.length !== 0) {
    return layerFailure(name, `${at}.shape`, `[] for an ${dtype} entry (integers are read as 0-d counters only)`, `[${dims.join(', ')}]`)
  }
  return E.right({ name: key, dtype: dtype as DTypeName, shape: dims, begin, end })
}

/** Reads one entry's bytes (copied, so the result owns aligned data and never aliases the file). */
const readEntry = (name: string, data: Uint8Array, e: Described): E.Either<LayerError, Tensor | number> => {
  // a copy in a buffer of its own (a Node Buffer's slice would be a view of its pool)
  const bytes = new Uint8Array(e.end - e.begin)
  bytes.set(data.subarray(e.begin, e.end))
  const view = new DataView(bytes.buffer)
  if (e.dtype === 'I64') {
    const v = view.getBigInt64(0, true)
    const n = Number(v)
    return Number.isSafeInteger(n)
      ? E.right(n)
      : layerFailure(name, headerAt(e.name), 'an I64 counter within 2^53', String(v))
  }
  if (e.dtype === 'I32') return E.right(view.getInt32(0, true))
  const n = (e.end - e.begin) / itemSize[e.dtype]
  let out: Data
  if (little) out = e.dtype === 'F64' ? new Float64Array(bytes.buffer) : new Float32Array(bytes.buffer)
  else {
    out = e.dtype === 'F64' ? new Float64Array(n) : new Float32Array(n)
    for (let i = 0; i < n; i++) out[i] = e.dtype === 'F64' ? view.getFloat64(i * 8, true) : view.getFloat32(i * 4, true)
  }
  return E.right(wrap(out, e.shape.slice()) as Tensor)
}

/**
 * Reads safetensors bytes (a `Uint8Array`, a Node `Buffer`, or an `ArrayBuffer`): the entries
 * by name and the metadata. The data is copied, so the result does not hold on to `bytes`.
 *
 * Follows the format's rules strictly: the header must be UTF-8 JSON starting with `{` (then
 * possibly padded with spaces), at most 100 MB and inside the file; each entry's `data_offsets`
 * must lie inside the data and hold exactly its shape's bytes; the entries must tile the data
 * without gaps or overlaps. Rejects (as `LayerError` naming the entry): anything else, and
 * element types other than `F32`, `F64` and 0-d `I64`/`I32` (`F16`, `BF16`, integer tensors).
 *
 * @example
 * import { fromSafetensors, orThrow, tensor, toSafetensors } from 'braincog-fn'
 * const bytes = orThrow(toSafetensors({ w: tensor([0.5], [1]) }, { format: 'pt' }))
 * orThrow(fromSafetensors(bytes)).metadata.format // 'pt'
 * fromSafetensors(bytes.subarray(0, 20))._tag // 'Left'
 */
export const fromSafetensors = (bytes: Uint8Array | ArrayBuffer, name = 'fromSafetensors'): E.Either<LayerError, Safetensors> => {
  if (!isBytes(bytes)) return layerFailure(name, 'bytes', 'a Uint8Array or an ArrayBuffer', brief(bytes))
  // a plain view, whatever subclass came (a Node Buffer); a detached buffer has no bytes to view
  let file: Uint8Array
  try {
    file =
      bytes instanceof ArrayBuffer ? new Uint8Array(bytes) : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  } catch (e) {
    return layerFailure(name, 'bytes', 'a Uint8Array or an ArrayBuffer that can be read', `one that cannot (${describeValue(e)})`)
  }
  if (file.length < 8) return layerFailure(name, 'bytes', 'at least the 8 bytes of the header length', `${file.length} bytes`)
  const lengthView = new DataView(file.buffer, file.byteOffset, 8)
  const headerLength = lengthView.getUint32(0, true) + lengthView.getUint32(4, true) * 2 ** 32
  if (headerLength > file.length - 8) {
    return layerFailure(name, 'header', `a header inside the file (${file.length - 8} bytes after the length)`, `a length of ${headerLength}`)
  }
  if (headerLength > MAX_HEADER_BYTES) {
    return layerFailure(name, 'header', `a header of at most ${MAX_HEADER_BYTES} bytes`, `${headerLength} bytes`)
  }
  let text: string
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(file.subarray(8, 8 + headerLength))
  } catch {
    return layerFailure(name, 'header', 'UTF-8 text', 'bytes that are not UTF-8')
  }
  if (!text.startsWith('{')) return layerFailure(name, 'header', 'a JSON object starting with "{"', brief(text.slice(0, 20)))
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    return layerFailure(name, 'header', 'a JSON object', `text that is not JSON (${brief((e as Error).message)})`)
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return layerFailure(name, 'header', 'a JSON object', brief(json))
  const data = file.subarray(8 + headerLength)
  const described: Described[] = []
  let metadata: Record<string, string> = {}
  for (const [key, info] of Object.entries(json as Readonly<Record<string, unknown>>)) {
    if (key === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info) || !Object.values(info).every((v) => typeof v === 'string')) {
        return layerFailure(name, 'header.__metadata__', 'a record of strings', brief(info))
      }
      metadata = Object.fromEntries(Object.entries(info as Readonly<Record<string, string>>))
      continue
    }
    const d = describeEntry(name, key, info, data.length)
    if (E.isLeft(d)) return d
    described.push(d.right)
  }
  // the entries tile the data: sorted by offset, each begins where the one before ends
  const sorted = [...described].sort((a, b) => a.begin - b.begin || a.end - b.end)
  let covered = 0
  for (const e of sorted) {
    if (e.begin !== covered) {
      const what = e.begin < covered ? 'overlaps the entry before it' : `leaves bytes [${covered}, ${e.begin}) unused`
      return layerFailure(name, `${headerAt(e.name)}.data_offsets`, 'entries that tile the data without gaps or overlaps', `[${e.begin}, ${e.end}], which ${what}`)
    }
    covered = e.end
  }
  if (covered !== data.length) {
    return layerFailure(name, 'bytes', `exactly the data the header describes (${covered} bytes)`, `${data.length} bytes after the header`)
  }
  return guardAllocation(name, 'bytes', () => {
    const entries: [string, Tensor | number][] = []
    for (const e of described) {
      const v = readEntry(name, data, e)
      if (E.isLeft(v)) return v
      entries.push([e.name, v.right])
    }
    return E.right({ entries: Object.fromEntries(entries), metadata })
  })
}

/**
 * A tree saved by {@link toSafetensors}, read back into the shape of `template` (what `init`
 * gives: the same layers, the same sizes): {@link fromSafetensors} then {@link unflattenTree}.
 * Every tensor must have the template's shape and dtype, every name must have a place in the
 * template; the errors name the entry.
 *
 * @example
 * import { customLinear, key, orThrow, toSafetensors, treeFromSafetensors } from 'braincog-fn'
 * const fc = customLinear({ inFeatures: 3, outFeatures: 2, bias: true })
 * const trained = orThrow(fc.init(key(1), [3])).params
 * const bytes = orThrow(toSafetensors(trained))
 * const back = orThrow(treeFromSafetensors(bytes, orThrow(fc.init(key(2), [3])).params))
 * back.bias?.get(1) === trained.bias?.get(1) // true
 */
export const treeFromSafetensors = <T>(bytes: Uint8Array | ArrayBuffer, template: T, name = 'treeFromSafetensors'): E.Either<LayerError, T> =>
  chain((file: Safetensors) => unflattenTree(template, file.entries, name))(fromSafetensors(bytes, name))
