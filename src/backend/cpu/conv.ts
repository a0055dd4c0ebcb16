import type { Data } from '../../tensor/tensor.js'
import type { ConvAttrs } from '../../kernel/kernels.js'
import { convOutputSize } from '../../kernel/kernels.js'

/**
 * Visits every (output cell, kernel tap) pair of a convolution whose input cell lies inside the
 * image (zero padding contributes nothing): `visit(outAt, xAt, wAt)` with flat offsets into
 * the output `[n, o, oh, ow]`, the input `[n, c, h, w]` and the weight `[o, c/g, kh, kw]`. The
 * order, per output cell, is the weight's row-major order (channel, then kernel row, column),
 * the order the sums below accumulate in.
 */
export const forEachTap = (a: ConvAttrs, visit: (outAt: number, xAt: number, wAt: number) => void): void => {
  const [oh, ow] = convOutputSize(a)
  const cg = a.c / a.groups
  const og = a.o / a.groups
  for (let n = 0; n < a.n; n++) {
    for (let o = 0; o < a.o; o++) {
      const g = Math.floor(o / og)
      for (let i = 0; i < oh; i++) {
        for (let j = 0; j < ow; j++) {
          const outAt = ((n * a.o + o) * oh + i) * ow + j
          for (let c = 0; c < cg; c++) {
            const plane = (n * a.c + g * cg + c) * a.h
            for (let p = 0; p < a.kh; p++) {
              const y = i * a.sh - a.ph + p * a.dh
              if (y < 0 || y >= a.h) continue
              for (let q = 0; q < a.kw; q++) {
                const x = j * a.sw - a.pw + q * a.dw
                if (x < 0 || x >= a.w) continue
                visit(outAt, (plane + y) * a.w + x, ((o * cg + c) * a.kh + p) * a.kw + q)
              }
            }
          }
        }
      }
    }
  }
}

/**
 * Reference convolution: each output starts from its bias and accumulates its taps in the
 * output's precision (float32 sums round after every addition, as the matmul kernels do).
 */
export const conv2d = (out: Data, x: Data, weight: Data, bias: Data | null, a: ConvAttrs): void => {
  const [oh, ow] = convOutputSize(a)
  const plane = oh * ow
  for (let i = 0; i < out.length; i++) out[i] = bias === null ? 0 : bias[Math.floor(i / plane) % a.o]
  const round = out instanceof Float32Array ? Math.fround : (v: number) => v
  forEachTap(a, (o, xi, wi) => {
    out[o] += round(x[xi] * weight[wi])
  })
}

/** The cotangent of x: every tap's `cot * weight` added to its input cell (in the input's precision). */
export const conv2dGradInput = (out: Data, cot: Data, weight: Data, a: ConvAttrs): void => {
  out.fill(0)
  forEachTap(a, (o, xi, wi) => {
    out[xi] += cot[o] * weight[wi]
  })
}

/** The cotangent of the weight: every tap's `cot * x` added to its weight (summed in float64). */
export const conv2dGradWeight = (out: Data, cot: Data, x: Data, a: ConvAttrs): void => {
  const acc = new Float64Array(out.length)
  forEachTap(a, (o, xi, wi) => {
    acc[wi] += cot[o] * x[xi]
  })
  out.set(acc)
}
