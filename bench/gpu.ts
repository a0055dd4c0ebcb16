/**
 * `npx tsx bench/gpu.ts [--quick] [--mode gpu|webgl2|webasm|cpu|...] [--only W1a,W4a]
 * [--browser] [--pack]`: the GPU device's rows (bench/gpuRows.ts), first call apart from the
 * steady state; `--pack` runs the resident rows with packed textures (`packTextures`). In
 * Node, gpu.js picks its WebAssembly backend where there is no GL; `--browser` bundles
 * bench/gpu-page with vite and runs the same rows in headless Chromium (CHROMIUM_PATH,
 * /usr/bin/chromium, or the devDependency @sparticuz/chromium's headless shell; see
 * test/support/browser.ts), where gpu.js compiles for WebGL2.
 *
 * @module
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { GpuMode } from '../src/gpu/index.js'
import { formatGpu, type GpuBenchResult, runGpuBench } from './gpuRows.js'

/** Builds the page, serves it, and reads the result back from headless Chromium. */
const inBrowser = async (
  quick: boolean,
  only: readonly string[] | undefined,
  pack: boolean,
): Promise<GpuBenchResult> => {
  const [{ build }, browserSupport] = await Promise.all([import('vite'), import('../test/support/browser.js')])
  const outDir = await mkdtemp(join(tmpdir(), 'braincog-gpu-bench-'))
  let server: Awaited<ReturnType<typeof browserSupport.serveDir>> | undefined
  try {
    await build({
      root: resolve(import.meta.dirname, 'gpu-page'),
      configFile: false,
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true, minify: false, target: 'es2022', reportCompressedSize: false },
    })
    server = await browserSupport.serveDir(outDir)
    const browser = await browserSupport.launchChromium(browserSupport.webglArgs)
    try {
      const page = await browser.newPage()
      const query = new URLSearchParams()
      if (quick) query.set('quick', '1')
      if (only) query.set('only', only.join(','))
      if (pack) query.set('pack', '1')
      await page.goto(`${browserSupport.urlOf(server)}?${query.toString()}`)
      await page.waitForFunction(() => window.__gpuBench !== undefined, undefined, { timeout: 0, polling: 500 })
      const r = await page.evaluate(() => window.__gpuBench)
      if (r === undefined || 'error' in r) throw new Error(`bench page failed: ${r?.error ?? 'no result'}`)
      return r
    } finally {
      await browser.close()
    }
  } finally {
    await browserSupport.closeServer(server)
    await rm(outDir, { recursive: true, force: true })
  }
}

const args = process.argv.slice(2)
const value = (flag: string): string | undefined => {
  const at = args.indexOf(flag)
  return at >= 0 ? args[at + 1] : undefined
}
const quick = args.includes('--quick')
const only = value('--only')?.split(',')
const pack = args.includes('--pack')
const result = args.includes('--browser')
  ? await inBrowser(quick, only, pack)
  : await runGpuBench({
      quick,
      mode: value('--mode') as GpuMode | undefined,
      only,
      packTextures: pack,
      log: (line) => process.stderr.write(`${line}\n`),
    })
console.log(formatGpu(result))
