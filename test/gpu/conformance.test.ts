/**
 * The in-repo conformance fixtures (test/fixtures/braincog, braincog-f64) on the GPU device,
 * in gpu.js's 'cpu' mode and in the mode gpu.js picks here (WebAssembly in Node without GL),
 * used both ways: as the apply context's device (each call uploading its arguments and reading
 * its results back), and as the device of a one-step resident scan per forward step
 * (`scanOnDevice(layer, gpu)`, the state going onto the device and back every step). float32
 * fixtures run on gpu.js (only the unported kernels on the host); float64 ones stay exact on
 * the host (the default `float64` policy) and must pass exactly as on the CPU backends.
 */
import { resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type GpuDevice, gpuUnported, loadGpuBackend } from '../../src/gpu/index.js'
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

describe.each(['cpu', 'gpu'] as const)('conformance fixtures on the GPU device (gpu.js mode %s)', (mode) => {
  let gpu: GpuDevice
  beforeAll(async () => {
    // room for every shape the fixtures compile, so that the cache lists what ran
    gpu = await loadGpuBackend({ mode, maxKernels: 10_000 })
  })
  afterAll(() => gpu.destroy())

  const check = (set: string, options: { readonly backend?: GpuDevice; readonly device?: GpuDevice }): void => {
    const hostBefore = gpu.hostCalls()
    // the runner types `backend` as a host device; any device is what ctx.backend takes
    const report = runDirectory(resolve(FIXTURES, set), options as never)
    expectCounts(set, report, gpu.name)
    expect(gpu.fallbacks(), 'kernels gpu.js failed on').toEqual([])
    expect(gpu.kernelModes().filter((k) => k.mode !== gpu.mode), 'kernels gpu.js ran in another mode').toEqual([])
    expect(gpu.liveBuffers(), 'device buffers left').toBe(0)
    if (set === 'braincog') {
      // float32: the layers' kernels compiled, and only the unported ones ran on the host
      const hostAfter = gpu.hostCalls()
      const onHost = (Object.keys(hostAfter) as (keyof typeof hostAfter)[])
        .filter((k) => hostAfter[k] !== hostBefore[k])
        .filter((k) => !(gpuUnported as readonly string[]).includes(k))
      // empty calls (a scan of nothing, an empty fixture tensor) are the host's too
      expect(onHost.filter((k) => k !== 'fill' && k !== 'concat'), 'ported kernels that ran on the host').toEqual([])
      const compiled = new Set(gpu.kernelModes().map((k) => k.kernel.replace(/[.(|].*$/, '')))
      for (const k of ['matmul', 'liPoolStep', 'groupMean', 'channelAffine', 'momentsPerChannel', 'normalizeAlongAxis']) {
        expect(compiled.has(k), k).toBe(true)
      }
    }
  }

  it.each(['braincog', 'braincog-f64'])('%s, the GPU device as ctx.backend', (set) => {
    gpu.clearCache()
    check(set, { backend: gpu })
  })

  it.each(['braincog', 'braincog-f64'])('%s, each forward step a one-step scanOnDevice on it', (set) => {
    gpu.clearCache()
    check(set, { device: gpu })
  })
})
