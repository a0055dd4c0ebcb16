/** Assertions on typed errors, shared by the layer unit tests. */
import * as E from 'fp-ts/lib/Either.js'
import { expect } from 'vitest'
import type { LayerError } from '../../src/index.js'
import { ConfigError } from '../../src/index.js'

/** What an error must say: layer and argument exactly, and text within expected/got. */
export interface Expected {
  readonly layer: string
  readonly argument: string
  readonly expected?: string
  readonly got?: string
}

const check = (e: LayerError, want: Expected): void => {
  expect(e._tag).toBe('LayerError')
  expect(e.layer).toBe(want.layer)
  expect(e.argument).toBe(want.argument)
  expect(e.expected.length).toBeGreaterThan(0)
  expect(e.got.length).toBeGreaterThan(0)
  if (want.expected !== undefined) expect(e.expected).toContain(want.expected)
  if (want.got !== undefined) expect(e.got).toContain(want.got)
  expect(e.message).toBe(`${e.layer}: ${e.argument}: expected ${e.expected}, got ${e.got}`)
}

/** The result is a left `LayerError` as described (never a throw). */
export const expectLayerError = (result: E.Either<LayerError, unknown>, want: Expected): void => {
  expect(E.isLeft(result)).toBe(true)
  if (E.isLeft(result)) check(result.left, want)
}

/** Building throws a `ConfigError` as described. */
export const expectConfigError = (build: () => unknown, want: Expected): void => {
  let thrown: unknown
  try {
    build()
  } catch (e) {
    thrown = e
  }
  expect(thrown).toBeInstanceOf(ConfigError)
  check((thrown as ConfigError).detail, want)
}
