/**
 * What the browser tests (and the GPU bench's browser rows) share: Debian's Chromium, launched
 * headless with the flags this closed network needs, and a static server for a vite build.
 * Chromium is required, never optional: where it is missing, launching fails with how to get it.
 */
import { existsSync, readFileSync, symlinkSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { extname, join, normalize, resolve } from 'node:path'
import type { Browser } from 'playwright-core'

/** The Chromium binary: `CHROMIUM_PATH`, else Debian's. */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Headless, no sandbox (root), and nothing that phones home (refused here, and slow). */
export const chromiumArgs: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

/** WebGL through SwiftShader (software rendering), for the GPU backend's pages. */
export const webglArgs: readonly string[] = ['--use-gl=angle', '--use-angle=swiftshader', '--enable-unsafe-swiftshader']

/** Launches Chromium with {@link chromiumArgs} plus `extraArgs`; fails clearly where it is missing. */
export const launchChromium = async (extraArgs: readonly string[] = ['--disable-gpu']): Promise<Browser> => {
  if (!existsSync(chromiumPath)) {
    throw new Error(
      `Chromium not found at ${chromiumPath}: the browser tests need it. ` +
        'Install it with `apt-get update && apt-get install -y chromium` (.ci/run does), ' +
        'or point CHROMIUM_PATH at a Chromium binary.',
    )
  }
  const { chromium } = await import('playwright-core')
  const args = [...chromiumArgs, ...extraArgs]
  return chromium.launch({ executablePath: chromiumPath, args, headless: true, timeout: 30_000 })
}

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
}

/** Serves the files of `dir` on a free loopback port (a page must come over HTTP to load wasm). */
export const serveDir = (dir: string): Promise<Server> =>
  new Promise((ok) => {
    const server = createServer((req, res) => {
      const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname))
      const file = join(dir, path === '/' ? 'index.html' : path)
      if (!file.startsWith(dir) || !existsSync(file)) {
        res.writeHead(404).end()
        return
      }
      res.writeHead(200, { 'content-type': contentTypes[extname(file)] ?? 'application/octet-stream' })
      res.end(readFileSync(file))
    })
    server.listen(0, '127.0.0.1', () => ok(server))
  })

/** The address of a server made by {@link serveDir}. */
export const urlOf = (server: Server): string => `http://127.0.0.1:${(server.address() as AddressInfo).port}/`

/** Closes a server (or nothing). */
export const closeServer = (server: Server | undefined): Promise<void> =>
  new Promise((ok) => (server ? server.close(() => ok()) : ok()))

/**
 * Bundles the page in `work` (its `index.html` and scripts) with vite into `work/dist`, with
 * `braincog-fn` resolved to the sources of the repository at `root` and the repository's
 * dependencies beside it, as a user's app sits beside its own. Gives the output folder.
 */
export const bundlePage = async (work: string, root: string): Promise<string> => {
  symlinkSync(resolve(root, 'node_modules'), join(work, 'node_modules'), 'dir')
  const { build } = await import('vite')
  const outDir = join(work, 'dist')
  await build({
    root: work,
    configFile: false,
    logLevel: 'warn',
    resolve: {
      alias: [
        { find: /^braincog-fn$/, replacement: resolve(root, 'src/index.ts') },
        { find: /^braincog-fn\/arbitraries$/, replacement: resolve(root, 'src/arbitraries/index.ts') },
      ],
    },
    build: { outDir, emptyOutDir: true, target: 'es2022', reportCompressedSize: false },
  })
  return outDir
}
