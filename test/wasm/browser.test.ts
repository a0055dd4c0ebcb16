/**
 * The WebAssembly kernels in a browser: a page bundled with vite (braincog-fn resolved to the
 * sources, as in test/browser) loads them with `loadWasmBackend()` (vite ships the binary through
 * its `new URL(..., import.meta.url)`), runs CustomLinear and max pooling on them and on the CPU
 * kernels, and reports the backend's name and both results. Needs Chromium, as test/browser does;
 * never skipped.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import type { Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundlePage, closeServer, launchChromium, serveDir, urlOf } from '../support/browser.js'

const root = resolve(__dirname, '../..')

const page = `import { cpu, customLinear, customLinearParams, evaluate, generate, loadWasmBackend, maxPool2d, orThrow } from 'braincog-fn'

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
  return { name: wasm?.name ?? null, wasm: wasm ? on(wasm) : null, cpu: on(cpu) }
}
run().then((r) => { globalThis.__result = r }, (e) => { globalThis.__result = { error: String(e) } })
`

interface Result {
  readonly name?: string | null
  readonly error?: string
  readonly wasm?: { readonly linear: readonly number[]; readonly pooled: readonly number[] } | null
  readonly cpu?: { readonly linear: readonly number[]; readonly pooled: readonly number[] }
}

describe('the wasm backend in headless Chromium', () => {
  const work = mkdtempSync(join(tmpdir(), 'braincog-fn-wasm-browser-'))
  let server: Server | undefined
  let browser: Browser | undefined

  beforeAll(async () => {
    writeFileSync(join(work, 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>')
    writeFileSync(join(work, 'main.js'), page)
    server = await serveDir(await bundlePage(work, root))
    browser = await launchChromium()
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await closeServer(server)
    rmSync(work, { recursive: true, force: true })
  })

  it('loads with loadWasmBackend() and matches the CPU kernels', async () => {
    if (!browser || !server) throw new Error('setup failed')
    const tab = await browser.newPage()
    const errors: string[] = []
    tab.on('pageerror', (e) => errors.push(e.message))
    await tab.goto(urlOf(server))
    await tab.waitForFunction(() => (globalThis as { __result?: unknown }).__result !== undefined, undefined, {
      timeout: 30_000,
    })
    const r = await tab.evaluate(() => (globalThis as unknown as { __result: Result }).__result)
    expect(errors).toEqual([])
    expect(r.error).toBeUndefined()
    expect(r.name).toBe('wasm')
    expect(r.wasm?.pooled).toEqual(r.cpu?.pooled)
    const cpuLinear = r.cpu?.linear ?? []
    expect(r.wasm?.linear.length).toBe(cpuLinear.length)
    r.wasm?.linear.forEach((v, i) => expect(Math.abs(v - cpuLinear[i])).toBeLessThanOrEqual(1e-5))
  }, 60_000)
})
