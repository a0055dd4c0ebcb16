/**
 * The GPU backend in a real browser: vite bundles test/gpu/page (gpu.js's browser build plus
 * braincog-fn/gpu), headless Chromium opens it, gpu.js gets WebGL2 (software-rendered by
 * SwiftShader there), and matmul and pool2d must match the CPU kernels.
 *
 * The GPU device too: each device kernel matches the host device on the CPU kernels, every
 * buffer it makes is a gpu.js `Texture` (up to 2^23 values; one more is kept on the host), and
 * `scanOnDevice(pipeline, gpu.device)` matches `scan(pipeline)` while handing only textures
 * between layers and steps: its readbacks do not grow with the number of steps, it frees
 * every buffer it made, and the GL textures alive after a scan do not grow with its length.
 * Textures also outlive the eviction of the kernel that made them from the kernel cache.
 *
 * Chromium is required, not optional (CHROMIUM_PATH, /usr/bin/chromium, or the headless shell
 * of the devDependency @sparticuz/chromium, whose SwiftShader gives WebGL2): where none is
 * found the test fails and says how to get one, it never skips.
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
    checkDevice(result)
    return result
  }

  /** The device part of the page's outcome; see the file doc. */
  const checkDevice = (result: GpuCheck): void => {
    const device = result.device
    if (!device) throw new Error('the page ran no device check')
    console.log(
      `GPU device (${result.mode}):\n` +
        device.comparisons
          .map((c) => `  ${c.kernel}: ${c.size} values (${c.kinds.join(', ')}), max scaled error ${c.error.toExponential(2)}`)
          .join('\n') +
        '\n' +
        device.scans
          .map(
            (s) =>
              `  scan ${s.pipeline} T=${s.steps} read ${s.read}: output error ${s.outputError.toExponential(2)}, ` +
              `state error ${s.stateError.toExponential(2)}, ${s.trace.reads} reads, ${s.trace.uploads} uploads, ` +
              `${s.trace.kernels} kernels, made ${JSON.stringify(s.trace.kinds)}`,
          )
          .join('\n') +
        `\n  live GL textures after scans of 3 and 6 steps: ${device.glTextures.join(', ')}`,
    )
    expect(device.comparisons.length).toBe(27)
    for (const c of device.comparisons) {
      expect(c.error, c.kernel).toBeLessThanOrEqual(TOLERANCE)
      const where = c.kernel.includes('on the host') ? 'host' : 'texture'
      for (const k of c.kinds) expect(k, c.kernel).toBe(where)
    }
    expect(device.notTextures, 'buffers of kind texture that are not gpu.js Textures').toBe(0)
    expect(device.scans.length).toBeGreaterThan(0)
    for (const s of device.scans) {
      const what = `scan ${s.pipeline} T=${s.steps} read ${s.read}`
      expect(s.outputError, what).toBeLessThanOrEqual(TOLERANCE)
      expect(s.stateError, what).toBeLessThanOrEqual(TOLERANCE)
      expect(s.trace.live, `${what}: buffers left`).toBe(0)
      if (!s.resident) continue
      // resident: only textures made and handed to kernels, and no readback but the result's
      // (one: 'all' gathers the steps on the GPU) and the final state's
      expect(Object.keys(s.trace.kinds), what).toEqual(['texture'])
      expect(Object.keys(s.trace.argumentKinds), what).toEqual(['texture'])
      expect(s.trace.reads, `${what}: readbacks`).toBe(1 + s.stateBuffers)
    }
    expect(device.glTextures[1], 'live GL textures grew with the scan length').toBe(device.glTextures[0])
    expect(device.liveBuffers, 'device buffers not freed').toBe(0)
  }

  it('gpu.js picks WebGL2; matmul, pool2d and the other GPU kernels match the CPU kernels', async () => {
    const result = await check('')
    expect(result.webgl2, 'Chromium offered no WebGL2 context (SwiftShader flags?)').toBe(true)
    expect(result.mode).toBe('webgl2')
  }, 120_000)

  it('the same kernels on WebGL 1 (mode webgl)', async () => {
    const r = await check('?mode=webgl')
    expect(r.mode).toBe('webgl')
    expect(r.device?.textureTypes.length).toBeGreaterThan(0)
    expect(r.device?.textureTypes).not.toContain('MemoryOptimizedNumberTexture')
  }, 120_000)

  it('the device with packed textures (packTextures: four values per texel) on WebGL2', async () => {
    const r = await check('?pack=1')
    expect(r.mode).toBe('webgl2')
    expect(r.device?.textureTypes).toEqual(['MemoryOptimizedNumberTexture'])
  }, 120_000)
})
