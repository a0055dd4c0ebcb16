/**
 * Both cores (or more) for the compute-bound rows, matmul and the convolutions, forward and
 * backward, and for big elementwise calls (mul, the neuron step and its gradient). The module
 * `kernels.threads.wasm` (the same kernels as `kernels.wasm`, built with the threads feature)
 * imports one shared `WebAssembly.Memory`; the calling thread and each worker instantiate it
 * on that memory, so a pointer means the same bytes everywhere and no data is copied between
 * threads.
 *
 * - **Dispatch.** A call is cut into parts ({@link ./split.ts}): rectangles or ranges of the
 *   output that the `…Part` exports compute exactly as the whole call would, each output summed
 *   in the same order, so the result does not depend on the cut or on which thread ran which
 *   part. The caller writes the export, its arguments and the parts into a small command block
 *   (an `Int32Array` on its own `SharedArrayBuffer`), publishes the job with `Atomics.store` and
 *   wakes the workers with `Atomics.notify`. Every thread, the caller included, then claims
 *   parts one at a time with `Atomics.compareExchange` on one word (job tag, part count, next
 *   part) until none is left; each thread runs its parts on its own slice of the call's scratch.
 *   A worker that is slow to wake (or not started yet) only means the caller takes more parts:
 *   nothing ever waits for a worker that has not claimed work.
 * - **Waiting.** The caller stays synchronous (layers' `apply` is): once it can claim nothing,
 *   it waits for the parts other threads claimed. Node's main thread and any worker may block
 *   in `Atomics.wait`; a browser's main thread may not (it throws there), so the caller spins on
 *   `Atomics.load` instead, which costs nothing it would not spend anyway, since the kernel
 *   call blocks it either way. Idle workers block in `Atomics.wait` (no spinning: the machine
 *   may be shared).
 * - **Lifetime.** Node workers are `unref()`ed: they never keep a process alive. Workers end
 *   with the device (a `FinalizationRegistry`) or on {@link ThreadPool.close}.
 * - **Where.** More than one core, `SharedArrayBuffer`, and a way to start workers: Node's
 *   `worker_threads` (reached through `process.getBuiltinModule`, as load.ts reaches `fs`), or a
 *   browser's `Worker` on a cross-origin-isolated page (`crossOriginIsolated === true`, which
 *   needs the COOP/COEP headers). Anywhere else one thread runs `kernels.wasm` exactly as
 *   before. `BRAINCOG_THREADS` (Node) or `loadWasmBackend`'s `threads` option overrides the
 *   count; 1 always means `kernels.wasm`.
 * - **Memory.** The shared memory is created with a maximum of 65536 pages (4 GiB, all a wasm32
 *   memory can address), else 16384 (1 GiB) or 4096 (256 MiB) where the engine refuses to
 *   reserve that much. A shared memory never moves, so it grows in place up to that maximum;
 *   views of it are never detached.
 *
 * @module
 */
import { nodeProcess } from './host.js'

/** The `…Part` exports a pool runs: each takes `(scratch, ...part, ...arguments)`. */
export const partExports = [
  'matmulPart',
  'conv2dPart',
  'conv2dGradInputPart',
  'conv2dGradWeightPart',
  'mulPart',
  'neuronPart',
  'neuronGradPart',
  'pool2dPart',
  'pool2dGradPart',
] as const

/**
 * A float32 argument as the pool carries it: the pool's command block holds 32-bit integers,
 * so the `…Part` exports take a float32 as its bits (`reinterpret<f32>`).
 */
export const float32Bits = (x: number): number => new Int32Array(Float32Array.of(x).buffer)[0]

/** A float64 argument as two 32-bit integers, low then high (see {@link float32Bits}). */
export const float64Halves = (x: number): readonly [number, number] => {
  const [lo, hi] = new Int32Array(Float64Array.of(x).buffer)
  return [lo, hi]
}

/** One of {@link partExports}. */
export type PartExport = (typeof partExports)[number]

/** Parts per job at most (the claim word holds 7 bits of part index and count). */
export const maxParts = 127

/** Threads (the calling one included) chosen automatically at most. */
export const autoThreadsCap = 8

/** The pages a shared memory may grow to, most preferred first (see the module comment). */
export const sharedMaxima = [65536, 16384, 4096] as const

/** A pool of worker threads on one shared memory. */
export interface ThreadPool {
  /** Threads a job may use, the calling one included. */
  readonly size: number
  /** Settles once every worker has started (or failed to): browsers should await it (see load.ts). */
  readonly ready: Promise<void>
  /**
   * Runs `name(scratch + t * stride, ...parts[p], ...args)` for every part `p`, on threads
   * `t < threads` (0 is the caller); returns when every part is done. Parts all have the same
   * length; pointers are byte offsets into the shared memory.
   */
  run(
    name: PartExport,
    args: readonly number[],
    parts: readonly (readonly number[])[],
    scratch: number,
    stride: number,
    threads: number,
  ): void
  /** Parts the workers have run so far (the rest ran on the caller): how well jobs spread. */
  workerParts(): number
  /** Ends the workers; later jobs run on the caller alone. */
  close(): void
}

// ---------------------------------------------------------------------------------------------
// the command block
// ---------------------------------------------------------------------------------------------

/** Int32 slots of the command block. */
const JOB = 0 // the job's number (workers wait on it); -1: closed
const CLAIM = 1 // tag << 14 | parts << 7 | next part
const DONE = 2 // parts finished
const FAILED = 3 // 1 when a part threw
const FN = 4 // index into partExports
const THREADS = 5 // threads that may claim parts (ids below it)
const SCRATCH = 6 // the scratch base (an unsigned byte offset)
const STRIDE = 7 // scratch bytes per thread
const NARGS = 8
const ARITY = 9 // numbers per part
const WORKER_PARTS = 10 // parts run by workers, ever
const ARGS = 16
const MAX_ARGS = 32
const PARTS = ARGS + MAX_ARGS
const PART_ARITY = 4
const SLOTS = PARTS + PART_ARITY * maxParts

/**
 * The worker: plain JavaScript, started from source text (a Node `eval` worker, a browser Blob
 * worker), so that it needs no file of its own and no bundler support. `start` instantiates the
 * module on the shared memory, says it is ready, then serves jobs until the block is closed.
 * A stale worker (one that woke for a job already finished) cannot claim a part of a later job:
 * the claim word carries the job's tag, and its part count, so the compare-and-swap fails.
 */
const workerSource = `'use strict'
const start = ({ module, memory, control, id, names }, ready) => {
  let fns
  try {
    const k = new WebAssembly.Instance(module, { env: { memory } }).exports
    fns = names.map((n) => k[n])
  } catch (e) {
    ready(String(e))
    return
  }
  const c = new Int32Array(control)
  ready('ready')
  let seen = 0
  for (;;) {
    const job = Atomics.load(c, ${JOB})
    if (job === -1) return
    if (job === seen) {
      Atomics.wait(c, ${JOB}, seen)
      continue
    }
    seen = job
    if (id >= c[${THREADS}]) continue
    const fn = fns[c[${FN}]]
    const nargs = c[${NARGS}]
    const arity = c[${ARITY}]
    const args = new Array(1 + arity + nargs)
    args[0] = (c[${SCRATCH}] >>> 0) + id * c[${STRIDE}]
    for (let i = 0; i < nargs; i++) args[1 + arity + i] = c[${ARGS} + i]
    const tag = job & 0x3ffff
    for (;;) {
      const v = Atomics.load(c, ${CLAIM})
      const parts = (v >>> 7) & 127
      const p = v & 127
      if (v >>> 14 !== tag || p >= parts) break
      if (Atomics.compareExchange(c, ${CLAIM}, v, v + 1) !== v) continue
      for (let i = 0; i < arity; i++) args[1 + i] = c[${PARTS} + ${PART_ARITY} * p + i]
      try {
        fn(...args)
      } catch (e) {
        Atomics.store(c, ${FAILED}, 1)
      }
      Atomics.add(c, ${WORKER_PARTS}, 1)
      if (Atomics.add(c, ${DONE}, 1) + 1 === parts) Atomics.notify(c, ${DONE})
    }
  }
}
`

/** What each worker is given. */
interface WorkerData {
  readonly module: WebAssembly.Module
  readonly memory: WebAssembly.Memory
  readonly control: SharedArrayBuffer
  readonly id: number
  readonly names: readonly string[]
}

/** A started worker: how to end it, and a promise that settles when it is ready or failed. */
interface Started {
  readonly ready: Promise<void>
  readonly end: () => void
}

/** Starts one worker on `data`. */
type Spawn = (data: WorkerData) => Started

/** Node: a `worker_threads` worker on the source text, unref'd so that it never keeps the process alive. */
const nodeSpawn = (): Spawn | undefined => {
  const threads = nodeProcess()?.getBuiltinModule?.('node:worker_threads')
  if (threads === undefined) return undefined
  const boot = `${workerSource}
const { workerData, parentPort } = require('node:worker_threads')
start(workerData, (m) => parentPort.postMessage(m))
`
  return (data) => {
    const worker = new threads.Worker(boot, { eval: true, workerData: data })
    const ready = new Promise<void>((ok) => {
      worker.on('message', () => ok())
      // a worker that cannot start is left out: the caller takes its parts
      worker.on('error', () => ok())
    })
    // after the listeners: adding a 'message' listener refs the worker again
    worker.unref()
    return { ready, end: () => void worker.terminate() }
  }
}

/** A browser: a Blob worker on the source text, given its data by `postMessage`. */
const browserSpawn = (): Spawn | undefined => {
  if (typeof Worker === 'undefined' || typeof Blob === 'undefined' || typeof URL.createObjectURL !== 'function') {
    return undefined
  }
  const boot = `${workerSource}
self.onmessage = (e) => {
  self.onmessage = null
  start(e.data, (m) => self.postMessage(m))
}
`
  return (data) => {
    const url = URL.createObjectURL(new Blob([boot], { type: 'text/javascript' }))
    const worker = new Worker(url)
    const ready = new Promise<void>((ok) => {
      worker.onmessage = () => ok()
      worker.onerror = () => ok()
    })
    void ready.then(() => URL.revokeObjectURL(url))
    worker.postMessage(data)
    return { ready, end: () => worker.terminate() }
  }
}

/** Whether this thread may block in `Atomics.wait` (not a browser's main thread). */
const mayBlock = (): boolean => {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0)
    return true
  } catch {
    return false
  }
}

/**
 * A pool of `size - 1` workers on `memory`, each with its own instance of `module`; `main` is
 * the calling thread's instance (thread 0).
 */
const startPool = (
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  main: Readonly<Record<PartExport, (...args: number[]) => void>>,
  size: number,
  spawn: Spawn,
): ThreadPool => {
  const control = new SharedArrayBuffer(4 * SLOTS)
  const c = new Int32Array(control)
  const names = [...partExports]
  const workers = Array.from({ length: size - 1 }, (_, i) => spawn({ module, memory, control, id: i + 1, names }))
  const block = mayBlock()
  let job = 0
  let closed = false

  /** Claims and runs parts as thread 0 until none is left; what a part throws is kept for after the job. */
  const take = (fn: (...args: number[]) => void, args: number[], arity: number, tag: number): Error | undefined => {
    let thrown: Error | undefined
    for (;;) {
      const v = Atomics.load(c, CLAIM)
      const parts = (v >>> 7) & 127
      const p = v & 127
      if (v >>> 14 !== tag || p >= parts) return thrown
      if (Atomics.compareExchange(c, CLAIM, v, v + 1) !== v) continue
      for (let i = 0; i < arity; i++) args[1 + i] = c[PARTS + PART_ARITY * p + i]
      try {
        fn(...args)
      } catch (e) {
        thrown ??= e instanceof Error ? e : new Error(String(e))
      }
      Atomics.add(c, DONE, 1)
    }
  }

  const run: ThreadPool['run'] = (name, args, parts, scratch, stride, threads) => {
    const count = parts.length
    const arity = parts[0]?.length ?? 0
    if (count < 1 || count > maxParts || args.length > MAX_ARGS || arity > PART_ARITY) {
      throw new Error(`threads: a job of ${count} parts of ${arity} and ${args.length} arguments does not fit`)
    }
    const fn = main[name]
    const callArgs = new Array<number>(1 + arity + args.length)
    callArgs[0] = scratch
    args.forEach((a, i) => (callArgs[1 + arity + i] = a))
    if (closed) {
      // no workers: every part on this thread, in order
      for (const part of parts) {
        part.forEach((v, i) => (callArgs[1 + i] = v))
        fn(...callArgs)
      }
      return
    }
    job = job >= 0x7fffffff ? 1 : job + 1
    const tag = job & 0x3ffff
    c[FN] = names.indexOf(name)
    c[THREADS] = Math.min(threads, size)
    c[SCRATCH] = scratch
    c[STRIDE] = stride
    c[NARGS] = args.length
    c[ARITY] = arity
    args.forEach((a, i) => (c[ARGS + i] = a))
    parts.forEach((part, p) => part.forEach((v, i) => (c[PARTS + PART_ARITY * p + i] = v)))
    Atomics.store(c, DONE, 0)
    Atomics.store(c, FAILED, 0)
    Atomics.store(c, CLAIM, (tag << 14) | (count << 7))
    Atomics.store(c, JOB, job)
    Atomics.notify(c, JOB)
    const thrown = take(fn, callArgs, arity, tag)
    for (let d = Atomics.load(c, DONE); d < count; d = Atomics.load(c, DONE)) {
      if (block) Atomics.wait(c, DONE, d)
    }
    if (thrown !== undefined) throw thrown
    if (Atomics.load(c, FAILED) !== 0) throw new Error(`threads: ${name} failed in a worker`)
  }

  const close = (): void => {
    if (closed) return
    closed = true
    Atomics.store(c, JOB, -1)
    Atomics.notify(c, JOB)
    workers.forEach((w) => w.end())
  }

  return {
    size,
    ready: Promise.all(workers.map((w) => w.ready)).then(() => undefined),
    run,
    workerParts: () => Atomics.load(c, WORKER_PARTS),
    close,
  }
}

// ---------------------------------------------------------------------------------------------
// how many threads
// ---------------------------------------------------------------------------------------------

/** The cores this machine offers: `os.availableParallelism()` in Node, `navigator.hardwareConcurrency` in browsers. */
const cores = (): number => {
  const os = nodeProcess()?.getBuiltinModule?.('node:os')
  if (os !== undefined) return os.availableParallelism?.() ?? os.cpus().length
  return typeof navigator === 'undefined' ? 1 : (navigator.hardwareConcurrency ?? 1)
}

/** Says once why a `BRAINCOG_THREADS` value is not used. */
let warned = false

/** `BRAINCOG_THREADS` as a count, `undefined` when unset (or not a positive integer: said once). */
const requested = (): number | undefined => {
  const raw = nodeProcess()?.env?.BRAINCOG_THREADS?.trim()
  if (raw === undefined || raw === '' || raw.toLowerCase() === 'auto') return undefined
  const n = Number(raw)
  if (Number.isInteger(n) && n >= 1) return n
  if (!warned) console.warn(`braincog-fn: BRAINCOG_THREADS: expected a positive integer or 'auto', got ${JSON.stringify(raw)}`)
  warned = true
  return undefined
}

/** How this thread can start workers, where the engine allows threads at all; `undefined` where it does not. */
const spawner = (): Spawn | undefined => {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') return undefined
  const node = nodeSpawn()
  if (node !== undefined) return node
  // browsers hand shared memory to workers only on a cross-origin-isolated page
  const isolated = (globalThis as { readonly crossOriginIsolated?: boolean }).crossOriginIsolated === true
  return isolated ? browserSpawn() : undefined
}

/**
 * Threads to use, the calling one included: `wanted` (the `threads` option, else
 * `BRAINCOG_THREADS`, else the core count up to {@link autoThreadsCap}), or 1 where workers or
 * shared memory are unavailable.
 */
export const threadCount = (wanted?: number): number => {
  const n = wanted ?? requested() ?? Math.min(cores(), autoThreadsCap)
  if (!Number.isInteger(n) || n <= 1 || spawner() === undefined) return 1
  return Math.min(n, maxParts)
}

// ---------------------------------------------------------------------------------------------
// a threaded instance
// ---------------------------------------------------------------------------------------------

/** A shared memory the threads module accepts, at the largest maximum the engine reserves. */
const sharedMemory = (): WebAssembly.Memory | undefined => {
  for (const maximum of sharedMaxima) {
    try {
      return new WebAssembly.Memory({ initial: 1, maximum, shared: true })
    } catch {
      // try a smaller reservation
    }
  }
  return undefined
}

/** Ends a pool whose device was collected. */
const registry =
  typeof FinalizationRegistry === 'undefined' ? undefined : new FinalizationRegistry<ThreadPool>((pool) => pool.close())

/** An instance of the threads module on a new shared memory, its exports with the pool beside them. */
export interface Threaded {
  readonly exports: Readonly<Record<string, unknown>> & { readonly memory: WebAssembly.Memory }
  readonly pool: ThreadPool
}

/**
 * Instantiates `module` (kernels.threads.wasm) on a new shared memory and starts a pool of
 * `threads` threads; `undefined` where the engine gives no shared memory, no workers, or the
 * module does not instantiate.
 */
export const startThreads = (module: WebAssembly.Module, threads: number): Threaded | undefined => {
  const spawn = spawner()
  const memory = spawn === undefined ? undefined : sharedMemory()
  if (spawn === undefined || memory === undefined) return undefined
  try {
    const exports = new WebAssembly.Instance(module, { env: { memory } }).exports as Threaded['exports']
    const main = exports as unknown as Record<PartExport, (...args: number[]) => void>
    return { exports, pool: startPool(module, memory, main, threads, spawn) }
  } catch {
    return undefined
  }
}

/** Closes `pool` once `owner` is garbage-collected. */
export const closeWith = (owner: object, pool: ThreadPool): void => registry?.register(owner, pool)
