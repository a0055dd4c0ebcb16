import type { AdamAttrs } from '../../kernel/kernels.js'
import type { Data } from '../../tensor/tensor.js'

const f = Math.fround

/** The outputs of one Adam update, as the `adam` kernel names them. */
interface AdamOuts {
  readonly param: Data
  readonly expAvg: Data
  readonly expAvgSq: Data
  readonly maxExpAvgSq: Data
}

/**
 * The update on float32 data, op by op as PyTorch's CPU kernels round: `mul` and `div` round
 * once, `add(x, alpha=a)` is one fused multiply-add, `addcmul(s, x, y, value=v)` is
 * `s + (v * x) * y` with the last multiply-add fused, `addcdiv(s, x, y, value=v)` is
 * `s + (v * x) / y`; the scalars are float32. A float32 product is exact in float64, so a fused
 * multiply-add is the float64 expression rounded once to float32.
 */
const adam32 = (o: AdamOuts, p: Data, g: Data, m0: Data, v0: Data, vmax0: Data | null, c: AdamAttrs): void => {
  const beta1 = f(c.beta1)
  const beta2 = f(c.beta2)
  const keep1 = f(1 - c.beta1)
  const keep2 = f(1 - c.beta2)
  const eps = f(c.eps)
  const l2 = f(c.l2)
  const shrink = f(c.shrink)
  const step = f(c.step)
  const bc2Sqrt = f(c.bc2Sqrt)
  const decay = c.l2 !== 0
  const decoupled = c.shrink !== 1
  const ams = c.amsgrad
  const { param: outP, expAvg: m1, expAvgSq: v1, maxExpAvgSq: vmax1 } = o
  const n = p.length
  for (let i = 0; i < n; i++) {
    // every input read before any output is written: an output may be one of the inputs
    let pi = p[i]
    let gi = g[i]
    const mi = m0[i]
    const vi = v0[i]
    const prev = ams ? vmax0![i] : 0
    if (decoupled) pi = f(pi * shrink)
    if (decay) gi = f(gi + l2 * pi)
    const m = f(f(beta1 * mi) + keep1 * gi)
    const v = f(f(beta2 * vi) + f(keep2 * gi) * gi)
    m1[i] = m
    v1[i] = v
    let vhat = v
    if (ams) {
      // torch.maximum: NaN wins
      vhat = prev > v || prev !== prev ? prev : v
      vmax1[i] = vhat
    }
    outP[i] = f(pi + f(f(step * m) / f(f(f(Math.sqrt(vhat)) / bc2Sqrt) + eps)))
  }
}

/** The update on float64 data. */
const adam64 = (o: AdamOuts, p: Data, g: Data, m0: Data, v0: Data, vmax0: Data | null, c: AdamAttrs): void => {
  const { beta1, beta2, eps, l2, shrink, step, bc2Sqrt } = c
  const keep1 = 1 - beta1
  const keep2 = 1 - beta2
  const decay = l2 !== 0
  const decoupled = shrink !== 1
  const ams = c.amsgrad
  const { param: outP, expAvg: m1, expAvgSq: v1, maxExpAvgSq: vmax1 } = o
  const n = p.length
  for (let i = 0; i < n; i++) {
    // every input read before any output is written: an output may be one of the inputs
    let pi = p[i]
    let gi = g[i]
    const mi = m0[i]
    const vi = v0[i]
    const prev = ams ? vmax0![i] : 0
    if (decoupled) pi = pi * shrink
    if (decay) gi = gi + l2 * pi
    const m = beta1 * mi + keep1 * gi
    const v = beta2 * vi + keep2 * gi * gi
    m1[i] = m
    v1[i] = v
    let vhat = v
    if (ams) {
      vhat = prev > v || prev !== prev ? prev : v
      vmax1[i] = vhat
    }
    outP[i] = pi + (step * m) / (Math.sqrt(vhat) / bc2Sqrt + eps)
  }
}

/** One Adam/AdamW update (the `adam` kernel): float32 data rounded as PyTorch's, float64 in float64. */
export const adam = (o: AdamOuts, p: Data, g: Data, m: Data, v: Data, vmax: Data | null, attrs: AdamAttrs): void =>
  (p instanceof Float64Array ? adam64 : adam32)(o, p, g, m, v, vmax, attrs)
