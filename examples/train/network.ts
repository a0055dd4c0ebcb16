/**
 * The demo's networks, built only from braincog-fn's layers.
 *
 * The spiking CNN trained with surrogate gradients (BPTT): conv 1->16 5x5 (padding 2), tdBN,
 * LIFNode, max pool 2; conv 16->32 5x5 (padding 2), tdBN, LIFNode, max pool 2; a linear layer
 * 1568 -> 10; T time steps of direct input; the mean over time is the readout. The first
 * convolution and its batch norm see the same image at every step, so they run once, before the
 * image is repeated over time; everything after runs on `[T, N, ...]`, the stateless layers
 * time-merged (one call over all T*N images) and the neurons scanned over T. A batch is a new
 * sample: the scans hand back their neurons at rest (`state: 'reset'`), so a training step
 * reads no membrane potentials back; the batch norms' running statistics carry on.
 *
 * @module
 */
import {
  conv2d,
  customLinear,
  flatten,
  lifNode,
  maxPool,
  meanOverTime,
  repeatSteps,
  scan,
  sequential,
  thresholdDependentBatchNorm2d,
  timeMerged,
} from '../../src/index.js'

/** The spiking CNN over `steps` time steps: `[N, 1, 28, 28]` images in, `[N, 10]` class scores out. */
export const spikingCnn = (steps: number) =>
  sequential(
    conv2d({ inChannels: 1, outChannels: 16, kernelSize: 5, padding: 2, bias: false }),
    thresholdDependentBatchNorm2d({ numFeatures: 16, alpha: 1 }),
    repeatSteps({ steps }),
    scan(lifNode(), { state: 'reset' }),
    timeMerged(maxPool({ kernelSize: 2 })),
    timeMerged(conv2d({ inChannels: 16, outChannels: 32, kernelSize: 5, padding: 2, bias: false })),
    thresholdDependentBatchNorm2d({ numFeatures: 32, alpha: 1, timeAware: true }),
    scan(lifNode(), { state: 'reset' }),
    timeMerged(maxPool({ kernelSize: 2 })),
    flatten({ startDim: 2 }),
    customLinear({ inFeatures: 32 * 7 * 7, outFeatures: 10, bias: true }),
    meanOverTime(),
  )

/** The paths (in {@link spikingCnn}) of the two spiking layers, for `recording`. */
export const spikingLayers = { first: '3', second: '7' } as const

/** The spiking CNN's type. */
export type SpikingCnn = ReturnType<typeof spikingCnn>
