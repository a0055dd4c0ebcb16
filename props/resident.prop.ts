/**
 * The resident WebAssembly device over the kernel table of `props/kernels/cases.ts`: for every
 * kernel, with float32 data and with float64 data, uploading the arguments, running the kernel
 * on them in WebAssembly memory and reading the outputs back gives exactly the copy backend's
 * bits (the same rows, whole instead of sliced; the reference over views of the heap for what
 * the rows leave); the arguments stay as they were in the heap; reads are fresh arrays; and once
 * everything is freed the heap holds no more than before (its blocks coalesce back).
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Data, KernelName, ResidentDevice, WasmBuffer } from '../src/index.js'
import { residentBackend, wasmBackend } from '../src/index.js'
import { attrsArg, bufferArgs, kernelNames, kernelSpecs } from '../src/kernel/spec.js'
import { cases, type KernelCase } from './kernels/cases.js'

const resident = residentBackend() as ResidentDevice
const copy = wasmBackend()!

type AnyArgs = readonly unknown[]

/** The outputs of a call, in the order of the kernel's spec. */
const outputsOf = <B>(name: KernelName, result: unknown): readonly B[] => {
  const names = kernelSpecs[name].outputs
  if (names === 'list') return result as readonly B[]
  return names.length === 1 ? [result as B] : names.map((n) => (result as Record<string, B>)[n])
}

/** The same arguments with float64 data (statistics as they are), as the kernel laws widen them. */
const widen = (name: KernelName, args: AnyArgs): AnyArgs => {
  const spec = kernelSpecs[name]
  const stats = new Set(spec.stats ?? [])
  const wide = (d: Data | null): Data | null =>
    d === null || d instanceof Float64Array ? d : Float64Array.from(d, (v) => v + v * 2 ** -40)
  if (spec.inputs === 'list') return [(args[0] as readonly Data[]).map(wide), ...args.slice(1)]
  const out = args.map((a, i) => (i < (spec.inputs as number) && !stats.has(i) ? wide(a as Data | null) : a))
  if (spec.dtype === 'attr') out[spec.inputs] = { ...(out[spec.inputs] as object), dtype: 'float64' }
  return out
}

/** `args` with every host buffer uploaded to the resident device, and the uploads. */
const uploaded = (
  name: KernelName,
  args: AnyArgs,
): { readonly args: AnyArgs; readonly buffers: readonly WasmBuffer[] } => {
  const buffers: WasmBuffer[] = []
  const up = (d: Data | null): WasmBuffer | null => {
    if (d === null) return null
    const b = resident.upload(d)
    buffers.push(b)
    return b
  }
  const inputs = kernelSpecs[name].inputs
  const moved =
    inputs === 'list'
      ? [(args[0] as readonly Data[]).map(up), ...args.slice(1)]
      : [...(args.slice(0, inputs) as readonly (Data | null)[]).map(up), ...args.slice(inputs)]
  return { args: moved, buffers }
}

const sameBits = (a: Data, b: Data): boolean =>
  a.constructor === b.constructor && a.length === b.length && a.every((v, i) => Object.is(v, b[i]))

describe.each(kernelNames.map((name) => [name] as const))('resident kernel %s', (name) => {
  const c = cases[name] as unknown as KernelCase<KernelName>

  it("gives the copy backend's bits (float32 and float64 data), leaves its arguments, frees back", () => {
    fc.assert(
      fc.property(c.args, (args) => {
        for (const a of [args, widen(name, args)]) {
          // the copy backend first: its scratch block (in the same heap) may grow
          const want = outputsOf<Data>(name, (copy[name] as (...x: AnyArgs) => unknown)(...a))
          const before = resident.heapStats()
          const live = resident.liveBuffers()
          const { args: onHeap, buffers } = uploaded(name, a)
          const got = outputsOf<WasmBuffer>(name, (resident[name] as (...x: AnyArgs) => unknown)(...onHeap))
          expect(got.length).toBe(want.length)
          got.forEach((g, i) => {
            const read = resident.read(g)
            if (!sameBits(read, want[i])) throw new Error(`${name} output ${i}: not the copy backend's bits`)
            expect(resident.read(g), 'a read is a fresh array').not.toBe(read)
          })
          // the arguments are what was uploaded
          const hostArgs = bufferArgs<Data>(name, a).filter((d): d is Data => d !== null)
          buffers.forEach((b, i) => expect(sameBits(resident.read(b), hostArgs[i]), `${name} argument ${i}`).toBe(true))
          expect(attrsArg(name, onHeap)).toEqual(attrsArg(name, a))
          for (const b of [...got, ...buffers]) resident.free(b)
          expect(resident.liveBuffers()).toBe(live)
          expect(resident.heapStats().liveBytes).toBe(before.liveBytes)
        }
      }),
      { numRuns: 40 },
    )
  })
})
