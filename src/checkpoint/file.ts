/**
 * Checkpoint files in Node: {@link toSafetensors} and {@link treeFromSafetensors} to and from a
 * path. The file system is reached through `process.getBuiltinModule('node:fs')` when called,
 * as the WebAssembly loader reaches it, so no `node:` import is in the library's sources and a
 * browser bundle of the main entry carries nothing of Node: there these two functions return a
 * `LayerError` (use the byte functions with `fetch`, a `File` or IndexedDB instead).
 *
 * @module
 */
import * as E from 'fp-ts/lib/Either.js'
import { describeValue, layerFailure, type LayerError } from '../errors.js'
import { brief } from '../optim/tree.js'
import { toSafetensors, treeFromSafetensors } from './safetensors.js'

/** The little of `node:fs` the checkpoint files use. */
interface FileSystem {
  readFileSync(path: string): Uint8Array
  writeFileSync(path: string, data: Uint8Array): void
  renameSync(from: string, to: string): void
  rmSync(path: string, options: { readonly force: boolean }): void
}

interface NodeProcess {
  readonly pid?: number
  readonly getBuiltinModule?: (id: string) => unknown
}

/** `node:fs` when this is Node (20.16 or later), else why not. */
const fileSystem = (fn: string): E.Either<LayerError, FileSystem> => {
  const proc = (globalThis as { readonly process?: NodeProcess }).process
  const fs = proc?.getBuiltinModule?.('node:fs') as FileSystem | undefined
  if (fs !== undefined && typeof fs.readFileSync === 'function') return E.right(fs)
  const want = "Node's file system (process.getBuiltinModule('node:fs'), Node 20.16 or later)"
  return layerFailure(fn, 'environment', want, 'none here (in a browser, use toSafetensors and treeFromSafetensors on bytes)')
}

/** What the file system said, in a few words (a message of its own may be long, or not a string). */
const reason = (e: unknown): string => {
  const m = e instanceof Error ? e.message : describeValue(e)
  return m.length > 200 ? `${m.slice(0, 197)}...` : m
}

/**
 * Saves a tree (params, state, an optimizer's state, or a record of them) as a safetensors file
 * at `path`, named as {@link toSafetensors} names it. The bytes go to a temporary file beside it
 * that is then renamed over `path`, so a crash mid-write never leaves a truncated checkpoint.
 * Node only: elsewhere a `LayerError`, as are the errors of the file system (naming the path)
 * and those of `toSafetensors`.
 *
 * @example
 * import { customLinear, key, loadCheckpoint, orThrow, saveCheckpoint, sgd } from 'braincog-fn'
 * import { mkdtempSync } from 'node:fs'
 * import { tmpdir } from 'node:os'
 * import { join } from 'node:path'
 * const fc = customLinear({ inFeatures: 4, outFeatures: 2 })
 * const { params, state } = orThrow(fc.init(key(0), [4]))
 * const opt = sgd({ lr: 0.1, momentum: 0.9 })
 * const path = join(mkdtempSync(join(tmpdir(), 'ckpt-')), 'model.safetensors')
 * orThrow(saveCheckpoint(path, { params, state, opt: opt.init(params) }, { epoch: '3' }))
 * const back = orThrow(loadCheckpoint(path, { params, state, opt: opt.init(params) }))
 * back.params.weight.get(1, 1) === params.weight.get(1, 1) // true
 * back.opt.step // 0
 */
export const saveCheckpoint = (
  path: string,
  tree: unknown,
  metadata?: Readonly<Record<string, string>>,
): E.Either<LayerError, void> => {
  const name = 'saveCheckpoint'
  if (typeof path !== 'string' || path.length === 0) return layerFailure(name, 'path', 'a file path', brief(path))
  const fs = fileSystem(name)
  if (E.isLeft(fs)) return fs
  const bytes = toSafetensors(tree, metadata, name)
  if (E.isLeft(bytes)) return bytes
  const pid = (globalThis as { readonly process?: NodeProcess }).process?.pid ?? 0
  const temporary = `${path}.${pid}.tmp`
  try {
    fs.right.writeFileSync(temporary, bytes.right)
    fs.right.renameSync(temporary, path)
    return E.right(undefined)
  } catch (e) {
    try {
      fs.right.rmSync(temporary, { force: true })
    } catch {
      // nothing left to clean up
    }
    return layerFailure(name, 'path', `a path that can be written (${brief(path)})`, reason(e))
  }
}

/**
 * Loads a tree saved by {@link saveCheckpoint} (or any safetensors file with the same names) into
 * the shape of `template`, as {@link treeFromSafetensors} does. Node only: elsewhere a
 * `LayerError`, as are a missing or unreadable file (naming the path), a malformed file and an
 * entry that does not fit the template (naming the entry and both shapes).
 */
export const loadCheckpoint = <T>(path: string, template: T): E.Either<LayerError, T> => {
  const name = 'loadCheckpoint'
  if (typeof path !== 'string' || path.length === 0) return layerFailure(name, 'path', 'a file path', brief(path))
  const fs = fileSystem(name)
  if (E.isLeft(fs)) return fs
  let bytes: Uint8Array
  try {
    bytes = fs.right.readFileSync(path)
  } catch (e) {
    return layerFailure(name, 'path', `a readable file (${brief(path)})`, reason(e))
  }
  return treeFromSafetensors(bytes, template, name)
}
