/**
 * The thread pool's lifetime: a script that uses it ends by itself (the workers never keep Node
 * alive), thousands of threaded calls leave the process with the threads and the memory it had
 * after the first, a closed pool still computes (on the calling thread alone), and
 * `BRAINCOG_THREADS` picks the count (1: the single-threaded binary).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { threadPoolOf } from '../../src/backend/wasm/load.js'
import type { Data, Device } from '../../src/index.js'
import { loadResidentBackend, loadWasmBackend, wasmThreads } from '../../src/index.js'

const work = mkdtempSync(join(tmpdir(), 'braincog-fn-threads-'))
const index = pathToFileURL(resolve(__dirname, '../../src/index.ts')).href

afterAll(() => rmSync(work, { recursive: true, force: true }))

/** Runs a script (TypeScript, through tsx) with `env` added; its status, output and wall time. */
const script = (code: string, env: Readonly<Record<string, string>> = {}) => {
  const file = join(work, `script-${Math.random().toString(36).slice(2)}.mts`)
  writeFileSync(file, code)
  const t0 = performance.now()
  const run = spawnSync(process.execPath, ['--import', 'tsx', file], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  })
  return { status: run.status, signal: run.signal, stdout: run.stdout, stderr: run.stderr, ms: performance.now() - t0 }
}

/** A matmul big enough to be cut into parts (x [m, k] @ w [k, n]). */
const [m, k, n] = [64, 256, 160]
const x = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i))
const w = Float32Array.from({ length: k * n }, (_, i) => Math.cos(i) / 16)

/** This process's OS threads (Linux), or undefined elsewhere. */
const osThreads = (): number | undefined => {
  try {
    return readdirSync('/proc/self/task').length
  } catch {
    return undefined
  }
}

describe('the thread pool', () => {
  it('never keeps Node alive: a script that uses it ends by itself', () => {
    const run = script(
      `import { wasmBackend, wasmThreads } from '${index}'
const d = wasmBackend()
const x = new Float32Array(${m * k}).fill(1), w = new Float32Array(${k * n}).fill(0.5)
let s = 0
for (let i = 0; i < 50; i++) s += d.matmul(x, w, null, { m: ${m}, k: ${k}, n: ${n} })[7]
console.log(wasmThreads(d), s)
`,
      { BRAINCOG_THREADS: '2' },
    )
    expect(run.signal, run.stderr).toBeNull()
    expect(run.status, run.stderr).toBe(0)
    expect(run.stdout.trim()).toBe(`2 ${50 * 0.5 * k}`)
  }, 90_000)

  it('BRAINCOG_THREADS picks the count; 1 is the single-threaded binary, nonsense is said and ignored', () => {
    const code = `import { wasmBackend, wasmThreads } from '${index}'
console.log(wasmThreads(wasmBackend()))`
    expect(script(code, { BRAINCOG_THREADS: '1' }).stdout.trim()).toBe('1')
    expect(script(code, { BRAINCOG_THREADS: '3' }).stdout.trim()).toBe('3')
    const bad = script(code, { BRAINCOG_THREADS: 'lots' })
    expect(bad.status).toBe(0)
    expect(bad.stderr).toMatch(/BRAINCOG_THREADS: expected a positive integer or 'auto', got "lots"/)
  }, 90_000)

  it('survives thousands of calls with the threads and memory it had after the first', async () => {
    const device = (await loadWasmBackend(undefined, { threads: 2 })) as Device<Data>
    const pool = threadPoolOf(device)
    expect(pool?.size).toBe(2)
    await pool?.ready
    const first = device.matmul(x, w, null, { m, k, n })
    const threads = osThreads()
    const before = pool?.workerParts() ?? 0
    const rss = process.memoryUsage().rss
    let same = true
    for (let i = 0; i < 3000; i++) {
      const out = device.matmul(x, w, null, { m, k, n })
      if (i % 100 === 0) same &&= out.every((v, j) => Object.is(v, first[j]))
    }
    expect(same).toBe(true)
    expect(osThreads()).toBe(threads)
    expect(pool?.workerParts()).toBeGreaterThan(before)
    // the outputs are garbage; the arena and the workers are not: a generous bound
    expect(process.memoryUsage().rss - rss).toBeLessThan(64 * 2 ** 20)
  }, 60_000)

  it('a closed pool ends its workers and still computes, on the calling thread alone', async () => {
    const device = (await loadWasmBackend(undefined, { threads: 3 })) as Device<Data>
    const pool = threadPoolOf(device)
    await pool?.ready
    const first = device.matmul(x, w, null, { m, k, n })
    const threads = osThreads()
    pool?.close()
    const parts = pool?.workerParts()
    const after = device.matmul(x, w, null, { m, k, n })
    expect(after.every((v, j) => Object.is(v, first[j]))).toBe(true)
    expect(pool?.workerParts()).toBe(parts)
    expect(wasmThreads(device)).toBe(3)
    // terminated workers' threads go away (asynchronously)
    for (let i = 0; i < 100 && threads !== undefined && (osThreads() ?? 0) > threads - 2; i++) {
      await new Promise((ok) => setTimeout(ok, 20))
    }
    if (threads !== undefined) expect(osThreads()).toBeLessThanOrEqual(threads - 2)
  }, 60_000)
})

describe('the loaders reject options that are not WasmOptions', () => {
  it.each([
    [{ threads: 0 }, 'options.threads: expected an integer >= 1, got 0'],
    [{ threads: 2.5 }, 'options.threads: expected an integer >= 1, got 2.5'],
    [{ threads: '2' }, 'options.threads: expected an integer >= 1, got "2"'],
    [{ threadz: 2 }, 'options.threadz: expected threads or threadsSource'],
    [{ threadsSource: 42 }, 'options.threadsSource: expected a URL, a string or the bytes'],
    [[2], 'options: expected an object'],
    [2, 'options: expected an object'],
  ])('%j', async (options, message) => {
    for (const [name, load] of [['loadWasmBackend', loadWasmBackend], ['loadResidentBackend', loadResidentBackend]] as const) {
      await expect(load(undefined, options as never)).rejects.toThrow(RangeError)
      await expect(load(undefined, options as never)).rejects.toThrow(`${name}: ${message}`)
    }
  })

  it('undefined and null options are the defaults', async () => {
    for (const options of [undefined, null]) expect((await loadResidentBackend(undefined, options as never))?.name).toBe('wasm-resident')
  })
})
