/**
 * The GPU bench rows run (quick sizes): each workload's output matches the CPU reference with
 * the GPU device in its context, no kernel degrades (nor runs on the host though ported), and
 * the table prints first call apart from the median; the resident-scan rows match the CPU scan
 * and say where their time went.
 */
import { describe, expect, it } from 'vitest'
import { formatGpu, runGpuBench } from '../../bench/gpuRows.js'

describe('bench/gpuRows (quick)', () => {
  it('times W1a, W4a, W4b on the GPU device, first call apart', async () => {
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

  it('runs the resident-scan rows S1-S3: per call and resident match the CPU scan', async () => {
    const r = await runGpuBench({ quick: true, only: ['S1', 'S2', 'S3'] })
    expect(r.rows).toEqual([])
    expect(r.scans.map((row) => row.id)).toEqual(['S1', 'S2', 'S3'])
    for (const row of r.scans) {
      if ('skipped' in row) expect.fail(`${row.id} skipped: ${row.skipped}`)
      expect(row.mismatch).toEqual([0, 0])
      const methods = row.breakdown.map((t) => t.method)
      expect(methods).toContain('upload')
      // S3 keeps its state on the device: its one read is the output's
      const reads = row.breakdown.filter((t) => t.method === 'read')
      expect(reads.reduce((n, t) => n + t.calls, 0)).toBe(row.id === 'S1' ? 2 : row.id === 'S2' ? 3 : 1)
    }
    expect(formatGpu(r)).toMatch(/Resident scans[\s\S]*per-call\/resident/)
  })

  it('times chained resident kernel calls (C1, C2), the final read shared out', async () => {
    const r = await runGpuBench({ quick: true, only: ['C1', 'C2'] })
    expect(r.rows).toEqual([])
    expect(r.scans).toEqual([])
    expect(r.calls.map((row) => row.id)).toEqual(['C1', 'C2'])
    for (const row of r.calls) {
      if ('skipped' in row) expect.fail(`${row.id} skipped: ${row.skipped}`)
      expect(row.msPerCall).toBeGreaterThan(0)
    }
    expect(formatGpu(r)).toMatch(/C2: [\d.]+ ms per call/)
  })
})
