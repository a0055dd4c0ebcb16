/**
 * A descriptor says how to exercise one layer generically: how to build it, which input shapes
 * it accepts, and how to draw inputs. The laws in `props/laws.prop.ts` run over every entry.
 */
import type fc from 'fast-check'
import type { AnyLayer, Shape, Tensor } from '../../src/index.js'

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
}
