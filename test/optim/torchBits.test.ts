/**
 * float32 updates bit for bit against PyTorch 1.13's (fixtures/torch-bits.json, written by
 * fixtures/make_torch_bits.py on x86-64 with AVX2): the rounding model of the optimizers, fused
 * multiply-adds where PyTorch's CPU kernels fuse and one rounding per op elsewhere, pinned. The
 * conformance cases allow 1e-4 + 1e-3 |p|; these allow nothing.
 */
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { AdamConfig, Optimizer, SgdConfig, Tensor } from '../../src/index.js'
import { adam, adamW, orThrow, tensor } from '../../src/index.js'
import { sgd } from '../../src/index.js'

interface Run {
  readonly optimizer: 'SGD' | 'Adam' | 'AdamW'
  readonly config: Readonly<Record<string, unknown>>
  readonly param: readonly number[]
  readonly steps: readonly { readonly grad: readonly number[]; readonly paramAfter: readonly number[] }[]
}

const { runs } = JSON.parse(readFileSync(resolve(import.meta.dirname, 'fixtures/torch-bits.json'), 'utf8')) as {
  readonly runs: readonly Run[]
}

const build = (r: Run): Optimizer =>
  r.optimizer === 'SGD'
    ? sgd(r.config as unknown as SgdConfig)
    : (r.optimizer === 'Adam' ? adam : adamW)(r.config as AdamConfig)

describe('float32 updates equal PyTorch 1.13 bit for bit', () => {
  it.each(runs.map((r, i) => [`${r.optimizer} ${JSON.stringify(r.config)}`, i] as const))('%s', (_, i) => {
    const r = runs[i]
    const opt = build(r)
    let params: { readonly w: Tensor } = { w: tensor(r.param, [r.param.length]) }
    let state = opt.init(params)
    r.steps.forEach((s, t) => {
      const next = orThrow(opt.update({ w: tensor(s.grad, [s.grad.length]) }, state, params))
      const want = Float32Array.from(s.paramAfter)
      const differ = [...want.keys()].filter((k) => next.params.w.data[k] !== want[k])
      expect(differ, `step ${t + 1}: elements whose bits differ`).toEqual([])
      params = next.params
      state = next.state
    })
  })
})
