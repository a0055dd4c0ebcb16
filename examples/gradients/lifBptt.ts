/**
 * Backpropagation through time in a two-layer LIF network, on a toy task: which of two input
 * neurons fires often (rate 0.7) and which rarely (0.2), over T = 8 steps. The spike's derivative is BrainCog's QGateGrad
 * surrogate; the gradient flows through every step's membrane potential. The readout is the
 * output layer's firing rate against one-hot targets (SpikingJelly's MSE recipe).
 */
import {
  adam,
  customLinear,
  flatData,
  foldIn,
  key,
  lifNode,
  lossAndGrad,
  meanOverTime,
  mseLoss,
  orThrow,
  poissonEncode,
  scan,
  sequential,
  tensor,
  train,
  uniform,
} from '../../src/index.js'

const T = 8
const N = 64
const net = sequential(
  scan(sequential(customLinear({ inFeatures: 2, outFeatures: 16, bias: true }), lifNode(), customLinear({ inFeatures: 16, outFeatures: 2, bias: true }), lifNode())),
  meanOverTime(), // firing rates [N, 2]
)

/** A batch: which input is the busy one (a coin per sample), the spikes over T steps, the one-hot class. */
const batch = (i: number) => {
  const coins = uniform(foldIn(key(1), i), N)
  const busy = Array.from(coins, (u) => (u < 0.5 ? 0 : 1))
  const rates = tensor(busy.flatMap((b) => (b === 0 ? [0.7, 0.2] : [0.2, 0.7])), [N, 2])
  const labels = busy.flatMap((b) => (b === 0 ? [1, 0] : [0, 1]))
  return { x: poissonEncode(foldIn(key(2), i), rates, T), y: tensor(labels, [N, 2]) }
}

let { params, state } = orThrow(net.init(key(0), [T, N, 2]))
const step = lossAndGrad(net, mseLoss())
const optimizer = adam({ lr: 0.02 })
let opt = optimizer.init(params)
for (let i = 0; i < 200; i++) {
  const { x, y } = batch(i)
  const r = orThrow(step(params, net.reset(state), x, y, train(foldIn(key(3), i))))
  ;({ params, state: opt } = orThrow(optimizer.update(r.grads, opt, params)))
  state = r.state
}

// accuracy on fresh batches: the output neuron that fires more
let right = 0
for (let i = 1000; i < 1010; i++) {
  const { x, y } = batch(i)
  const out = flatData(orThrow(net.apply(params, net.reset(state), x, train(foldIn(key(3), i)))).output)
  const want = flatData(y)
  for (let n = 0; n < N; n++) right += (out[2 * n] > out[2 * n + 1] ? 0 : 1) === (want[2 * n] > want[2 * n + 1] ? 0 : 1) ? 1 : 0
}
console.log({ accuracyAbove90: right / (10 * N) > 0.9 })
// { accuracyAbove90: true }
