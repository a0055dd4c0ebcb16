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

/** `out[i] = max(x[i], 0)`; NaN passes, -0 becomes +0. */
export const relu = (out: Data, x: Data): void => {
  for (let i = 0; i < out.length; i++) {
    const v = x[i]
    out[i] = v > 0 || v !== v ? v : 0
  }
}

/** `out[i] = cot[i]` where `x[i] > 0`, else 0. */
export const reluGrad = (out: Data, cot: Data, x: Data): void => {
  for (let i = 0; i < out.length; i++) out[i] = x[i] > 0 ? cot[i] : 0
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

/** x cut into equal consecutive parts, one per output. */
export const split = (outs: readonly Data[], x: Data): void => {
  let at = 0
  for (const o of outs) {
    o.set(x.subarray(at, at + o.length))
    at += o.length
  }
}

/** `x[offset, offset + length)`. */
export const slice = (out: Data, x: Data, { offset, length }: { readonly offset: number; readonly length: number }): void => {
  out.set(x.subarray(offset, offset + length))
}

/**
 * The surrogate derivative of the spike function at `z = u - threshold`, as BrainCog's
 * surrogate.py codes each one's backward, each operation and constant rounded by `round`
 * (`Math.fround` for float32 data: PyTorch's float32 arithmetic, its scalars cast to float32;
 * the identity for float64). The sigmoid's `exp` is float64's, rounded once with the sigmoid.
 */
export const surrogate = (name: NeuronAttrs['surrogate'], alpha: number, z: number, round: (n: number) => number): number => {
  switch (name) {
    case 'atan': {
      const t = round(round((Math.PI / 2) * alpha) * z)
      return round(round(alpha / 2) / round(1 + round(t * t)))
    }
    case 'qgate':
      return Math.abs(z) > round(1 / alpha) ? 0 : round(round(alpha) - round(round(alpha * alpha) * Math.abs(z)))
    case 'sigmoid': {
      const s = round(1 / (1 + Math.exp(-alpha * z)))
      return round(round(round(alpha) * s) * round(1 - s))
    }
    case 'gate':
      return Math.abs(z) < round(1 / alpha) ? 1 : 0
    case 'none':
      return 0
  }
}

/**
 * The cotangents of one neuron step: the potential and spike recomputed exactly as `neuron`
 * does, the spike's derivative replaced by the surrogate, the reset detached; every operation
 * in the data's precision (float32 rounds each one, as PyTorch does).
 */
export const neuronGrad = (
  out: { readonly dx: Data; readonly dv: Data },
  cotSpikes: Data | null,
  cotV: Data | null,
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
  const keep = round(1 - 1 / tau)
  for (let i = 0; i < x.length; i++) {
    const vi = v === null ? 0 : v[i]
    const u = lif ? round(vi + round(round(x[i] - vi) / tau)) : round(vi + x[i])
    const fired = strict ? u > threshold : u >= threshold
    const cs = cotSpikes === null ? 0 : cotSpikes[i]
    const cv = cotV === null ? 0 : cotV[i]
    const g = surrogate(attrs.surrogate, attrs.alpha, round(u - threshold), round)
    const gu = round(round(cs * g) + (soft || !fired ? cv : 0))
    out.dx[i] = lif ? gu / tau : gu
    out.dv[i] = lif ? gu * keep : gu
  }
}
