/**
 * `loadGpuBackend()` itself (its real `import('gpu.js')`) where gpu.js cannot be loaded: the
 * module is mocked to fail as a missing package does. In a file of its own, so the mock
 * touches no other test.
 */
import { describe, expect, it, vi } from 'vitest'

vi.mock('gpu.js', () => {
  throw new Error("Cannot find package 'gpu.js'")
})

describe('braincog-fn/gpu without gpu.js', () => {
  it('the entry loads; loadGpuBackend rejects naming `npm install gpu.js`', async () => {
    const entry = await import('../../src/gpu/index.js')
    const r = entry.loadGpuBackend({ mode: 'cpu' })
    await expect(r).rejects.toBeInstanceOf(entry.GpuUnavailableError)
    await expect(entry.loadGpuBackend()).rejects.toThrow(/needs the optional package gpu\.js.*npm install gpu\.js/)
  })
})
