/**
 * The agent's census scheduler on a fake clock: a pass per slot, a pass slower than the interval never overlapped
 * (the skipped slots counted in its record and the metrics), records logged, removal stops the pass.
 */
import { describe, expect, it } from 'vitest';
import { createAgentMetrics, metricValue } from '../../../../agent/metrics/metrics.js';
import { CensusScheduler, isCensus } from '../../../../agent/schedule/census/census-scheduler.js';
import type { CensusPass, ResultInput } from '../../../../contract/index.js';
import { FakeClock } from '../fake-clock.js';
import { destination } from '../fixtures.js';
import { memoryLogger } from '../results-server.js';
import { fakeProber } from './fake-prober.js';

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function setup(rate: number) {
  const clock = new FakeClock(0);
  const alive = new Set(['198.19.4.10', '198.19.4.200']);
  const prober = fakeProber(clock, alive);
  const passes: CensusPass[] = [];
  const results: ResultInput[] = [];
  const metrics = createAgentMetrics();
  const logger = memoryLogger();
  let running = 0;
  let maxRunning = 0;
  const census = new CensusScheduler({
    prober: () => prober,
    onResult: (r) => results.push(r),
    onPass: (p) => {
      passes.push(p);
    },
    pps: 20_000,
    clock,
    metrics,
    logger,
  });
  const track = () => {
    running = census.running;
    maxRunning = Math.max(maxRunning, running);
  };
  const d = destination('dst_census', {
    address: '198.19.4.0/24',
    interval: 1000,
    timeout: 100,
    census: { rate, retries: 0, split: false, goneAfter: 2 },
  });
  return { clock, prober, passes, results, metrics, logger, census, d, track, maxRunning: () => maxRunning };
}

describe('census scheduler', () => {
  it('tells a census from a single host by its address', () => {
    expect(isCensus({ address: '198.19.0.0/16' })).toBe(true);
    expect(isCensus({ address: '198.19.0.1' })).toBe(false);
  });

  it('runs one pass per slot and records each', async () => {
    const t = setup(10_000);
    expect(t.census.apply([t.d, destination('dst_plain')])).toEqual({ added: 1, removed: 0, changed: 0 });
    for (let i = 0; i < 40; i++) {
      t.clock.advance(100);
      await flush();
    }
    // Slots in [0, 4 s): the first within 500 ms, then every second; each pass takes ~125 ms.
    expect(t.passes.length).toBe(4);
    for (const p of t.passes) {
      expect(p).toMatchObject({
        destination: 'dst_census',
        prefix: '198.19.4.0/24',
        addresses: 254,
        probed: 254,
        answered: 2,
        retries: 0,
        skipped: 0,
        errors: 0,
        rate: 10_000,
      });
    }
    expect(new Set(t.results.map((r) => r.target))).toEqual(new Set(['198.19.4.10', '198.19.4.200']));
    expect(t.results.length).toBe(8);
    expect(await metricValue(t.metrics.censusPasses)).toBe(4);
    expect(t.logger.lines.filter((l) => l.msg === '[agent:census] pass done').length).toBe(4);
  });

  it('never overlaps a pass slower than the interval: the slots that come due are skipped and counted', async () => {
    // 254 addresses at 100/s: a pass takes ~2.6 s against a 1 s interval.
    const t = setup(100);
    t.census.apply([t.d]);
    for (let i = 0; i < 100; i++) {
      t.clock.advance(100);
      t.track();
      await flush();
      t.track();
    }
    expect(t.maxRunning()).toBe(1);
    expect(t.passes.length).toBeGreaterThanOrEqual(2);
    // Each pass's slots while it ran were skipped: 2 of them for a ~2.6 s pass at 1 s.
    for (const p of t.passes) expect(p.skipped).toBe(2);
    // No two passes' probe spans intersect.
    for (let i = 1; i < t.passes.length; i++) {
      expect(BigInt(t.passes[i]!.start)).toBeGreaterThan(BigInt(t.passes[i - 1]!.end));
    }
    expect(await metricValue(t.metrics.censusSkipped)).toBeGreaterThanOrEqual(2 * t.passes.length);
    // Every address probed once per pass: sends = passes × 254 (+ the pass still running).
    expect(t.prober.sent.length).toBeLessThan((t.passes.length + 1) * 254 + 1);
  });

  it('stops the running pass when the census is removed, and its in-flight probes still settle', async () => {
    const t = setup(100);
    t.census.apply([t.d]);
    t.clock.advance(1000);
    expect(t.census.running).toBe(1);
    expect(t.census.apply([])).toEqual({ added: 0, removed: 1, changed: 0 });
    t.clock.advance(500);
    await flush();
    expect(t.census.running).toBe(0);
    expect(t.passes.length).toBe(1);
    expect(t.passes[0]!.probed).toBeLessThan(254);
    const sent = t.prober.sent.length;
    t.clock.advance(5000);
    expect(t.prober.sent.length).toBe(sent);
  });
});
