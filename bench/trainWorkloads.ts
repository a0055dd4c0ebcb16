/**
 * The training-step workloads (issue 15): one step (forward, backward, Adam) on a batch of 64
 * MNIST digits from the `mnist` package.
 *
 * - TR1: a spiking MLP 784-800-10 with LIFNode at T = 8, written as BrainCog-style PyTorch is:
 *   the input repeated over T, the stateless layers time-merged (one call on `[T*N, ...]`), the
 *   neuron scanned over T, the mean over time the readout.
 * - TR2: the demo's spiking CNN (examples/train/network.ts, `spikingCnn(4)`).
 *
 * Ours is a `trainer(net, crossEntropyLoss(), adam())` step, as the demo's (the params and
 * Adam's buffers held on the device from step to step); the PyTorch column runs the same
 * networks (bench/torch_braincog.py) from our initial params, and tfjs (`tf.variableGrads`,
 * `tf.train.adam`) where it can. Each timed call carries the params and
 * the optimizer state on to the next (training goes on); the check is the first step from the
 * initial params: the loss, the gradients and the params after Adam, in our order and layout.
 *
 * @module
 */
import type * as TF from '@tensorflow/tfjs-core'
import {
  adam,
  type AnyLayer,
  type Device,
  crossEntropyLoss,
  customLinear,
  flatData,
  flattenTree,
  key,
  lifNode,
  lossAndGrad,
  meanOverTime,
  orThrow,
  repeatSteps,
  scan,
  sequential,
  type Tensor,
  timeMerged,
  train,
  trainer,
  wrap,
} from '../src/index.js'
import { loadSplit } from '../examples/digits/data.js'
import { batchOf } from '../examples/train/batches.js'
import { spikingCnn } from '../examples/train/network.js'
import { concat, GRAD_TOLERANCE, tfLif } from './gradWorkloads.js'
import { type CheckPart, data, f32, type Side, type Workload } from './workloads.js'

/** Adam's learning rate on every side (PyTorch's default betas and eps). */
const LR = 1e-3

/**
 * The PyTorch side of a training row: the network built from the Python expression `net` (over
 * the inputs `t`), Adam at {@link LR}, one step per timed call (bench/torch_braincog.py).
 */
const torchTrainStep = (net: string) => ({
  setup: [
    `t['net'] = ${net}`,
    `t['opt'] = torch.optim.Adam(t['net'].parameters(), lr=${LR})`,
    "t['labels'] = t['y'].long()",
  ].join('\n'),
  run: "return B.train_step(t['net'], t['opt'], t['x'], t['labels'])",
  check: "return B.checked_step(t['net'], t['opt'], t['x'], t['labels'])",
})

interface Init {
  readonly params: unknown
  readonly state: unknown
}

/** A tree's tensors in their (flattenTree) order, with their names. */
const leaves = (tree: unknown): readonly (readonly [string, Tensor])[] =>
  Object.entries(orThrow(flattenTree(tree))).flatMap(([name, v]) => (typeof v === 'number' ? [] : [[name, v] as const]))

/** The check's parts: the loss, then each param's gradient, then each param after the update. */
const checkParts = (params: unknown): CheckPart[] => {
  const named = leaves(params)
  const sizes = named.map(([name, t]) => ({ name, length: flatData(t).length }))
  return [
    { name: 'loss', length: 1 },
    ...sizes.map((s) => ({ ...s, name: `grad ${s.name}` })),
    ...sizes.map((s) => ({ ...s, name: `${s.name} after Adam` })),
  ]
}

/** What the training rows share: images per call, the memory child, and how the check compares. */
const trainingRow = (params: unknown, batch: number) => ({
  images: batch,
  memory: true,
  tolerance: GRAD_TOLERANCE,
  // a spike that flips at a threshold (float32 sums in another order) moves the gradients it feeds
  allowFlips: 1e-2,
  parts: checkParts(params),
})

/**
 * Our training step on `backend`: a `trainer` (the params and Adam's buffers held on the device),
 * the state's neurons reset for the next batch. The check takes the gradients from `lossAndGrad`
 * (the trainer does not hand them out) and the params after Adam from the trainer's first step.
 */
const oursTraining = (net: AnyLayer, init: Init, x: Tensor, y: Tensor, backend: Device<unknown>): Side => {
  const loop = trainer(net, crossEntropyLoss(), adam({ lr: LR }))
  let training = orThrow(loop.start(init.params as never, { backend }))
  let state = init.state
  let n = 0
  return {
    run: () => {
      const r = orThrow(loop.step(training, state as never, x, y, train(key(n++))))
      training = r.next
      state = net.reset(r.state as never)
      return r.loss
    },
    check: () => {
      const first = orThrow(loop.start(init.params as never, { backend }))
      const r = orThrow(loop.step(first, init.state as never, x, y, train(key(0))))
      const after = orThrow(loop.read(r.next))
      loop.dispose(r.next)
      const step = lossAndGrad(net, crossEntropyLoss())
      const g = orThrow(step(init.params as never, init.state as never, x, y, train(key(0), backend)))
      if (!Object.is(g.loss, r.loss)) throw new Error(`trainer and lossAndGrad disagree on the loss: ${r.loss} vs ${g.loss}`)
      const grads = leaves(g.grads).map(([, t]) => f32(t))
      return concat([[r.loss], ...grads, ...leaves(after.params).map(([, t]) => f32(t))])
    },
  }
}

/**
 * A tfjs training step over `variables` (in our params' order), from a loss function: the timed
 * side trains on, the check starts from fresh variables. `layout` maps each variable's gradient
 * and value to our layout.
 */
const tfTraining = (
  tf: typeof TF,
  initial: readonly TF.Tensor[],
  loss: (vars: readonly TF.Variable[]) => TF.Scalar,
  layout: (i: number, v: Float32Array) => Float32Array,
): Side => {
  const build = () => {
    const vars = initial.map((t) => tf.variable(t.clone(), true, `bench_train_${variables++}`))
    const optimizer = tf.train.adam(LR, 0.9, 0.999, 1e-8)
    return { vars, optimizer }
  }
  const named = (vars: readonly TF.Variable[], grads: readonly TF.Tensor[]): { name: string; tensor: TF.Tensor }[] =>
    vars.map((v, i) => ({ name: v.name, tensor: grads[i] }))
  const stepOf = (b: ReturnType<typeof build>) => {
    const { value, grads } = tf.variableGrads(() => loss(b.vars), b.vars)
    return { value, grads: b.vars.map((v) => grads[v.name]) }
  }
  const timed = build()
  return {
    run: () => {
      const { value, grads } = stepOf(timed)
      timed.optimizer.applyGradients(named(timed.vars, grads))
      const l = data(value)[0]
      tf.dispose([value, ...grads])
      return l
    },
    check: () => {
      const b = build()
      try {
        const { value, grads } = stepOf(b)
        const g = grads.map((t, i) => layout(i, data(t)))
        b.optimizer.applyGradients(named(b.vars, grads))
        const out = concat([data(value), ...g, ...b.vars.map((v, i) => layout(i, data(v)))])
        tf.dispose([value, ...grads])
        return out
      } finally {
        b.optimizer.dispose()
        tf.dispose(b.vars)
      }
    },
  }
}

let variables = 0

/** Cross-entropy of logits `[N, C]` against one-hot rows, mean over the batch (F.cross_entropy). */
const tfCrossEntropy = (tf: typeof TF, logits: TF.Tensor, onehot: TF.Tensor): TF.Scalar =>
  tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1)))

/** `batch` digits: images `[N, 1, 28, 28]` and labels `[N]`. */
const digits = (batch: number): { x: Tensor; y: Tensor } => {
  const { train: split } = loadSplit(batch, 1)
  return batchOf(split, Array.from({ length: batch }, (_, i) => i), 0, batch)
}

/** TR1: the spiking MLP 784-hidden-10 with LIFNode over `steps`. */
export const spikingMlp = (steps: number, inF: number, hidden: number, classes: number) =>
  sequential(
    repeatSteps({ steps }),
    timeMerged(customLinear({ inFeatures: inF, outFeatures: hidden, bias: true })),
    scan(lifNode(), { state: 'reset' }),
    timeMerged(customLinear({ inFeatures: hidden, outFeatures: classes, bias: true })),
    meanOverTime(),
  )

const mlpStep = (steps: number, batch: number, hidden: number): Workload => {
  const [inF, classes] = [784, 10]
  const { x: images, y } = digits(batch)
  const x = wrap(flatData(images), [batch, inF]) as Tensor
  const net = spikingMlp(steps, inF, hidden, classes)
  const init = orThrow(net.init(key(0), [batch, inF]))
  const [, fc1, , fc2] = init.params
  const w1 = f32(fc1.weight)
  const b1 = f32(fc1.bias!)
  const w2 = f32(fc2.weight)
  const b2 = f32(fc2.bias!)
  const labels = f32(y)
  return {
    id: 'TR1',
    what: `train step: spiking MLP ${inF}-${hidden}-${classes}, LIFNode, T=${steps}, batch ${batch}, Adam`,
    ...trainingRow(init.params, batch),
    torch: {
      grad: true,
      isolate: true,
      inputs: {
        x: { data: f32(x), shape: [batch, inF] },
        y: { data: labels, shape: [batch] },
        w1: { data: w1, shape: [inF, hidden] },
        b1: { data: b1, shape: [hidden] },
        w2: { data: w2, shape: [hidden, classes] },
        b2: { data: b2, shape: [classes] },
      },
      ...torchTrainStep(`B.Mlp(${steps}, t['w1'], t['b1'], t['w2'], t['b2'])`),
    },
    ours: (backend) => oursTraining(net, init, x, y, backend),
    peer: (tf) => {
      const xs = tf.tensor2d(flatData(x) as Float32Array, [batch, inF])
      const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), classes)
      const lif = tfLif(tf)
      const initial = [
        tf.tensor2d(w1, [inF, hidden]),
        tf.tensor1d(b1),
        tf.tensor2d(w2, [hidden, classes]),
        tf.tensor1d(b2),
      ]
      return tfTraining(
        tf,
        initial,
        ([vw1, vb1, vw2, vb2]) => {
          const h = tf.add(tf.matMul(tf.tile(xs, [steps, 1]), vw1), vb1)
          const spikes = tf.stack(lif(tf.unstack(tf.reshape(h, [steps, batch, hidden]))))
          const o = tf.add(tf.matMul(tf.reshape(spikes, [steps * batch, hidden]), vw2), vb2)
          return tfCrossEntropy(tf, tf.mean(tf.reshape(o, [steps, batch, classes]), 0), onehot)
        },
        (_, v) => v,
      )
    },
  }
}

/** `[O, I, kh, kw]` (ours, PyTorch) as tfjs's `[kh, kw, I, O]`, or back. */
const filterLayout = (w: ArrayLike<number>, [o, i, kh, kw]: readonly number[], toHwio: boolean): Float32Array => {
  const out = new Float32Array(o * i * kh * kw)
  for (let a = 0; a < o; a++) {
    for (let b = 0; b < i; b++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          const oihw = ((a * i + b) * kh + y) * kw + x
          const hwio = ((y * kw + x) * i + b) * o + a
          if (toHwio) out[hwio] = w[oihw]
          else out[oihw] = w[hwio]
        }
      }
    }
  }
  return out
}

const cnnStep = (steps: number, batch: number): Workload => {
  const { x, y } = digits(batch)
  const net = spikingCnn(steps)
  const init = orThrow(net.init(key(0), [batch, 1, 28, 28]))
  const p = init.params
  const c1 = f32(p[0].weight)
  const c2 = f32(p[5].weight)
  const labels = f32(y)
  const named = leaves(init.params)
  return {
    id: 'TR2',
    what: `train step: the demo's spiking CNN (spikingCnn(${steps})), batch ${batch}, Adam`,
    ...trainingRow(init.params, batch),
    torch: {
      grad: true,
      isolate: true,
      inputs: {
        x: { data: f32(x), shape: [batch, 1, 28, 28] },
        y: { data: labels, shape: [batch] },
        c1: { data: c1, shape: [16, 1, 5, 5] },
        g1: { data: f32(p[1].weight), shape: [16] },
        h1: { data: f32(p[1].bias), shape: [16] },
        c2: { data: c2, shape: [32, 16, 5, 5] },
        g2: { data: f32(p[6].weight), shape: [32] },
        h2: { data: f32(p[6].bias), shape: [32] },
        fw: { data: f32(p[10].weight), shape: [1568, 10] },
        fb: { data: f32(p[10].bias!), shape: [10] },
      },
      ...torchTrainStep(`B.Cnn(${steps}, t)`),
    },
    ours: (backend) => oursTraining(net, init, x, y, backend),
    peer: (tf) => {
      // channels-last, as tfjs convolves and pools; the one input channel makes NCHW and NHWC alike
      const images = tf.tensor4d(flatData(x) as Float32Array, [batch, 28, 28, 1])
      const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), 10)
      const lif = tfLif(tf)
      const spiking = (h: TF.Tensor4D): TF.Tensor4D => {
        const [tn, hh, ww, cc] = h.shape
        const steps2d = tf.unstack(tf.reshape(h, [steps, (tn / steps) * hh * ww * cc]))
        return tf.reshape(tf.stack(lif(steps2d)), h.shape)
      }
      const batchNorm = (h: TF.Tensor4D, g: TF.Tensor, b: TF.Tensor): TF.Tensor4D => {
        const { mean, variance } = tf.moments(h, [0, 1, 2], true)
        return tf.add(tf.mul(tf.mul(tf.sub(h, mean), tf.rsqrt(tf.add(variance, 1e-5))), g), b)
      }
      const shapes = named.map(([, t]) => t.shape)
      const initial = named.map(([, t], i) => {
        const [o, c] = shapes[i]
        return shapes[i].length === 4
          ? tf.tensor4d(filterLayout(flatData(t), shapes[i], true), [5, 5, c, o])
          : tf.tensor(f32(t), [...shapes[i]])
      })
      return tfTraining(
        tf,
        initial,
        ([k1, g1, h1, k2, g2, h2, fw, fb]) => {
          let h = batchNorm(tf.conv2d(images, k1 as TF.Tensor4D, 1, 2), g1, h1)
          h = tf.maxPool(spiking(tf.tile(h, [steps, 1, 1, 1])), 2, 2, 'valid')
          h = tf.maxPool(spiking(batchNorm(tf.conv2d(h, k2 as TF.Tensor4D, 1, 2), g2, h2)), 2, 2, 'valid')
          const flat = tf.reshape(tf.transpose(h, [0, 3, 1, 2]), [steps * batch, 1568])
          const o = tf.add(tf.matMul(flat, fw as TF.Tensor2D), fb)
          return tfCrossEntropy(tf, tf.mean(tf.reshape(o, [steps, batch, 10]), 0), onehot)
        },
        (i, v) => (shapes[i].length === 4 ? filterLayout(v, shapes[i], false) : v),
      )
    },
  }
}

/** The training steps, at the issues' sizes or (quick) small ones. */
export const trainWorkloads = (quick: boolean): readonly Workload[] => [
  quick ? mlpStep(3, 4, 32) : mlpStep(8, 64, 800),
  quick ? cnnStep(2, 1) : cnnStep(4, 64),
]
