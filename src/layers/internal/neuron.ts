/**
 * The one neuron layer behind IFNeuron, IFNode and LIFNode: integrate into the membrane
 * potential `v`, fire, reset, all in the `neuron` kernel; the models differ only in its
 * attributes.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { defineLayer } from '../../layer/define.js'
import { DeviceTensor } from '../../kernel/device.js'
import type { NeuronAttrs } from '../../kernel/kernels.js'
import type { Layer, NoParams } from '../../layer/layer.js'
import { empty } from '../../layer/layer.js'
import { likeInput, nullable, record } from '../../layer/schema.js'
import type { Axes, Tensor } from '../../tensor/tensor.js'

/** A neuron layer's state: the membrane potential, or `null` when nothing has been integrated yet. */
export interface NeuronState {
  /** The membrane potential after the last step's reset, shaped like the input. */
  readonly v: Tensor | null
}

/** A neuron layer named `name` running the `neuron` kernel with `attrs`: any shape in, spikes of that shape out. */
export const neuronLayer = (name: string, attrs: NeuronAttrs): Layer<NoParams, NeuronState, Axes, Axes> =>
  defineLayer<NoParams, NeuronState>({
    name,
    outputShape: (shape) => E.right(shape),
    params: record({}),
    state: record({ v: nullable(likeInput) }),
    init: () => ({ params: empty, state: { v: null } }),
    run: (d, _params, state, x) => {
      const next = d.neuron(state.v === null ? null : state.v.buffer, x.buffer, attrs)
      return { output: new DeviceTensor(next.spikes, x.shape), state: { v: new DeviceTensor(next.v, x.shape) } }
    },
    reset: () => ({ v: null }),
  })
