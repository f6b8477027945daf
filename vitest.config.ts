import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Unit tests that measure no time and open no socket: pure code (codecs, rollups, contract, web helpers), the CLI's
 * argument and output handling, the infra config. Two of these files at a time cannot move a figure past a bound,
 * and most of their cost is a worker's start and imports (about a second a file on a loaded 2-core machine), which
 * two workers overlap.
 */
const PURE = [
  'test/unit/cli/**/*.test.ts',
  'test/unit/contract/**/*.test.ts',
  'test/unit/infra/**/*.test.ts',
  'test/unit/packets/**/*.test.ts',
  'test/unit/rollup/**/*.test.ts',
  'test/unit/web/**/*.test.ts',
  'test/unit/layers.test.ts',
];

export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 30_000,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: {
          name: 'pure',
          include: PURE,
          fileParallelism: true,
          maxWorkers: 2,
          // Before everything else, never beside it.
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'timed',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...PURE],
          // One file at a time: the lab and e2e files measure time (µs against a capture, ms of lateness, a
          // bounded final send), and so do unit tests of the agent, the probes and the control plane (lateness,
          // long-poll latency); a second file's load on a 2-core machine moved those figures past their bounds.
          // Most of this group's time is spent waiting on real processes and sockets, so this costs little.
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
