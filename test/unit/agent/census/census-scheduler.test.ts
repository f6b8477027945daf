/**
 * The agent's census scheduler on a fake clock: a pass per slot, a pass slower than the interval never overlapped
 * (the skipped slots counted in its record and the metrics), records logged, removal stops the pass.
 */
import { describe, expect, it } from 'vitest';
import { createAgentMetrics, metricValue } from '../../../../agent/metrics/metrics.js';
import { CensusScheduler, isCensus } from '../../../../agent/schedule/census/census-scheduler.js';
import { phaseOf } from '../../../../agent/schedule/scheduler.js';
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

  it('a split census probes the slice it holds, at wall-clock slots every source shares, and names them', async () => {
    const t = setup(10_000);
    const split = { ...t.d, census: { rate: 10_000, retries: 0, split: true, goneAfter: 2 } };
    // Addresses 0–126 are 198.19.4.1–127: .10 is in the slice, .200 is not.
    /** Runs the clock until `n` passes are recorded, for at most 3 s of it (a pass takes ~25 ms here). */
    const passes = async (n: number) => {
      for (let i = 0; i < 300 && t.passes.length < n; i++) {
        t.clock.advance(10);
        await flush();
      }
      expect(t.passes.length).toBe(n);
    };
    t.census.apply([split], { [split.id]: { from: 0, to: 127, of: 254, index: 0, count: 2 } });
    await passes(2);
    const phaseMs = BigInt(Math.floor(phaseOf(split.id) * 1000));
    for (const p of t.passes) {
      expect(p).toMatchObject({ addresses: 127, probed: 127, answered: 1, answers: [['198.19.4.10', 1000]] });
      expect(p.slice).toMatchObject({ from: 0, to: 127, of: 254 });
      // On the grid: a whole multiple of the interval past the destination's phase, in whole ms.
      expect((BigInt(p.slice!.slot) / 1_000_000n - phaseMs) % 1000n).toBe(0n);
      expect(BigInt(p.slice!.slot) % 1_000_000n).toBe(0n);
      expect(BigInt(p.start)).toBeGreaterThanOrEqual(BigInt(p.slice!.slot));
    }
    expect(BigInt(t.passes[1]!.slice!.slot) - BigInt(t.passes[0]!.slice!.slot)).toBe(1_000_000_000n);
    const inSlice = new Set(t.prober.sent.map((x) => Number(x.address.split('.')[3])));
    expect(Math.min(...inSlice)).toBe(1);
    expect(Math.max(...inSlice)).toBe(127);
    expect(inSlice.size).toBe(127);

    // The other source went silent: the next config gives this one everything, from the next pass on.
    t.census.apply([split], { [split.id]: { from: 0, to: 254, of: 254, index: 0, count: 1 } });
    await passes(3);
    expect(t.passes[2]).toMatchObject({ addresses: 254, answered: 2, slice: { from: 0, to: 254, of: 254 } });
    // A slice cut for another prefix is not trusted: the whole census.
    t.census.apply([split], { [split.id]: { from: 0, to: 10, of: 65_534, index: 0, count: 1 } });
    await passes(4);
    expect(t.passes[3]).toMatchObject({ addresses: 254, slice: { from: 0, to: 254, of: 254 } });
  });

  it('reports its slice’s members, runs no pass while left out of the split, and runs again once given a slice', async () => {
    const t = setup(10_000);
    const split = { ...t.d, census: { rate: 10_000, retries: 0, split: true, goneAfter: 2 } };
    const slice = { from: 127, to: 254, of: 254, index: 1, count: 2, members: ['src_a', 'src_b'] };
    t.census.apply([split], { [split.id]: slice });
    for (let i = 0; i < 300 && t.passes.length < 1; i++) {
      t.clock.advance(10);
      await flush();
    }
    expect(t.passes[0]?.slice).toMatchObject({ from: 127, to: 254, of: 254, members: ['src_a', 'src_b'] });
    // Left out: three slots go by without a pass (each logged), and none is counted as skipped.
    t.census.apply([split], { [split.id]: { leftOut: true, failed: 2, probationIn: 2 } });
    const sent = t.prober.sent.length;
    for (let i = 0; i < 300; i++) {
      t.clock.advance(10);
      await flush();
    }
    expect(t.passes.length).toBe(1);
    expect(t.prober.sent.length).toBe(sent);
    expect(t.logger.lines.filter((l) => String(l.msg).includes('left out')).length).toBeGreaterThanOrEqual(2);
    expect(await metricValue(t.metrics.censusSkipped)).toBe(0);
    // On probation: a slice again, and a pass over it.
    t.census.apply([split], { [split.id]: slice });
    for (let i = 0; i < 300 && t.passes.length < 2; i++) {
      t.clock.advance(10);
      await flush();
    }
    expect(t.passes[1]).toMatchObject({
      addresses: 127,
      slice: { from: 127, to: 254, members: ['src_a', 'src_b'] },
    });
  });
});
