/**
 * Losses: pure, differentiable functions of a prediction and a constant target, written with
 * kernels like any layer. `crossEntropyLoss` and `mseLoss` follow `torch.nn.functional`
 * (mean reduction). `withTarget` turns a loss and a target into a layer with a scalar output,
 * and `lossAndGrad` gives a model's loss on a batch with the gradient of its params.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { chain } from '../either.js'
import { describeValue, layerFailure, type LayerError } from '../errors.js'
import { type Device, DeviceTensor } from '../kernel/device.js'
import { uploadTensor } from '../kernel/tree.js'
import { configNumber, configObject, expectBackend, expectDtype, expectSameShape, expectTensor, showShape } from '../layer/check.js'
import { defineLayer } from '../layer/define.js'
import type { Layer, NoConfig, NoParams, NoState, TensorInfo } from '../layer/layer.js'
import { empty } from '../layer/layer.js'
import { record } from '../layer/schema.js'
import { expectLoss, lossExpected, readLoss } from './read.js'
import type { Axes, Tensor } from '../tensor/tensor.js'
import { flatData, sizeOf } from '../tensor/tensor.js'

/** A loss: checks a prediction's shape and dtype against a target, and computes one value on a device. */
export interface Loss {
  /** The name used in errors, e.g. `CrossEntropyLoss`. */
  readonly name: string
  /** Whether a target fits predictions of `prediction`'s shape and dtype (the target is revived, checked). */
  check(prediction: TensorInfo, target: unknown): E.Either<LayerError, Tensor>
  /** The loss, one value, from the prediction and the target (a constant) on a device. */
  run<B>(device: Device<B>, prediction: DeviceTensor<B>, target: B): B
}

// ---------------------------------------------------------------------------------------------
// losses
// ---------------------------------------------------------------------------------------------

/** Cross-entropy configuration. */
export interface CrossEntropyConfig {
  /** Label smoothing in [0, 1] (default 0): the target becomes `(1 - s) onehot + s / C`. */
  readonly labelSmoothing?: number
}

/**
 * PyTorch's `F.cross_entropy` (mean over the batch) of logits `[N, C]` against class indices
 * `[N]` (integers in [0, C), held as floats), with label smoothing; the log-softmax is stable
 * (logits around 30 in float32 are fine). Its gradient is `(softmax(x) - q) / N`.
 *
 * @example
 * import { crossEntropyLoss, lossValue, orThrow, tensor } from 'braincog-fn'
 * orThrow(lossValue(crossEntropyLoss(), tensor([0, 0], [1, 2]), tensor([1], [1]))) // ln 2 = 0.693...
 */
export const crossEntropyLoss = (config: CrossEntropyConfig = {}): Loss => {
  const name = 'CrossEntropyLoss'
  const c = configObject<CrossEntropyConfig>(name, config, false, ['labelSmoothing'])
  const smoothing = configNumber(name, 'config.labelSmoothing', c.labelSmoothing ?? 0, { min: 0, max: 1 })
  return {
    name,
    check: (prediction, target) => {
      if (prediction.shape.length !== 2) {
        return layerFailure(name, 'prediction', 'logits [N, C]', showShape(prediction.shape))
      }
      const [n, classes] = prediction.shape
      const t = chain((x: Tensor) => E.map(() => x)(expectSameShape(name, 'target', x.shape, [n])))(
        expectTensor(name, 'target', target),
      )
      if (E.isLeft(t)) return t
      const labels = flatData(t.right)
      for (let i = 0; i < labels.length; i++) {
        const y = labels[i]
        if (!Number.isInteger(y) || y < 0 || y >= classes) {
          return layerFailure(name, 'target', `class indices in [0, ${classes})`, `${describeValue(y)} at ${i}`)
        }
      }
      return E.map(() => t.right)(expectDtype(name, 'target', t.right, prediction.dtype, "the prediction's"))
    },
    run: (d, prediction, target) =>
      d.crossEntropy(prediction.buffer, target, { n: prediction.shape[0], c: prediction.shape[1], smoothing }),
  }
}

/**
 * PyTorch's `F.mse_loss` (mean over every element) of a prediction against a target of the same
 * shape, e.g. firing rates `[N, C]` against one-hot rows (SpikingJelly's readout). Gradient
 * `2 (x - target) / size`. It takes no options: a config other than `undefined` or `{}` throws a
 * `ConfigError`.
 *
 * @example
 * import { lossValue, mseLoss, orThrow, tensor } from 'braincog-fn'
 * orThrow(lossValue(mseLoss(), tensor([1, 0], [1, 2]), tensor([0, 0], [1, 2]))) // 0.5
 */
export const mseLoss = (config?: NoConfig): Loss => {
  const name = 'MSELoss'
  configObject<NoConfig>(name, config, false, [])
  return {
    name,
    check: (prediction, target) =>
      chain((t: Tensor) =>
        E.map(() => t)(
          chain(() => expectDtype(name, 'target', t, prediction.dtype, "the prediction's"))(
            expectSameShape(name, 'target', t.shape, prediction.shape),
          ),
        ),
      )(expectTensor(name, 'target', target)),
    run: (d, prediction, target) => {
      const size = sizeOf(prediction.shape)
      const diff = d.axpy(prediction.buffer, target, { alpha: -1 })
      const squares = d.mul(diff, diff)
      const sum = d.sumAlongAxis(squares, { outer: 1, axis: size, inner: 1 })
      const mean = d.scale(sum, { alpha: 1 / size })
      for (const b of [diff, squares, sum]) d.free(b)
      return mean
    },
  }
}

// ---------------------------------------------------------------------------------------------
// using a loss
// ---------------------------------------------------------------------------------------------

/**
 * A loss with its target bound, as a layer: the prediction in, the loss out (shape `[]`). So
 * `sequential(model, withTarget(loss, labels))` is a scalar function of the model's params,
 * ready for `vjp` (a cotangent of 1) or `valueAndGrad`. A `loss` that is not one throws a
 * `ConfigError` (`withTarget: loss: …`); the target is read once here, and one that is not a
 * tensor, or does not fit a prediction, is `apply`'s `LayerError`.
 *
 * @example
 * import { crossEntropyLoss, evaluate, orThrow, tensor, withTarget } from 'braincog-fn'
 * const ce = withTarget(crossEntropyLoss(), tensor([1], [1]))
 * orThrow(ce.apply({}, {}, tensor([0, 0], [1, 2]), evaluate())).output.shape // []
 */
export const withTarget = (loss: Loss, target: Tensor): Layer<NoParams, NoState, Axes, readonly []> =>
  boundLoss(expectLoss('withTarget', 'loss', loss), target)

/** The layer of a loss already read and a target (read once here: apply checks what was read). */
const boundLoss = (loss: Loss, target: unknown): Layer<NoParams, NoState, Axes, readonly []> => {
  // a target that is not a tensor is apply's LayerError, as any other mismatch with a prediction
  const read = expectTensor(loss.name, 'target', target)
  return defineLayer<NoParams, NoState, Axes, readonly []>({
    name: loss.name,
    outputShape: () => E.right([]),
    params: record({}),
    state: record({}),
    init: () => ({ params: empty, state: empty }),
    check: (_params, _state, input) => (E.isLeft(read) ? read : loss.check(input, read.right)),
    run: (d, _params, state, x) => {
      const t = uploadTensor(d, (read as E.Right<Tensor>).right)
      const value = loss.run(d, x, t)
      d.free(t)
      return { output: new DeviceTensor(value, []), state }
    },
  })
}


/**
 * The loss of a prediction against a target, as a number, on `backend` (default: as `apply`'s).
 *
 * @example
 * import { lossValue, mseLoss, orThrow, tensor } from 'braincog-fn'
 * orThrow(lossValue(mseLoss(), tensor([3], [1]), tensor([1], [1]))) // 4
 */
export const lossValue = (
  loss: Loss,
  prediction: Tensor,
  target: Tensor,
  backend?: Device<unknown>,
): E.Either<LayerError, number> => {
  const fn = 'lossValue'
  const l = readLoss(loss)
  if ('problem' in l) return layerFailure(fn, 'loss', lossExpected, l.problem)
  if (backend !== undefined) {
    const d = expectBackend(fn, 'backend', backend)
    if (E.isLeft(d)) return d
  }
  return E.map((r: { readonly output: Tensor }) => flatData(r.output)[0])(
    boundLoss(l.loss, target).apply(empty, empty, prediction, { training: false, backend }),
  )
}

