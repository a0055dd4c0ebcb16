/**
 * The GPU backend in a real browser: vite bundles test/gpu/page (gpu.js's browser build plus
 * braincog-fn/gpu), headless Chromium opens it, gpu.js gets WebGL2 (software-rendered by
 * SwiftShader there), and matmul and pool2d must match the CPU kernels.
 *
 * Chromium is required, not optional: where /usr/bin/chromium is missing the test fails and
 * says how to install it (CI installs it), it never skips.
 */
import type { Server } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Browser } from 'playwright-core'
import { build } from 'vite'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { closeServer, launchChromium, serveDir, urlOf, webglArgs } from '../support/browser.js'
import type { GpuCheck } from './page/main.js'

/** float32 rounding over the summed terms, scaled by their magnitude (see the page's `worst`). */
const TOLERANCE = 1e-5

describe('GPU backend in headless Chromium (WebGL2)', () => {
  let outDir = ''
  let server: Server | undefined
  let browser: Browser | undefined
  let url = ''

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'braincog-gpu-page-'))
    await build({
      root: resolve(import.meta.dirname, 'page'),
      configFile: false,
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true, minify: false, target: 'es2022', reportCompressedSize: false },
    })
    server = await serveDir(outDir)
    url = urlOf(server)
    browser = await launchChromium(webglArgs)
  }, 120_000)

  afterAll(async () => {
    await browser?.close()
    await closeServer(server)
    if (outDir) await rm(outDir, { recursive: true, force: true })
  })

  const check = async (query: string): Promise<GpuCheck> => {
    if (!browser) throw new Error('no browser')
    const page = await browser.newPage()
    const logs: string[] = []
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`))
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`))
    await page.goto(`${url}${query}`)
    await page.waitForFunction(() => window.__gpuCheck !== undefined, undefined, { timeout: 60_000 })
    const result = (await page.evaluate(() => window.__gpuCheck)) as GpuCheck
    await page.close()
    console.log(
      `gpu.js mode in headless Chromium${query ? ` (${query})` : ''}: ${result.mode} ` +
        `(WebGL2 context available: ${result.webgl2})\n` +
        result.comparisons
          .map((c) => `  ${c.kernel}: ${c.size} values, max scaled error ${c.error.toExponential(2)}`)
          .join('\n'),
    )
    expect(result.error, `page failed:\n${result.error}\n${logs.join('\n')}`).toBeUndefined()
    expect(result.fallbacks, 'kernels that fell back to the CPU').toEqual([])
    expect(result.degraded, 'kernels gpu.js ran in another mode').toEqual([])
    expect(result.comparisons.length).toBe(16)
    for (const c of result.comparisons) expect(c.error, c.kernel).toBeLessThanOrEqual(TOLERANCE)
    return result
  }

  it('gpu.js picks WebGL2; matmul, pool2d and the other GPU kernels match the CPU kernels', async () => {
    const result = await check('')
    expect(result.webgl2, 'Chromium offered no WebGL2 context (SwiftShader flags?)').toBe(true)
    expect(result.mode).toBe('webgl2')
  }, 120_000)

  it('the same kernels on WebGL 1 (mode webgl)', async () => {
    expect((await check('?mode=webgl')).mode).toBe('webgl')
  }, 120_000)
})
