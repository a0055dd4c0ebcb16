import type { Data } from '../../tensor/tensor.js'
import type { PoolWindow } from '../backend.js'
import { pooledSize } from '../backend.js'

/**
 * Max pooling ranked by `key`: each window passes the largest `value` among its cells with the
 * window's largest `key`. Kept apart from `pool2d` because it reads two images and compares
 * pairs, which would slow the hot max/avg loop. NaN (in a key, or in a value that ties for
 * the top key) makes the window NaN, as NaN propagates through max pooling.
 */
export const maxPool2dBy = (
  out: Data,
  key: Data,
  value: Data,
  planes: number,
  height: number,
  width: number,
  w: PoolWindow,
): void => {
  const [outH, outW] = pooledSize(height, width, w)
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
        let bestKey = -Infinity
        let best = -Infinity
        for (let y = yLo; y < yHi; y++) {
          const row = src + y * width
          for (let xx = xLo; xx < xHi; xx++) {
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
        out[dst + oy * outW + ox] = best
      }
    }
  }
}
