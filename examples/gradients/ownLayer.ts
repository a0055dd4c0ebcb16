/**
 * A layer of your own, written once against the kernel interface: it runs on every device and
 * its gradient comes from its kernels' rules, nothing hand-written. Here a dense layer with a
 * ReLU, `y = relu(x @ W + b)`, checked against central finite differences.
 */
import * as E from 'fp-ts/lib/Either.js'
import {
  DeviceTensor,
  defineLayer,
  empty,
  evaluate,
  expectAxisSize,
  expectRank,
  flatData,
  key,
  type LayerError,
  orThrow,
  record,
  type Shape,
  type Tensor,
  tensor,
  tensorOf,
  uniform,
  vjp,
  wrap,
} from '../../src/index.js'

/** `relu(x @ W + b)` over inputs `[N, inFeatures]`. */
const denseRelu = (inFeatures: number, outFeatures: number) =>
  defineLayer<{ readonly w: Tensor; readonly b: Tensor }, Record<string, never>>({
    name: 'DenseReLU',
    outputShape: (s: Shape): E.Either<LayerError, Shape> =>
      E.map(() => [s[0], outFeatures])(E.chain(() => expectAxisSize('DenseReLU', 'input', s, 1, inFeatures))(expectRank('DenseReLU', 'input', s, 2))),
    params: record({ w: tensorOf([inFeatures, outFeatures]), b: tensorOf([outFeatures]) }),
    state: record({}),
    init: (k, _shape, dtype) => ({
      params: { w: wrap(uniform(k, inFeatures * outFeatures, dtype), [inFeatures, outFeatures]), b: tensor(new Array(outFeatures).fill(0.1), [outFeatures], dtype) },
      state: empty,
    }),
    run: (d, p, s, x) => {
      const pre = d.matmul(x.buffer, p.w.buffer, p.b.buffer, { m: x.shape[0], k: inFeatures, n: outFeatures })
      const y = d.relu(pre)
      d.free(pre)
      return { output: new DeviceTensor(y, [x.shape[0], outFeatures]), state: s }
    },
  })

const layer = denseRelu(3, 2)
const { params } = orThrow(layer.init(key(0), [4, 3], 'float64'))
const x = wrap(Float64Array.from(uniform(key(1), 12, 'float64'), (u) => u - 0.5), [4, 3])
const cot = wrap(Float64Array.from(uniform(key(2), 8, 'float64')), [4, 2])

// the pullback's input cotangent against central differences of L(x) = sum(apply(x) * cot)
const g = orThrow(orThrow(vjp(layer, params, empty, x, evaluate())).pullback(cot))
const L = (v: Tensor): number =>
  Array.from(flatData(orThrow(layer.apply(params, empty, v, evaluate())).output)).reduce((s, y, i) => s + y * flatData(cot)[i], 0)
const h = 1e-6
const worst = Math.max(
  ...Array.from({ length: 12 }, (_, i) => {
    const plus = Float64Array.from(flatData(x))
    const minus = Float64Array.from(flatData(x))
    plus[i] += h
    minus[i] -= h
    return Math.abs((L(wrap(plus, [4, 3])) - L(wrap(minus, [4, 3]))) / (2 * h) - flatData(g.input)[i])
  }),
)
console.log({ gradientsAgree: worst < 1e-8, weightGrad: g.params.w.shape })
// { gradientsAgree: true, weightGrad: [ 3, 2 ] }
