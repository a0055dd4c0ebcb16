/**
 * The benchmark runs once on tiny sizes so that it cannot rot: every workload (forward, backward
 * and training rows), every column, each peer's output (or gradients) checked against ours. No
 * time is asserted. The cells where tfjs cannot run a workload are the expected ones, found by
 * running it: no Conv2DBackpropFilter on tfjs-wasm, whose max-pool gradient also breaks ties
 * unlike PyTorch.
 */
import { describe, expect, it } from 'vitest'
import { format, runBench } from '../bench/run.js'

describe('npm run bench -- --quick', () => {
  it('runs every workload on braincog-fn (cpu, wasm, wasm-resident) and the tfjs peers, outputs agreeing', async () => {
    const result = await runBench({ quick: true })
    const ids = ['W1a', 'W1b', 'W2a', 'W2b', 'W3', 'W4a', 'W4b', 'W5', 'W6', 'W7', 'W8']
    const backward = ['B1b', 'B2b', 'B3', 'B4b', 'B8']
    expect(result.rows.map((r) => r.id)).toEqual([...ids, ...backward, 'TR1', 'TR2'])
    const skipped = result.rows.flatMap((r) =>
      Object.entries(r.cells).flatMap(([col, c]) => ('skipped' in c ? [`${r.id} ${col}: ${c.skipped}`] : [])),
    )
    expect(skipped).toEqual([])
    const cannot = result.rows.flatMap((r) =>
      Object.entries(r.cells).flatMap(([col, c]) => ('cannot' in c ? [`${r.id} ${col}`] : [])),
    )
    expect(cannot).toEqual(['B4b tfjs-wasm', 'TR2 tfjs-wasm'])
    const tr2 = result.rows.find((r) => r.id === 'TR2')?.cells['tfjs-wasm']
    expect(tr2 && 'cannot' in tr2 ? tr2.cannot : '').toContain('Conv2DBackpropFilter')
    for (const id of ['TR1', 'TR2']) {
      const row = result.rows.find((r) => r.id === id)
      expect(row?.images).toBeGreaterThan(0)
      const mem = row?.memory?.ours
      expect(mem && 'peakRss' in mem ? mem.peakRss : 0).toBeGreaterThan(0)
    }
    expect(result.copies).toBeDefined()
    expect(result.heap?.retainedMiB.length).toBeGreaterThan(1)
    expect(result.columns).toContain('braincog-fn wasm-resident')
    const onDevice = 'braincog-fn wasm-resident, tensors on device'
    // on more than one core: the default device on all of them, on the matmul- and conv-bound rows and W7
    const allCores = 'braincog-fn wasm-resident, all cores'
    expect(result.columns.includes(allCores)).toBe(result.threads !== undefined)
    if (result.threads !== undefined) {
      expect(result.threads).toBeGreaterThan(1)
      const timed = result.rows.filter((r) => r.cells[allCores] !== undefined).map((r) => r.id)
      expect(timed).toEqual(['W1b', 'W7', 'B1b', 'TR1', 'TR2'])
      const keptOnAll = result.rows.filter((r) => r.cells[`${onDevice}, all cores`] !== undefined).map((r) => r.id)
      expect(keptOnAll).toEqual(['W7'])
    }
    // the single layer calls again with their tensors kept on the resident device, checked as every column is
    const kept = result.rows.filter((r) => r.cells[onDevice] !== undefined).map((r) => r.id)
    expect(kept).toEqual(['W2a', 'W3', 'W5', 'W7'])
    for (const id of kept) expect(result.rows.find((r) => r.id === id)?.cells[onDevice]).toHaveProperty('ms')
    expect(result.residentHeap?.wasm?.memoryMiB.length).toBeGreaterThan(1)
    expect(result.trainingHeap?.map((h) => `${h.runner} ${h.device}`)).toEqual([
      'lossAndGrad + adam wasm',
      'lossAndGrad + adam wasm-resident',
      'trainer wasm-resident',
    ])
    expect(format(result)).toContain('W8')
  })
})
