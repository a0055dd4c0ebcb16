/**
 * `lossAndGrad`: a model's loss on a batch and the gradient of its params, the training step's
 * core. It composes two `vjp`s: the model's, and the loss's at the model's output.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import type { LayerError } from '../errors.js'
import type { Ctx } from '../layer/context.js'
import type { AnyLayer, ParamsOf, StateOf } from '../layer/layer.js'
import { empty } from '../layer/layer.js'
import { type Loss, withTarget } from '../loss/loss.js'
import { expectLoss } from '../loss/read.js'
import { expectLayer } from '../layer/sequential.js'
import type { Tensor } from '../tensor/tensor.js'
import { dtypeOf, flatData, full } from '../tensor/tensor.js'
import { type Cotangent, paramsVjp, vjp } from './vjp.js'

/** What {@link lossAndGrad} gives for one batch. */
export interface LossAndGrad<P, S> {
  /** The loss, one number. */
  readonly loss: number
  /** Its gradient with respect to the model's params, a tree shaped like them. */
  readonly grads: Cotangent<P>
  /** The model's new state (batch-norm running statistics, say). */
  readonly state: S
  /** The model's output (for accuracy). */
  readonly output: Tensor
}

/**
 * The loss of `model`'s output against `target` and its gradient with respect to the model's
 * params, through everything the model does (`scan`: backpropagation through time). A model
 * that is not a layer or a loss that is not a loss throws a `ConfigError` here; the step's
 * arguments are checked as `vjp` checks them, the target as `withTarget`'s. Owns its two vjps:
 * each pullback runs once, freeing the residuals as it goes, and both are disposed before it
 * returns, so on the default (resident) device a training loop's memory stays flat. Only the
 * params are differentiated: the input and the initial state are constants to the tape, so the
 * first layer's input gradient (a whole matmul or transposed convolution) is never computed.
 *
 * @example
 * import { crossEntropyLoss, customLinear, key, lossAndGrad, orThrow, tensor, train } from 'braincog-fn'
 * const fc = customLinear({ inFeatures: 2, outFeatures: 3 })
 * const { params, state } = orThrow(fc.init(key(0), [4, 2]))
 * const step = lossAndGrad(fc, crossEntropyLoss())
 * const r = orThrow(step(params, state, tensor([1, 0, 0, 1, 1, 1, 0, 0], [4, 2]), tensor([0, 1, 2, 0], [4]), train(key(1))))
 * r.grads.weight.shape // [2, 3]
 */
export const lossAndGrad = <L extends AnyLayer>(given: L, loss: Loss) => {
  // both read once, here: a model or a loss that is not one is a ConfigError, as for sequential
  const model = expectLayer('lossAndGrad', 'model', given) as L
  const bound = expectLoss('lossAndGrad', 'loss', loss)
  return (
    params: ParamsOf<L>,
    state: StateOf<L>,
    input: Tensor,
    target: Tensor,
    ctx: Ctx,
  ): E.Either<LayerError, LossAndGrad<ParamsOf<L>, StateOf<L>>> => {
    // both vjps are ours: each pullback runs once (residuals freed as it goes), then both are disposed
    // with respect to the params only: the input and the initial state are constants to the tape
    const m = paramsVjp(model, params, state, input, ctx)
    if (E.isLeft(m)) return m
    try {
      const l = vjp(withTarget(bound, target), empty, empty, m.right.output, ctx)
      if (E.isLeft(l)) return l
      let value: number
      let atOutput: ReturnType<typeof l.right.pullback>
      try {
        value = flatData(l.right.output)[0]
        atOutput = l.right.pullback(full([], 1, dtypeOf(l.right.output)), undefined, { last: true })
      } finally {
        l.right.dispose()
      }
      if (E.isLeft(atOutput)) return atOutput
      return E.map((g: { readonly params: Cotangent<ParamsOf<L>> }) => ({
        loss: value,
        grads: g.params,
        state: m.right.state,
        output: m.right.output,
      }))(m.right.pullback(atOutput.right.input, undefined, { last: true }))
    } finally {
      m.right.dispose()
    }
  }
}
