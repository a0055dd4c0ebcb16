/**
 * The README's gradient examples are real programs (examples/gradients/*.ts, checked by tsc):
 * each runs and prints what its last comment line promises.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(__dirname, '..')
const examples = ['fitTdbn', 'lifBptt', 'ownLayer']

describe('gradient examples', () => {
  it.each(examples)('examples/gradients/%s.ts prints what it says', (name) => {
    const file = resolve(root, 'examples/gradients', `${name}.ts`)
    const promised = /^\/\/ (\{.*\})\s*$/m.exec(readFileSync(file, 'utf8'))?.[1]
    expect(promised, 'a `// { ... }` line saying what it prints').toBeDefined()
    const out = execFileSync(resolve(root, 'node_modules/.bin/tsx'), [file], { cwd: root, encoding: 'utf8' })
    expect(out.trim()).toBe(promised)
  }, 60_000)
})
