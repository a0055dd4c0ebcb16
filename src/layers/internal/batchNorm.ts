/**
 * The one batch-norm layer that ThresholdDependentBatchNorm2d and TEBN are built from. Each
 * channel is normalized with the batch's mean and biased variance (training; the running
 * statistics then move towards the batch's, with the unbiased variance) or with the running
 * statistics (eval), then scaled and shifted, and optionally multiplied by a gain per time step
 * (TEBN's `p`): for tdBN the gains are simply absent (one step, gain 1), so both layers run the
 * same kernels: moments, `channelScaleShift`, `channelAffine`, `runningStats`.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { layerFailure, type LayerError } from '../../errors.js'
import { DeviceTensor } from '../../kernel/device.js'
import { defineLayer } from '../../layer/define.js'
import type { Layer } from '../../layer/layer.js'
import { count, record, type Schema, tensorOf } from '../../layer/schema.js'
import type { Axes, Rank1, Shape, Tensor } from '../../tensor/tensor.js'
import { full, zeros } from '../../tensor/tensor.js'

// ---------------------------------------------------------------------------------------------
// model
// ---------------------------------------------------------------------------------------------

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

/** How one batch-norm layer sees its input. */
export interface BatchNormView {
  /** The input viewed as `[outer, channels, inner]`, `outer` made of `steps` equal blocks. */
  readonly outer: number
  readonly inner: number
  /** Number of time steps (blocks of `outer` with their own gain); 1 without gains. */
  readonly steps: number
}

/** A batch-norm layer's configuration, as its constructor checked it. */
export interface BatchNormSpec {
  /** The layer's name. */
  readonly name: string
  /** Number of channels C. */
  readonly channels: number
  /** Added to the variance before the square root. */
  readonly eps: number
  /** Weight of the batch in the running statistics. */
  readonly momentum: number
  /** The output (= input) shape, or why an input is not accepted. */
  readonly outputShape: (shape: Shape) => E.Either<LayerError, Shape>
  /** How a (valid) input shape views as `[outer, channels, inner]`. */
  readonly view: (shape: Shape) => BatchNormView
  /** The initial weight (tdBN: `alpha * threshold`). */
  readonly initialWeight: number
  /** TEBN: the number of time steps, each with a learnable gain `p[t]` (init 1); absent for tdBN. */
  readonly gainSteps?: number
}

// ---------------------------------------------------------------------------------------------
// layer
// ---------------------------------------------------------------------------------------------

/** A batch-norm layer from its spec. */
export const batchNormLayer = <P extends BatchNormParams>(spec: BatchNormSpec): Layer<P, BatchNormState, Axes, Axes> => {
  const { name, channels, eps, momentum, gainSteps } = spec
  const params = record({
    weight: tensorOf([channels]),
    bias: tensorOf([channels]),
    ...(gainSteps === undefined ? {} : { p: tensorOf([gainSteps]) }),
  }) as unknown as Schema<P>
  const state = record<BatchNormState>({
    runningMean: tensorOf([channels]),
    runningVar: tensorOf([channels]),
    numBatchesTracked: count,
  })

  return defineLayer<P, BatchNormState>({
    name,
    outputShape: spec.outputShape,
    params,
    state,
    init: (_key, _shape, dtype) => ({
      params: {
        weight: full([channels], spec.initialWeight, dtype),
        bias: zeros([channels], dtype),
        ...(gainSteps === undefined ? {} : { p: full([gainSteps], 1, dtype) }),
      } as unknown as P,
      state: { runningMean: zeros([channels], dtype), runningVar: full([channels], 1, dtype), numBatchesTracked: 0 },
    }),
    check: (_params, _state, input, ctx) => {
      const { outer, inner } = spec.view(input.shape)
      // PyTorch refuses this too: the unbiased variance of one value is undefined
      return ctx.training && outer * inner < 2
        ? layerFailure(name, 'input', 'more than 1 value per channel in training mode', `${outer * inner}`)
        : E.right(undefined)
    },
    run: (d, p, s, x, ctx) => {
      const { outer, inner, steps } = spec.view(x.shape)
      const view = { outer, channels, inner }
      const batch = ctx.training ? d.momentsPerChannel(x.buffer, view) : undefined
      const mean = batch ? batch.mean : s.runningMean.buffer
      const variance = batch ? batch.variance : s.runningVar.buffer
      const gains = gainSteps === undefined ? null : (p as unknown as { readonly p: DeviceTensor<typeof x.buffer> }).p.buffer
      const fold = d.channelScaleShift(mean, variance, p.weight.buffer, p.bias.buffer, gains, { channels, steps, eps })
      const y = d.channelAffine(x.buffer, fold.scale, fold.shift, { ...view, steps })
      d.free(fold.scale)
      d.free(fold.shift)
      if (batch === undefined) return { output: new DeviceTensor(y, x.shape), state: s }
      const running = d.runningStats(s.runningMean.buffer, s.runningVar.buffer, batch.mean, batch.variance, {
        momentum,
        count: outer * inner,
      })
      d.free(batch.mean)
      d.free(batch.variance)
      return {
        output: new DeviceTensor(y, x.shape),
        state: {
          runningMean: new DeviceTensor(running.mean, [channels]),
          runningVar: new DeviceTensor(running.variance, [channels]),
          numBatchesTracked: s.numBatchesTracked + 1,
        },
      }
    },
  })
}
