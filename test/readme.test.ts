/**
 * README's example is real code: it is the body of examples/pipeline.ts (which `tsc` checks),
 * and running it prints what the README says it prints.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(__dirname, '..')
const readmeExample = (): string => {
  const readme = readFileSync(resolve(root, 'README.md'), 'utf8')
  const block = /## Example\s+```ts\n([\s\S]*?)```/.exec(readme)
  if (!block) throw new Error('README.md has no ```ts block under "## Example"')
  return block[1]
}

describe('README example', () => {
  it('is the code of examples/pipeline.ts', () => {
    const example = readFileSync(resolve(root, 'examples/pipeline.ts'), 'utf8')
    const strip = (code: string) =>
      code
        .replace(/\/\*\*[\s\S]*?\*\/\n/, '')
        .replace(/'\.\.\/src\/index\.js'/g, "'braincog-fn'")
        .split('\n')
        .filter((line) => !line.startsWith('// ['))
        .join('\n')
        .trim()
    expect(strip(readmeExample())).toBe(strip(example))
  })

  it('prints what the README says', () => {
    const printed = /\/\/ (\[\[.*\]\])/.exec(readmeExample())?.[1]
    const out = execFileSync(resolve(root, 'node_modules/.bin/tsx'), ['examples/pipeline.ts'], { cwd: root, encoding: 'utf8' })
    expect(JSON.parse(out.replace(/\s+/g, ''))).toEqual(JSON.parse(printed ?? 'null'))
  })
})
