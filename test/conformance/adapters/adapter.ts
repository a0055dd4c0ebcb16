/**
 * How a fixture's BrainCog-shaped data maps onto one of our layers. Adapters use only the
 * public API (`src/index.ts`); the runner does the rest the same way for every layer.
 */
import type { Either } from 'fp-ts/lib/Either.js'
import type { AnyLayer, DType, LayerError, Optimizer, Tensor } from '../../../src/index.js'
import type { ForwardStep } from '../fixture.js'

/** Fixture values by name: tensors, or plain numbers (e.g. `numBatchesTracked`). */
export type Values = Readonly<Record<string, Tensor | number>>

export interface Adapter {
  /**
   * The config keys the adapter reads (or deliberately ignores, as BrainCog does). A fixture
   * with any other key fails: an option nobody reads must not pass silently.
   */
  readonly configKeys: readonly string[]
  /**
   * Builds the layer from the fixture's camelCase config (a `ConfigError` fails the case). The
   * fixture's params come too: BrainCog's CustomLinear takes its weight in the constructor, so
   * its sizes are known only from them.
   */
  build(config: Readonly<Record<string, unknown>>, dtype: DType, params: Readonly<Record<string, Tensor>>): AnyLayer
  /** Our params, from the fixture's params laid over the ones `init` made. */
  params(fixture: Readonly<Record<string, Tensor>>, initial: unknown): unknown
  /** Our state, from the fixture's initial state (if any) laid over the one `init` made. */
  state(fixture: Values | undefined, initial: unknown): unknown
  /** The fixture-named view of our state, for `stateAfter`. */
  stateView?(state: unknown): Values
  /** The fixture-named view of our params, for `paramsAfter`. */
  paramsView?(params: unknown): Readonly<Record<string, Tensor>>
  /** The caller-supplied draws (`ctx.draws`) of a forward step, from its `noise` or `mask`. */
  draws?(step: ForwardStep): Tensor | undefined
  /**
   * The layer for a forward step that carries a `target` (a loss): the loss with that target
   * bound. Absent: such steps are not supported.
   */
  withTarget?(layer: AnyLayer, target: Tensor): AnyLayer
  /** A weight update (`update` steps). */
  update?(layer: AnyLayer, params: unknown, dw: Tensor): Either<LayerError, unknown>
}

/**
 * How an optimizer's fixture (`SGD`, `Adam`, `AdamW`) maps onto one of our optimizers. Such a
 * case has no layer: its params are the tree the optimizer updates, and its steps are
 * `optimizerStep`s.
 */
export interface OptimizerAdapter {
  /** The config keys the adapter reads; a fixture with any other key fails. */
  readonly configKeys: readonly string[]
  /** Builds the optimizer from the fixture's camelCase config (a `ConfigError` fails the case). */
  build(config: Readonly<Record<string, unknown>>): Optimizer
}
