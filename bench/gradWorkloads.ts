/**
 * The backward workloads (issue 14): the vjp of W1b, W2b, the W3 training step and the W4b LIPool
 * step, and one BPTT step of W8 with a LIFNode, each as a call of braincog-fn's `vjp` and its
 * pullback, the same computation in tfjs (`tf.grads`, a `tf.customGrad` spike) and in PyTorch
 * autograd. Every call times the forward pass and the backward pass together (tfjs's
 * `tf.grads` cannot run one without the other); the check output is the gradients, in our
 * layout, each compared at its own scale.
 *
 * @module
 */
import type * as TF from '@tensorflow/tfjs-core'
import {
  type AnyLayer,
  type Ctx,
  customLinear,
  customLinearParams,
  key,
  layerNorm,
  lifNode,
  orThrow,
  type ParamsOf,
  scan,
  sequential,
  type StateOf,
  type Tensor,
  thresholdDependentBatchNorm2d,
  votingLayer,
  vjp,
  wrap,
} from '../src/index.js'
import { transposeNCHW, uniformData } from './harness.js'
import {
  type CheckPart,
  type Dims4,
  data,
  f32,
  liPoolAfterFirst,
  PeerCannot,
  type Side,
  w8Model,
  type Workload,
} from './workloads.js'

/**
 * The gradients' check tolerance, the forward rows' own: an element is off when it differs from
 * ours by more than `GRAD_TOLERANCE * (1 + max |g|)` over its gradient. Float32 sums of up to 2^16
 * terms in another order in each library stay below 1e-5 of that scale (the bench prints the
 * largest deviation of each cell).
 */
export const GRAD_TOLERANCE = 1e-4

/** The parts of a check output that concatenates `tensors` under `names`. */
const partsOf = (names: readonly string[], sizes: readonly number[]): CheckPart[] =>
  names.map((name, i) => ({ name, length: sizes[i] }))

/** Check outputs one after another, as one array. */
export const concat = (parts: readonly ArrayLike<number>[]): Float32Array => {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** Reads tfjs tensors (the gradients) and disposes of them. */
const readAll = (ts: readonly TF.Tensor[]): Float32Array[] => {
  const out = ts.map(data)
  for (const t of ts) t.dispose()
  return out
}

const size = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1)

/**
 * One vjp and its pullback, as a caller that is done with them makes it: the last pullback, then
 * `dispose()`, so the residuals are freed at once (not whenever the garbage collector finalizes
 * the result, which would let the resident device's memory fill between timed calls).
 */
const pulledOnce = <L extends AnyLayer>(
  layer: L,
  params: ParamsOf<L>,
  state: StateOf<L>,
  input: Tensor,
  ctx: Ctx,
  cotOutput: Tensor,
  cotState?: unknown,
) => {
  const r = orThrow(vjp(layer, params, state, input as never, ctx))
  try {
    return orThrow(r.pullback(cotOutput, cotState, { last: true }))
  } finally {
    r.dispose()
  }
}

/**
 * Our side of a normalization's gradient row: the pullback timed, its input, weight and bias
 * cotangents checked.
 */
const affineGradSide = <L extends AnyLayer>(
  layer: L,
  params: ParamsOf<L>,
  state: StateOf<L>,
  input: Tensor,
  ctx: Ctx,
  cot: Tensor,
): Side => {
  const run = () => pulledOnce(layer, params, state, input, ctx, cot)
  return {
    run,
    check: () => {
      const r = run() as { readonly input: Tensor; readonly params: { readonly weight: Tensor; readonly bias: Tensor } }
      return concat([f32(r.input), f32(r.params.weight), f32(r.params.bias)])
    },
  }
}

/** B1b: dX and dW of W1b's x[m, k] @ W[k, n] from a cotangent g[m, n]. */
const linearGrad = (m: number, k: number, n: number): Workload => {
  const x = uniformData(m * k, 1)
  const w = uniformData(k * n, 2, -0.1, 0.1)
  const g = uniformData(m * n, 16)
  return {
    id: 'B1b',
    what: `vjp of W1b: x[${m}, ${k}] @ W[${k}, ${n}], dX and dW`,
    // forward and the two products of the backward
    flops: 3 * 2 * m * k * n,
    tolerance: GRAD_TOLERANCE,
    parts: partsOf(['dX', 'dW'], [m * k, k * n]),
    torch: {
      grad: true,
      inputs: { x: { data: x, shape: [m, k] }, w: { data: w, shape: [k, n] }, g: { data: g, shape: [m, n] } },
      setup: "t['x'].requires_grad_(True)\nt['w'].requires_grad_(True)",
      run: "return torch.autograd.grad(t['x'] @ t['w'], [t['x'], t['w']], t['g'])",
    },
    ours: (backend) => {
      const layer = customLinear({ inFeatures: k, outFeatures: n })
      const params = orThrow(customLinearParams({ weight: wrap(w, [k, n]) }))
      const input = wrap(x, [m, k])
      const cot = wrap(g, [m, n])
      const ctx: Ctx = { training: false, backend }
      const run = () => pulledOnce(layer, params, {}, input, ctx, cot)
      return {
        run,
        check: () => {
          const r = run()
          return concat([f32(r.input), f32(r.params.weight)])
        },
      }
    },
    peer: (tf) => {
      const a = tf.tensor2d(x, [m, k])
      const b = tf.tensor2d(w, [k, n])
      const dy = tf.tensor2d(g, [m, n])
      const grads = tf.grads((p: TF.Tensor, q: TF.Tensor) => tf.matMul(p, q))
      const run = () => concat(readAll(grads([a, b], dy)))
      return { run, check: run }
    },
  }
}

/** B2b: LayerNorm channels_first, dx, dweight and dbias. */
const layerNormGrad = (shape: Dims4): Workload => {
  const [n, c, h, w] = shape
  const x = uniformData(size(shape), 4, -2, 3)
  const g = uniformData(size(shape), 17)
  return {
    id: 'B2b',
    what: `vjp of W2b: LayerNorm channels_first [${shape.join(', ')}], dx, dweight, dbias`,
    tolerance: GRAD_TOLERANCE,
    parts: partsOf(['dx', 'dweight', 'dbias'], [n * c * h * w, c, c]),
    torch: {
      grad: true,
      inputs: {
        x: { data: x, shape },
        w: { data: new Float32Array(c).fill(1), shape: [c] },
        b: { data: new Float32Array(c), shape: [c] },
        g: { data: g, shape },
      },
      setup: "for k in ('x', 'w', 'b'):\n    t[k].requires_grad_(True)",
      // BrainCog's LayerNorm, channels_first branch
      run: [
        "x = t['x']",
        'u = x.mean(1, keepdim=True)',
        's = (x - u).pow(2).mean(1, keepdim=True)',
        'y = (x - u) / torch.sqrt(s + 1e-6)',
        "y = t['w'][:, None, None] * y + t['b'][:, None, None]",
        "return torch.autograd.grad(y, [t['x'], t['w'], t['b']], t['g'])",
      ].join('\n'),
    },
    ours: (backend) => {
      const ln = layerNorm({ normalizedShape: c, dataFormat: 'channels_first' })
      const { params } = orThrow(ln.init(key(0), shape))
      const input = wrap(x, shape)
      const cot = wrap(g, shape)
      return affineGradSide(ln, params, {}, input, { training: false, backend }, cot)
    },
    peer: (tf) => {
      const t = tf.tensor4d(x, shape)
      const wt = tf.ones([1, c, 1, 1])
      const b = tf.zeros([1, c, 1, 1])
      const dy = tf.tensor4d(g, shape)
      const grads = tf.grads((xx: TF.Tensor, ww: TF.Tensor, bb: TF.Tensor) => {
        const { mean, variance } = tf.moments(xx, 1, true)
        return tf.add(tf.mul(tf.mul(tf.sub(xx, mean), tf.rsqrt(tf.add(variance, 1e-6))), ww), bb)
      })
      const run = () => concat(readAll(grads([t, wt, b], dy)))
      return { run, check: run }
    },
  }
}

/** B3: tdBN's training step (batch statistics), forward and backward: dx, dweight, dbias. */
const batchNormGrad = (shape: Dims4): Workload => {
  const [n, c, h, w] = shape
  const x = uniformData(size(shape), 5, -1, 2)
  const g = uniformData(size(shape), 18)
  const alpha = 1
  const threshold = 0.5
  return {
    id: 'B3',
    what: `W3 training step, forward + backward: tdBN [${shape.join(', ')}], dx, dweight, dbias`,
    tolerance: GRAD_TOLERANCE,
    parts: partsOf(['dx', 'dweight', 'dbias'], [n * c * h * w, c, c]),
    torch: {
      grad: true,
      inputs: {
        x: { data: x, shape },
        w: { data: new Float32Array(c).fill(alpha * threshold), shape: [c] },
        b: { data: new Float32Array(c), shape: [c] },
        rm: { data: new Float32Array(c), shape: [c] },
        rv: { data: new Float32Array(c).fill(1), shape: [c] },
        g: { data: g, shape },
      },
      setup: "for k in ('x', 'w', 'b'):\n    t[k].requires_grad_(True)",
      // tdBN is BrainCog's _BatchNorm subclass: BatchNorm2d's forward, in training
      run: [
        "y = F.batch_norm(t['x'], t['rm'], t['rv'], t['w'], t['b'], True, 0.1, 1e-5)",
        "return torch.autograd.grad(y, [t['x'], t['w'], t['b']], t['g'])",
      ].join('\n'),
    },
    ours: (backend) => {
      const bn = thresholdDependentBatchNorm2d({ numFeatures: c, alpha, threshold })
      const { params, state } = orThrow(bn.init(key(0), shape))
      const input = wrap(x, shape)
      const cot = wrap(g, shape)
      return affineGradSide(bn, params, state, input, { training: true, key: key(1), backend }, cot)
    },
    peer: (tf) => {
      const t = tf.tensor4d(x, shape)
      const weight = tf.fill([1, c, 1, 1], alpha * threshold)
      const bias = tf.zeros([1, c, 1, 1])
      const dy = tf.tensor4d(g, shape)
      // the running statistics (C values) take no part in the gradient and are left out
      const grads = tf.grads((xx: TF.Tensor, ww: TF.Tensor, bb: TF.Tensor) => {
        const { mean, variance } = tf.moments(xx, [0, 2, 3], true)
        return tf.add(tf.mul(tf.mul(tf.sub(xx, mean), tf.rsqrt(tf.add(variance, 1e-5))), ww), bb)
      })
      const run = () => concat(readAll(grads([t, weight, bias], dy)))
      return { run, check: run }
    },
  }
}

/**
 * B4b: one LIPool step's vjp from cotangents of its output and of its new sum (what BPTT feeds
 * it): the input's and the held sum's cotangents.
 */
const liPoolGrad = (shape: Dims4): Workload => {
  const [n, c, h, w] = shape
  const spikes = (seed: number): Float32Array => uniformData(size(shape), seed, 0, 1).map((u) => (u < 0.3 ? 1 : 0))
  const first = spikes(7)
  const x = spikes(8)
  const pooled: Dims4 = [n, c, h / 2, w / 2]
  const gOut = uniformData(size(pooled), 19)
  const gSum = uniformData(size(shape), 20)
  return {
    id: 'B4b',
    what: `vjp of W4b: one LIPool step (max child, 2x2) [${shape.join(', ')}], cotangents of output and sum`,
    tolerance: GRAD_TOLERANCE,
    parts: partsOf(['dx', 'dsum'], [size(shape), size(shape)]),
    torch: {
      grad: true,
      inputs: {
        first: { data: first, shape },
        x: { data: x, shape },
        go: { data: gOut, shape: pooled },
        gs: { data: gSum, shape },
      },
      setup: [
        "t['sum'] = t['first'] - F.interpolate(F.max_pool2d(t['first'], 2, 2), scale_factor=2, mode='nearest')",
        "t['sum'].requires_grad_(True)",
        "t['x'].requires_grad_(True)",
      ].join('\n'),
      run: [
        "total = t['sum'] + t['x']",
        'out = F.max_pool2d(total, 2, 2)',
        "nxt = total - F.interpolate(out, scale_factor=2, mode='nearest')",
        "return torch.autograd.grad([out, nxt], [t['x'], t['sum']], [t['go'], t['gs']])",
      ].join('\n'),
    },
    ours: (backend) => {
      const { pool, ctx, state } = liPoolAfterFirst(first, shape, backend)
      const input = wrap(x, shape)
      const cotOut = wrap(gOut, pooled)
      const cotSum = { sum: wrap(gSum, shape) }
      const run = () => pulledOnce(pool, {}, state, input, ctx, cotOut, cotSum)
      return {
        run,
        check: () => {
          const r = run()
          return concat([f32(r.input), f32(r.state.sum as Tensor)])
        },
      }
    },
    peer: (tf) => {
      const tie = maxPoolTie(tf)
      if (tie !== 0) {
        throw new PeerCannot(
          `MaxPoolGrad on ${tf.getBackend()} sends a tied window's gradient to its element ${tie} (row-major), ` +
            'PyTorch and braincog-fn to the first maximal one: spikes tie everywhere, so the gradients differ',
        )
      }
      // channels-last, as tfjs pools; the two outputs' cotangents as one, concatenated. The
      // nearest upsampling is a broadcast: tfjs-cpu's ResizeNearestNeighborGrad is wrong past
      // the first image of a batch (tfjs 4.22)
      const nhwc: Dims4 = [n, h, w, c]
      const toNhwc = (v: Float32Array, s: Dims4) => transposeNCHW(v, s, true)
      const ones = tf.ones([1, 1, 2, 1, 2, 1])
      const upsample = (out: TF.Tensor4D): TF.Tensor4D =>
        tf.reshape(tf.mul(tf.reshape(out, [n, h / 2, 1, w / 2, 1, c]), ones), nhwc)
      const step = (sum: TF.Tensor4D, input: TF.Tensor4D): [TF.Tensor4D, TF.Tensor4D] => {
        const total = tf.add<TF.Tensor4D>(sum, input)
        const out = tf.maxPool(total, 2, 2, 'valid')
        return [out, tf.sub(total, upsample(out))]
      }
      const [o0, sum] = tf.tidy(() => step(tf.zeros(nhwc), tf.tensor4d(toNhwc(first, shape), nhwc)))
      o0.dispose()
      const t = tf.tensor4d(toNhwc(x, shape), nhwc)
      const dy = tf.tensor1d(concat([toNhwc(gOut, pooled), toNhwc(gSum, shape)]))
      const grads = tf.grads((s: TF.Tensor, xx: TF.Tensor) => {
        const [out, next] = step(s as TF.Tensor4D, xx as TF.Tensor4D)
        return tf.concat([tf.reshape(out, [-1]), tf.reshape(next, [-1])])
      })
      const run = () => readAll(grads([sum, t], dy))
      return {
        run,
        check: () => {
          const [dsum, dx] = run()
          return concat([transposeNCHW(dx, [n, c, h, w], false), transposeNCHW(dsum, [n, c, h, w], false)])
        },
      }
    },
  }
}

/**
 * BrainCog's LIFNode in tfjs (threshold 0.5, tau 2) over a list of per-step inputs: the spikes.
 * The spike is a `tf.customGrad` with QGateGrad (alpha 2) as its gradient, `relu(2 - 4 |z|)`;
 * the reset factor `1 - spike` is detached by a `customGrad` with a zero gradient (tfjs has no
 * `stopGradient`).
 */
export const tfLif = (tf: typeof TF) => {
  // (customGrad's type takes its inputs and the save function as one union)
  const spike = tf.customGrad(((z: TF.Tensor, save: TF.GradSaveFunc) => {
    save([z])
    return {
      value: tf.cast(tf.greater(z, 0), 'float32'),
      gradFunc: (dz: TF.Tensor, saved: TF.Tensor[]) => tf.mul(dz, tf.relu(tf.sub(2, tf.mul(4, tf.abs(saved[0]))))),
    }
  }) as never) as (z: TF.Tensor) => TF.Tensor
  const detached = tf.customGrad(((s: TF.Tensor) => ({
    value: tf.sub(1, s),
    gradFunc: (dy: TF.Tensor) => tf.zerosLike(dy),
  })) as never) as (s: TF.Tensor) => TF.Tensor
  return (inputs: readonly TF.Tensor[]): TF.Tensor[] => {
    let mem: TF.Tensor | undefined
    return inputs.map((x) => {
      mem = mem === undefined ? tf.div(x, 2) : tf.add(mem, tf.div(tf.sub(x, mem), 2))
      const s = spike(tf.sub(mem, 0.5))
      mem = tf.mul(mem, detached(s))
      return s
    })
  }
}

/** Where tfjs's max-pool gradient goes in a 2x2 window of four equal values, on the current backend (0: the first). */
const maxPoolTie = (tf: typeof TF): number => {
  const g = tf.tidy(() =>
    tf.grads((x: TF.Tensor) => tf.maxPool(x as TF.Tensor4D, 2, 2, 'valid'))([tf.ones([1, 2, 2, 1])], tf.ones([1, 1, 1, 1]))[0],
  )
  const d = data(g)
  g.dispose()
  return d.findIndex((v) => v !== 0)
}

/** W8 with BrainCog's LIFNode: CustomLinear, LIFNode, VotingLayer, scanned over time. */
export const w8LifNetwork = (inF: number, outF: number, voters: number) =>
  scan(
    sequential(customLinear({ inFeatures: inF, outFeatures: outF }), lifNode(), votingLayer({ voterNum: voters })),
  )

/**
 * B8: one BPTT step of W8 with a LIFNode: forward through T steps, backward through time to dW
 * from a cotangent of the votes. PyTorch and tfjs compute dW only (the input is data); our
 * pullback also gives the input's cotangent, which is one more product of the forward's size.
 */
const bpttLif = (steps: number, batch: number, inF: number, outF: number, voters: number): Workload => {
  const x = uniformData(steps * batch * inF, 14, 0, 1)
  const w = uniformData(inF * outF, 15, -0.1, 0.1)
  const votes = outF / voters
  const g = uniformData(steps * batch * votes, 21)
  const shape = [steps, batch, inF] as const
  return {
    id: 'B8',
    what: `BPTT step of W8 with LIFNode (QGateGrad): scan T=${steps}, CustomLinear ${inF}->${outF}, VotingLayer ${voters}; batch ${batch}; dW`,
    // the forward product, and dW's (our pullback's input cotangent not counted)
    flops: 2 * 2 * steps * batch * inF * outF,
    tolerance: GRAD_TOLERANCE,
    // a spike that flips at the threshold (float32 sums in another order) moves a column of dW
    allowFlips: 1e-2,
    parts: partsOf(['dW'], [inF * outF]),
    torch: {
      grad: true,
      inputs: {
        x: { data: x, shape: [...shape] },
        w: { data: w, shape: [inF, outF] },
        g: { data: g, shape: [steps, batch, votes] },
      },
      setup: "t['w'].requires_grad_(True)",
      run: [
        'mem = 0.',
        'outs = []',
        "for xt in t['x']:",
        "    mem = mem + (xt @ t['w'] - mem) / 2.0",
        '    spike = B.QGateGrad.apply(mem - 0.5, B.ALPHA)',
        '    mem = mem * (1 - spike.detach())',
        `    outs.append(F.avg_pool1d(spike.unsqueeze(1), ${voters}, ${voters}).squeeze(1))`,
        "return torch.autograd.grad(torch.stack(outs), [t['w']], t['g'])",
      ].join('\n'),
    },
    ours: (backend) => {
      const net = w8LifNetwork(inF, outF, voters)
      const { params, state } = w8Model(net, shape, w, inF, outF)
      const input = wrap(x, shape)
      const cot = wrap(g, [steps, batch, votes])
      const ctx: Ctx = { training: true, key: key(2), backend }
      const run = () => pulledOnce(net, params, state, input, ctx, cot)
      return { run, check: () => f32(run().params[0].weight) }
    },
    peer: (tf) => {
      const xs = tf.tensor3d(x, [...shape])
      const weight = tf.tensor2d(w, [inF, outF])
      const dy = tf.tensor3d(g, [steps, batch, votes])
      const lif = tfLif(tf)
      const grads = tf.grads((wt: TF.Tensor) => {
        const currents = tf.unstack(xs).map((xt) => tf.matMul(xt as TF.Tensor2D, wt as TF.Tensor2D))
        return tf.stack(lif(currents).map((s) => tf.mean(tf.reshape(s, [batch, votes, voters]), 2)))
      })
      const run = () => concat(readAll(grads([weight], dy)))
      return { run, check: run }
    },
  }
}

/** The backward workloads, at the sizes or (quick) tiny ones. */
export const gradWorkloads = (quick: boolean): readonly Workload[] => {
  const img: Dims4 = quick ? [2, 4, 8, 8] : [32, 64, 32, 32]
  return [
    quick ? linearGrad(8, 32, 24) : linearGrad(256, 1024, 1024),
    layerNormGrad(img),
    batchNormGrad(img),
    liPoolGrad(img),
    quick ? bpttLif(3, 2, 16, 20, 10) : bpttLif(32, 64, 784, 1000, 10),
  ]
}
