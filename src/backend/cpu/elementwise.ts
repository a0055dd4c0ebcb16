import type { Data } from '../../tensor/tensor.js'

/** `out[i] = a[i] * b[i]`. */
export const mul = (out: Data, a: Data, b: Data): void => {
  for (let i = 0; i < out.length; i++) out[i] = a[i] * b[i]
}

/** `out[i] = a[i] + alpha * b[i]`. */
export const axpy = (out: Data, a: Data, alpha: number, b: Data): void => {
  for (let i = 0; i < out.length; i++) out[i] = a[i] + alpha * b[i]
}
