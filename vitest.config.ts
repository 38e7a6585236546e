import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // multi-node tests bind many sockets and run timers; one file at a time keeps them from starving each other on 2 cores
    fileParallelism: false,
    // the JSON report is what CI reads its pass/fail totals from
    reporters: ['default', 'json'],
    outputFile: { json: 'test-results/vitest.json' }
  }
})
