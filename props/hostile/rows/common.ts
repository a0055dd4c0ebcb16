/** Shared pieces of the rows: building a row, names of errors, tensors of the valid shapes. */
import fc from 'fast-check'
import { describeValue } from '../../../src/index.js'
import type { Alternatives, Case, Kind, Row } from '../engine.js'
import { casesOf } from '../engine.js'

/** A row from its parts: `names` a fixed name, names, or a function of the case. */
export const row = (r: {
  readonly name: string
  readonly covers?: readonly string[]
  readonly kind: Kind
  readonly names?: string | readonly string[] | ((c: Case) => readonly string[])
  readonly valid: fc.Arbitrary<readonly unknown[]>
  readonly alternatives: readonly Alternatives[]
  readonly call: (args: readonly unknown[]) => unknown
  readonly check?: Row['check']
  readonly validMayFail?: boolean
  readonly neutralMayDiffer?: boolean
  readonly callerText?: boolean
  readonly runs?: number
  readonly outside?: string
}): Row => {
  const { names = r.name } = r
  return {
    name: r.name,
    covers: r.covers ?? [r.name],
    kind: r.kind,
    names: typeof names === 'function' ? names : () => (typeof names === 'string' ? [names] : names),
    cases: casesOf(r.valid, r.alternatives),
    call: r.call,
    check: r.check,
    validMayFail: r.validMayFail,
    neutralMayDiffer: r.neutralMayDiffer,
    callerText: r.callerText,
    runs: r.runs,
    outside: r.outside,
  }
}

/** The name a LayerError gives for a `layer` argument a caller passed (a string as it is). */
export const nameArg = (v: unknown): string => (typeof v === 'string' ? v : describeValue(v))

/** A tuple arbitrary from its parts. */
export const args = (...parts: readonly fc.Arbitrary<unknown>[]): fc.Arbitrary<readonly unknown[]> => fc.tuple(...parts)

/** Neither valid nor definitely invalid: only the contract is judged. */
export const wild = (a: fc.Arbitrary<unknown>) => (): fc.Arbitrary<unknown> => a

/** Valid dtypes (`undefined`: the default). */
export const dtypeArb = fc.constantFrom<'float32' | 'float64' | undefined>('float32', 'float64', undefined)
