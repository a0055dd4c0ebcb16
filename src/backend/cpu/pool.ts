import type { Data } from '../../tensor/tensor.js'
import type { PoolMode, PoolWindow } from '../backend.js'
import { pooledSize } from '../backend.js'

/**
 * The one windowing loop behind max and average pooling: visits each output cell's window,
 * clipped to the image, and reduces it. Padding cells count for the average (PyTorch's
 * `count_include_pad=True`) and never win the max.
 */
export const pool2d = (
  out: Data,
  x: Data,
  planes: number,
  height: number,
  width: number,
  w: PoolWindow,
  mode: PoolMode,
): void => {
  const [outH, outW] = pooledSize(height, width, w)
  const divisor = w.kernelH * w.kernelW
  const isMax = mode === 'max'
  for (let p = 0; p < planes; p++) {
    const src = p * height * width
    const dst = p * outH * outW
    for (let oy = 0; oy < outH; oy++) {
      const y0 = oy * w.strideH - w.padH
      const yLo = Math.max(y0, 0)
      const yHi = Math.min(y0 + w.kernelH, height)
      for (let ox = 0; ox < outW; ox++) {
        const x0 = ox * w.strideW - w.padW
        const xLo = Math.max(x0, 0)
        const xHi = Math.min(x0 + w.kernelW, width)
        let acc = isMax ? -Infinity : 0
        for (let y = yLo; y < yHi; y++) {
          const row = src + y * width
          for (let xx = xLo; xx < xHi; xx++) {
            const v = x[row + xx]
            if (isMax) {
              // NaN propagates, as in PyTorch's max pooling
              if (v > acc || v !== v) acc = v
              if (acc !== acc) break
            } else acc += v
          }
        }
        out[dst + oy * outW + ox] = isMax ? acc : acc / divisor
      }
    }
  }
}

/** Nearest upsampling of [planes, height, width] by `factor`. */
export const upsampleNearest = (
  out: Data,
  x: Data,
  planes: number,
  height: number,
  width: number,
  factor: number,
): void => {
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
