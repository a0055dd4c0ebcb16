/**
 * The README quickstart as the package and browser tests run it: the ```ts block under
 * "## Example", and the result its last comment line promises.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** The repository root. */
export const root = fileURLToPath(new URL('../..', import.meta.url))

/** The README quickstart's code and the printed result it promises (as parsed JSON). */
export interface Quickstart {
  readonly code: string
  readonly expected: unknown
}

/** Reads the quickstart out of README.md; throws if the README no longer has one. */
export const readmeQuickstart = (): Quickstart => {
  const readme = readFileSync(resolve(root, 'README.md'), 'utf8')
  const block = /## Example\s+```ts\n([\s\S]*?)```/.exec(readme)
  if (!block) throw new Error('README.md has no ```ts block under "## Example"')
  const code = block[1]
  if (!code.includes("from 'braincog-fn'")) throw new Error("README quickstart does not import from 'braincog-fn'")
  const printed = /^\/\/ (\[.*\])\s*$/m.exec(code)
  if (!printed) throw new Error('README quickstart has no `// [...]` line stating what it prints')
  return { code, expected: JSON.parse(printed[1]) }
}

/** Parses what `console.log` printed for a nested array (Node's inspect format) as JSON. */
export const parsePrinted = (text: string): unknown => JSON.parse(text.replace(/\s+/g, ''))
