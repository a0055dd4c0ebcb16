/**
 * Kernel laws, run over every kernel of the table in `props/kernels/cases.ts`, on the cpu
 * reference and the WebAssembly device:
 *
 * 1. wasm gives the cpu reference's result (bit-identical unless the case says why not);
 * 2. no argument changes (every buffer, float64 statistics included, and the attributes);
 * 3. the same arguments give the same bits twice, with the wasm arena dirtied in between;
 * 4. outputs have the count, names, lengths and dtypes `kernelSpecs` gives;
 * 5. float64 data: wasm gives exactly the cpu bits (it runs the reference for float64);
 * 6. destination-first: every output element is written, whatever `out` held;
 * 7. destination-first, elementwise kernels: `out` may be one of the inputs (gl-matrix style);
 * 8. where a case gives one, the cpu reference equals the doc comment computed another way.
 *
 * Also the checks that belong to no single kernel: strided views through layer ops give the
 * contiguous result on wasm, `uniform` on both devices draws exactly `uniform(key, n)`, and the
 * wasm sigmoid surrogate's `exp` is `Math.exp` bit for bit.
 */
import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { keyArb, stridedViewArb, tensorArb } from '../src/arbitraries/index.js'
import { wasmKernels } from '../src/backend/wasm/backend.js'
import type { KernelExports } from '../src/backend/wasm/exports.js'
import { kernelsUrl } from '../src/backend/wasm/load.js'
import { attrsArg, bufferArgs, kernelNames, kernelSpecs, outputRule } from '../src/kernel/spec.js'
import type { Data, Device, DType, HostKernels, KernelName, Tensor } from '../src/index.js'
import { alloc, copy, cpu, cpuKernels, evaluate, key, layerNorm, maxPool2d, orThrow, uniform } from '../src/index.js'
import { customLinear, customLinearParams, upsampleNearest, wasmBackend } from '../src/index.js'
import { type Comparison, cases, type KernelCase } from './kernels/cases.js'

const loaded = wasmBackend()
// `npm test` builds the module first (pretest); a missing module is a failure, not a skip
const wasm = loaded as Device<Data>

/** A second instance of the module, for its destination-first table (its own arena). */
const wasmTable: HostKernels = wasmKernels(
  new WebAssembly.Instance(new WebAssembly.Module(readFileSync(kernelsUrl())), {}).exports as unknown as KernelExports,
)

const devices = [
  ['cpu', cpu, cpuKernels],
  ['wasm', wasm, wasmTable],
] as const

// ---------------------------------------------------------------------------------------------
// calling kernels generically
// ---------------------------------------------------------------------------------------------

type AnyArgs = readonly unknown[]

/** The outputs of a call, in the order of the kernel's spec. */
const outputsOf = (name: KernelName, result: unknown): readonly Data[] => {
  const names = kernelSpecs[name].outputs
  if (names === 'list') return result as readonly Data[]
  return names.length === 1 ? [result as Data] : names.map((n) => (result as Record<string, Data>)[n])
}

/** Kernel `name` on a device. */
const call = (device: Device<Data>, name: KernelName, args: AnyArgs): readonly Data[] =>
  outputsOf(name, (device[name] as (...a: AnyArgs) => unknown)(...args))

/** Kernel `name` from a destination-first table, writing into `outs`. */
const callInto = (table: HostKernels, name: KernelName, outs: readonly Data[], args: AnyArgs): void => {
  const names = kernelSpecs[name].outputs
  const out = names === 'list' ? outs : names.length === 1 ? outs[0] : Object.fromEntries(names.map((n, i) => [n, outs[i]]))
  ;(table[name] as (out: unknown, ...a: AnyArgs) => void)(out, ...args)
}

const dtypeOfData = (d: Data): DType => (d instanceof Float64Array ? 'float64' : 'float32')

/**
 * The same arguments with float64 data: data buffers widened and nudged off the float32 grid
 * (so a path that narrowed to float32 would show), statistics as they are, `attrs.dtype`
 * float64 for kernels whose attributes name the dtype.
 */
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

/**
 * Overwrites the wasm device's arena (from its base, past anything a call with these buffers
 * used: one slice plus scratch, or the whole of an unsliced call) with NaN, so a kernel that
 * read memory it had not written in this call would change its result.
 */
const dirtyArena = (buffers: readonly (Data | null)[]): void => {
  const bytes = buffers.reduce((s, b) => s + (b?.byteLength ?? 0), 0)
  const nan = new Float32Array(Math.ceil(bytes / 12) + 20_000).fill(Number.NaN)
  wasm.mul(nan, nan)
}

// ---------------------------------------------------------------------------------------------
// comparisons
// ---------------------------------------------------------------------------------------------

const agree = (c: Comparison, o: number, i: number, a: number, b: number): boolean => {
  if (Object.is(a, b)) return true
  if (c === 'bits') return false
  if (c === 'numbers') return a === b || (Number.isNaN(a) && Number.isNaN(b))
  return Number.isFinite(a) && Number.isFinite(b) && Math.abs(a - b) <= c.within[o][i]
}

const describeComparison = (c: Comparison, o: number, i: number): string =>
  typeof c === 'string' ? c : `within ${c.within[o][i]}`

/** Throws at the first element where `got` and `want` disagree under `c`. */
const expectSame = (name: KernelName, got: readonly Data[], want: readonly Data[], c: Comparison): void => {
  const names = kernelSpecs[name].outputs
  expect(got.length).toBe(want.length)
  got.forEach((g, o) => {
    expect(g.length, `${name}.${names[o]} length`).toBe(want[o].length)
    for (let i = 0; i < g.length; i++) {
      if (!agree(c, o, i, g[i], want[o][i])) {
        throw new Error(`${name}.${names[o]}[${i}]: ${g[i]} vs ${want[o][i]} (${describeComparison(c, o, i)})`)
      }
    }
  })
}

/** All the bytes of a buffer's storage, around a view too. */
const storageOf = (d: Data): Uint8Array => new Uint8Array(d.buffer)

/** Byte-for-byte equality (NaN payloads included). */
const sameBytes = (x: Uint8Array, y: Uint8Array): boolean => x.length === y.length && x.every((v, i) => v === y[i])

// ---------------------------------------------------------------------------------------------
// the laws, over every kernel
// ---------------------------------------------------------------------------------------------

describe('the WebAssembly module', () => {
  it('loads (npm run build:wasm)', () => {
    expect(loaded?.name).toBe('wasm')
  })
})

describe.each(kernelNames.map((name) => [name] as const))('kernel %s', (name) => {
  const c = cases[name] as unknown as KernelCase<KernelName>
  const comparison = (args: AnyArgs): Comparison => c.compare?.(args as never) ?? 'bits'
  const spec = kernelSpecs[name]

  it('wasm equals the cpu reference', () => {
    fc.assert(
      fc.property(c.args, (args) => {
        expectSame(name, call(wasm, name, args), call(cpu, name, args), comparison(args))
      }),
    )
  })

  it('changes no argument, buffers (statistics included) or attributes', () => {
    fc.assert(
      fc.property(c.args, (args) => {
        for (const [, device] of devices) {
          const buffers = bufferArgs<Data>(name, args)
          // the whole storage: a view's neighbours must stay as they were too
          const before = buffers.map((b) => (b === null ? null : storageOf(b).slice()))
          const attrs = structuredClone(attrsArg(name, args))
          call(device, name, args)
          const after = bufferArgs<Data>(name, args)
          expect(after.length).toBe(buffers.length)
          after.forEach((b, i) => {
            expect(b, `${device.name} buffer ${i}`).toBe(buffers[i])
            const was = before[i]
            if (b !== null && was !== null && !sameBytes(storageOf(b), was)) {
              throw new Error(`${device.name}: ${name} wrote to buffer ${i}`)
            }
          })
          expect(attrsArg(name, args)).toEqual(attrs)
        }
      }),
    )
  })

  it('gives the same bits twice (the wasm arena dirtied in between)', () => {
    fc.assert(
      fc.property(c.args, (args) => {
        for (const [, device] of devices) {
          const first = call(device, name, args)
          dirtyArena([...bufferArgs<Data>(name, args), ...first])
          expectSame(name, call(device, name, args), first, 'bits')
        }
      }),
    )
  })

  it('gives the outputs kernelSpecs says: names, lengths, dtypes (float32 and float64 data)', () => {
    fc.assert(
      fc.property(c.args, (args) => {
        for (const a of [args, widen(name, args)]) {
          const buffers = bufferArgs<Data>(name, a)
          const attrs = attrsArg(name, a)
          const lengths = spec.lengths(attrs as never, buffers.map((b) => (b === null ? null : b.length)))
          const inputDtypes = buffers.map((b) => (b === null ? undefined : dtypeOfData(b)))
          // each output's rule: statistics, the attributes' dtype, like the first buffer or like buffer i
          const dtypeOf = (o: number): DType => {
            const rule = outputRule(name, o)
            if (rule === 'stats') return 'float64'
            if (rule === 'attr') return (attrs as { readonly dtype: DType }).dtype
            if (rule === 'like') return inputDtypes.find((d) => d !== undefined) ?? 'float32'
            return inputDtypes[rule.like] ?? 'float32'
          }
          for (const [, device] of devices) {
            const result = (device[name] as (...x: AnyArgs) => unknown)(...a)
            if (spec.outputs === 'list') expect(Array.isArray(result)).toBe(true)
            else if (spec.outputs.length > 1) expect(Object.keys(result as object).sort()).toEqual([...spec.outputs].sort())
            const outs = outputsOf(name, result)
            expect(outs.map((o) => o.length)).toEqual(lengths)
            outs.forEach((o, i) => {
              expect(dtypeOfData(o), `${device.name} output ${spec.outputs === 'list' ? i : spec.outputs[i]} dtype`).toBe(dtypeOf(i))
            })
            // new buffers: no storage shared with an argument or another output
            const storages = new Set([...buffers, ...outs].map((b) => b?.buffer))
            expect(storages.size, `${device.name} outputs in fresh storage`).toBe(
              new Set(buffers.map((b) => b?.buffer)).size + outs.length,
            )
          }
        }
      }),
    )
  })

  it('float64 data: wasm gives exactly the cpu bits', () => {
    fc.assert(
      fc.property(c.args, (args) => {
        const wide = widen(name, args)
        expectSame(name, call(wasm, name, wide), call(cpu, name, wide), 'bits')
      }),
    )
  })

  it('destination-first: writes every output element, whatever out held', () => {
    fc.assert(
      fc.property(c.args, (args) => {
        for (const a of [args, widen(name, args)]) {
          for (const [, device, table] of devices) {
            const want = call(device, name, a)
            for (const stale of [Number.NaN, -7.25]) {
              const outs = want.map((w) => alloc(w.length, dtypeOfData(w)).fill(stale))
              callInto(table, name, outs, a)
              expectSame(name, outs, want, 'bits')
            }
          }
        }
      }),
    )
  })

  const oracle = c.oracle
  if (oracle !== undefined) {
    it('the cpu reference gives what the doc comment says, computed another way', () => {
      fc.assert(
        fc.property(c.args, (args) => {
          for (const a of [args, widen(name, args)]) expectSame(name, call(cpu, name, a), oracle(a as never), 'bits')
        }),
      )
    })
  }

  if (c.elementwise === true) {
    it('destination-first: out may be one of the inputs', () => {
      fc.assert(
        fc.property(c.args, (args) => {
          for (const a of [args, widen(name, args)]) {
            for (const [, device, table] of devices) {
              const want = call(device, name, a)
              const buffers = bufferArgs<Data>(name, a)
              want.forEach((w, o) => {
                buffers.forEach((b, i) => {
                  if (b === null || b.length !== w.length || dtypeOfData(b) !== dtypeOfData(w)) return
                  const aliased = b.slice()
                  const outs = want.map((x, j) => (j === o ? aliased : alloc(x.length, dtypeOfData(x))))
                  callInto(table, name, outs, a.map((arg, j) => (j === i ? aliased : arg)))
                  expectSame(name, outs, want, 'bits')
                })
              })
            }
          }
        }),
      )
    })
  }
})

// ---------------------------------------------------------------------------------------------
// beyond single kernels
// ---------------------------------------------------------------------------------------------

describe('uniform draws', () => {
  it('both devices draw exactly uniform(key, n), float32 and float64, across wasm slices', () => {
    fc.assert(
      fc.property(
        keyArb(),
        fc.oneof(
          { weight: 4, arbitrary: fc.nat(70) },
          { weight: 1, arbitrary: fc.integer({ min: 40_000, max: 120_000 }) },
        ),
        fc.constantFrom<DType>('float32', 'float64'),
        (k, length, dtype) => {
          const want = uniform(k, length, dtype)
          for (const [, device] of devices) {
            expectSame('uniform', [device.uniform({ length, key: k, dtype })], [want], 'bits')
          }
        },
      ),
    )
  })
})

describe("the sigmoid surrogate's exp (asm/neuron.ts)", () => {
  const exports = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(kernelsUrl())), {})
    .exports as unknown as KernelExports
  it('is Math.exp bit for bit: any double, the reduction ranges, their edges, tiny, huge, NaN, the infinities', () => {
    const ln2 = Math.LN2
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double(),
          fc.double({ min: -746, max: 710 }),
          fc.double({ min: -1.5 * ln2, max: 1.5 * ln2 }),
          fc.constantFrom(1, -1, 0, -0, 0.5 * ln2, 1.5 * ln2, -0.5 * ln2, -1.5 * ln2, 2 ** -28, -(2 ** -28)),
          fc.constantFrom(709.782712893384, -745.1332191019411, Number.NaN, Infinity, -Infinity),
          fc.double({ min: -(2 ** -27), max: 2 ** -27 }),
          fc.double({ min: -746, max: -707 }),
        ),
        (x) => {
          const got = exports.exp64(x)
          expect(Object.is(got, Math.exp(x)), `exp(${x}): ${got} vs ${Math.exp(x)}`).toBe(true)
        },
      ),
      { numRuns: 2000 },
    )
  })
})

describe('strided inputs through layer ops on the wasm device', () => {
  const dim = (max: number) => fc.integer({ min: 1, max })
  const nchw = fc.tuple(dim(2), dim(3), fc.integer({ min: 2, max: 9 }), fc.integer({ min: 2, max: 9 }))
  const flat = (t: Tensor): readonly Data[] => [t.data]

  it('maxPool2d and upsampleNearest: a strided view gives the contiguous result (and the cpu one)', () => {
    fc.assert(
      fc.property(
        nchw.chain((shape) => tensorArb(shape).chain((t) => fc.tuple(fc.constant(t), stridedViewArb(t)))),
        ([t, view]) => {
          const spec = { kernelSize: 2 }
          const pooled = flat(orThrow(maxPool2d(view, spec, wasm)))
          expectSame('pool2d', pooled, flat(orThrow(maxPool2d(t, spec, wasm))), 'bits')
          // 2x2 max on wasm may give +0 where the cpu keeps -0
          expectSame('pool2d', pooled, flat(orThrow(maxPool2d(t, spec, cpu))), 'numbers')
          const up = flat(orThrow(upsampleNearest(view, 2, wasm)))
          expectSame('upsampleNearest', up, flat(orThrow(upsampleNearest(t, 2, wasm))), 'bits')
          expectSame('upsampleNearest', up, flat(orThrow(upsampleNearest(t, 2, cpu))), 'bits')
        },
      ),
    )
  })

  it('customLinear and layerNorm: a strided view gives the contiguous result (and the cpu one)', () => {
    fc.assert(
      fc.property(
        fc.tuple(dim(5), dim(9), dim(7)).chain(([n, i, o]) =>
          fc.tuple(tensorArb([n, i]).chain((t) => fc.tuple(fc.constant(t), stridedViewArb(t))), tensorArb([i, o])),
        ),
        ([[x, view], weight]) => {
          const features = x.shape[1]
          const linear = customLinear({ inFeatures: features, outFeatures: weight.shape[1] })
          const params = orThrow(customLinearParams({ weight }))
          const run = (input: Tensor, device: Device<Data>) =>
            flat(orThrow(linear.apply(params, {}, input, evaluate(device))).output as Tensor)
          const got = run(view, wasm)
          expectSame('matmul', got, run(copy(x), wasm), 'bits')
          expectSame('matmul', got, run(copy(x), cpu), 'bits')
          const ln = layerNorm({ normalizedShape: features })
          const lp = orThrow(ln.init(key(0), x.shape)).params
          const norm = (input: Tensor, device: Device<Data>) =>
            flat(orThrow(ln.apply(lp, {}, input, evaluate(device))).output as Tensor)
          const normed = norm(view, wasm)
          expectSame('normalizeAlongAxis', normed, norm(copy(x), wasm), 'bits')
          // against the cpu: the contiguous moments sum in another float64 order (see the
          // momentsAlongAxis case); normalized values of size ~1 then differ within float32 rounding
          const cpuNormed = norm(copy(x), cpu)[0]
          normed[0].forEach((v, j) => expect(Math.abs(v - cpuNormed[j])).toBeLessThanOrEqual(1e-5))
        },
      ),
    )
  })
})
