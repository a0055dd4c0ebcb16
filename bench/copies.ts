/**
 * What the wasm backend's storage decision costs: tensors live in JavaScript typed arrays, so
 * each call copies inputs into the module's memory and outputs back. Measured here on a
 * bandwidth-bound kernel (elementwise multiply): the kernel alone inside WebAssembly memory,
 * the two copies alone, and the whole backend call.
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { kernelsUrl } from '../src/backend/wasm/index.js'
import type { Backend } from '../src/index.js'
import { type TimingPlan, timeIt, uniformData } from './harness.js'

export interface CopyCost {
  readonly elements: number
  /** The SIMD multiply on data already in WebAssembly memory. */
  readonly kernelMs: number
  /** Copying two inputs in and one output out (`TypedArray.set`). */
  readonly copyMs: number
  /** `wasm.mul` through the device interface (an output allocated, copies in and out, the kernel). */
  readonly backendMs: number
  /** `cpu.mul`, the JavaScript reference. */
  readonly cpuMs: number
}

interface Raw {
  readonly memory: WebAssembly.Memory
  mul(out: number, a: number, b: number, len: number): void
}

export const measureCopies = (wasm: Backend, cpu: Backend, elements: number, plan: TimingPlan): CopyCost => {
  const a = uniformData(elements, 21)
  const b = uniformData(elements, 22)
  const out = new Float32Array(elements)
  // a private instance, so the raw kernel can run on resident data
  const raw = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(kernelsUrl())), {}).exports as unknown as Raw
  const bytes = elements * 4
  const base = 65536
  const need = base + 3 * bytes
  raw.memory.grow(Math.ceil(Math.max(0, need - raw.memory.buffer.byteLength) / 65536))
  const heap = new Float32Array(raw.memory.buffer)
  const [pa, pb, po] = [base, base + bytes, base + 2 * bytes]
  heap.set(a, pa / 4)
  heap.set(b, pb / 4)
  return {
    elements,
    kernelMs: timeIt(() => raw.mul(po, pa, pb, elements), plan),
    copyMs: timeIt(() => {
      heap.set(a, pa / 4)
      heap.set(b, pb / 4)
      out.set(heap.subarray(po / 4, po / 4 + elements))
    }, plan),
    backendMs: timeIt(() => wasm.mul(a, b), plan),
    cpuMs: timeIt(() => cpu.mul(a, b), plan),
  }
}
