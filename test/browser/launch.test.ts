/**
 * Where the browser tests get Chromium (test/support/browser.ts): an explicit CHROMIUM_PATH, else
 * Debian's, else the headless shell inside the devDependency @sparticuz/chromium, unpacked with
 * SwiftShader's libraries beside it. Each case imports the module afresh, as it caches its find.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { afterEach, describe, expect, it, vi } from 'vitest'

const fresh = async () => {
  vi.resetModules()
  return import('../support/browser.js')
}

describe('finding Chromium', () => {
  const saved = process.env.CHROMIUM_PATH
  afterEach(() => {
    if (saved === undefined) delete process.env.CHROMIUM_PATH
    else process.env.CHROMIUM_PATH = saved
  })

  it('fails, naming it, when CHROMIUM_PATH points at nothing (it never falls back)', async () => {
    process.env.CHROMIUM_PATH = '/nonexistent/chromium'
    const { findChromium } = await fresh()
    await expect(findChromium()).rejects.toThrow(/Chromium not found at CHROMIUM_PATH=\/nonexistent\/chromium/)
  })

  it("uses Debian's chromium where installed, else the packaged headless shell of the pinned version", async () => {
    delete process.env.CHROMIUM_PATH
    const { findChromium, packagedChromium, systemChromium } = await fresh()
    const found = await findChromium()
    if (existsSync(systemChromium)) {
      expect(found).toEqual({ path: systemChromium, source: 'system' })
      return
    }
    const pkg = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8')) as {
      readonly devDependencies: Readonly<Record<string, string>>
    }
    expect(found.source).toBe(packagedChromium)
    expect(found.version).toBe(pkg.devDependencies[packagedChromium])
    expect(existsSync(found.path)).toBe(true)
    // Chromium finds ANGLE and SwiftShader (WebGL2 without a GPU) beside its binary
    for (const lib of ['libGLESv2.so', 'libEGL.so', 'libvk_swiftshader.so', 'vk_swiftshader_icd.json']) {
      expect(existsSync(join(dirname(found.path), lib)), lib).toBe(true)
    }
  }, 60_000)
})
