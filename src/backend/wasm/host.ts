/**
 * The little of Node's `process` the loader touches, typed here so that src/ needs no Node
 * types and no `node:` import reaches a browser bundle. `undefined` outside Node.
 *
 * @module
 */

/** `fs.readFileSync`, the one file-system call the loader makes. */
export interface FileReader {
  readFileSync(path: URL): Uint8Array<ArrayBuffer>
}

/** The core count, the one thing read from `node:os` (`availableParallelism` is Node 18.14+). */
export interface CoreCounter {
  readonly availableParallelism?: () => number
  cpus(): readonly unknown[]
}

/** A `worker_threads` worker, as the thread pool uses one. */
export interface NodeWorker {
  unref(): void
  terminate(): Promise<number>
  on(event: 'message' | 'error', listener: (value: unknown) => void): void
}

/** `worker_threads.Worker`, started on source text (`eval`) with its data. */
export interface WorkerThreads {
  readonly Worker: new (source: string, options: { readonly eval: true; readonly workerData: unknown }) => NodeWorker
}

/** `process.getBuiltinModule`, for the modules the loader and the thread pool read. */
export interface BuiltinModules {
  (id: 'node:fs'): FileReader | undefined
  (id: 'node:os'): CoreCounter | undefined
  (id: 'node:worker_threads'): WorkerThreads | undefined
}

interface NodeProcess {
  readonly env?: Readonly<Record<string, string | undefined>>
  readonly getBuiltinModule?: BuiltinModules
}

/** Node's `process`, if this is Node. */
export const nodeProcess = (): NodeProcess | undefined => (globalThis as { readonly process?: NodeProcess }).process
