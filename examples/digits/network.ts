/**
 * A spiking digit classifier built only from braincog-fn layers, trained by a local rule (no
 * gradients anywhere).
 *
 * Every class owns `voters` output neurons, each holding one prototype of its class in its
 * column of a `CustomLinear` weight. One time step of a sample:
 *
 *   pixels --Poisson--> spikes [B, 784] --CustomLinear--> currents [B, 10 * voters]
 *     --LayerNorm--> currents in standard units, shifted by -offset
 *     --IFNeuron--> spikes of the neurons whose prototype matches best
 *     --WTALayer (k = 1)--> one spike per sample: lateral inhibition
 *   and VotingLayer turns the winners' spike counts into 10 class scores.
 *
 * LayerNorm is what lets one fixed threshold work for every digit: a digit with much ink drives
 * every neuron harder than a thin one, and normalizing over the neurons removes that, so only
 * neurons several standard deviations above the rest reach threshold.
 *
 * Learning (label-gated competitive Hebbian learning): while a sample of class c is shown, a
 * teacher lets only class c's neurons compete (the same LayerNorm, IF and WTA stages over
 * their currents, with NDropout silencing a random few per sample so that every prototype gets
 * its turn). Each winning spike moves its neuron's weights towards the input spikes that caused
 * it (`dw = rate * y * (s - w)`, the instar rule), and each neuron then rescales its weights to
 * unit length (synaptic scaling), so no neuron wins merely by having grown. The update goes
 * through `CustomLinear.update` with a mask of class c's columns: other classes' synapses cannot
 * change.
 *
 * @module
 */
import {
  customLinear,
  type CustomLinearParams,
  customLinearParams,
  evaluate,
  flatData,
  foldIn,
  full,
  ifNeuron,
  type Key,
  layerNorm,
  nDropout,
  empty,
  orThrow,
  poissonEncode,
  scan,
  sequential,
  split,
  type Tensor,
  train,
  uniform,
  votingLayer,
  wrap,
  wtaLayer,
} from '../../src/index.js'
import { CLASSES, type Digits, PIXELS } from './data.js'

/** What can be tuned. */
export interface NetConfig {
  /** Output neurons (prototypes) per class. */
  readonly voters: number
  /** IF threshold, in standard deviations of the normalized currents. */
  readonly threshold: number
  /** Inference: a neuron's normalized current must exceed this to charge (not drain) its membrane. */
  readonly offset: number
  /** Training: the same among the labelled class's own neurons (fewer, so lower). */
  readonly teacherOffset: number
  /** NDropout probability for the teacher's neurons. */
  readonly dropout: number
  /** Learning rate per post-synaptic spike. */
  readonly rate: number
}

/** Defaults: about 90% on 2 500 test digits after one epoch over 5 000 training digits, T = 16. */
export const defaultConfig: NetConfig = {
  voters: 30,
  threshold: 1,
  offset: 2,
  teacherOffset: 1,
  dropout: 0.1,
  rate: 0.005,
}

/** The layers, built once from the configuration. */
export const network = (cfg: NetConfig) => {
  const neurons = CLASSES * cfg.voters
  const neuron = () => ifNeuron({ threshold: cfg.threshold, reset: 'hard' })
  return {
    cfg,
    neurons,
    synapse: customLinear({ inFeatures: PIXELS, outFeatures: neurons }),
    cortex: scan(sequential(layerNorm({ normalizedShape: neurons }), neuron(), wtaLayer({ k: 1 }))),
    teacher: scan(
      sequential(
        layerNorm({ normalizedShape: cfg.voters }),
        nDropout({ p: cfg.dropout }),
        neuron(),
        wtaLayer({ k: 1 }),
      ),
    ),
    readout: votingLayer({ voterNum: cfg.voters }),
  }
}

/** The built network. */
export type Network = ReturnType<typeof network>

/** LayerNorm params of `n` channels: unit gain, every channel shifted down by `offset`. */
const shiftedNorm = (n: number, offset: number) => ({ weight: full([n], 1), bias: full([n], -offset) })

/** The learned part: the synapses (everything else is fixed). */
export type Learned = CustomLinearParams

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

/** A permutation of `0..n-1` drawn from `k` (Fisher-Yates). */
export const permutation = (k: Key, n: number): number[] => {
  const u = uniform(k, n, 'float64')
  const p = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(u[i] * (i + 1))
    ;[p[i], p[j]] = [p[j], p[i]]
  }
  return p
}

/** Rows `indices` of `images [n, 784]` as a new `[indices.length, 784]` tensor of rates. */
export const rows = (images: Tensor, indices: readonly number[]): Tensor => {
  const src = flatData(images)
  const out = new Float32Array(indices.length * PIXELS)
  indices.forEach((r, i) => out.set(src.subarray(r * PIXELS, (r + 1) * PIXELS), i * PIXELS))
  return wrap(out, [indices.length, PIXELS])
}

/** The training digits of each class. */
const byClass = (labels: readonly number[]): number[][] => {
  const groups: number[][] = Array.from({ length: CLASSES }, () => [])
  labels.forEach((c, i) => groups[c].push(i))
  return groups
}

/** Scales each column of a `[rows, cols]` matrix (flat) to unit length, in place. */
const normalizeColumns = (
  w: Float32Array | Float64Array,
  nRows: number,
  cols: readonly number[],
  nCols: number,
): void => {
  for (const j of cols) {
    let sq = 0
    for (let i = 0; i < nRows; i++) sq += w[i * nCols + j] ** 2
    const inv = sq > 0 ? 1 / Math.sqrt(sq) : 0
    for (let i = 0; i < nRows; i++) w[i * nCols + j] *= inv
  }
}

// ---------------------------------------------------------------------------------------------
// init
// ---------------------------------------------------------------------------------------------

/**
 * Initial synapses: each neuron starts as a copy of one training digit of its class (picked by
 * the key), scaled to unit length, as k-means is seeded; random weights would leave most
 * neurons never winning.
 */
export const initSynapses = (net: Network, train: Digits, k: Key): Learned => {
  const { voters } = net.cfg
  const w = new Float32Array(PIXELS * net.neurons)
  const pixels = flatData(train.images)
  byClass(train.labels).forEach((members, c) => {
    const picks = permutation(foldIn(k, c), members.length)
    for (let v = 0; v < voters; v++) {
      const img = members[picks[v % members.length]]
      const j = c * voters + v
      for (let i = 0; i < PIXELS; i++) w[i * net.neurons + j] = pixels[img * PIXELS + i]
    }
  })
  const cols = Array.from({ length: net.neurons }, (_, j) => j)
  normalizeColumns(w, PIXELS, cols, net.neurons)
  return orThrow(customLinearParams({ weight: wrap(w, [PIXELS, net.neurons]) }))
}

/** Mask `[784, neurons]` of ones in class c's columns: the label gate of `update`. */
export const classMask = (net: Network, c: number): Tensor => {
  const { voters } = net.cfg
  const m = new Float32Array(PIXELS * net.neurons)
  for (let i = 0; i < PIXELS; i++) m.fill(1, i * net.neurons + c * voters, i * net.neurons + (c + 1) * voters)
  return wrap(m, [PIXELS, net.neurons])
}

// ---------------------------------------------------------------------------------------------
// inference
// ---------------------------------------------------------------------------------------------

/** Input currents `[T, B, neurons]` of Poisson spike trains `[T, B, 784]`. */
export const currentsOf = (net: Network, syn: Learned, spikes: Tensor): Tensor =>
  orThrow(net.synapse.apply(syn, empty, spikes, evaluate())).output

/**
 * Class scores after every step: `[T, B, 10]`, the readout of the winners' spike counts up to
 * and including step t (so one run gives the answer for every shorter presentation too).
 */
export const scoresOverTime = (net: Network, currents: Tensor, k: Key): Tensor => {
  const [T, B] = currents.shape
  const params = [shiftedNorm(net.neurons, net.cfg.offset), empty, empty] as const
  const state = orThrow(net.cortex.init(k, currents.shape)).state
  // WTA breaks ties with noise in eval too, so inference needs a key
  const spikes = orThrow(net.cortex.apply(params, state, currents, { ...evaluate(), key: k })).output
  const counts = new Float32Array(spikes.size)
  const s = flatData(spikes)
  const step = B * net.neurons
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < step; i++) counts[t * step + i] = (t > 0 ? counts[(t - 1) * step + i] : 0) + s[t * step + i]
  }
  return orThrow(net.readout.apply(empty, empty, wrap(counts, [T, B, net.neurons]), evaluate())).output
}

/** The predicted class of each sample from scores `[B, 10]`; -1 when no neuron fired. */
export const predict = (scores: Float32Array | Float64Array, batch: number): number[] =>
  Array.from({ length: batch }, (_, b) => {
    let best = -1
    let top = 0
    for (let c = 0; c < CLASSES; c++) {
      const v = scores[b * CLASSES + c]
      if (v > top) [best, top] = [c, v]
    }
    return best
  })

// ---------------------------------------------------------------------------------------------
// learning
// ---------------------------------------------------------------------------------------------

/**
 * The weight change for class c from pre-synaptic spikes `[T, B, 784]` and the class's
 * post-synaptic spikes `[T, B, voters]`: the instar rule summed over steps and samples, then
 * synaptic scaling to unit length; zero outside class c's columns.
 */
export const hebbian = (net: Network, syn: Learned, pre: Tensor, post: Tensor, c: number): Tensor => {
  const { voters, rate } = net.cfg
  const n = net.neurons
  const w = flatData(syn.weight)
  const s = flatData(pre)
  const y = flatData(post)
  const stepsTimesBatch = post.size / voters
  const next = new Float64Array(PIXELS * voters)
  const fired = new Float64Array(voters)
  for (let i = 0; i < PIXELS; i++) for (let v = 0; v < voters; v++) next[i * voters + v] = w[i * n + c * voters + v]
  // accumulate sum_r y[r, v] * s[r, :] and sum_r y[r, v]; post spikes are rare (one per step)
  const pull = new Float64Array(PIXELS * voters)
  for (let r = 0; r < stepsTimesBatch; r++) {
    for (let v = 0; v < voters; v++) {
      const yv = y[r * voters + v]
      if (yv === 0) continue
      fired[v] += yv
      for (let i = 0; i < PIXELS; i++) if (s[r * PIXELS + i] !== 0) pull[i * voters + v] += yv * s[r * PIXELS + i]
    }
  }
  for (let i = 0; i < PIXELS; i++) {
    for (let v = 0; v < voters; v++) {
      const at = i * voters + v
      next[at] += rate * (pull[at] - fired[v] * next[at])
    }
  }
  const changed = Array.from({ length: voters }, (_, v) => v).filter((v) => fired[v] > 0)
  normalizeColumns(next, PIXELS, changed, voters)
  const dw = new Float32Array(PIXELS * n)
  for (let i = 0; i < PIXELS; i++) {
    for (const v of changed) dw[i * n + c * voters + v] = next[i * voters + v] - w[i * n + c * voters + v]
  }
  return wrap(dw, [PIXELS, n])
}

/** One class-pure batch: digits `indices`, all of class `c`. */
export interface Batch {
  readonly c: number
  readonly indices: readonly number[]
}

/**
 * The training batches of one epoch: each class's digits shuffled and cut into batches of
 * `size`, all batches then shuffled. Class-pure batches let one mask gate a whole update.
 */
export const epochBatches = (labels: readonly number[], size: number, k: Key): Batch[] => {
  const [kClasses, kOrder] = split(k, 2)
  const batches: Batch[] = []
  byClass(labels).forEach((members, c) => {
    const order = permutation(foldIn(kClasses, c), members.length).map((i) => members[i])
    for (let at = 0; at < order.length; at += size) batches.push({ c, indices: order.slice(at, at + size) })
  })
  return permutation(kOrder, batches.length).map((i) => batches[i])
}

/**
 * Shows one batch and learns from it. Returns the new synapses and how many of the batch the
 * network classified correctly before learning from it (online training accuracy).
 */
export const trainBatch = (
  net: Network,
  syn: Learned,
  masks: readonly Tensor[],
  data: Digits,
  batch: Batch,
  steps: number,
  k: Key,
): { syn: Learned; correct: number } => {
  const [kEnc, kCortex, kTeacher] = split(k, 3)
  const { voters } = net.cfg
  const pre = poissonEncode(kEnc, rows(data.images, batch.indices), steps)
  const currents = currentsOf(net, syn, pre)
  const [T, B] = currents.shape
  const scores = scoresOverTime(net, currents, kCortex).pick(T - 1) as Tensor
  const correct = predict(flatData(scores), B).filter((p) => p === batch.c).length
  // the teacher: only the labelled class's neurons compete
  const own = currents.hi(T, B, (batch.c + 1) * voters).lo(0, 0, batch.c * voters) as Tensor
  const params = [shiftedNorm(voters, net.cfg.teacherOffset), empty, empty, empty] as const
  const state = orThrow(net.teacher.init(kTeacher, own.shape)).state
  const post = orThrow(net.teacher.apply(params, state, own, train(kTeacher))).output
  const dw = hebbian(net, syn, pre, post, batch.c)
  const next = orThrow(net.synapse.update({ ...syn, mask: masks[batch.c] }, dw))
  return { syn: { ...next, mask: null }, correct }
}
