import type { Data } from '../../tensor/tensor.js'
import type { NeuronAttrs } from '../../kernel/kernels.js'

/** `out[i] = a[i] * b[i]`. */
export const mul = (out: Data, a: Data, b: Data): void => {
  for (let i = 0; i < out.length; i++) out[i] = a[i] * b[i]
}

/** `out[i] = a[i] + alpha * b[i]`. */
export const axpy = (out: Data, a: Data, b: Data, { alpha }: { readonly alpha: number }): void => {
  for (let i = 0; i < out.length; i++) out[i] = a[i] + alpha * b[i]
}

/** `out[i] = alpha * x[i]`. */
export const scale = (out: Data, x: Data, { alpha }: { readonly alpha: number }): void => {
  for (let i = 0; i < out.length; i++) out[i] = alpha * x[i]
}

/**
 * One neuron step per element. Each arithmetic operation rounds to the data's precision, as
 * PyTorch's elementwise operations do (`u = v + (x - v) / tau` is three roundings in float32),
 * and the threshold and tau are the data's precision too (BrainCog keeps them as tensors).
 */
export const neuron = (
  { spikes, v: next }: { readonly spikes: Data; readonly v: Data },
  v: Data | null,
  x: Data,
  attrs: NeuronAttrs,
): void => {
  const round = x instanceof Float32Array ? Math.fround : (n: number) => n
  const threshold = round(attrs.threshold)
  const tau = round(attrs.tau)
  const lif = attrs.model === 'lif'
  const strict = attrs.fireAt === '>'
  const soft = attrs.reset === 'soft'
  for (let i = 0; i < x.length; i++) {
    const vi = v === null ? 0 : v[i]
    const u = lif ? round(vi + round(round(x[i] - vi) / tau)) : round(vi + x[i])
    const fired = strict ? u > threshold : u >= threshold
    spikes[i] = fired ? 1 : 0
    next[i] = fired ? (soft ? u - threshold : attrs.vReset) : u
  }
}

/** `out[i] = value`. */
export const fill = (out: Data, { value }: { readonly value: number }): void => {
  out.fill(value)
}

/** The buffers one after another. */
export const concat = (out: Data, xs: readonly Data[]): void => {
  let at = 0
  for (const x of xs) {
    out.set(x, at)
    at += x.length
  }
}

/** `x[offset, offset + length)`. */
export const slice = (out: Data, x: Data, { offset, length }: { readonly offset: number; readonly length: number }): void => {
  out.set(x.subarray(offset, offset + length))
}
