/**
 * Deep snapshots of arguments, to check that a call changed none: every own property (by
 * descriptor, so no getter runs), prototypes, extensibility, and the contents of typed arrays
 * and their buffers. Cycles and shared objects are followed once; proxies (which may throw on
 * any inspection) are compared by identity only.
 */
import { throwers } from './junk.js'

type Snap =
  | { readonly kind: 'prim'; readonly value: unknown }
  | { readonly kind: 'ref'; readonly to: number }
  | {
      readonly kind: 'object'
      readonly id: number
      readonly proto: unknown
      readonly extensible: boolean
      readonly props: readonly (readonly [PropertyKey, Snap | { readonly get: unknown; readonly set: unknown }])[]
      readonly bytes?: Uint8Array
    }
  | { readonly kind: 'opaque'; readonly value: object }

/** Objects not worth walking on every call (the devices' kernel tables): compared by identity. */
const opaque = new WeakSet<object>()

/** Marks `v` as compared by identity only (a device, a layer built by the suite). */
export const opaqueValue = <T extends object>(v: T): T => {
  opaque.add(v)
  return v
}

const MAX_NODES = 5000

/** A copy of a buffer's bytes; none for a detached one (which has none to view). */
const bytesOf = (view: () => Uint8Array): Uint8Array => {
  try {
    return view().slice()
  } catch {
    return new Uint8Array(0)
  }
}

/** A deep snapshot of `v`. */
export const snapshot = (v: unknown): Snap => {
  const ids = new Map<object, number>()
  let nodes = 0
  const walk = (x: unknown): Snap => {
    if ((typeof x !== 'object' && typeof x !== 'function') || x === null) return { kind: 'prim', value: x }
    const o = x
    const seen = ids.get(o)
    if (seen !== undefined) return { kind: 'ref', to: seen }
    if (throwers.has(o) || opaque.has(o) || ++nodes > MAX_NODES) return { kind: 'opaque', value: o }
    const id = ids.size
    ids.set(o, id)
    if (ArrayBuffer.isView(o)) {
      const bytes = bytesOf(() => new Uint8Array(o.buffer, o.byteOffset, o.byteLength))
      return { kind: 'object', id, proto: Object.getPrototypeOf(o), extensible: Object.isExtensible(o), props: [], bytes }
    }
    if (o instanceof ArrayBuffer) {
      return { kind: 'object', id, proto: ArrayBuffer.prototype, extensible: true, props: [], bytes: bytesOf(() => new Uint8Array(o)) }
    }
    const props = Reflect.ownKeys(o).map((k) => {
      const d = Object.getOwnPropertyDescriptor(o, k)!
      // accessors are compared by identity: the functions, never called
      // eslint-disable-next-line @typescript-eslint/unbound-method
      return [k, 'value' in d ? walk(d.value) : { get: d.get, set: d.set }] as const
    })
    return { kind: 'object', id, proto: Object.getPrototypeOf(o), extensible: Object.isExtensible(o), props }
  }
  return walk(v)
}

const sameBytes = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]))

/** Where `a` (before) and `b` (after) differ, or undefined when they do not. */
export const difference = (a: Snap, b: Snap, at = 'argument'): string | undefined => {
  if (a.kind !== b.kind) return `${at}: changed kind`
  if (a.kind === 'prim') return Object.is(a.value, (b as typeof a).value) ? undefined : `${at}: ${String(a.value)} became ${String((b as typeof a).value)}`
  if (a.kind === 'ref') return a.to === (b as typeof a).to ? undefined : `${at}: a shared reference changed`
  if (a.kind === 'opaque') return a.value === (b as typeof a).value ? undefined : `${at}: replaced`
  const o = b as typeof a
  if (a.proto !== o.proto) return `${at}: prototype changed`
  if (a.extensible !== o.extensible) return `${at}: frozen or sealed`
  if (!sameBytes(a.bytes, o.bytes)) return `${at}: its elements changed`
  if (a.props.length !== o.props.length) return `${at}: properties added or removed`
  for (let i = 0; i < a.props.length; i++) {
    const [k, x] = a.props[i]
    const [k2, y] = o.props[i]
    if (k !== k2) return `${at}: property ${String(k)} became ${String(k2)}`
    const where = `${at}.${String(k)}`
    if ('kind' in x && 'kind' in y) {
      const d = difference(x, y, where)
      if (d !== undefined) return d
    } else if ('kind' in x || 'kind' in y) return `${where}: became an accessor or a value`
    else if (x.get !== y.get || x.set !== y.set) return `${where}: accessor replaced`
  }
  return undefined
}
