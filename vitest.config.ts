import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // multi-node tests bind many sockets; running files one after another keeps them from starving each other on 2 cores
    fileParallelism: false
  }
})
