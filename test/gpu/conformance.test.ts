/**
 * The in-repo conformance fixtures (test/fixtures/braincog, braincog-f64) through the GPU
 * backend: every layer's recorded BrainCog outputs, with the layers' kernels running on gpu.js,
 * in its 'cpu' mode and in the mode gpu.js picks here (WebAssembly in Node without GL). float32
 * fixtures run on the GPU kernels; the float64 ones run through the backend's default float64
 * policy (the CPU reference kernels), and must pass exactly as on the CPU backend. Then the
 * same fixtures through the GPU device: each forward step as a one-step resident scan
 * (`scanOnDevice(layer, gpu.device)`), the layers' device forms computing, the state going onto
 * the device and back every step.
 */
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { GpuBackend } from '../../src/gpu/index.js'
import { loadGpuBackend } from '../../src/gpu/index.js'
import { expectedCounts } from '../conformance/expected.js'
import { formatFailure, type Report, runDirectory } from '../conformance/runner.js'

const FIXTURES = resolve(import.meta.dirname, '../fixtures')

/** Nothing fails, and the set passes (and skips) exactly as on the CPU backends. */
const expectCounts = (set: string, report: Report, where: string): void => {
  const failures = report.results.filter((r) => r.outcome === 'failed').map(formatFailure)
  expect(failures, `${report.failed} of ${report.results.length} failed on ${where}`).toEqual([])
  expect({ passed: report.passed, skipped: report.skipped }).toEqual({
    passed: expectedCounts[set].passed,
    skipped: expectedCounts[set].skipped,
  })
}

describe.each(['cpu', 'gpu'] as const)('conformance fixtures through the GPU backend (gpu.js mode %s)', (mode) => {
  let backend: GpuBackend
  beforeAll(async () => {
    backend = await loadGpuBackend({ mode })
  })
  afterAll(() => backend.destroy())

  it.each(['braincog', 'braincog-f64'])('%s', (dir) => {
    const report = runDirectory(resolve(FIXTURES, dir), { backend })
    expectCounts(dir, report, backend.mode)
    // the float32 fixtures did reach gpu.js kernels (the float64 ones stay on the CPU kernels)
    if (dir === 'braincog') expect(backend.cachedKernels()).toBeGreaterThan(0)
    expect(backend.fallbacks()).toEqual([])
    expect(backend.kernelModes().filter((k) => k.mode !== backend.mode)).toEqual([])
  })
})

describe.each(['cpu', 'gpu'] as const)('conformance fixtures through the GPU device (gpu.js mode %s)', (mode) => {
  let backend: GpuBackend
  beforeAll(async () => {
    backend = await loadGpuBackend({ mode })
  })
  afterAll(() => backend.destroy())

  it('braincog (float32)', () => {
    const report = runDirectory(resolve(FIXTURES, 'braincog'), { backend, device: backend.device })
    expectCounts('braincog', report, backend.device.name)
    expect(backend.fallbacks()).toEqual([])
    expect(backend.device.liveBuffers()).toBe(0)
    // the device forms ran: device kernels were compiled, among them each lowered layer's
    const compiled = backend.kernelModes().map((k) => k.kernel.replace(/\(.*$/, ''))
    for (const name of ['device.matmul', 'device.liPoolOut', 'device.groupMean', 'device.channelAffine']) {
      expect(compiled.some((k) => k.startsWith(name)), name).toBe(true)
    }
  })
})
