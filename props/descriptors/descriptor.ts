/**
 * A descriptor says how to exercise one layer generically: how to build it, which input shapes
 * it accepts, and how to draw inputs. The laws in `props/laws.prop.ts` and
 * `props/gradients.prop.ts` run over every entry.
 */
import type fc from 'fast-check'
import type { AnyLayer, Shape, SurrogateName, Tensor } from '../../src/index.js'

/**
 * A spiking neuron's step as BrainCog's formulas state it, for the gradient laws' hand-written
 * BPTT: `u = v + x` (IF) or `u = v + (x - v) / tau` (LIF), fire where `u - threshold > 0` (or
 * `>= 0`), reset softly (subtract the threshold) or hard (to `vReset`); backward, the spike's
 * derivative is the surrogate's (`'none'`: no gradient through the spike).
 */
export interface NeuronModel {
  readonly model: 'if' | 'lif'
  /** The LIF time constant (1 for IF). */
  readonly tau: number
  readonly threshold: number
  readonly fireAt: '>' | '>='
  readonly reset: 'soft' | 'hard'
  readonly vReset: number
  /** BrainCog's surrogate class, or `'none'` (a conversion neuron). */
  readonly surrogate: SurrogateName | 'none'
  /** The surrogate's alpha. */
  readonly alpha: number
}

/**
 * How a layer's output depends on its input, params and state, which decides how the gradient
 * laws check its pullback:
 *
 * - `smooth`: differentiable everywhere the laws evaluate it; central finite differences must
 *   agree on every sample (none may be skipped);
 * - `piecewise`: smooth between ties (max pooling, winner selection), with kinks or jumps at
 *   ties; finite differences away from them, samples near one detected and skipped (counted);
 * - `spikes`: piecewise constant (a spike is a step function) with a surrogate gradient;
 *   checked against a hand-written BPTT of the neuron's formulas, never finite differences.
 */
export type Differentiability =
  | { readonly kind: 'smooth' }
  | { readonly kind: 'piecewise' }
  | { readonly kind: 'spikes'; readonly neuron: NeuronModel }

export interface LayerDescriptor {
  /** Shown in failures, e.g. `WTALayer k=2`. */
  readonly name: string
  /** Builds the layer (once per property run). */
  readonly make: () => AnyLayer
  /** Valid input shapes for one step. */
  readonly inputShape: fc.Arbitrary<Shape>
  /** Inputs of a shape; default: floats in [-2, 2] (float32-exact). */
  readonly input?: (shape: Shape) => fc.Arbitrary<Tensor>
  /** Whether the layer keeps temporal state that `reset` clears. */
  readonly stateful: boolean
  /** Absolute tolerance of float64-vs-float32 agreement (default 1e-4). */
  readonly f64Tolerance?: number
  /** How the gradient laws check the layer (default `{ kind: 'smooth' }`). */
  readonly gradient?: Differentiability
  /**
   * The finite-difference step relative to a tensor's largest magnitude (default 1e-5). A
   * layer whose arithmetic cancels large terms (so L carries more rounding than its size
   * suggests) takes a larger one, where its truncation error allows.
   */
  readonly fdStep?: number
  /**
   * State entries the layer deliberately passes no gradient through (batch norm's running
   * statistics, buffers in PyTorch too): the finite-difference law puts no cotangent on them.
   */
  readonly detachedState?: readonly string[]
}
