/**
 * Every `@example` in src/ runs. Each example becomes a module (imports of `braincog-fn` pointed
 * at src/), and an expression line whose comment begins with a literal (`toNested(y) // [[1, 0]]`)
 * becomes an assertion that the expression equals it (tensors compared as nested arrays, numbers
 * within float32 rounding).
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const root = resolve(__dirname, '..')
const outDir = join(root, 'test/.examples')

interface Example {
  readonly file: string
  readonly line: number
  readonly code: string
}

const sourceFiles = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith('.ts') ? [path] : []
  })

const examplesIn = (file: string): Example[] => {
  const lines = readFileSync(file, 'utf8').split('\n')
  const found: Example[] = []
  lines.forEach((line, i) => {
    if (!/^\s*\* @example\s*$/.test(line)) return
    const body: string[] = []
    for (let j = i + 1; j < lines.length && !/^\s*\*\/|^\s*\* @/.test(lines[j]); j++) {
      body.push(lines[j].replace(/^\s*\* ?/, ''))
    }
    found.push({ file: relative(root, file), line: i + 1, code: body.join('\n') })
  })
  return found
}

/** The longest prefix of a comment that is a JS literal, e.g. `[[0, 1]]` of `[[0, 1]]: one spike`. */
const literalPrefix = (comment: string): string | undefined => {
  for (let end = comment.length; end > 0; end--) {
    if (end < comment.length && !/[\s:;,]/.test(comment[end])) continue
    const candidate = comment.slice(0, end).trim()
    if (!/^[[\-\d'"tfn]/.test(candidate)) return undefined
    try {
      // examples write JSON-like literals, strings in single quotes
      JSON.parse(candidate.replace(/'/g, '"'))
      return candidate
    } catch {
      // not a literal yet: try a shorter prefix
    }
  }
  return undefined
}

const toModule = (ex: Example): string => {
  const src = (p: string) => JSON.stringify(relative(outDir, join(root, p)).replace(/\\/g, '/'))
  const body = ex.code
    .replace(/'braincog-fn\/arbitraries'/g, src('src/arbitraries/index.js'))
    .replace(/'braincog-fn\/gpu'/g, src('src/gpu/index.js'))
    .replace(/'braincog-fn'/g, src('src/index.js'))
    .split('\n')
    .map((line) => {
      const m = /^(\s*)([^/].*?)\s*\/\/\s*(.+)$/.exec(line)
      if (!m || /^(const|let|var|import|export|await\s+import|return)\b/.test(m[2])) return line
      const literal = literalPrefix(m[3])
      return literal === undefined ? line : `${m[1]}__check(${m[2]}, ${literal}, ${JSON.stringify(line.trim())})`
    })
    .join('\n')
  return `import { __check } from ${src('test/exampleCheck.js')}\n${body}\n`
}

const examples = sourceFiles(join(root, 'src')).flatMap(examplesIn)
rmSync(outDir, { recursive: true, force: true })
mkdirSync(outDir, { recursive: true })
afterAll(() => rmSync(outDir, { recursive: true, force: true }))

describe('@example blocks', () => {
  it('exist for the public API', () => {
    expect(examples.length).toBeGreaterThan(20)
  })

  it.each(examples.map((ex, i) => [`${ex.file}:${ex.line}`, ex, i] as const))('%s runs', async (_where, ex, i) => {
    const path = join(outDir, `example${i}.ts`)
    writeFileSync(path, toModule(ex))
    await import(path)
  })
})
