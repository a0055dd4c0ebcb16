/**
 * Fitting a tdBN's affine params by gradient descent: the batch norm of a fixed batch should
 * come out scaled by 3 and shifted by 1 in every channel. `lossAndGrad` differentiates the
 * mean squared error through the layer (batch statistics included), Adam updates the params.
 */
import * as E from 'fp-ts/lib/Either.js'
import { adam, key, lossAndGrad, mseLoss, orThrow, thresholdDependentBatchNorm2d, toArray, train, uniform, wrap } from '../../src/index.js'

const bn = thresholdDependentBatchNorm2d({ numFeatures: 2, alpha: 1 })
const x = wrap(uniform(key(1), 8 * 2 * 16), [8, 2, 4, 4])
const { params: initial, state } = orThrow(bn.init(key(0), x.shape))
// the target: the batch normalized (weight 1, bias 0), times 3, plus 1
const unit = { weight: wrap(Float32Array.of(1, 1), [2]), bias: wrap(Float32Array.of(0, 0), [2]) }
const normalized = toArray(orThrow(bn.apply(unit, state, x, train())).output)
const target = wrap(Float32Array.from(normalized, (v) => 3 * v + 1), x.shape)

const step = lossAndGrad(bn, mseLoss())
const optimizer = adam({ lr: 0.05 })
let params = initial
let opt = optimizer.init(params)
for (let i = 0; i < 300; i++) {
  const r = orThrow(step(params, state, x, target, train()))
  ;({ params, state: opt } = orThrow(optimizer.update(r.grads, opt, params)))
}
const loss = E.map((r: { readonly loss: number }) => r.loss)(step(params, state, x, target, train()))
console.log({ loss: orThrow(loss) < 1e-6, weight: toArray(params.weight).map((w) => +w.toFixed(3)), bias: toArray(params.bias).map((b) => +b.toFixed(3)) })
// { loss: true, weight: [ 3, 3 ], bias: [ 1, 1 ] }
