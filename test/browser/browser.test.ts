/**
 * The README quickstart in a browser: bundled with vite (`braincog-fn` resolved to the library
 * sources), served over HTTP and run in headless Chromium through playwright-core, with the
 * printed result checked against the README.
 *
 * Needs Chromium: CHROMIUM_PATH, /usr/bin/chromium, or else the headless shell of the
 * devDependency @sparticuz/chromium (see test/support/browser.ts). A missing browser fails the
 * test: it is never skipped.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readmeQuickstart, root } from '../package/quickstart.js'
import { type ServedPage, servePage } from '../support/browser.js'

/** What the page records: every `console.log` call's arguments as JSON, and uncaught errors. */
interface Recorded {
  readonly printed: readonly string[]
  readonly errors: readonly string[]
  readonly done: boolean
}

const capture = `
const record = { printed: [], errors: [], done: false }
globalThis.__braincog = record
const log = console.log.bind(console)
console.log = (...args) => { record.printed.push(JSON.stringify(args)); log(...args) }
addEventListener('error', (e) => record.errors.push(String(e.message)))
addEventListener('unhandledrejection', (e) => record.errors.push(String(e.reason)))
`

const html = `<!doctype html>
<html>
  <head><meta charset="utf-8"><title>braincog-fn quickstart</title></head>
  <body><script type="module" src="./main.ts"></script></body>
</html>
`

// Imports run in order: capture first, then the quickstart, then the "done" marker.
const main = `import './capture.js'
import './quickstart.ts'
;(globalThis as unknown as { __braincog: { done: boolean } }).__braincog.done = true
`

describe('the README quickstart in headless Chromium', () => {
  const quickstart = readmeQuickstart()
  let served: ServedPage | undefined

  beforeAll(async () => {
    const files = { 'index.html': html, 'capture.js': capture, 'quickstart.ts': quickstart.code, 'main.ts': main }
    served = await servePage('braincog-fn-browser-', files, root)
  }, 120_000)

  afterAll(() => served?.close())

  it('prints what the README says', async () => {
    if (!served) throw new Error('setup failed')
    const page = await served.browser.newPage()
    const pageErrors: string[] = []
    page.on('pageerror', (e) => pageErrors.push(e.message))
    await page.goto(served.url)
    await page.waitForFunction(
      () => {
        const r = (globalThis as unknown as { __braincog?: Recorded }).__braincog
        return r !== undefined && (r.done || r.errors.length > 0)
      },
      undefined,
      { timeout: 30_000 },
    )
    const recorded = await page.evaluate(() => (globalThis as unknown as { __braincog: Recorded }).__braincog)
    expect(pageErrors).toEqual([])
    expect(recorded.errors).toEqual([])
    expect(recorded.printed).toHaveLength(1)
    expect(JSON.parse(recorded.printed[0])).toEqual([quickstart.expected])
  }, 60_000)
})
