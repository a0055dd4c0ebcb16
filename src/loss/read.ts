/**
 * Reading a loss a caller passes (a `withTarget`, `lossValue` or `lossAndGrad` argument): its
 * members read once, bound to it, so later calls never read the caller's object again.
 *
 * Internal: the public face is the functions that take a loss.
 *
 * @module
 */
import { describeValue } from '../errors.js'
import { configFail } from '../layer/check.js'
import type { Loss } from './loss.js'

/** Why `v` is not a loss, or the loss's members read once (bound to it). */
export const readLoss = (v: unknown): { readonly loss: Loss } | { readonly problem: string } => {
  try {
    if (typeof v !== 'object' || v === null) return { problem: describeValue(v) }
    const l = v as Readonly<Record<string, unknown>>
    const { name, check, run } = l
    if (typeof name !== 'string' || name === '') return { problem: `${describeValue(v)} (no name)` }
    if (typeof check !== 'function') return { problem: `${describeValue(v)} (without check)` }
    if (typeof run !== 'function') return { problem: `${describeValue(v)} (without run)` }
    const bound: Loss = { name, check: check.bind(v) as Loss['check'], run: run.bind(v) as Loss['run'] }
    return { loss: Object.freeze(bound) }
  } catch (e) {
    return { problem: `a value whose property access threw (${describeValue(e)})` }
  }
}

/** What a loss argument must be, in errors. */
export const lossExpected = 'a loss (crossEntropyLoss(), mseLoss(): name, check, run)'

/** The loss `v`, its members read once; a `ConfigError` naming `fn` unless it is one (for builders). */
export const expectLoss = (fn: string, argument: string, v: unknown): Loss => {
  const r = readLoss(v)
  if ('loss' in r) return r.loss
  return configFail(fn, argument, lossExpected, r.problem)
}
