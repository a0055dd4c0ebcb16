/**
 * The host device: buffers are ordinary typed arrays and kernels are a {@link Backend}'s.
 *
 * It runs a lowered scan with exactly the kernels and roundings of the layers' own `apply`, so
 * `scanOnDevice(layer, hostDevice(backend))` gives the bits `scan(layer)` gives with that
 * backend: the reference every other device is tested against.
 *
 * @module
 */
import type { Backend, PoolWindow } from '../backend/backend.js'
import { pooledSize } from '../backend/backend.js'
import type { Data } from '../tensor/tensor.js'
import { alloc } from '../tensor/tensor.js'
import type { Device } from './device.js'

const like = (d: Data, length = d.length): Data => alloc(length, d instanceof Float32Array ? 'float32' : 'float64')

/**
 * A {@link Device} over host typed arrays, running `backend`'s kernels. Buffers keep the
 * dtype of the data uploaded; `free` does nothing (the garbage collector owns host memory).
 *
 * @example
 * import { cpu, hostDevice } from 'braincog-fn'
 * const host = hostDevice(cpu)
 * const b = host.upload(new Float32Array([1, 2]))
 * Array.from(host.read(host.axpy(b, 2, b))) // [3, 6]
 */
export const hostDevice = (backend: Backend): Device<Data> => ({
  name: `host(${backend.name})`,
  dtypeOf: (b) => (b instanceof Float32Array ? 'float32' : 'float64'),
  lengthOf: (b) => b.length,
  upload: (data) => data.slice(),
  read: (b) => b.slice(),
  readAll: (buffers) => {
    const out = alloc(
      buffers.reduce((n, b) => n + b.length, 0),
      buffers.length > 0 && buffers[0] instanceof Float64Array ? 'float64' : 'float32',
    )
    let offset = 0
    for (const b of buffers) {
      out.set(b, offset)
      offset += b.length
    }
    return out
  },
  free: () => undefined,

  matmul: (a, b, m, k, n, bias) => {
    const out = like(a, m * n)
    backend.matmul(out, a, b, m, k, n, bias)
    return out
  },
  fire: (v, x, threshold, reset, vReset) => {
    const next = like(x)
    if (v === null) next.set(x)
    else backend.axpy(next, v, 1, x)
    const spikes = like(x)
    backend.fire(spikes, next, threshold, reset, vReset)
    return { spikes, v: next }
  },
  liPoolStep: (sum, x, planes, height, width, k, mode) => {
    const out = like(x, planes * (height / k) * (width / k))
    const nextSum = like(x)
    backend.liPoolStep(out, nextSum, sum ?? undefined, x, planes, height, width, k, mode)
    return { out, nextSum }
  },
  pool2d: (x, planes, height, width, window, mode) => {
    const out = like(x, planes * pooledCells(height, width, window))
    backend.pool2d(out, x, planes, height, width, window, mode)
    return out
  },
  maxPool2dBy: (key, value, planes, height, width, window) => {
    const out = like(value, planes * pooledCells(height, width, window))
    backend.maxPool2dBy(out, key, value, planes, height, width, window)
    return out
  },
  axpy: (a, alpha, b) => {
    const out = like(a)
    backend.axpy(out, a, alpha, b)
    return out
  },
  mul: (a, b) => {
    const out = like(a)
    backend.mul(out, a, b)
    return out
  },
  channelAffine: (x, outer, channels, inner, scale, shift) => {
    const out = like(x)
    backend.channelAffine(out, x, outer, channels, inner, scale, shift)
    return out
  },
  groupMean: (x, rows, length, size) => {
    const out = like(x, rows * Math.floor(length / size))
    backend.groupMean(out, x, rows, length, size)
    return out
  },
})

const pooledCells = (height: number, width: number, window: PoolWindow): number => {
  const [h, w] = pooledSize(height, width, window)
  return h * w
}
