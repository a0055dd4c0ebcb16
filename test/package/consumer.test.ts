/**
 * The package as a user gets it: `npm pack` (which builds through `prepack`), install the
 * tarball into a fresh project, run the README quickstart there with plain `node` (ESM) and
 * type-check it with `tsc`. The main entry must work without fast-check; `braincog-fn/arbitraries`
 * works once the user installs it; `braincog-fn/gpu` loads without gpu.js.
 *
 * Installs are offline first (`npm ci` leaves every dependency in npm's cache) and fall back to
 * the registry only when the cache lacks something.
 */
import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parsePrinted, readmeQuickstart, root } from './quickstart.js'

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
const tsc = resolve(root, 'node_modules/.bin/tsc')

const run = (cmd: string, args: readonly string[], cwd: string): string => {
  try {
    return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (e) {
    const err = e as { readonly stdout?: string; readonly stderr?: string; readonly message: string }
    const output = `${err.stdout ?? ''}\n${err.stderr ?? ''}`
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed:\n${output}\n${err.message}`, { cause: e })
  }
}

/** `npm install` offline from the cache, or from the registry if the cache lacks a package. */
const install = (cwd: string, specs: readonly string[]): void => {
  const base = ['install', '--no-audit', '--no-fund', '--no-package-lock', '--ignore-scripts', ...specs]
  try {
    run(npm, [...base, '--offline'], cwd)
  } catch {
    run(npm, [...base, '--prefer-offline'], cwd)
  }
}

/** What `npm pack` needs to build and pack the package. */
const packSources = ['package.json', 'tsconfig.json', 'tsconfig.build.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'src', 'asm']

const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as {
  readonly version: string
  readonly devDependencies: Readonly<Record<string, string>>
}

const tsconfig = (files: readonly string[]) =>
  JSON.stringify({
    compilerOptions: {
      target: 'ES2022',
      lib: ['ES2022', 'DOM'],
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      types: [],
      // The shipped .d.ts files and those they reference are checked too (not TypeScript's own).
      skipLibCheck: false,
      skipDefaultLibCheck: true,
    },
    files,
  })

/** A user's property test over the published arbitraries. */
const arbitrariesCode = [
  "import fc from 'fast-check'",
  "import { keyArb, shapeArb, spikeTrainArb, stridedViewArb, tensorArb } from 'braincog-fn/arbitraries'",
  "import { allClose, sizeOf, type Shape } from 'braincog-fn'",
  '',
  'const shapes: Shape[] = fc.sample(shapeArb({ minRank: 2, maxRank: 3 }), { numRuns: 20, seed: 1 })',
  'const ok = shapes.every((s) => s.length >= 2 && s.length <= 3)',
  'fc.assert(',
  '  fc.property(',
  '    tensorArb([2, 3]).chain((t) => stridedViewArb(t).map((v) => [t, v] as const)),',
  '    ([t, v]) => allClose(t, v),',
  '  ),',
  '  { numRuns: 20, seed: 1 },',
  ')',
  'const spikes = fc.sample(spikeTrainArb([4, 3]), { numRuns: 3, seed: 1 })',
  'const keys = fc.sample(keyArb(), { numRuns: 3, seed: 1 })',
  'console.log(JSON.stringify({ ok, spikes: spikes.map((s) => sizeOf(s.shape)), keys: keys.length }))',
  '',
].join('\n')

/** A user's module that names the GPU entry (type-checked without gpu.js installed). */
const gpuCode = "import { loadGpuBackend } from 'braincog-fn/gpu'\nexport const load: typeof loadGpuBackend = loadGpuBackend\n"

// The tests share one installed project and run in order (vitest runs a file's tests serially).
describe('the packed package in a fresh project', () => {
  const work = mkdtempSync(join(tmpdir(), 'braincog-fn-consumer-'))
  const app = join(work, 'app')
  const quickstart = readmeQuickstart()
  let tarball = ''

  beforeAll(() => {
    // Pack from a copy of the sources, so the build (wasm kernels, dist/) never rewrites files
    // that other test files running alongside read.
    const source = join(work, 'source')
    for (const entry of packSources) cpSync(resolve(root, entry), join(source, entry), { recursive: true })
    symlinkSync(resolve(root, 'node_modules'), join(source, 'node_modules'), 'dir')
    run(npm, ['pack', '--pack-destination', work], source)
    const packed = readdirSync(work).filter((f) => f.endsWith('.tgz'))
    expect(packed).toEqual([`braincog-fn-${pkg.version}.tgz`])
    tarball = join(work, packed[0])
    mkdirSync(app)
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
    install(app, [tarball])
  }, 120_000)

  afterAll(() => rmSync(work, { recursive: true, force: true }))

  it('ships dist, README, LICENSE and CHANGELOG only', () => {
    const files = run('tar', ['-tzf', tarball], work)
      .split('\n')
      .filter((f) => f !== '')
      .map((f) => f.replace(/^package\//, ''))
    const top = new Set(files.map((f) => f.split('/')[0]))
    expect([...top].sort()).toEqual(['CHANGELOG.md', 'LICENSE', 'README.md', 'dist', 'package.json'])
    for (const entry of ['index', 'arbitraries/index', 'gpu/index']) {
      expect(files).toContain(`dist/${entry}.js`)
      expect(files).toContain(`dist/${entry}.d.ts`)
    }
    expect(files).toContain('dist/backend/wasm/kernels.wasm')
    expect(files).toContain('dist/backend/wasm/kernels.threads.wasm')
  })

  it('runs the README quickstart with plain node (ESM), without fast-check installed', () => {
    expect(() => run('node', ['-e', "import('fast-check')"], app)).toThrow()
    writeFileSync(join(app, 'quickstart.mjs'), quickstart.code)
    const printed = run('node', ['quickstart.mjs'], app)
    expect(parsePrinted(printed)).toEqual(quickstart.expected)
  })

  it('loads braincog-fn/gpu without gpu.js installed (gpu.js loads only when asked for)', () => {
    const printed = run('node', ['-e', "import('braincog-fn/gpu').then((m) => console.log(typeof m.loadGpuBackend))"], app)
    expect(printed.trim()).toBe('function')
  })

  it('serves braincog-fn/arbitraries once fast-check is installed', () => {
    install(app, [`fast-check@${pkg.devDependencies['fast-check']}`])
    // Plain node runs the same code with the type annotations taken out.
    const plain = arbitrariesCode.replace(', type Shape }', ' }').replace(': Shape[]', '').replace(' as const', '')
    writeFileSync(join(app, 'arbitraries.mjs'), plain)
    expect(JSON.parse(run('node', ['arbitraries.mjs'], app))).toEqual({ ok: true, spikes: [12, 12, 12], keys: 3 })
  }, 60_000)

  it('type-checks the quickstart, the arbitraries and the gpu entry with tsc (strict, NodeNext)', () => {
    writeFileSync(join(app, 'quickstart.ts'), quickstart.code)
    writeFileSync(join(app, 'arbitraries.ts'), arbitrariesCode)
    writeFileSync(join(app, 'gpu.ts'), gpuCode)
    writeFileSync(join(app, 'tsconfig.json'), tsconfig(['quickstart.ts', 'arbitraries.ts', 'gpu.ts']))
    run(tsc, ['-p', 'tsconfig.json'], app)
  }, 60_000)
})
