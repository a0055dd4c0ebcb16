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

interface NodeProcess {
  readonly env?: Readonly<Record<string, string | undefined>>
  readonly getBuiltinModule?: (id: 'node:fs') => FileReader | undefined
}

/** Node's `process`, if this is Node. */
export const nodeProcess = (): NodeProcess | undefined => (globalThis as { readonly process?: NodeProcess }).process
