/**
 * Checkpoint files in Node: save and load through a temporary directory, the errors of the file
 * system as values, no temporary file left behind, and the answer outside Node (no file system).
 * The library's checkpoint sources import nothing from `node:`, so browser bundles stay clean.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import {
  adam,
  fromSafetensors,
  key,
  loadCheckpoint,
  orThrow,
  saveCheckpoint,
  sequential,
  tebn,
  thresholdDependentBatchNorm2d,
  toArray,
  customLinear,
} from '../../src/index.js'
import { expectLayerError } from '../layers/layerError.js'

const dir = mkdtempSync(join(tmpdir(), 'braincog-ckpt-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const net = sequential(
  customLinear({ inFeatures: 3, outFeatures: 2, bias: true }),
  thresholdDependentBatchNorm2d({ numFeatures: 2, alpha: 1, threshold: 0.5 }),
  tebn({ numFeatures: 2, step: 4 }),
)
const model = orThrow(net.init(key(3), [4, 2, 1, 3]))

describe('saveCheckpoint and loadCheckpoint', () => {
  it('round-trip a pipeline with its optimizer state, with metadata', () => {
    const opt = adam({ lr: 0.01 })
    const path = join(dir, 'model.safetensors')
    const tree = { params: model.params, state: model.state, opt: opt.init(model.params) }
    orThrow(saveCheckpoint(path, tree, { epoch: '2' }))
    expect(readdirSync(dir)).toEqual(['model.safetensors'])
    expect(orThrow(fromSafetensors(readFileSync(path))).metadata).toEqual({ epoch: '2' })
    const other = orThrow(net.init(key(4), [4, 2, 1, 3]))
    const back = orThrow(loadCheckpoint(path, { params: other.params, state: other.state, opt: opt.init(other.params) }))
    expect(toArray(back.params[0].weight)).toEqual(toArray(model.params[0].weight))
    expect(toArray(back.params[2].p)).toEqual(toArray(model.params[2].p))
    expect(back.state[1].numBatchesTracked).toBe(0)
    expect(back.opt.step).toBe(0)
  })

  it('report missing files, unwritable paths and bad contents as LayerErrors, leaving no temporary file', () => {
    expectLayerError(loadCheckpoint(join(dir, 'none.safetensors'), model), {
      layer: 'loadCheckpoint',
      argument: 'path',
      got: 'ENOENT',
    })
    expectLayerError(saveCheckpoint(join(dir, 'no', 'such', 'dir.safetensors'), model), {
      layer: 'saveCheckpoint',
      argument: 'path',
    })
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([])
    const junk = join(dir, 'junk.safetensors')
    writeFileSync(junk, 'not a checkpoint')
    // the file's errors name the function called, not the reader inside it
    expectLayerError(loadCheckpoint(junk, model), { layer: 'loadCheckpoint', argument: 'header' })
    expectLayerError(saveCheckpoint(junk, { a: 'text' }), { layer: 'saveCheckpoint', argument: 'tree["a"]' })
    expect(readFileSync(junk, 'utf8')).toBe('not a checkpoint')
    expectLayerError(saveCheckpoint('', model), { layer: 'saveCheckpoint', argument: 'path' })
  })

  it('answer with a LayerError where there is no file system (a browser)', () => {
    const spy = vi.spyOn(process, 'getBuiltinModule').mockReturnValue(undefined as never)
    try {
      expectLayerError(saveCheckpoint(join(dir, 'x.safetensors'), model), { layer: 'saveCheckpoint', argument: 'environment' })
      expectLayerError(loadCheckpoint(join(dir, 'x.safetensors'), model), { layer: 'loadCheckpoint', argument: 'environment' })
    } finally {
      spy.mockRestore()
    }
    expect(existsSync(join(dir, 'x.safetensors'))).toBe(false)
  })

  it('come from sources without node: imports', () => {
    const src = resolve(import.meta.dirname, '../../src/checkpoint')
    // (the examples in doc comments may import node:fs: they run in Node)
    for (const f of readdirSync(src)) expect(readFileSync(join(src, f), 'utf8'), f).not.toMatch(/^import[^\n]*from ['"]node:/m)
  })
})
