/**
 * The GPU device in a real browser: vite bundles test/gpu/page (gpu.js's browser build plus
 * braincog-fn/gpu), headless Chromium opens it, gpu.js gets WebGL2 (software-rendered by
 * SwiftShader there), and a sample of the parity table (test/gpu/page/cases.ts: every ported
 * kernel) must match the `cpu` device, each call on gpu.js, every buffer it makes a gpu.js
 * `Texture` (up to 2^23 values; one more is kept on the host).
 *
 * Then `scanOnDevice(pipeline, gpu)` for pipelines of every layer must match `scan(pipeline)`
 * on the CPU while handing only textures between layers and steps: its readbacks do not grow
 * with the number of steps, it frees every buffer it made, and the GL textures alive after a
 * scan do not grow with its length. Textures also outlive the eviction of the kernel that made
 * them from the kernel cache. The same on WebGL 1 and with packed textures.
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
import { gpuUnported } from '../../src/gpu/index.js'
import type { GpuCheck } from './page/main.js'

describe('GPU device in headless Chromium (WebGL2)', () => {
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
    await page.waitForFunction(() => window.__gpuCheck !== undefined, undefined, { timeout: 100_000 })
    const result = (await page.evaluate(() => window.__gpuCheck)) as GpuCheck
    await page.close()
    expect(result.error, `page failed:\n${result.error}\n${logs.join('\n')}`).toBeUndefined()
    const device = result.device
    if (!device) throw new Error('the page ran no device check')
    console.log(
      `gpu.js mode in headless Chromium${query ? ` (${query})` : ''}: ${result.mode} ` +
        `(WebGL2 context available: ${result.webgl2}; textures ${device.textureTypes.join(', ')})\n` +
        device.kernels
          .map((c) => `  ${c.kernel} ${c.what}: ${c.kinds.join(', ')}, worst error/tolerance ${c.worst.toFixed(3)}`)
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
    expect(result.fallbacks, 'kernels gpu.js failed on').toEqual([])
    expect(result.degraded, 'kernels gpu.js ran in another mode').toEqual([])
    // every kernel of the parity table, each call on textures
    expect(new Set(device.kernels.map((c) => c.kernel)).size).toBeGreaterThanOrEqual(20)
    for (const c of device.kernels) {
      expect(c.problems, `${c.kernel} ${c.what}`).toEqual([])
      for (const k of c.kinds) expect(k, `${c.kernel} ${c.what}`).toBe('texture')
    }
    expect(device.notTextures, 'buffers of kind texture that are not gpu.js Textures').toBe(0)
    expect(device.pastLimit).toEqual(['host', 'host'])
    // the host ran the unported kernels and the call past the limit only
    const onHost = Object.keys(result.hostCalls).filter((k) => !(gpuUnported as readonly string[]).includes(k))
    expect(onHost).toEqual(['mul'])
    expect(result.hostCalls.mul).toBe(1)
    expect(device.scans.length).toBeGreaterThan(0)
    for (const s of device.scans) {
      const what = `scan ${s.pipeline} T=${s.steps} read ${s.read}`
      expect(s.outputError, what).toBeLessThanOrEqual(s.tolerance)
      expect(s.stateError, what).toBeLessThanOrEqual(s.tolerance)
      expect(s.trace.live, `${what}: buffers left`).toBe(0)
      // resident: only textures made and handed to kernels, and no readback but the result's
      // (one: 'all' gathers the steps on the GPU) and the final state's
      expect(Object.keys(s.trace.kinds), what).toEqual(['texture'])
      expect(Object.keys(s.trace.argumentKinds), what).toEqual(['texture'])
      expect(s.trace.reads, `${what}: readbacks`).toBe(s.expectedReads)
    }
    expect(device.glTextures[1], 'live GL textures grew with the scan length').toBe(device.glTextures[0])
    expect(device.liveBuffers, 'device buffers not freed').toBe(0)
    return result
  }

  it('gpu.js picks WebGL2; every ported kernel matches the cpu device; scans of every layer stay resident', async () => {
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
