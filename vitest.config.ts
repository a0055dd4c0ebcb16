import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'props/**/*.prop.ts'],
    setupFiles: ['props/setup.ts'],
    testTimeout: 60_000,
  },
})
