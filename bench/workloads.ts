/**
 * The workloads of the benchmark (issue 7), each as our call on a given kernel backend and the
 * same computation in TensorFlow.js. Inputs are float32 with fixed seeds. Each side also has a
 * deterministic `check` giving its output in our layout, compared before anything is timed.
 *
 * @module
 */
import type * as TF from '@tensorflow/tfjs-core'
import {
  type AnyLayer,
  type Ctx,
  type Device,
  DeviceTensor,
  customLinear,
  customLinearParams,
  flatData,
  ifNeuron,
  key,
  layerNorm,
  liPool,
  maxPool2d,
  nDropout,
  type Layer,
  onDevice,
  orThrow,
  type ParamsOf,
  scan,
  sequential,
  type Shape,
  type StateOf,
  type Tensor,
  thresholdDependentBatchNorm2d,
  votingLayer,
  wrap,
  wtaLayer,
} from '../src/index.js'
import { buffersOf } from '../src/kernel/tree.js'
import { transposeNCHW, uniformData } from './harness.js'

/** tfjs wants mutable shape tuples. */
export type Dims4 = [number, number, number, number]

/** One side of a comparison: a call to time, and its output for the check. */
export interface Side {
  readonly run: () => unknown
  readonly check: () => Float32Array
  /** Frees what the side holds on a device, once the row is timed. */
  readonly dispose?: () => void
}

/** The same workload in PyTorch (the optional column): inputs and Python bodies. */
export interface TorchSpec {
  /** Float32 inputs by name, row-major, as `t[name]` in the bodies. */
  readonly inputs: Readonly<Record<string, { readonly data: Float32Array; readonly shape: readonly number[] }>>
  /** Run once before timing (may add entries to `t`). */
  readonly setup?: string
  /** Body of `run(t)` (`torch`, `F` in scope): the timed call, returning the output. */
  readonly run: string
  /**
   * Body of the deterministic variant checked against ours, when `run` draws randomness or
   * mutates (a training step). A body may return a tensor or a list of tensors (gradients):
   * the check output is their flattened concatenation.
   */
  readonly check?: string
  /** Run with autograd on (gradient rows); the others run under `torch.no_grad()`. */
  readonly grad?: boolean
  /**
   * Run in a Python process of its own, which also reports its resident memory (the training
   * steps: the peak is the process's, so it must not include other workloads').
   */
  readonly isolate?: boolean
}

/**
 * Thrown by a peer that finds (by a probe, not by assumption) that its library cannot compute
 * the workload as PyTorch and braincog-fn do; the cell says why instead of timing it.
 */
export class PeerCannot extends Error {}

/** A named slice of a check output (a gradient), compared at its own scale. */
export interface CheckPart {
  readonly name: string
  readonly length: number
}

export interface Workload {
  readonly id: string
  readonly what: string
  /** Floating-point operations per call, for GFLOP/s. */
  readonly flops?: number
  /** Fraction of elements allowed to differ in the check (discrete outputs at a threshold). */
  readonly allowFlips?: number
  /**
   * Check tolerance: an element is off when it differs by more than `tolerance * (1 + max |x|)`,
   * the max over its part (default 1e-4).
   */
  readonly tolerance?: number
  /** The check output's parts in order (default: one), each with its own scale and flip count. */
  readonly parts?: readonly CheckPart[]
  /** Images per call (a training step's batch), for images per second. */
  readonly images?: number
  /** Our side's peak memory is measured in a child process (bench/trainMemory.ts). */
  readonly memory?: boolean
  /** Our side on a device (the cpu reference, the copy backend, the resident device). */
  ours(backend: Device<unknown>): Side
  /**
   * Our side with its tensors already on the resident device, as PyTorch's are in its memory
   * (see {@link stepOnDevice}): for the single layer calls.
   */
  onDevice?(device: Device<unknown>): Side
  /**
   * The same computation in tfjs on the current backend. It may throw where tfjs cannot run it
   * (a kernel or a gradient missing on a backend): the cell then says what tfjs reported.
   */
  readonly peer: (tf: typeof TF) => Side
  readonly torch?: TorchSpec
}

/** A copy of a tensor's elements (for the check only; timed calls return the tensor). */
export const f32 = (t: Tensor): Float32Array => Float32Array.from(flatData(t).slice())
export const data = (t: TF.Tensor): Float32Array => t.dataSync() as Float32Array
/**
 * Runs `f` in a tidy scope and reads its result outside it (a typed array returned from
 * `tidy` would be walked element by element, looking for tensors: seconds for 2M elements).
 */
export const read = (tf: typeof TF, f: () => TF.Tensor): Float32Array => {
  const t = tf.tidy(f)
  const d = data(t)
  t.dispose()
  return d
}
/** A side whose check is its timed call. */
const same = (run: () => Float32Array): Side => ({ run, check: run })
/** Our side: the timed call returns the output tensor; the check copies its elements. */
const ours = (run: () => Tensor): Side => ({ run, check: () => f32(run()) })

/**
 * A layer call with its tensors already in the device's memory, as PyTorch's tensors are in its
 * caching allocator: the layer's public step (`layer.step`) prepared once and its params, state
 * and input uploaded once; each timed call runs the step and frees what the call made (the
 * output, and the state buffers that replaced the ones it was given). Only the check reads the
 * output back.
 */
const stepOnDevice = <P, S>(
  device: Device<unknown>,
  layer: Layer<P, S>,
  params: P,
  state: S,
  input: Tensor,
  ctx: Ctx,
): Side => {
  const step = layer.step
  if (step === undefined) throw new Error(`${layer.name} has no device step`)
  const prepared = orThrow(step.prepare(params, state, { shape: input.shape, dtype: 'float32' }, ctx))
  const p = onDevice(device, prepared.params)
  const s = onDevice(device, prepared.state)
  const x = new DeviceTensor(device.upload(flatData(input)), input.shape)
  const given = new Set(buffersOf([p, s, x]))
  const call = <T>(use: (output: DeviceTensor<unknown>) => T): T => {
    const r = step.run(device, p, s, x, ctx)
    const value = use(r.output)
    for (const b of new Set(buffersOf([r.output, r.state]))) if (!given.has(b)) device.free(b)
    return value
  }
  return {
    run: () => call(() => undefined),
    check: () => call((output) => Float32Array.from(device.read(output.buffer))),
    dispose: () => {
      for (const b of given) device.free(b)
    },
  }
}

const linear = (id: string, m: number, k: number, n: number): Workload => {
  const x = uniformData(m * k, 1)
  const w = uniformData(k * n, 2, -0.1, 0.1)
  return {
    id,
    what: `CustomLinear x[${m}, ${k}] @ W[${k}, ${n}]`,
    flops: 2 * m * k * n,
    torch: {
      inputs: { x: { data: x, shape: [m, k] }, w: { data: w, shape: [k, n] } },
      run: "return t['x'] @ t['w']",
    },
    ours: (backend) => {
      const layer = customLinear({ inFeatures: k, outFeatures: n })
      const params = orThrow(customLinearParams({ weight: wrap(w, [k, n]) }))
      const input = wrap(x, [m, k])
      const ctx: Ctx = { training: false, backend }
      return ours(() => orThrow(layer.apply(params, {}, input, ctx)).output)
    },
    peer: (tf) => {
      const a = tf.tensor2d(x, [m, k])
      const b = tf.tensor2d(w, [k, n])
      return same(() => read(tf, () => tf.matMul(a, b)))
    },
  }
}

const layerNormLast = (rows: number, c: number): Workload => {
  const x = uniformData(rows * c, 3, -2, 3)
  return {
    id: 'W2a',
    what: `LayerNorm channels_last [${rows}, ${c}]`,
    torch: {
      inputs: {
        x: { data: x, shape: [rows, c] },
        w: { data: new Float32Array(c).fill(1), shape: [c] },
        b: { data: new Float32Array(c), shape: [c] },
      },
      run: `return F.layer_norm(t['x'], (${c},), t['w'], t['b'], 1e-6)`,
    },
    ours: (backend) => {
      const ln = layerNorm({ normalizedShape: c })
      const { params } = orThrow(ln.init(key(0), [rows, c]))
      const input = wrap(x, [rows, c])
      return ours(() => orThrow(ln.apply(params, {}, input, { training: false, backend })).output)
    },
    onDevice: (device) => {
      const ln = layerNorm({ normalizedShape: c })
      const { params } = orThrow(ln.init(key(0), [rows, c]))
      return stepOnDevice(device, ln, params, {}, wrap(x, [rows, c]), { training: false })
    },
    peer: (tf) => {
      const t = tf.tensor2d(x, [rows, c])
      const w = tf.ones([c])
      const b = tf.zeros([c])
      return same(() =>
        read(tf, () => {
          const { mean, variance } = tf.moments(t, -1, true)
          return tf.add(tf.mul(tf.mul(tf.sub(t, mean), tf.rsqrt(tf.add(variance, 1e-6))), w), b)
        }),
      )
    },
  }
}

const layerNormFirst = (shape: Dims4): Workload => {
  const [n, c, h, w] = shape
  const x = uniformData(n * c * h * w, 4, -2, 3)
  return {
    id: 'W2b',
    what: `LayerNorm channels_first [${shape.join(', ')}]`,
    torch: {
      inputs: {
        x: { data: x, shape },
        w: { data: new Float32Array(c).fill(1), shape: [c] },
        b: { data: new Float32Array(c), shape: [c] },
      },
      run: [
        "x = t['x']",
        'u = x.mean(1, keepdim=True)',
        's = (x - u).pow(2).mean(1, keepdim=True)',
        'x = (x - u) / torch.sqrt(s + 1e-6)',
        "return t['w'][:, None, None] * x + t['b'][:, None, None]",
      ].join('\n'),
    },
    ours: (backend) => {
      const ln = layerNorm({ normalizedShape: c, dataFormat: 'channels_first' })
      const { params } = orThrow(ln.init(key(0), shape))
      const input = wrap(x, shape)
      return ours(() => orThrow(ln.apply(params, {}, input, { training: false, backend })).output)
    },
    peer: (tf) => {
      const t = tf.tensor4d(x, shape)
      const wt = tf.ones([1, c, 1, 1])
      const b = tf.zeros([1, c, 1, 1])
      return same(() =>
        read(tf, () => {
          const { mean, variance } = tf.moments(t, 1, true)
          return tf.add(tf.mul(tf.mul(tf.sub(t, mean), tf.rsqrt(tf.add(variance, 1e-6))), wt), b)
        }),
      )
    },
  }
}

const batchNormStep = (shape: Dims4): Workload => {
  const [n, c, h, w] = shape
  const x = uniformData(n * c * h * w, 5, -1, 2)
  const alpha = 1
  const threshold = 0.5
  return {
    id: 'W3',
    what: `ThresholdDependentBatchNorm2d training step [${shape.join(', ')}]`,
    torch: {
      inputs: {
        x: { data: x, shape },
        w: { data: new Float32Array(c).fill(alpha * threshold), shape: [c] },
        b: { data: new Float32Array(c), shape: [c] },
        rm: { data: new Float32Array(c), shape: [c] },
        rv: { data: new Float32Array(c).fill(1), shape: [c] },
      },
      // BatchNorm2d in training: batch statistics, running statistics updated in place
      run: "return F.batch_norm(t['x'], t['rm'], t['rv'], t['w'], t['b'], True, 0.1, 1e-5)",
    },
    ours: (backend) => {
      const bn = thresholdDependentBatchNorm2d({ numFeatures: c, alpha, threshold })
      const { params, state } = orThrow(bn.init(key(0), shape))
      const input = wrap(x, shape)
      const ctx: Ctx = { training: true, key: key(1), backend }
      return ours(() => orThrow(bn.apply(params, state, input, ctx)).output)
    },
    onDevice: (device) => {
      const bn = thresholdDependentBatchNorm2d({ numFeatures: c, alpha, threshold })
      const { params, state } = orThrow(bn.init(key(0), shape))
      return stepOnDevice(device, bn, params, state, wrap(x, shape), { training: true, key: key(1) })
    },
    peer: (tf) => {
      const t = tf.tensor4d(x, shape)
      const weight = tf.fill([1, c, 1, 1], alpha * threshold)
      const bias = tf.zeros([1, c, 1, 1])
      const runningMean = tf.zeros([1, c, 1, 1])
      const runningVar = tf.ones([1, c, 1, 1])
      const count = n * h * w
      return same(() => {
        const [y, rm, rv] = tf.tidy(() => {
          const { mean, variance } = tf.moments(t, [0, 2, 3], true)
          const out = tf.add(tf.mul(tf.mul(tf.sub(t, mean), tf.rsqrt(tf.add(variance, 1e-5))), weight), bias)
          const m = tf.add(tf.mul(runningMean, 0.9), tf.mul(mean, 0.1))
          const v = tf.add(tf.mul(runningVar, 0.9), tf.mul(variance, (0.1 * count) / (count - 1)))
          return [out, m, v]
        })
        const out = data(y)
        rm.dataSync()
        rv.dataSync()
        tf.dispose([y, rm, rv])
        return out
      })
    },
  }
}

const maxPoolWorkload = (shape: Dims4): Workload => {
  const x = uniformData(shape[0] * shape[1] * shape[2] * shape[3], 6)
  const [n, c, h, w] = shape
  return {
    id: 'W4a',
    what: `maxPool2d k=2 s=2 [${shape.join(', ')}]`,
    torch: { inputs: { x: { data: x, shape } }, run: "return F.max_pool2d(t['x'], 2, 2)" },
    ours: (backend) => {
      const input = wrap(x, shape)
      return ours(() => orThrow(maxPool2d(input, { kernelSize: 2 }, backend)))
    },
    peer: (tf) => {
      // tfjs pools channels-last: the same elements as [N, H, W, C]
      const t = tf.tensor4d(transposeNCHW(x, shape, true), [n, h, w, c])
      const run = (): Float32Array => read(tf, () => tf.maxPool(t, 2, 2, 'valid'))
      return { run, check: () => transposeNCHW(run(), [n, c, h / 2, w / 2], false) }
    },
  }
}

/**
 * W4b's layer (LIPool with a 2x2 max child) on `backend` and its state after a first step on
 * `first`: what the forward row and its gradient row (B4b) time the second step from.
 */
export const liPoolAfterFirst = (first: Float32Array, shape: Dims4, backend: Device<unknown>) => {
  const pool = liPool({ child: { op: 'maxPool2d', kernelSize: 2 } })
  const ctx: Ctx = { training: false, backend }
  return { pool, ctx, state: orThrow(pool.apply({}, { sum: null }, wrap(first, shape), ctx)).state }
}

const liPoolStep = (shape: Dims4): Workload => {
  const [n, c, h, w] = shape
  const spikes = (seed: number): Float32Array => uniformData(n * c * h * w, seed, 0, 1).map((u) => (u < 0.3 ? 1 : 0))
  const first = spikes(7)
  const x = spikes(8)
  return {
    id: 'W4b',
    what: `one LIPool step (max child, 2x2) [${shape.join(', ')}]`,
    torch: {
      inputs: { first: { data: first, shape }, x: { data: x, shape } },
      setup: "t['sum'] = t['first'] - F.interpolate(F.max_pool2d(t['first'], 2, 2), scale_factor=2, mode='nearest')",
      run: [
        "total = t['sum'] + t['x']",
        'out = F.max_pool2d(total, 2, 2)',
        "t['next'] = total - F.interpolate(out, scale_factor=2, mode='nearest')",
        'return out',
      ].join('\n'),
    },
    ours: (backend) => {
      const { pool, ctx, state } = liPoolAfterFirst(first, shape, backend)
      const input = wrap(x, shape)
      return ours(() => orThrow(pool.apply({}, state, input, ctx)).output)
    },
    peer: (tf) => {
      const nhwc: Dims4 = [n, h, w, c]
      const step = (sum: TF.Tensor4D, input: TF.Tensor4D): [TF.Tensor4D, TF.Tensor4D] =>
        tf.tidy(() => {
          const total = tf.add<TF.Tensor4D>(sum, input)
          const out = tf.maxPool(total, 2, 2, 'valid')
          return [out, tf.sub(total, tf.image.resizeNearestNeighbor(out, [h, w]))] as [TF.Tensor4D, TF.Tensor4D]
        })
      const [o0, sum] = step(tf.zeros(nhwc), tf.tensor4d(transposeNCHW(first, shape, true), nhwc))
      o0.dispose()
      const t = tf.tensor4d(transposeNCHW(x, shape, true), nhwc)
      const run = (): Float32Array => {
        const [out, next] = step(sum, t)
        const d = data(out)
        next.dataSync()
        tf.dispose([out, next])
        return d
      }
      return { run, check: () => transposeNCHW(run(), [n, c, h / 2, w / 2], false) }
    },
  }
}

const voting = (rows: number, length: number, voters: number): Workload => {
  const x = uniformData(rows * length, 9, 0, 1)
  return {
    id: 'W5',
    what: `VotingLayer voterNum ${voters} [${rows}, ${length}]`,
    torch: {
      inputs: { x: { data: x, shape: [rows, length] } },
      run: `return F.avg_pool1d(t['x'].unsqueeze(1), ${voters}, ${voters}).squeeze(1)`,
    },
    ours: (backend) => {
      const layer = votingLayer({ voterNum: voters })
      const input = wrap(x, [rows, length])
      return ours(() => orThrow(layer.apply({}, {}, input, { training: false, backend })).output)
    },
    onDevice: (device) =>
      stepOnDevice(device, votingLayer({ voterNum: voters }), {}, {}, wrap(x, [rows, length]), { training: false }),
    peer: (tf) => {
      const t = tf.tensor2d(x, [rows, length])
      return same(() => read(tf, () => tf.mean(tf.reshape(t, [rows, length / voters, voters]), 2)))
    },
  }
}

const wta = (shape: Dims4): Workload => {
  const size = shape.reduce((a, b) => a * b, 1)
  const x = uniformData(size, 10, 0, 1)
  const u = uniformData(size, 11, 0, 1)
  return {
    id: 'W6',
    what: `WTALayer k=1 [${shape.join(', ')}], noise from the key`,
    allowFlips: 1e-3,
    torch: {
      inputs: { x: { data: x, shape }, u: { data: u, shape } },
      run: "x = t['x']\npos = x * torch.rand(x.shape)\nreturn x * (pos >= pos.max(1, True)[0])",
      check: "x = t['x']\npos = x * t['u']\nreturn x * (pos >= pos.max(1, True)[0])",
    },
    ours: (backend) => {
      const layer = wtaLayer({ k: 1 })
      const input = wrap(x, shape)
      const ctx: Ctx = { training: false, key: key(3), backend }
      const fixed: Ctx = { training: false, backend, draws: wrap(u, shape) }
      return {
        run: () => orThrow(layer.apply({}, {}, input, ctx)).output,
        check: () => f32(orThrow(layer.apply({}, {}, input, fixed)).output),
      }
    },
    peer: (tf) => {
      const t = tf.tensor4d(x, shape)
      const noise = tf.tensor4d(u, shape)
      const winners = (draws: TF.Tensor): Float32Array =>
        read(tf, () => {
          const score = tf.mul(t, draws)
          return tf.mul(t, tf.cast(tf.greaterEqual(score, tf.max(score, 1, true)), 'float32'))
        })
      return {
        run: () => {
          const draws = tf.randomUniform(shape, 0, 1, 'float32')
          const out = winners(draws)
          draws.dispose()
          return out
        },
        check: () => winners(noise),
      }
    },
  }
}

const dropout = (shape: Dims4): Workload => {
  const size = shape.reduce((a, b) => a * b, 1)
  const x = uniformData(size, 12)
  const mask = uniformData(size, 13, 0, 1).map((v) => (v < 0.5 ? 0 : 2))
  return {
    id: 'W7',
    what: `NDropout p=0.5, fixed mask [${shape.join(', ')}]`,
    torch: { inputs: { x: { data: x, shape }, mask: { data: mask, shape } }, run: "return t['mask'] * t['x']" },
    ours: (backend) => {
      const layer = nDropout({ p: 0.5 })
      const state = { mask: wrap(mask, shape) as Tensor }
      const input = wrap(x, shape)
      const ctx: Ctx = { training: true, key: key(4), backend }
      return ours(() => orThrow(layer.apply({}, state, input, ctx)).output)
    },
    onDevice: (device) =>
      stepOnDevice(device, nDropout({ p: 0.5 }), {}, { mask: wrap(mask, shape) as Tensor }, wrap(x, shape), {
        training: true,
        key: key(4),
      }),
    peer: (tf) => {
      const t = tf.tensor4d(x, shape)
      const m = tf.tensor4d(mask, shape)
      return same(() => read(tf, () => tf.mul(t, m)))
    },
  }
}

/**
 * A W8-shaped network (a scan of CustomLinear [inF, outF], a neuron, VotingLayer) initialized for
 * `shape`, its linear layer's weight set to `w`: the params and state every W8 row starts from.
 */
export const w8Model = <L extends AnyLayer>(net: L, shape: Shape, w: Float32Array, inF: number, outF: number) => {
  const init = orThrow(net.init(key(0), shape))
  const [, ...rest] = init.params as readonly unknown[]
  const linear = orThrow(customLinearParams({ weight: wrap(w, [inF, outF]) }))
  return { params: [linear, ...rest] as unknown as ParamsOf<L>, state: init.state as StateOf<L> }
}

/** W8's network: CustomLinear, IFNeuron, VotingLayer, scanned over time. */
export const w8Network = (inF: number, outF: number, voters: number) =>
  scan(
    sequential(
      customLinear({ inFeatures: inF, outFeatures: outF }),
      ifNeuron({}),
      votingLayer({ voterNum: voters }),
    ),
  )

const pipeline = (steps: number, batch: number, inF: number, outF: number, voters: number): Workload => {
  const x = uniformData(steps * batch * inF, 14, 0, 1)
  const w = uniformData(inF * outF, 15, -0.1, 0.1)
  const shape = [steps, batch, inF] as const
  return {
    id: 'W8',
    what: `scan T=${steps}: CustomLinear ${inF}->${outF}, IFNeuron, VotingLayer ${voters}; batch ${batch}`,
    flops: 2 * steps * batch * inF * outF,
    allowFlips: 1e-2,
    torch: {
      inputs: { x: { data: x, shape: [...shape] }, w: { data: w, shape: [inF, outF] } },
      run: [
        `v = torch.zeros(${batch}, ${outF})`,
        'outs = []',
        "for xt in t['x']:",
        "    v = v + xt @ t['w']",
        '    spikes = (v >= 1).float()',
        '    v = v - spikes',
        `    outs.append(F.avg_pool1d(spikes.unsqueeze(1), ${voters}, ${voters}).squeeze(1))`,
        'return torch.stack(outs)',
      ].join('\n'),
    },
    ours: (backend) => {
      const net = w8Network(inF, outF, voters)
      const { params, state } = w8Model(net, shape, w, inF, outF)
      const input = wrap(x, shape)
      const ctx: Ctx = { training: false, backend }
      return ours(() => orThrow(net.apply(params, state, input, ctx)).output)
    },
    peer: (tf) => {
      const xs = tf.tensor3d(x, [...shape])
      const weight = tf.tensor2d(w, [inF, outF])
      return same(() =>
        read(tf, () => {
          let v = tf.zeros([batch, outF])
          const outs: TF.Tensor[] = []
          for (const xt of tf.unstack(xs)) {
            v = tf.add(v, tf.matMul(xt as TF.Tensor2D, weight))
            const spikes = tf.cast(tf.greaterEqual(v, 1), 'float32')
            v = tf.sub(v, spikes)
            outs.push(tf.mean(tf.reshape(spikes, [batch, outF / voters, voters]), 2))
          }
          return tf.stack(outs)
        }),
      )
    },
  }
}

/** Every workload, at the sizes or (quick) tiny ones. */
export const workloads = (quick: boolean): readonly Workload[] => {
  const img: Dims4 = quick ? [2, 4, 8, 8] : [32, 64, 32, 32]
  return [
    quick ? linear('W1a', 4, 16, 20) : linear('W1a', 64, 784, 1000),
    quick ? linear('W1b', 8, 32, 24) : linear('W1b', 256, 1024, 1024),
    quick ? layerNormLast(4, 32) : layerNormLast(64, 1024),
    layerNormFirst(img),
    batchNormStep(img),
    maxPoolWorkload(img),
    liPoolStep(img),
    quick ? voting(4, 40, 10) : voting(256, 1000, 10),
    wta(img),
    dropout(img),
    quick ? pipeline(3, 2, 16, 20, 10) : pipeline(32, 64, 784, 1000, 10),
  ]
}
