/**
 * `npm run docs` works: TypeDoc reads every entry point (`typedoc.json`) without errors. It
 * validates only (`--emit none`), so the test writes nothing. `typedoc.json` treats validation
 * warnings as errors, so an export without a doc comment fails this test.
 */
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { root } from './quickstart.js'

describe('API docs', () => {
  it('typedoc reads every entry point, every export documented', () => {
    const r = spawnSync(resolve(root, 'node_modules/.bin/typedoc'), ['--emit', 'none', '--pretty', 'false'], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
    })
    const output = `${r.stdout}\n${r.stderr}`
    const warnings = output.split('\n').filter((line) => line.includes('[warning]'))
    if (warnings.length > 0) console.warn(`typedoc warnings:\n${warnings.join('\n')}`)
    expect(r.error).toBeUndefined()
    if (r.status !== 0) throw new Error(`typedoc exited with ${r.status}:\n${output}`)
  }, 60_000)
})
