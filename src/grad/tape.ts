/**
 * The gradient tracer: a device that runs every kernel on an inner device and records, for each
 * call whose arguments depend on a traced variable, what its gradient rule needs. Running a
 * layer's step on it is the forward pass; {@link Tape.backward} then walks the record in reverse,
 * calling each kernel's rule on the inner device. No global state: a tape belongs to one
 * `vjp` call, and nothing it records changes anything given to it.
 *
 * Memory is the residuals the rules save (about T times one step's for a scan over T steps).
 *
 * @module
 */
import type { BufferOps, Device } from '../kernel/device.js'
import { deviceFrom } from '../kernel/device.js'
import type { KernelName } from '../kernel/kernels.js'
import { attrsArg, bufferArgs, kernelSpecs } from '../kernel/spec.js'
import type { GradRule, NoGradient } from './rule.js'
import { gradRules } from './rules/index.js'

/** A traced buffer: the inner device's buffer and, when it depends on a variable, its id. */
export class Traced<B> {
  constructor(
    /** The value on the inner device. */
    readonly value: B,
    /** The id the tape knows it by; -1 for a constant. */
    readonly id: number,
  ) {}
}

/** A custom rule, as `customVjp` records it: the buffer arguments' cotangents from the outputs'. */
export type CustomRule<B> = (device: Device<B>, cotangents: readonly (B | null)[]) => readonly (B | null)[]

/** One recorded call. */
interface Node<B> {
  readonly inputs: readonly number[]
  readonly outputs: readonly number[]
  readonly backward: (cotangents: readonly (B | null)[], needs: readonly boolean[]) => readonly (B | null)[]
}

const isNoGradient = (r: GradRule<KernelName> | NoGradient): r is NoGradient => 'noGradient' in r

/** A tape over `inner`: its device, and the backward pass over what that device recorded. */
export class Tape<B> {
  private readonly nodes: Node<B>[] = []
  private next = 0
  /** Set when a traced value was read back to the host: its use there is invisible to the gradient. */
  private readTraced = false
  /** The tracing device: run a step on it. */
  readonly device: Device<Traced<B>>

  constructor(readonly inner: Device<B>) {
    const ops: BufferOps<Traced<B>> = {
      name: `grad(${inner.name})`,
      dtypeOf: (t) => inner.dtypeOf(t.value),
      lengthOf: (t) => inner.lengthOf(t.value),
      upload: (data) => new Traced(inner.upload(data), -1),
      read: (t) => {
        if (t.id >= 0) this.readTraced = true
        return inner.read(t.value)
      },
      // the backward pass may still need the value; the garbage collector (host) or the
      // tape's owner frees it
      free: () => undefined,
    }
    this.device = deviceFrom(ops, (name, args) => this.call(name, args))
  }

  /** A variable: a value whose cotangent `backward` gives. */
  variable(value: B): Traced<B> {
    return new Traced(value, this.next++)
  }

  /** Whether a traced value was read back to the host (its gradient would be silently lost). */
  get broken(): boolean {
    return this.readTraced
  }

  private call(name: KernelName, args: readonly unknown[]): readonly Traced<B>[] {
    const list = kernelSpecs[name].inputs === 'list'
    const traced = bufferArgs<Traced<B>>(name, args)
    const values = traced.map((t) => (t === null ? null : t.value))
    const rest = args.slice(list ? 1 : traced.length)
    const outs = this.inner.run(name, list ? [values, ...rest] : [...values, ...rest])
    const rule = gradRules[name] as GradRule<KernelName> | NoGradient
    if (isNoGradient(rule) || !traced.some((t) => t !== null && t.id >= 0)) return outs.map((o) => new Traced(o, -1))
    const attrs = attrsArg(name, args)
    const lengths = values.map((v) => (v === null ? 0 : this.inner.lengthOf(v)))
    const savedIn = values.map((v, i) => (rule.saves.inputs.includes(i) ? v : undefined))
    const savedOut = outs.map((o, i) => (rule.saves.outputs.includes(i) ? o : undefined))
    return this.record(
      traced,
      outs,
      (cotangents, needs) =>
        rule.vjp(this.inner, cotangents, {
          inputs: savedIn,
          outputs: savedOut,
          lengths,
          attrs: attrs as never,
          needs,
        }),
    )
  }

  /** Records a call's outputs with the backward function that maps their cotangents to its inputs'. */
  record(inputs: readonly (Traced<B> | null)[], outputs: readonly B[], backward: Node<B>['backward']): readonly Traced<B>[] {
    const ids = outputs.map(() => this.next++)
    this.nodes.push({ inputs: inputs.map((t) => (t === null ? -1 : t.id)), outputs: ids, backward })
    return outputs.map((o, i) => new Traced(o, ids[i]))
  }

  /**
   * The backward pass: from cotangents of some traced values (`seeds`, by id), the cotangent of
   * every value with an id (absent where it got none). Calls every rule once, in reverse order
   * of the forward pass; cotangents reaching a value along several paths are summed in that
   * order. May be run again with other seeds.
   */
  backward(seeds: ReadonlyMap<number, B>): ReadonlyMap<number, B> {
    const cot = new Map(seeds)
    for (let n = this.nodes.length - 1; n >= 0; n--) {
      const node = this.nodes[n]
      const outs = node.outputs.map((id) => cot.get(id) ?? null)
      if (outs.every((c) => c === null)) continue
      const needs = node.inputs.map((id) => id >= 0)
      const ins = node.backward(outs, needs)
      node.inputs.forEach((id, i) => {
        const c = ins[i]
        if (id < 0 || c === null || c === undefined) return
        const held = cot.get(id)
        cot.set(id, held === undefined ? c : this.inner.axpy(held, c, { alpha: 1 }))
      })
    }
    return cot
  }
}

/** The tracer a device is, if it is one (so `customVjp` can record on it). */
export const tapes = new WeakMap<Device<unknown>, Tape<unknown>>()

/** A tape over `inner`, registered so that `customVjp` finds it from its device. */
export const newTape = <B>(inner: Device<B>): Tape<B> => {
  const tape = new Tape(inner)
  tapes.set(tape.device as Device<unknown>, tape as Tape<unknown>)
  return tape
}

