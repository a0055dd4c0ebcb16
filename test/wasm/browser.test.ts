/**
 * The WebAssembly kernels in a browser: a page bundled with vite (braincog-fn resolved to the
 * sources, as in test/browser) loads them with `loadWasmBackend()` (vite ships the binaries through
 * their `new URL(..., import.meta.url)`), runs CustomLinear and max pooling on them and on the CPU
 * kernels, and reports the backend's name, its thread count and both results. Served plainly, the
 * page is not cross-origin isolated, so it runs one thread; served with the COOP/COEP headers it
 * is, and the page also runs matmul and the three convolution kernels on one thread and on two
 * (workers over shared memory) and reports whether the bits agree, whether the workers took part,
 * and the times. Needs Chromium, as test/browser does; never skipped.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundlePage, closeServer, isolationHeaders, launchChromium, serveDir, urlOf } from '../support/browser.js'

const root = resolve(__dirname, '../..')

const page = `import { cpu, customLinear, customLinearParams, evaluate, generate, loadWasmBackend, maxPool2d, orThrow, wasmThreads } from 'braincog-fn'
import { threadPoolOf } from '${resolve(root, 'src/backend/wasm/load.ts')}'

const filled = (n, seed) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed))

/** matmul and the convolutions on one thread and on two: the same bits?, the workers' parts, ms per call. */
const threads = async () => {
  const one = await loadWasmBackend(undefined, { threads: 1 })
  const two = await loadWasmBackend(undefined, { threads: 2 })
  const [m, k, n] = [256, 1024, 1024]
  const x = filled(m * k, 1), w = filled(k * n, 2), b = filled(n, 3)
  const conv = { n: 64, c: 16, h: 14, w: 14, o: 32, kh: 5, kw: 5, sh: 1, sw: 1, ph: 2, pw: 2, dh: 1, dw: 1, groups: 1 }
  const cx = filled(64 * 16 * 196, 4), cw = filled(32 * 16 * 25, 5), cb = filled(32, 6), cg = filled(64 * 32 * 196, 7)
  const calls = {
    matmul: (d) => d.matmul(x, w, b, { m, k, n }),
    matmulTransA: (d) => d.matmul(x, w, null, { m: k, k: m, n: k, transA: true }),
    matmulTransB: (d) => d.matmul(x, w, null, { m, k, n: k, transB: true }),
    conv2d: (d) => d.conv2d(cx, cw, cb, conv),
    conv2dGradInput: (d) => d.conv2dGradInput(cg, cw, conv),
    conv2dGradWeight: (d) => d.conv2dGradWeight(cg, cx, conv),
  }
  const ms = (f) => {
    f()
    const t = []
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now()
      f()
      t.push(performance.now() - t0)
    }
    return t.sort((p, q) => p - q)[2]
  }
  const same = {}, times = {}
  for (const [name, f] of Object.entries(calls)) {
    const a = f(one), c = f(two)
    same[name] = a.length === c.length && a.every((v, i) => Object.is(v, c[i]))
    times[name] = [ms(() => f(one)), ms(() => f(two))]
  }
  return { counts: [wasmThreads(one), wasmThreads(two)], same, times, workerParts: threadPoolOf(two)?.workerParts() ?? 0 }
}

const run = async () => {
  const wasm = await loadWasmBackend()
  const x = generate([4, 33], (i) => Math.sin(i))
  const weight = generate([33, 9], (i) => Math.cos(i) / 8)
  const linear = customLinear({ inFeatures: 33, outFeatures: 9 })
  const params = orThrow(customLinearParams({ weight }))
  const images = generate([2, 3, 8, 8], (i) => Math.sin(i * 0.7))
  const on = (backend) => ({
    linear: Array.from(orThrow(linear.apply(params, {}, x, evaluate(backend))).output.data),
    pooled: Array.from(orThrow(maxPool2d(images, { kernelSize: 2 }, backend)).data),
  })
  return {
    name: wasm?.name ?? null,
    isolated: globalThis.crossOriginIsolated === true,
    cores: navigator.hardwareConcurrency,
    threads: wasm ? wasmThreads(wasm) : null,
    wasm: wasm ? on(wasm) : null,
    cpu: on(cpu),
    threaded: globalThis.crossOriginIsolated === true ? await threads() : null,
  }
}
run().then((r) => { globalThis.__result = r }, (e) => { globalThis.__result = { error: String(e) } })
`

interface Result {
  readonly name?: string | null
  readonly error?: string
  readonly isolated?: boolean
  readonly cores?: number
  readonly threads?: number | null
  readonly wasm?: { readonly linear: readonly number[]; readonly pooled: readonly number[] } | null
  readonly cpu?: { readonly linear: readonly number[]; readonly pooled: readonly number[] }
  readonly threaded?: {
    readonly counts: readonly number[]
    readonly same: Readonly<Record<string, boolean>>
    readonly times: Readonly<Record<string, readonly [number, number]>>
    readonly workerParts: number
  } | null
}

describe('the wasm backend in headless Chromium', () => {
  const work = mkdtempSync(join(tmpdir(), 'braincog-fn-wasm-browser-'))
  let server: Server | undefined
  let isolated: Server | undefined
  let browser: Browser | undefined

  beforeAll(async () => {
    writeFileSync(join(work, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>')
    writeFileSync(join(work, 'main.js'), page)
    const dist = await bundlePage(work, root)
    server = await serveDir(dist)
    isolated = await serveDir(dist, { headers: isolationHeaders })
    browser = await launchChromium()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await closeServer(server)
    await closeServer(isolated)
    rmSync(work, { recursive: true, force: true })
  })

  /** Opens the page from `from` and waits for its result; page errors fail the test. */
  const open = async (from: Server | undefined): Promise<Result> => {
    if (!browser || !from) throw new Error('setup failed')
    const tab = await browser.newPage()
    const errors: string[] = []
    tab.on('pageerror', (e) => errors.push(e.message))
    await tab.goto(urlOf(from))
    await tab.waitForFunction(() => (globalThis as { __result?: unknown }).__result !== undefined, undefined, {
      timeout: 90_000,
    })
    const r = await tab.evaluate(() => (globalThis as unknown as { __result: Result }).__result)
    await tab.close()
    expect(errors).toEqual([])
    expect(r.error).toBeUndefined()
    return r
  }

  /** The wasm results against the CPU kernels' (the linear layer within float32 rounding). */
  const matchesCpu = (r: Result): void => {
    expect(r.name).toBe('wasm')
    expect(r.wasm?.pooled).toEqual(r.cpu?.pooled)
    const cpuLinear = r.cpu?.linear ?? []
    expect(r.wasm?.linear.length).toBe(cpuLinear.length)
    r.wasm?.linear.forEach((v, i) => expect(Math.abs(v - cpuLinear[i])).toBeLessThanOrEqual(1e-5))
  }

  it('loads with loadWasmBackend() and matches the CPU kernels; a page not isolated runs one thread', async () => {
    const r = await open(server)
    matchesCpu(r)
    expect(r.isolated).toBe(false)
    expect(r.threads).toBe(1)
    expect(r.threaded).toBeNull()
  }, 120_000)

  it('on a cross-origin-isolated page, two threads over shared memory give the bits of one', async () => {
    const r = await open(isolated)
    matchesCpu(r)
    expect(r.isolated).toBe(true)
    expect(r.threads).toBe(Math.min(r.cores ?? 1, 8))
    expect(r.threaded?.counts).toEqual([1, 2])
    expect(r.threaded?.same).toEqual({
      matmul: true, matmulTransA: true, matmulTransB: true, conv2d: true, conv2dGradInput: true, conv2dGradWeight: true,
    })
    expect(r.threaded?.workerParts).toBeGreaterThan(0)
    const times = Object.entries(r.threaded?.times ?? {}).map(([k, [a, b]]) => `${k} ${a.toFixed(1)} / ${b.toFixed(1)} ms`)
    console.log(`chromium, ${r.cores} cores, 1 / 2 threads: ${times.join('; ')}`)
  }, 180_000)
})
