import type { Data } from '../../tensor/tensor.js'

/** `out[i] = a[i] * b[i]`. */
export const mul = (out: Data, a: Data, b: Data): void => {
  for (let i = 0; i < out.length; i++) out[i] = a[i] * b[i]
}

/** `out[i] = a[i] + alpha * b[i]`. */
export const axpy = (out: Data, a: Data, alpha: number, b: Data): void => {
  for (let i = 0; i < out.length; i++) out[i] = a[i] + alpha * b[i]
}

/** Integrate-and-fire threshold on `v` in place; see `Backend.fire`. */
export const fire = (spikes: Data, v: Data, threshold: number, reset: 'soft' | 'hard', vReset: number): void => {
  for (let i = 0; i < v.length; i++) {
    if (v[i] >= threshold) {
      spikes[i] = 1
      v[i] = reset === 'soft' ? v[i] - threshold : vReset
    } else {
      spikes[i] = 0
    }
  }
}
