/**
 * Typed arrays as they really are (internal): their type and length read through the
 * intrinsic getters, which neither `Symbol.toStringTag` nor an own property can spoof, and
 * which never throw.
 *
 * @module
 */

const typedArrayProto = Object.getPrototypeOf(Int8Array.prototype) as object
// the intrinsic getters, called on the value itself (a descriptor's `get` is not a bound method)
// eslint-disable-next-line @typescript-eslint/unbound-method
const tagGetter = Object.getOwnPropertyDescriptor(typedArrayProto, Symbol.toStringTag)?.get
// eslint-disable-next-line @typescript-eslint/unbound-method
const lengthGetter = Object.getOwnPropertyDescriptor(typedArrayProto, 'length')?.get

/**
 * The real name of a typed array's type, or undefined for anything else: read through the
 * intrinsic getter, which neither `Symbol.toStringTag` nor an own property can spoof.
 */
export const typedArrayName = (v: unknown): string | undefined => {
  try {
    return tagGetter?.call(v) as string | undefined
  } catch {
    return undefined
  }
}

/** A typed array's length through the intrinsic getter (an own `length` property cannot lie). */
export const typedArrayLength = (v: ArrayBufferView): number => {
  try {
    return (lengthGetter?.call(v) as number | undefined) ?? 0
  } catch {
    return 0
  }
}

