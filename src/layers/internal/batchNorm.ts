/**
 * The batch-norm step shared by ThresholdDependentBatchNorm2d and TEBN: checks of params and
 * running statistics, training (batch statistics, running-statistics update) and eval (running
 * statistics). The numerics are the shared helpers of `normalize.ts`; this module only decides
 * which statistics to use and builds the new state.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import type { Backend, Stats } from '../../backend/backend.js'
import type { Device, DeviceProgram } from '../../device/device.js'
import { fail, type LayerError } from '../../errors.js'
import { expectSameShape, expectTensor } from '../../layer/check.js'
import type { Data, DType, Rank1, Shape, Tensor } from '../../tensor/tensor.js'
import { alloc, dtypeOf, flatData, full, wrap, zeros } from '../../tensor/tensor.js'
import { channelMoments, channelScaleShift, normalizePerChannel, updateRunningStats } from './normalize.js'

/** Learnable per-channel affine parameters of a batch norm. */
export interface BatchNormParams {
  /** Scale per channel, `[C]`. */
  readonly weight: Tensor<Rank1>
  /** Shift per channel, `[C]`. */
  readonly bias: Tensor<Rank1>
}

/** Running statistics of a batch norm (PyTorch's buffers), carried as state. */
export interface BatchNormState {
  /** Running mean per channel, `[C]` (starts at 0). */
  readonly runningMean: Tensor<Rank1>
  /** Running unbiased variance per channel, `[C]` (starts at 1). */
  readonly runningVar: Tensor<Rank1>
  /** Number of training batches seen so far (PyTorch's `num_batches_tracked`). */
  readonly numBatchesTracked: number
}

/** Fresh running statistics: mean 0, variance 1, no batches. */
export const initialStats = (channels: number, dtype: DType): BatchNormState => ({
  runningMean: zeros([channels], dtype),
  runningVar: full([channels], 1, dtype),
  numBatchesTracked: 0,
})

/** Checks that each named tensor is a `[channels]` float tensor. */
export const expectChannelTensors = (
  layer: string,
  channels: number,
  tensors: Readonly<Record<string, unknown>>,
): E.Either<LayerError, void> => {
  for (const [argument, t] of Object.entries(tensors)) {
    const ok = E.chain((x: Tensor) => expectSameShape(layer, argument, x.shape, [channels]))(
      expectTensor(layer, argument, t),
    )
    if (E.isLeft(ok)) return ok
  }
  return E.right(undefined)
}

/** Where and how to run one batch-norm step over x viewed as [outer, channels, inner]. */
export interface BatchNormCall {
  readonly layer: string
  readonly backend: Backend
  readonly x: Data
  readonly dtype: DType
  readonly outer: number
  readonly channels: number
  readonly inner: number
  readonly training: boolean
  readonly eps: number
  readonly momentum: number
  /**
   * TEBN's per-time-step scale: block `t` of `blockOuter` consecutive outer rows is multiplied
   * by `gains[t]` after normalizing (absent: no scale).
   */
  readonly gains?: { readonly values: ArrayLike<number>; readonly blockOuter: number }
}

/**
 * One batch-norm forward. Training normalizes with the batch's biased variance and moves the
 * running statistics towards the batch's (unbiased variance), counting the batch; eval uses
 * the running statistics and returns the state unchanged. Nothing passed in is modified.
 */
export const batchNormStep = (
  call: BatchNormCall,
  params: BatchNormParams,
  state: BatchNormState,
): E.Either<LayerError, { readonly out: Data; readonly state: BatchNormState }> => {
  const { layer, backend, x, outer, channels, inner } = call
  const count = outer * inner
  if (call.training && count < 2) {
    // PyTorch refuses this too: the unbiased variance of one value is undefined
    return fail(layer, 'input', 'more than 1 value per channel in training mode', `${count}`)
  }
  const weight = flatData(params.weight)
  const bias = flatData(params.bias)
  const batch = call.training ? channelMoments(backend, x, outer, channels, inner) : undefined
  const mean = batch ? batch.mean : flatData(state.runningMean)
  const variance = batch ? batch.variance : flatData(state.runningVar)
  const out = alloc(x.length, call.dtype)
  if (call.gains === undefined) {
    normalizePerChannel(backend, out, x, outer, channels, inner, mean, variance, weight, bias, call.eps)
  } else {
    const block = call.gains.blockOuter * channels * inner
    for (let t = 0; t < call.gains.values.length; t++) {
      const at = t * block
      normalizePerChannel(
        backend,
        out.subarray(at, at + block) as Data,
        x.subarray(at, at + block) as Data,
        call.gains.blockOuter,
        channels,
        inner,
        mean,
        variance,
        weight,
        bias,
        call.eps,
        call.gains.values[t],
      )
    }
  }
  if (batch === undefined) return E.right({ out, state })
  const statsDtype = dtypeOf(state.runningMean)
  const next = updateRunningStats(
    flatData(state.runningMean),
    flatData(state.runningVar),
    batch,
    call.momentum,
    statsDtype,
  )
  return E.right({
    out,
    state: {
      runningMean: wrap(next.runningMean, [channels]),
      runningVar: wrap(next.runningVar, [channels]),
      numBatchesTracked: state.numBatchesTracked + 1,
    },
  })
}

/** Run-time checks of a batch-norm call: input is a tensor, params and statistics are `[C]`. */
export const checkBatchNormArgs = (
  layer: string,
  channels: number,
  input: unknown,
  params: BatchNormParams,
  state: BatchNormState,
): E.Either<LayerError, void> => {
  const x = expectTensor(layer, 'input', input)
  if (E.isLeft(x)) return x
  const p = checkBatchNormParams(layer, channels, params)
  if (E.isLeft(p)) return p
  return checkBatchNormState(layer, channels, state)
}

/** Checks a batch norm's params: `weight` and `bias` are `[C]` tensors. */
export const checkBatchNormParams = (
  layer: string,
  channels: number,
  params: BatchNormParams,
): E.Either<LayerError, void> =>
  expectChannelTensors(layer, channels, { 'params.weight': params?.weight, 'params.bias': params?.bias })

/** Checks running statistics: `[C]` tensors and a batch count that is an integer >= 0. */
export const checkBatchNormState = (
  layer: string,
  channels: number,
  state: BatchNormState,
): E.Either<LayerError, void> => {
  const tensors = expectChannelTensors(layer, channels, {
    'state.runningMean': state?.runningMean,
    'state.runningVar': state?.runningVar,
  })
  if (E.isLeft(tensors)) return tensors
  const n = state.numBatchesTracked
  return typeof n === 'number' && Number.isInteger(n) && n >= 0
    ? E.right(undefined)
    : fail(layer, 'state.numBatchesTracked', 'an integer >= 0', String(n))
}

// ---------------------------------------------------------------------------------------------
// device form (eval mode)
// ---------------------------------------------------------------------------------------------

/** An eval program's state: the running statistics (on the host, unchanged) and what they fold to. */
interface EvalState {
  readonly state: BatchNormState
  readonly scale: Stats
  readonly shift: Stats
}

/**
 * The device form of a batch norm in eval mode, for valid params (the caller checks them):
 * `enter` checks the running statistics and folds them with the params into per-channel
 * scale and shift ({@link channelScaleShift}, as {@link batchNormStep}'s eval path does), and
 * each step is one `channelAffine`. The statistics stay on the host, unchanged. With `gains`
 * (TEBN), time step t's scale and shift carry `gains[t]`, repeated for each of its
 * `blockOuter` rows, over x viewed as `[1, outer * channels, inner]`.
 */
export const batchNormEvalProgram = <B>(
  device: Device<B>,
  call: Omit<BatchNormCall, 'backend' | 'x' | 'dtype' | 'training' | 'momentum'>,
  params: BatchNormParams,
  outputShape: Shape,
): DeviceProgram<BatchNormState, B, EvalState> => {
  const { layer, outer, channels, inner, eps, gains } = call
  const weight = flatData(params.weight)
  const bias = flatData(params.bias)
  const fold = (state: BatchNormState): EvalState => {
    const mean = flatData(state.runningMean)
    const variance = flatData(state.runningVar)
    if (gains === undefined) return { state, ...channelScaleShift(channels, mean, variance, weight, bias, eps) }
    const scale = new Float64Array(outer * channels)
    const shift = new Float64Array(outer * channels)
    for (let t = 0; t < gains.values.length; t++) {
      const one = channelScaleShift(channels, mean, variance, weight, bias, eps, gains.values[t])
      for (let b = 0; b < gains.blockOuter; b++) {
        scale.set(one.scale, (t * gains.blockOuter + b) * channels)
        shift.set(one.shift, (t * gains.blockOuter + b) * channels)
      }
    }
    return { state, scale, shift }
  }
  const [rows, width] = gains === undefined ? [outer, channels] : [1, outer * channels]
  return {
    outputShape,
    enter: (state) => E.map(() => fold(state))(checkBatchNormState(layer, channels, state)),
    step: (folded, x) => {
      const output = device.channelAffine(x, rows, width, inner, folded.scale, folded.shift)
      device.free(x)
      return E.right({ output, state: folded })
    },
    exit: (folded) => folded.state,
    discard: () => undefined,
    dispose: () => undefined,
  }
}
