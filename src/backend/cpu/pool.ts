import type { Data } from '../../tensor/tensor.js'
import type { LiPoolAttrs, PoolAttrs, PoolWindow, UpsampleAttrs } from '../../kernel/kernels.js'
import { pooledSize } from '../../kernel/kernels.js'

/** One window of one image, clipped to it: rows [yLo, yHi), columns [xLo, xHi) of the plane at `src`. */
export interface WindowCells {
  /** Offset of the plane's first cell. */
  readonly src: number
  readonly yLo: number
  readonly yHi: number
  readonly xLo: number
  readonly xHi: number
}

/**
 * The one windowing loop behind every pooling kernel: visits each output cell of each of
 * `planes` images `[height, width]` with its window clipped to the image (padding cells are
 * never visited), giving the output offset and the window. Reused, not reallocated.
 */
export const forEachWindow = (
  planes: number,
  height: number,
  width: number,
  w: PoolWindow,
  visit: (dst: number, cells: WindowCells) => void,
): void => {
  const [outH, outW] = pooledSize(height, width, w)
  const cells = { src: 0, yLo: 0, yHi: 0, xLo: 0, xHi: 0 }
  for (let p = 0; p < planes; p++) {
    cells.src = p * height * width
    const dst = p * outH * outW
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * w.strideH - w.padH
      cells.yLo = Math.max(y0, 0)
      cells.yHi = Math.min(y0 + w.kernelH, height)
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * w.strideW - w.padW
        cells.xLo = Math.max(x0, 0)
        cells.xHi = Math.min(x0 + w.kernelW, width)
        visit(dst + oy * outW + ox, cells)
      }
    }
  }
}

/**
 * Max or average pooling. Padding counts for the average (PyTorch's `count_include_pad=True`)
 * and never wins the max; NaN propagates through the max, as in PyTorch.
 */
export const pool2d = (out: Data, x: Data, { planes, height, width, window, mode }: PoolAttrs): void => {
  const divisor = window.kernelH * window.kernelW
  if (mode === 'max') {
    forEachWindow(planes, height, width, window, (dst, c) => {
      let acc = -Infinity
      for (let y = c.yLo; y < c.yHi && acc === acc; y++) {
        const row = c.src + y * width
        for (let xx = c.xLo; xx < c.xHi; xx++) {
          const v = x[row + xx]
          if (v > acc || v !== v) acc = v
          if (acc !== acc) break
        }
      }
      out[dst] = acc
    })
    return
  }
  forEachWindow(planes, height, width, window, (dst, c) => {
    let acc = 0
    for (let y = c.yLo; y < c.yHi; y++) {
      const row = c.src + y * width
      for (let xx = c.xLo; xx < c.xHi; xx++) acc += x[row + xx]
    }
    out[dst] = acc / divisor
  })
}

/**
 * Max pooling ranked by `key`: each window passes the largest `value` among its cells with the
 * window's largest `key`. NaN (in a key, or in a value that ties for the top key) makes the
 * window NaN, as NaN propagates through max pooling.
 */
export const maxPool2dBy = (
  out: Data,
  key: Data,
  value: Data,
  { planes, height, width, window }: Omit<PoolAttrs, 'mode'>,
): void => {
  forEachWindow(planes, height, width, window, (dst, c) => {
    let bestKey = -Infinity
    let best = -Infinity
    for (let y = c.yLo; y < c.yHi; y++) {
      const row = c.src + y * width
      for (let xx = c.xLo; xx < c.xHi; xx++) {
        const k = key[row + xx]
        const v = value[row + xx]
        if (k !== k) {
          bestKey = Number.NaN
          best = Number.NaN
        } else if (k > bestKey) {
          bestKey = k
          best = v
        } else if (k === bestKey && (v > best || v !== v)) best = v
      }
    }
    out[dst] = best
  })
}

/** Nearest upsampling of [planes, height, width] by `factor`. */
export const upsampleNearest = (out: Data, x: Data, { planes, height, width, factor }: UpsampleAttrs): void => {
  const outW = width * factor
  for (let p = 0; p < planes; p++) {
    const src = p * height * width
    const dst = p * height * factor * outW
    for (let y = 0; y < height * factor; y++) {
      const row = src + Math.floor(y / factor) * width
      const outRow = dst + y * outW
      for (let xx = 0; xx < outW; xx++) out[outRow + xx] = x[row + Math.floor(xx / factor)]
    }
  }
}

/**
 * One LIPool step over non-overlapping k x k windows. `nextSum` first holds the total (so no
 * scratch array is needed), is pooled by the shared windowing loop, then has each window's
 * output subtracted from its cells, which is nearest upsampling by k without materializing it.
 * Each store rounds to the output's precision, exactly as separate axpy / pool2d / upsample /
 * axpy kernels would.
 */
export const liPoolStep = (
  { out, nextSum }: { readonly out: Data; readonly nextSum: Data },
  sum: Data | null,
  x: Data,
  { planes, height, width, k, mode }: LiPoolAttrs,
): void => {
  const n = planes * height * width
  for (let i = 0; i < n; i++) nextSum[i] = sum === null ? x[i] : sum[i] + x[i]
  const window = { kernelH: k, kernelW: k, strideH: k, strideW: k, padH: 0, padW: 0 }
  pool2d(out, nextSum, { planes, height, width, window, mode })
  const outH = height / k
  const outW = width / k
  for (let p = 0; p < planes; p++) {
    for (let y = 0; y < height; y++) {
      const row = (p * height + y) * width
      const outRow = (p * outH + Math.floor(y / k)) * outW
      for (let xx = 0; xx < width; xx++) nextSum[row + xx] -= out[outRow + Math.floor(xx / k)]
    }
  }
}

// ---------------------------------------------------------------------------------------------
// backward
// ---------------------------------------------------------------------------------------------

/**
 * The cotangent of x through pooling. Max: each window's cotangent to its first maximal cell
 * in row-major order, starting from the window's first cell (PyTorch's `maxindex`), every NaN
 * taking it (so the last NaN keeps it, as in PyTorch); average: `cot / (kh kw)` to every cell of the window. Cells shared by overlapping
 * windows add up, in window order, in the output's precision (as PyTorch accumulates).
 */
export const pool2dGrad = (out: Data, cot: Data, x: Data, { planes, height, width, window, mode }: PoolAttrs): void => {
  out.fill(0)
  if (mode === 'max') {
    forEachWindow(planes, height, width, window, (dst, c) => {
      let best = -Infinity
      let at = c.src + c.yLo * width + c.xLo
      for (let y = c.yLo; y < c.yHi; y++) {
        const row = c.src + y * width
        for (let xx = c.xLo; xx < c.xHi; xx++) {
          const v = x[row + xx]
          if (v > best || v !== v) {
            best = v
            at = row + xx
          }
        }
      }
      out[at] += cot[dst]
    })
    return
  }
  const divisor = window.kernelH * window.kernelW
  forEachWindow(planes, height, width, window, (dst, c) => {
    const g = cot[dst] / divisor
    for (let y = c.yLo; y < c.yHi; y++) {
      const row = c.src + y * width
      for (let xx = c.xLo; xx < c.xHi; xx++) out[row + xx] += g
    }
  })
}

/** The cotangent of `value` through `maxPool2dBy`: each window's to the cell whose value it passed. */
export const maxPool2dByGrad = (
  out: Data,
  cot: Data,
  key: Data,
  value: Data,
  { planes, height, width, window }: Omit<PoolAttrs, 'mode'>,
): void => {
  out.fill(0)
  forEachWindow(planes, height, width, window, (dst, c) => {
    let bestKey = -Infinity
    let best = -Infinity
    let at = c.src + c.yLo * width + c.xLo
    for (let y = c.yLo; y < c.yHi && bestKey === bestKey; y++) {
      const row = c.src + y * width
      for (let xx = c.xLo; xx < c.xHi; xx++) {
        const k = key[row + xx]
        const v = value[row + xx]
        if (k !== k) {
          bestKey = Number.NaN
          at = row + xx
          break
        } else if (k > bestKey || (k === bestKey && (v > best || v !== v))) {
          bestKey = k
          best = v
          at = row + xx
        }
      }
    }
    out[at] += cot[dst]
  })
}

/** The cotangent of x through nearest upsampling: the sum of each cell's block, in float64, in order. */
export const upsampleNearestGrad = (out: Data, cot: Data, { planes, height, width, factor }: UpsampleAttrs): void => {
  const bigW = width * factor
  for (let p = 0; p < planes; p++) {
    const src = p * height * factor * bigW
    for (let y = 0; y < height; y++) {
      for (let xx = 0; xx < width; xx++) {
        let s = 0
        for (let a = 0; a < factor; a++) {
          const row = src + (y * factor + a) * bigW + xx * factor
          for (let b = 0; b < factor; b++) s += cot[row + b]
        }
        out[(p * height + y) * width + xx] = s
      }
    }
  }
}
