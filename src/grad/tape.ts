/**
 * The gradient tracer: a device that runs every kernel on an inner device and records, for each
 * call whose arguments depend on a traced variable, what its gradient rule needs. Running a
 * layer's step on it is the forward pass; {@link Tape.backward} then walks the record in reverse,
 * calling each kernel's rule on the inner device. No global state: a tape belongs to one
 * `vjp` call, and nothing it records changes anything given to it.
 *
 * Memory. On a device whose buffers the garbage collector owns (the host devices) nothing here
 * frees anything. On one whose `free` matters (the resident WebAssembly device, a GPU) the tape
 * owns every buffer made on it and frees each as soon as it is dead:
 *
 * - forward: a buffer the step frees (a layer's temporary, an output between two layers of a
 *   pipeline, a scan's dead state) goes at once unless a recorded rule saves it (a residual);
 *   so what the forward pass leaves is its residuals, about T times one step's for a scan over
 *   T steps, plus the step's results;
 * - backward: a cotangent goes once the node that consumed it has run (reference-counted, as
 *   rules may hand a cotangent on unchanged or give one buffer to two arguments), and whatever
 *   a rule made and dropped goes at the end of the pass. Sums of cotangents reaching a value
 *   along several paths accumulate in place (`addInPlace`) where the tape holds the only
 *   reference to the sum; otherwise `axpy` makes a new one;
 * - `backward(seeds, { last: true })`, for a caller that will not run the backward pass again
 *   (`lossAndGrad`, `valueAndGrad`): each residual goes as soon as the last node that saves it
 *   has run, so memory falls as the pass goes;
 * - {@link Tape.dispose} frees everything the forward pass left (the residuals, the results).
 *
 * @module
 */
import type { BufferOps, Device } from '../kernel/device.js'
import { deviceFrom } from '../kernel/device.js'
import type { KernelName } from '../kernel/kernels.js'
import { attrsArg, bufferArgs, kernelSpecs } from '../kernel/spec.js'
import type { Data } from '../tensor/tensor.js'
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

/** A recorded call's backward function: the inputs' cotangents, computed on `device`. */
export type Backward<B> = (
  device: Device<B>,
  cotangents: readonly (B | null)[],
  needs: readonly boolean[],
) => readonly (B | null)[]

/** One recorded call. */
interface Node<B> {
  readonly inputs: readonly number[]
  readonly outputs: readonly number[]
  /** The buffers its backward function reads (its residuals). */
  readonly saves: readonly B[]
  readonly backward: Backward<B>
}

/** What {@link Tape.backward} gives. */
export interface Cotangents<B> {
  /** Each variable's cotangent, by id (absent where none reached it). */
  readonly cotangents: ReadonlyMap<number, B>
  /**
   * The cotangent buffers the backward pass made, now the caller's to free. The others are
   * seeds handed on unchanged (the caller's already), or, from a custom rule that returned a
   * value of the forward pass, buffers the tape frees when disposed.
   */
  readonly owned: ReadonlySet<B>
}

const isNoGradient = (r: GradRule<KernelName> | NoGradient): r is NoGradient => 'noGradient' in r

/** A tape over `inner`: its device, and the backward pass over what that device recorded. */
export class Tape<B> {
  private nodes: (Node<B> | undefined)[] = []
  private next = 0
  /** Set when a traced value was read back to the host: its use there is invisible to the gradient. */
  private readTraced = false
  private disposed = false
  /** Set by a last backward pass: the residuals are gone. */
  private spent = false
  /** Whether the inner device's `free` matters (else nothing is tracked for freeing). */
  private readonly frees: boolean
  /** Buffers the forward pass made on the inner device and that are not freed yet. */
  private readonly made = new Set<B>()
  /** The residuals: for each saved buffer, how many recorded nodes save it. */
  private readonly saved = new Map<B, number>()
  /** The tracing device: run a step on it. */
  readonly device: Device<Traced<B>>
  /** The inner device untraced, the tape owning what it makes (where `customVjp` runs its forward pass). */
  readonly untraced: Device<B>

  constructor(readonly inner: Device<B>) {
    this.frees = inner.garbageCollected !== true
    const keep = (b: B): B => {
      if (this.frees) this.made.add(b)
      return b
    }
    const ops: BufferOps<B> = {
      name: inner.name,
      dtypeOf: (b) => inner.dtypeOf(b),
      lengthOf: (b) => inner.lengthOf(b),
      upload: (data) => keep(inner.upload(data)),
      read: (b) => inner.read(b),
      free: (b) => this.release(b),
    }
    this.untraced = deviceFrom(ops, (name, args) => inner.run(name, args).map(keep))
    this.device = deviceFrom<Traced<B>>(
      {
        name: `grad(${inner.name})`,
        dtypeOf: (t) => inner.dtypeOf(t.value),
        lengthOf: (t) => inner.lengthOf(t.value),
        upload: (data: Data) => new Traced(ops.upload(data), -1),
        read: (t) => {
          if (t.id >= 0) this.readTraced = true
          return inner.read(t.value)
        },
        // the backward pass may still need the value: freed now only if no rule saves it
        free: (t) => this.release(t.value),
      },
      (name, args) => this.call(name, args),
    )
  }

  /** A variable: a value whose cotangent `backward` gives (the tape never frees it). */
  variable(value: B): Traced<B> {
    return new Traced(value, this.next++)
  }

  /** `value` on the tape as a constant: no gradient flows to it, and no rule computes one for it. */
  constant(value: B): Traced<B> {
    return new Traced(value, -1)
  }

  /** Whether a traced value was read back to the host (its gradient would be silently lost). */
  get broken(): boolean {
    return this.readTraced
  }

  /** A forward buffer the step let go of: freed unless a rule saves it (or the tape did not make it). */
  private release(b: B): void {
    if (!this.frees || this.saved.has(b) || !this.made.delete(b)) return
    this.inner.free(b)
  }

  private call(name: KernelName, args: readonly unknown[]): readonly Traced<B>[] {
    const list = kernelSpecs[name].inputs === 'list'
    const traced = bufferArgs<Traced<B>>(name, args)
    const values = traced.map((t) => (t === null ? null : t.value))
    const rest = args.slice(list ? 1 : traced.length)
    const outs = this.untraced.run(name, list ? [values, ...rest] : [...values, ...rest])
    const rule = gradRules[name] as GradRule<KernelName> | NoGradient
    if (isNoGradient(rule) || !traced.some((t) => t !== null && t.id >= 0)) return outs.map((o) => new Traced(o, -1))
    const attrs = attrsArg(name, args)
    const lengths = values.map((v) => (v === null ? 0 : this.inner.lengthOf(v)))
    const savedIn = values.map((v, i) => (rule.saves.inputs.includes(i) ? v : undefined))
    const savedOut = outs.map((o, i) => (rule.saves.outputs.includes(i) ? o : undefined))
    const saves = [...savedIn, ...savedOut].filter((b): b is B => b !== null && b !== undefined)
    return this.record(
      traced,
      outs,
      (device, cotangents, needs) =>
        rule.vjp(device, cotangents, {
          inputs: savedIn,
          outputs: savedOut,
          lengths,
          attrs: attrs as never,
          needs,
        }),
      saves,
    )
  }

  /**
   * Records a call's outputs with the backward function that maps their cotangents to its
   * inputs', and the buffers that function reads (kept until it has run for the last time).
   */
  record(
    inputs: readonly (Traced<B> | null)[],
    outputs: readonly B[],
    backward: Backward<B>,
    saves: readonly B[] = [],
  ): readonly Traced<B>[] {
    const ids = outputs.map(() => this.next++)
    for (const b of saves) this.saved.set(b, (this.saved.get(b) ?? 0) + 1)
    this.nodes.push({ inputs: inputs.map((t) => (t === null ? -1 : t.id)), outputs: ids, saves, backward })
    return outputs.map((o, i) => new Traced(o, ids[i]))
  }

  /**
   * The backward pass: from cotangents of some traced values (`seeds`, by id; the caller's,
   * never freed here), the cotangent of every variable that got one. Calls every rule once, in
   * reverse order of the forward pass; cotangents reaching a value along several paths are
   * summed in that order. May be run again with other seeds, unless `last` said it would not
   * be (then each residual is freed as soon as the last rule that reads it has run).
   */
  backward(seeds: ReadonlyMap<number, B>, options: { readonly last?: boolean } = {}): Cotangents<B> {
    if (this.disposed || this.spent) {
      throw new Error('gradient tape: backward after the tape was disposed, or after a last backward pass')
    }
    const inner = this.inner
    /** Buffers made in this pass: freed when dead, or handed to the caller. */
    const fresh = new Set<B>()
    const made = (b: B): B => {
      fresh.add(b)
      return b
    }
    const discard = (b: B): void => {
      if (fresh.delete(b)) inner.free(b)
    }
    const device = deviceFrom<B>(
      {
        name: inner.name,
        dtypeOf: (b) => inner.dtypeOf(b),
        lengthOf: (b) => inner.lengthOf(b),
        upload: (data) => made(inner.upload(data)),
        read: (b) => inner.read(b),
        // a rule frees its own temporaries; never a residual, a seed or a held cotangent
        free: discard,
      },
      (name, args) => inner.run(name, args).map(made),
    )
    const cot = new Map(seeds)
    const refs = new Map<B, number>()
    const hold = (b: B): void => {
      refs.set(b, (refs.get(b) ?? 0) + 1)
    }
    const drop = (b: B): void => {
      const n = (refs.get(b) ?? 1) - 1
      if (n > 0) refs.set(b, n)
      else {
        refs.delete(b)
        discard(b)
      }
    }
    for (const b of cot.values()) hold(b)
    const inPlace = inner.addInPlace === undefined ? undefined : (t: B, x: B) => inner.addInPlace!(t, x)

    for (let n = this.nodes.length - 1; n >= 0; n--) {
      const node = this.nodes[n]
      if (node === undefined) continue
      const outs = node.outputs.map((id) => cot.get(id) ?? null)
      if (outs.some((c) => c !== null)) {
        const ins = node.backward(device, outs, node.inputs.map((id) => id >= 0))
        const unused = new Set<B>()
        node.inputs.forEach((id, i) => {
          const c = ins[i]
          if (c === null || c === undefined) return
          if (id < 0) {
            unused.add(c)
            return
          }
          const held = cot.get(id)
          if (held === undefined) {
            cot.set(id, c)
            hold(c)
          } else if (inPlace !== undefined && fresh.has(held) && refs.get(held) === 1) {
            inPlace(held, c)
            if (c !== held) unused.add(c)
          } else {
            const sum = device.axpy(held, c, { alpha: 1 })
            cot.set(id, sum)
            hold(sum)
            drop(held)
            unused.add(c)
          }
        })
        for (const c of unused) if (!refs.has(c)) discard(c)
      }
      // the outputs' cotangents are dead: every consumer of an output comes later in the record
      for (const id of node.outputs) {
        const c = cot.get(id)
        if (c === undefined) continue
        cot.delete(id)
        drop(c)
      }
      if (options.last === true) {
        this.nodes[n] = undefined
        if (this.frees) {
          for (const b of node.saves) {
            const left = (this.saved.get(b) ?? 1) - 1
            if (left > 0) this.saved.set(b, left)
            else {
              this.saved.delete(b)
              if (!refs.has(b) && this.made.delete(b)) inner.free(b)
            }
          }
        }
      }
    }
    // what is left is the variables' cotangents; a rule's dropped temporaries go now
    const owned = new Set<B>()
    for (const b of cot.values()) if (fresh.delete(b)) owned.add(b)
    for (const b of fresh) inner.free(b)
    if (options.last === true) {
      this.nodes = []
      this.spent = true
    }
    return { cotangents: cot, owned }
  }

  /**
   * Frees every buffer the forward pass made and left (residuals, results): the caller has read
   * what it wanted. The tape cannot run backward again. Idempotent.
   */
  dispose(): void {
    if (this.disposed) return
    this.disposed = true
    for (const b of this.made) this.inner.free(b)
    this.made.clear()
    this.saved.clear()
    this.nodes = []
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
