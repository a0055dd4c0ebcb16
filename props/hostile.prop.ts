/**
 * The hostile-input suite: junk for every public function's every argument, as a JavaScript
 * caller without types may pass it (see props/hostile/junk.ts for what is generated, and
 * props/hostile/engine.ts for what each call is judged by). One row per function (and per
 * method of the layers the descriptor table builds); adding a public function means adding a
 * row, and the last test fails for an export that is neither in the table nor excluded here
 * with a reason.
 *
 * The seed is fixed (props/setup.ts; FC_SEED explores others), so a failure replays.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import fc from 'fast-check'
import { afterAll, describe, expect, it } from 'vitest'
import * as arbitraries from '../src/arbitraries/index.js'
import * as main from '../src/index.js'
import { counters, layerErrorProblem, propertyOf, type Row, TIME_LIMIT_MS } from './hostile/engine.js'
import { junkArb, materialize } from './hostile/junk.js'
import { rows as basics } from './hostile/rows/basics.js'
import { gradRows, rows as compose } from './hostile/rows/compose.js'
import { constructorNames, rows as layers } from './hostile/rows/layers.js'
import { rows as tensors } from './hostile/rows/tensor.js'
import { rows as training } from './hostile/rows/training.js'

const table: readonly Row[] = [...basics, ...tensors, ...layers, ...compose, ...gradRows, ...training]

/** Runs of a row: its own count (default 60) times HOSTILE_SCALE (default 2; raise it to search harder). */
const scale = Number(process.env.HOSTILE_SCALE ?? 2)
const runsOf = (r: Row): number => Math.max(1, Math.round((r.runs ?? 60) * scale))

/**
 * Exports that are not functions a caller passes arguments to, or that are the device level
 * below every check: there a step has been validated by its layer's `prepare`, which is why a
 * step's `run` "cannot fail", and the kernels take buffers and attributes at full speed.
 */
const excluded: Readonly<Record<string, string>> = {
  cpu: 'a Device: its kernels are raw device kernels, called by steps after prepare has checked every size',
  cpuKernels: 'destination-first host kernels (write into `out`): the device level below cpu, unchecked by design',
  hostDevice: 'builds a Device from raw kernels (for backend authors): the device level',
  DeviceTensor: 'a buffer paired with its shape inside a step: the device level',
  onDevice: 'uploads a tree inside a function given to valueAndGrad: the device level',
  customVjp: "a function of device buffers with its own backward rule: the device level (valueAndGrad's row runs one)",
  gradRules: 'data: the backward rule of every kernel',
  pooledSize: "the kernels' window arithmetic (src/kernel, numbers in, numbers out); pooledShape is the checked op",
  convOutputSize: "the kernels' window arithmetic (src/kernel, numbers in, numbers out); Conv2d's outputShape is the checked one",
  kernelSpecs: 'data: the spec of every kernel (attributes, dtypes, sizes), read by backends and the device checks',
  deviceFrom: 'builds a Device from raw kernels (for backend authors): the device level',
  MAX_HEADER_BYTES: 'a constant',
  empty: 'a frozen value, not a function',
  MAX_ELEMENTS: 'a constant',
  MAX_RANK: 'a constant',
  DESCRIBE_MAX: 'a constant',
  loadWasmBackend: 'asynchronous: its own test below (every junk source resolves, to undefined or a device)',
  loadResidentBackend: 'asynchronous: its own test below, with loadWasmBackend',
  WasmBuffer: "the resident device's buffer handle, made by its kernels inside a step: the device level",
  saveCheckpoint: 'writes files: its own test below (every path under a fresh temporary folder)',
  loadCheckpoint: 'reads files: its own test below, with saveCheckpoint',
}

describe('hostile input: every public function, every argument', () => {
  afterAll(() => {
    // the closing count: what one run of the suite did
    console.log(
      `hostile suite: ${table.length} rows, ${counters.calls} calls, slowest ${counters.slowest.toFixed(0)} ms (${counters.slowestRow})`,
    )
  })

  for (const r of table) {
    if (r.outside === undefined) {
      it(r.name, () => {
        fc.assert(propertyOf(r), { numRuns: runsOf(r) })
      })
    } else {
      // a known defect in files this suite's authors do not own: expected to fail until fixed
      it.fails(`${r.name} (known, outside: ${r.outside})`, () => {
        fc.assert(propertyOf(r), { numRuns: runsOf(r) })
      })
    }
  }

  // a load compiles the module and may start its worker threads: seconds on a slow shared
  // machine, so the bound here only catches a hang
  const LOAD_LIMIT_MS = 5 * TIME_LIMIT_MS
  it('loadWasmBackend, loadResidentBackend: any source resolves, to undefined or a device, in bounded time', async () => {
    for (const load of [main.loadWasmBackend, main.loadResidentBackend]) {
      for (const source of fc.sample(junkArb, { numRuns: 30, seed: 3 })) {
        const t0 = performance.now()
        const d = await load(source as string)
        expect(performance.now() - t0).toBeLessThan(LOAD_LIMIT_MS)
        expect(d === undefined || typeof d.run === 'function').toBe(true)
      }
      // junk options: the defaults (undefined, null), or a RangeError naming the loader and the option
      for (const options of fc.sample(junkArb, { numRuns: 30, seed: 4 })) {
        const t0 = performance.now()
        const named = load === main.loadWasmBackend ? 'loadWasmBackend' : 'loadResidentBackend'
        try {
          const d = await load(undefined, options as never)
          expect(options === undefined || options === null || typeof options === 'object').toBe(true)
          expect(d === undefined || typeof d.run === 'function').toBe(true)
        } catch (e) {
          expect(e).toBeInstanceOf(RangeError)
          expect((e as Error).message).toMatch(new RegExp(`^${named}: options`))
        }
        expect(performance.now() - t0).toBeLessThan(LOAD_LIMIT_MS)
      }
    }
  })

  it('saveCheckpoint, loadCheckpoint: junk paths, trees and templates give LayerErrors naming them, in bounded time, writing only under a fresh folder', () => {
    const dir = mkdtempSync(join(tmpdir(), 'braincog-hostile-'))
    const cwd = readdirSync('.').sort().join()
    try {
      const blocker = join(dir, 'blocker')
      writeFileSync(blocker, 'a file where a folder is needed')
      writeFileSync(join(dir, 'garbage.safetensors'), new Uint8Array([1, 2, 3, 250, 0, 0, 0, 0, 9]))
      mkdirSync(join(dir, 'folder'))
      const tree = { params: { w: main.tensor([1, 2, 3, 4], [2, 2]), b: null, s: main.full([], 2) }, step: 3 }
      // string paths are ours, all inside the folder; the junk ones are never strings
      const paths: readonly unknown[] = [
        join(dir, 'ok.safetensors'),
        join(dir, 'missing', 'x.safetensors'),
        join(dir, 'folder'),
        join(blocker, 'x.safetensors'),
        join(dir, 'nul\0byte'),
        join(dir, 'n'.repeat(300)),
        join(dir, 'garbage.safetensors'),
        '',
        ...fc.sample(junkArb.filter((v) => typeof v !== 'string'), { numRuns: 16, seed: 4 }),
      ]
      const trees = [tree, ...fc.sample(junkArb, { numRuns: 8, seed: 5 })]
      const metadata = [undefined, { epoch: '1' }, ...fc.sample(junkArb, { numRuns: 3, seed: 6 })]
      const timed = <A>(f: () => A): A => {
        const t0 = performance.now()
        const r = f()
        expect(performance.now() - t0).toBeLessThan(TIME_LIMIT_MS)
        return r
      }
      const judged = (fn: string, args: readonly unknown[], r: unknown): E.Either<main.LayerError, unknown> => {
        expect(typeof r === 'object' && r !== null && ['Left', 'Right'].includes((r as { _tag?: unknown })._tag as string)).toBe(true)
        const e = r as E.Either<main.LayerError, unknown>
        if (E.isLeft(e)) expect(layerErrorProblem(e.left, [fn], args)).toBeUndefined()
        return e
      }
      let saved = 0
      for (const [i, p] of paths.entries()) {
        for (const [j, t] of trees.entries()) {
          const args = materialize([p, t, metadata[(i + j) % metadata.length]])
          const r = judged('saveCheckpoint', args, timed(() => main.saveCheckpoint(args[0] as string, args[1], args[2] as Record<string, string>)))
          // a failed write leaves no temporary file behind
          expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
          if (E.isLeft(r)) continue
          saved++
          expect(typeof p === 'string' && p.startsWith(dir)).toBe(true)
          const back = timed(() => main.loadCheckpoint(args[0] as string, args[1]))
          expect(E.isRight(back) && E.isRight(main.flattenTree(back.right)) ? main.toSafetensors(back.right) : back).toEqual(main.toSafetensors(args[1]))
        }
        for (const t of trees) {
          const args = materialize([p, t])
          judged('loadCheckpoint', args, timed(() => main.loadCheckpoint(args[0] as string, args[1])))
        }
      }
      expect(saved).toBeGreaterThan(0)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
    expect(readdirSync('.').sort().join()).toBe(cwd)
  })

  it('every export of the main entry and of braincog-fn/arbitraries is in the table or excluded', () => {
    const covered = new Set([...table.flatMap((r) => r.covers), ...constructorNames])
    const missing = [...Object.keys(main), ...Object.keys(arbitraries)].filter((k) => !covered.has(k) && !(k in excluded))
    expect(missing).toEqual([])
    // and nothing is both: an exclusion of a covered export is stale
    expect(Object.keys(excluded).filter((k) => covered.has(k))).toEqual([])
  })
})
