/**
 * Pooling as layers: PyTorch's `nn.MaxPool2d` and `nn.AvgPool2d` (floor mode; the average
 * counts padding), for the networks that put them between their spiking layers. Their
 * gradient routes each max window's cotangent to its first maximal cell, as PyTorch does.
 * The same operations as functions: `maxPool2d`, `avgPool2d`.
 *
 * @module
 */
import { DeviceTensor } from '../kernel/device.js'
import { pooledSize } from '../kernel/kernels.js'
import { configObject } from '../layer/check.js'
import { defineLayer } from '../layer/define.js'
import type { Layer, NoParams, NoState } from '../layer/layer.js'
import { empty } from '../layer/layer.js'
import { record } from '../layer/schema.js'
import { type PoolOp, type PoolOptions, pooledShape, poolMode, poolSpec } from '../ops/pool.js'
import type { Rank4 } from '../tensor/tensor.js'

const poolLayer = (name: string, op: PoolOp, config: PoolOptions): Layer<NoParams, NoState, Rank4, Rank4> => {
  const c = configObject<PoolOptions>(name, config, true, ['kernelSize', 'stride', 'padding'])
  const { window } = poolSpec({ ...c, op }, name, 'config')
  const mode = poolMode(op)
  return defineLayer<NoParams, NoState, Rank4, Rank4>({
    name,
    outputShape: (shape) => pooledShape(name, 'input', shape, window),
    params: record({}),
    state: record({}),
    perSample: true,
    init: () => ({ params: empty, state: empty }),
    run: (d, _params, state, x) => {
      const [n, ch, height, width] = x.shape
      const [oh, ow] = pooledSize(height, width, window)
      const y = d.pool2d(x.buffer, { planes: n * ch, height, width, window, mode })
      return { output: new DeviceTensor(y, [n, ch, oh, ow]), state }
    },
  })
}

/**
 * PyTorch's `nn.MaxPool2d({ kernelSize, stride, padding })` as a layer: `[N, C, H, W]` in,
 * `[N, C, Ho, Wo]` out. Bad configuration throws a `ConfigError`.
 *
 * @example
 * import { maxPool, orThrow } from 'braincog-fn'
 * orThrow(maxPool({ kernelSize: 2 }).outputShape([8, 16, 28, 28])) // [8, 16, 14, 14]
 */
export const maxPool = (config: PoolOptions): Layer<NoParams, NoState, Rank4, Rank4> =>
  poolLayer('MaxPool2d', 'maxPool2d', config)

/**
 * PyTorch's `nn.AvgPool2d({ kernelSize, stride, padding })` (`count_include_pad`) as a layer.
 *
 * @example
 * import { avgPool, orThrow } from 'braincog-fn'
 * orThrow(avgPool({ kernelSize: 3, stride: 2, padding: 1 }).outputShape([1, 1, 7, 7])) // [1, 1, 4, 4]
 */
export const avgPool = (config: PoolOptions): Layer<NoParams, NoState, Rank4, Rank4> =>
  poolLayer('AvgPool2d', 'avgPool2d', config)
