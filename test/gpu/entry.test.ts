/**
 * The `braincog-fn/gpu` entry: gpu.js stays optional. Nothing outside src/gpu/ imports gpu.js
 * or the GPU entry, and asking for the device where gpu.js cannot be loaded fails with an
 * error that names the package to install. What it gives is a `Device`, chosen through the
 * context only, and its exports are names that say GPU (none collides with the main entry's).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { GPU } from 'gpu.js'
import { describe, expect, it } from 'vitest'
import * as E from 'fp-ts/lib/Either.js'
import * as gpuEntry from '../../src/gpu/index.js'
import { GpuUnavailableError, gpuBackend, loadGpuBackend, loadGpuBackendWith } from '../../src/gpu/index.js'
import * as main from '../../src/index.js'
import { evaluate, ifNeuron, key, tensor, train } from '../../src/index.js'

const SRC = resolve(import.meta.dirname, '../../src')

const sources = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => {
    const p = join(dir, f)
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : []
  })

describe('braincog-fn/gpu entry', () => {
  it('nothing outside src/gpu imports gpu.js or the GPU entry', () => {
    const offenders = sources(SRC)
      .filter((p) => !relative(SRC, p).startsWith('gpu/'))
      .filter((p) => /['"]gpu\.js['"]|\/gpu\/|from '\.\/gpu/.test(readFileSync(p, 'utf8')))
      .map((p) => relative(SRC, p))
    expect(offenders).toEqual([])
  })

  it('without gpu.js: rejects with GpuUnavailableError naming `npm install gpu.js`', async () => {
    const missing = () => Promise.reject(new Error("Cannot find package 'gpu.js'"))
    const r = loadGpuBackendWith(missing)
    await expect(r).rejects.toBeInstanceOf(GpuUnavailableError)
    await expect(loadGpuBackendWith(missing)).rejects.toThrow(/npm install gpu\.js/)
    await expect(loadGpuBackendWith(() => Promise.resolve({}))).rejects.toThrow(/npm install gpu\.js/)
  })

  it('loads gpu.js on demand and reports its mode', async () => {
    const b = await loadGpuBackend({ mode: 'cpu' })
    expect(b.name).toBe('gpu(cpu)')
    expect(b.mode).toBe('cpu')
    b.destroy()
  })

  it('exports no name of the main entry, and only GPU-named values', () => {
    const clash = Object.keys(gpuEntry).filter((k) => k in main)
    expect(clash).toEqual([])
    for (const k of Object.keys(gpuEntry)) expect(k, k).toMatch(/gpu/i)
  })

  it('gpuBackend wraps a gpu.js instance you made: a device, chosen through the context only', () => {
    const instance = new GPU({ mode: 'cpu' })
    const b = gpuBackend({ gpu: instance })
    expect(b.mode).toBe('cpu')
    expect(train(key(0), b).backend).toBe(b)
    expect(evaluate(b).backend).toBe(b)
    expect(evaluate().backend).toBeUndefined()
    // layers take it as any other device
    const neuron = ifNeuron({ threshold: 0.5 })
    const r = neuron.apply({}, { v: null }, tensor([0.2, 0.7], [2]), evaluate(b))
    expect(E.isRight(r) && Array.from(r.right.output.data)).toEqual([0, 1])
    expect(b.liveBuffers()).toBe(0)
    b.destroy() // leaves the caller's instance alone
    void instance.destroy()
    expect(() => gpuBackend(undefined as never)).toThrow(/loadGpuBackend/)
    expect(() => gpuBackend({ gpu: { mode: 'async', createKernel: () => () => null } })).toThrow(/synchronous/)
  })
})
