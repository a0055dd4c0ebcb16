/**
 * The export table of `src/backend/wasm/exports.ts` against the compiled module: the same
 * function names, each with the arity the table gives, so a changed signature in asm/ cannot
 * reach the JavaScript rows unnoticed; and the threads build (kernels.threads.wasm) has the same
 * functions and imports its memory, shared.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { exportArity } from '../../src/backend/wasm/exports.js'
import { kernelsThreadsUrl, kernelsUrl } from '../../src/backend/wasm/load.js'
import { sharedMaxima } from '../../src/backend/wasm/threads.js'

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

describe('the threads build', () => {
  const threads = new WebAssembly.Module(readFileSync(kernelsThreadsUrl()))

  it('has the same functions', () => {
    const names = WebAssembly.Module.exports(threads).filter((e) => e.kind === 'function').map((e) => e.name)
    expect(names.sort()).toEqual([...functions].sort())
  })

  it('imports one shared memory, which every maximum the pool tries satisfies', () => {
    expect(WebAssembly.Module.imports(threads)).toEqual([{ module: 'env', name: 'memory', kind: 'memory' }])
    for (const maximum of sharedMaxima) {
      const memory = new WebAssembly.Memory({ initial: 1, maximum, shared: true })
      const exports = new WebAssembly.Instance(threads, { env: { memory } }).exports as Record<string, unknown>
      expect(exports.memory).toBe(memory)
    }
    // an unshared memory does not do: the pool must make a shared one
    const unshared = new WebAssembly.Memory({ initial: 1 })
    expect(() => new WebAssembly.Instance(threads, { env: { memory: unshared } })).toThrow()
  })
})
