/**
 * The conformance fixtures through the GPU backend: every layer's recorded BrainCog outputs,
 * with the layers' kernels running on gpu.js, in its 'cpu' mode and in the mode gpu.js picks
 * here (WebAssembly in Node without GL). float32 fixtures run on the GPU kernels; the float64
 * ones run through the backend's default float64 policy (the CPU reference kernels), and must
 * pass exactly as on the CPU backend.
 */
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { GpuBackend } from '../../src/gpu/index.js'
import { loadGpuBackend } from '../../src/gpu/index.js'
import { formatFailure, runDirectory } from '../conformance/runner.js'

const FIXTURES = resolve(import.meta.dirname, '../../../shared/fixtures')

describe.each(['cpu', 'gpu'] as const)('conformance fixtures through the GPU backend (gpu.js mode %s)', (mode) => {
  let backend: GpuBackend
  beforeAll(async () => {
    backend = await loadGpuBackend({ mode })
  })
  afterAll(() => backend.destroy())

  it.each(['braincog', 'braincog-f64'])('%s', (dir) => {
    const report = runDirectory(resolve(FIXTURES, dir), undefined, backend)
    const failures = report.results.filter((r) => !r.passed).map(formatFailure)
    expect(failures, `${report.failed} of ${report.results.length} failed on ${backend.mode}`).toEqual([])
    expect(report.passed).toBeGreaterThan(0)
    // the float32 fixtures did reach gpu.js kernels (the float64 ones stay on the CPU kernels)
    if (dir === 'braincog') expect(backend.cachedKernels()).toBeGreaterThan(0)
    expect(backend.fallbacks()).toEqual([])
    expect(backend.kernelModes().filter((k) => k.mode !== backend.mode)).toEqual([])
  })
})
