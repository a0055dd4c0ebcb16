/**
 * `recording`: a call that also returns what the layers inside a pipeline computed (spike
 * rasters, membrane potentials: snnTorch's recorded `mem`, SpikingJelly's monitors), without
 * unrolling anything by hand. The layer runs its ordinary step; the pipelines inside it report
 * each child's output and new state under the child's path, at every time step of the scans
 * around them.
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import type { LayerError } from '../errors.js'
import { type Device, DeviceTensor } from '../kernel/device.js'
import { mapLeaves } from '../kernel/tree.js'
import type { Tensor } from '../tensor/tensor.js'
import { dtypeOf, wrap } from '../tensor/tensor.js'
import { configBoolean, configObject, expectTensor, guardAllocation } from './check.js'
import { expectLayer } from './sequential.js'
import { checkCtx, type Ctx, resolveBackend } from './context.js'
import { catchStepFailure, stepOf } from './hostStep.js'
import type { AnyLayer, ParamsOf, StateOf } from './layer.js'
import { Session } from './run.js'

/** What one layer computed during a recording call, step by step. */
export interface Recorded {
  /** The layer's output at each time step it ran (one entry outside any scan). */
  readonly outputs: readonly Tensor[]
  /** The layer's new state at each step (only when asked for). */
  readonly states: readonly unknown[]
}

/** A call's result with its records, by layer path (`"2"`: the third layer of the pipeline; `"1.0"` nested). */
export interface Recording<S> {
  /** The call's output, as `apply` gives it. */
  readonly output: Tensor
  /** The new state, as `apply` gives it. */
  readonly state: S
  /** What each layer inside computed, by path. */
  readonly records: ReadonlyMap<string, Recorded>
}

/**
 * `layer.apply` that also records, for every layer inside the pipelines it contains, its output
 * (and with `{ state: true }` its state) at each step. Paths count layers from 0 in each
 * pipeline, joined by dots; inside `scan(sequential(...))` every step's values are kept, in
 * order. The records are fresh tensors; nothing passed in changes. A layer that is not one, or
 * options other than `{ state?: boolean }`, throw a `ConfigError` here.
 *
 * @example
 * import { ifNeuron, key, orThrow, recording, scan, sequential, tensor, toNested, train, votingLayer } from 'braincog-fn'
 * const net = scan(sequential(ifNeuron({ threshold: 1 }), votingLayer({ voterNum: 2 })))
 * const { params, state } = orThrow(net.init(key(0), [3, 2]))
 * const r = orThrow(recording(net)(params, state, tensor([0.6, 1.2, 0.6, 1.2, 0.6, 1.2], [3, 2]), train()))
 * r.records.get('0')!.outputs.map(toNested) // the spikes of each of the 3 steps: [[0, 1], [1, 1], [0, 1]]
 */
export const recording = <L extends AnyLayer>(given: L, options: { readonly state?: boolean } = {}) => {
  // the layer and the options read once, here: what is not one is a ConfigError
  const layer = expectLayer('recording', 'layer', given) as L
  const o = configObject<{ readonly state?: boolean }>('recording', options, false, ['state'], 'options')
  const withState = configBoolean('recording', 'options.state', o.state ?? false)
  return (
    params: ParamsOf<L>,
    state: StateOf<L>,
    input: Tensor,
    ctx: Ctx,
  ): E.Either<LayerError, Recording<StateOf<L>>> => {
    const name = `recording(${layer.name})`
    const c = checkCtx(name, ctx)
    if (E.isLeft(c)) return c
    const x = expectTensor(name, 'input', input)
    if (E.isLeft(x)) return x
    const step = stepOf(layer)
    return catchStepFailure(() =>
      guardAllocation(name, 'input', () => {
        const prepared = step.prepare(params, state, { shape: x.right.shape, dtype: dtypeOf(x.right) }, c.right)
        if (E.isLeft(prepared)) return prepared
        const session = new Session(resolveBackend(c.right) as Device<unknown>)
        const d = session.device
        // eslint-disable-next-line no-restricted-syntax -- filled while the step runs, handed out as Recorded
        const records = new Map<string, { outputs: Tensor[]; states: unknown[] }>()
        // a record is read at once (a copy: the step may hand the buffer on and free it later)
        const copyOf = (t: DeviceTensor<unknown>): Tensor => wrap(d.read(t.buffer).slice(), t.shape)
        const sink = (path: string, _step: number, output: DeviceTensor<unknown>, s: unknown): void => {
          const entry = records.get(path) ?? { outputs: [], states: [] }
          records.set(path, entry)
          entry.outputs.push(copyOf(output))
          if (withState) {
            entry.states.push(mapLeaves(s, (v) => (v instanceof DeviceTensor ? copyOf(v as DeviceTensor<unknown>) : v)))
          }
        }
        try {
          const p = session.enter(prepared.right.params)
          const s = session.enter(prepared.right.state, true)
          const r = step.run(d, p, s, new DeviceTensor(session.upload(x.right), x.right.shape), {
            ...c.right,
            recorder: { path: [], step: 0, sink },
          })
          return E.right({
            output: session.output(r.output, true),
            state: session.exit<StateOf<L>>(r.state as never, true),
            records,
          })
        } finally {
          session.close()
        }
      }),
    )
  }
}
