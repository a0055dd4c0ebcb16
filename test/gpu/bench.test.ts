/**
 * The GPU bench rows run (quick sizes): each workload's output matches the CPU reference on the
 * GPU backend, no kernel degrades, and the table prints first call apart from the median.
 */
import { describe, expect, it } from 'vitest'
import { formatGpu, runGpuBench } from '../../bench/gpuRows.js'

describe('bench/gpuRows (quick)', () => {
  it('times W1a, W4a, W4b on the GPU backend, first call apart', async () => {
    const r = await runGpuBench({ quick: true, only: ['W1a', 'W4a', 'W4b'] })
    expect(r.mode).toBe('webasm')
    expect(r.rows.map((row) => row.id)).toEqual(['W1a', 'W4a', 'W4b'])
    for (const row of r.rows) {
      if ('skipped' in row) expect.fail(`${row.id} skipped: ${row.skipped}`)
      expect(row.kernels).toBeGreaterThan(0)
      expect(row.degraded).toEqual([])
      expect(row.firstMs).toBeGreaterThan(0)
    }
    expect(formatGpu(r)).toMatch(/first call\s+median\s+cpu median/)
  })
})
