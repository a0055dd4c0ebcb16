/**
 * The export table of `src/backend/wasm/exports.ts` against the compiled module: the same
 * function names, each with the arity the table gives, so a changed signature in asm/ cannot
 * reach the JavaScript rows unnoticed.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { exportArity } from '../../src/backend/wasm/exports.js'
import { kernelsUrl } from '../../src/backend/wasm/load.js'

const module = new WebAssembly.Module(readFileSync(kernelsUrl()))
const functions = WebAssembly.Module.exports(module).filter((e) => e.kind === 'function').map((e) => e.name)
const instance = new WebAssembly.Instance(module, {}).exports as Record<string, unknown>

describe('the wasm export table', () => {
  it('names every function the module exports, and nothing else', () => {
    expect([...functions].sort()).toEqual(Object.keys(exportArity).sort())
  })

  it.each(Object.entries(exportArity))('%s takes %i parameters', (name, arity) => {
    const f = instance[name]
    expect(typeof f).toBe('function')
    expect((f as (...args: number[]) => number).length).toBe(arity)
  })

  it('exports its memory', () => {
    expect(instance.memory).toBeInstanceOf(WebAssembly.Memory)
  })
})
