import type { Data, DType } from '../../tensor/tensor.js'
import type { Key } from '../../random/key.js'
import { uniformFill } from '../../random/uniform.js'

/** Uniform draws from the key, the reference algorithm. */
export const uniform = (out: Data, { key }: { readonly key: Key }): void => uniformFill(out, key)

/** `value` where the key's uniform draw is below `keep`, else 0 (draws compared in float64). */
export const bernoulliMask = (
  out: Data,
  { key, keep, value }: { readonly key: Key; readonly keep: number; readonly value: number; readonly dtype: DType },
): void => {
  const u = new Float64Array(out.length)
  uniformFill(u, key)
  for (let i = 0; i < out.length; i++) out[i] = u[i] < keep ? value : 0
}
