/**
 * The device level checks nothing a step's `prepare` has checked, but a kernel called with
 * attributes that are not its own (a `defineLayer` author's slip: a field misnamed or missing)
 * fails at once with a `RangeError` naming the kernel, on every device, instead of as a NaN-sized
 * allocation deep inside the device.
 */
import { describe, expect, it } from 'vitest'
import { cpu, type Device, loadResidentBackend, loadWasmBackend } from '../../src/index.js'

const one = { threads: 1 }
const wasm = await Promise.all([loadWasmBackend(undefined, one), loadResidentBackend(undefined, one)])
const devices = [cpu, ...wasm.filter((d) => d !== undefined)] as readonly Device<unknown>[]

describe('kernel attributes', () => {
  it.each(devices.map((d) => [d.name, d] as const))("%s: another kernel's attributes are a RangeError naming it", (_, d) => {
    const x = d.upload(new Float32Array(20))
    // groupMean takes { rows, length, size }
    expect(() => d.groupMean(x, { outer: 2, group: 10 } as never)).toThrow(
      /^groupMean: attributes \{ outer, group \} give an output of NaN elements/,
    )
    expect(() => d.matmul(x, x, null, { m: 2, k: 10, n: -1 })).toThrow(RangeError)
    // the right ones still work
    expect(d.lengthOf(d.groupMean(x, { rows: 2, length: 10, size: 5 }))).toBe(4)
  })
})
