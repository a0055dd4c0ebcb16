/**
 * The benchmark runs once on tiny sizes so that it cannot rot: every workload, every column,
 * each peer's output checked against ours. No time is asserted.
 */
import { describe, expect, it } from 'vitest'
import { format, runBench } from '../bench/run.js'

describe('npm run bench -- --quick', () => {
  it('runs every workload on braincog-fn (cpu, wasm, wasm-resident) and the tfjs peers, outputs agreeing', async () => {
    const result = await runBench({ quick: true })
    const ids = ['W1a', 'W1b', 'W2a', 'W2b', 'W3', 'W4a', 'W4b', 'W5', 'W6', 'W7', 'W8']
    expect(result.rows.map((r) => r.id)).toEqual(ids)
    const skipped = result.rows.flatMap((r) =>
      Object.entries(r.cells).flatMap(([col, c]) => ('skipped' in c ? [`${r.id} ${col}: ${c.skipped}`] : [])),
    )
    expect(skipped).toEqual([])
    expect(result.copies).toBeDefined()
    expect(result.heap?.retainedMiB.length).toBeGreaterThan(1)
    expect(result.columns).toContain('braincog-fn wasm-resident')
    expect(result.residentHeap?.wasm?.memoryMiB.length).toBeGreaterThan(1)
    expect(result.trainingHeap?.map((h) => h.device)).toEqual(['wasm', 'wasm-resident'])
    expect(format(result)).toContain('W8')
  })
})
