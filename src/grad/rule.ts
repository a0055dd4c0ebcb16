/**
 * What a kernel's gradient rule is: which of the call's values the backward pass needs, and the
 * vector-Jacobian product itself, written with kernels like any forward computation (so it runs
 * on whatever device the forward pass ran on).
 *
 * @module
 */
import type { Device } from '../kernel/device.js'
import type { KernelName } from '../kernel/kernels.js'
import type { AttrsOf } from '../kernel/spec.js'

/** A recorded kernel call, as its rule sees it in the backward pass. */
export interface GradCall<K extends KernelName, B> {
  /** The call's buffer arguments: those the rule `saves` (others are `undefined`); null arguments stay null. */
  readonly inputs: readonly (B | null | undefined)[]
  /** The call's outputs the rule `saves` (others `undefined`). */
  readonly outputs: readonly (B | undefined)[]
  /** The buffer arguments' lengths (0 for null). */
  readonly lengths: readonly number[]
  /** The attributes. */
  readonly attrs: AttrsOf<K>
  /** Which buffer arguments need a cotangent (the others' may be skipped: return null). */
  readonly needs: readonly boolean[]
}

/** How kernel `K` differentiates. */
export interface GradRule<K extends KernelName> {
  /** The buffer arguments (by position) and outputs (by position) the backward pass reads. */
  readonly saves: {
    /** Buffer arguments by position. */
    readonly inputs: readonly number[]
    /** Outputs by position. */
    readonly outputs: readonly number[]
  }
  /**
   * The cotangents of the buffer arguments (null: zero) from the outputs' cotangents (null:
   * zero, not all of them), on `device`. Linear in the cotangents; never changes its arguments.
   */
  vjp<B>(device: Device<B>, cotangents: readonly (B | null)[], call: GradCall<K, B>): readonly (B | null)[]
}

/** A kernel without a gradient, and why: its outputs are constants to the tracer. */
export interface NoGradient {
  /** Why the kernel has no gradient. */
  readonly noGradient: string
}

/** A rule that saves the listed buffer arguments and no outputs. */
export const rule = <K extends KernelName>(
  inputs: readonly number[],
  vjp: GradRule<K>['vjp'],
  outputs: readonly number[] = [],
): GradRule<K> => ({ saves: { inputs, outputs }, vjp })

/** `cot`, or zeros of `length` in `like`'s dtype when it is null. */
export const orZeros = <B>(d: Device<B>, cot: B | null, length: number, like: B): B =>
  cot ?? d.fill({ length, value: 0, dtype: d.dtypeOf(like) })
