import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // One file at a time: the lab and e2e files measure time (µs against a capture, ms of lateness, a bounded
    // final send), and a second file's load on a 2-core machine moved those figures past their bounds. Most
    // of the suite's time is spent waiting on real processes and sockets, so this costs little wall time.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default'],
  },
});
