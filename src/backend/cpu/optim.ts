import type { AdamAttrs } from '../../kernel/kernels.js'
import type { Data } from '../../tensor/tensor.js'

/** The outputs of one Adam update, as the `adam` kernel names them. */
interface AdamOuts {
  readonly param: Data
  readonly expAvg: Data
  readonly expAvgSq: Data
  readonly maxExpAvgSq: Data
}

/** Rounds to float32 (`Math.fround`) or keeps float64 (identity). */
type Rounding = (x: number) => number

/**
 * The update, each operation's result rounded by `r`. On float32 data (`r` = `Math.fround`),
 * op by op as PyTorch's CPU kernels round: `mul` and `div` round once, `add(x, alpha=a)` is one
 * fused multiply-add, `addcmul(s, x, y, value=v)` is `s + (v * x) * y` with the last
 * multiply-add fused, `addcdiv(s, x, y, value=v)` is `s + (v * x) / y`; the scalars are
 * float32. A float32 product is exact in float64, so a fused multiply-add is the float64
 * expression rounded once to float32. On float64 data (`r` the identity), plain float64.
 */
const adamLoop = (
  r: Rounding,
  o: AdamOuts,
  p: Data,
  g: Data,
  m0: Data,
  v0: Data,
  vmax0: Data | null,
  c: AdamAttrs,
): void => {
  const beta1 = r(c.beta1)
  const beta2 = r(c.beta2)
  const keep1 = r(1 - c.beta1)
  const keep2 = r(1 - c.beta2)
  const eps = r(c.eps)
  const l2 = r(c.l2)
  const shrink = r(c.shrink)
  const step = r(c.step)
  const bc2Sqrt = r(c.bc2Sqrt)
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
    if (decoupled) pi = r(pi * shrink)
    if (decay) gi = r(gi + l2 * pi)
    const m = r(r(beta1 * mi) + keep1 * gi)
    const v = r(r(beta2 * vi) + r(keep2 * gi) * gi)
    m1[i] = m
    v1[i] = v
    let vhat = v
    if (ams) {
      // torch.maximum: NaN wins
      vhat = prev > v || prev !== prev ? prev : v
      vmax1[i] = vhat
    }
    outP[i] = r(pi + r(r(step * m) / r(r(r(Math.sqrt(vhat)) / bc2Sqrt) + eps)))
  }
}

const float64: Rounding = (x) => x

/** One Adam/AdamW update (the `adam` kernel): float32 data rounded as PyTorch's, float64 in float64. */
export const adam = (o: AdamOuts, p: Data, g: Data, m: Data, v: Data, vmax: Data | null, attrs: AdamAttrs): void =>
  adamLoop(p instanceof Float64Array ? float64 : Math.fround, o, p, g, m, v, vmax, attrs)
