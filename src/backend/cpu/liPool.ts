import type { Data } from '../../tensor/tensor.js'
import type { PoolMode } from '../backend.js'
import { pool2d } from './pool.js'

/**
 * One LIPool step over non-overlapping k x k windows. `nextSum` first holds the total (so no
 * scratch array is needed), is pooled by the shared windowing loop, then has each window's
 * output subtracted from its cells, which is nearest upsampling by k without materializing it.
 * Each store rounds to the output's precision, exactly as the axpy / pool2d / upsample / axpy
 * sequence did.
 */
export const liPoolStep = (
  out: Data,
  nextSum: Data,
  sum: Data | undefined,
  x: Data,
  planes: number,
  height: number,
  width: number,
  k: number,
  mode: PoolMode,
): void => {
  const n = planes * height * width
  for (let i = 0; i < n; i++) nextSum[i] = sum === undefined ? x[i] : sum[i] + x[i]
  const window = { kernelH: k, kernelW: k, strideH: k, strideW: k, padH: 0, padW: 0 }
  pool2d(out, nextSum, planes, height, width, window, mode)
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
