/** The scheduler lends census passes only what ordinary ticks leave of the pps budget. */
import { describe, expect, it } from 'vitest';
import { createAgentMetrics } from '../../../../agent/metrics/metrics.js';
import { Scheduler } from '../../../../agent/schedule/scheduler.js';
import { TokenBucket } from '../../../../agent/schedule/token-bucket.js';
import { FakeClock } from '../fake-clock.js';
import { destination, result } from '../fixtures.js';

describe('spare pps budget', () => {
  it('takeUpTo never spends the last `keep` tokens', () => {
    const bucket = new TokenBucket(1000, 100, 0);
    expect(bucket.takeUpTo(1000, 0, 50)).toBe(50);
    expect(bucket.takeUpTo(1000, 0, 50)).toBe(0);
    expect(bucket.take(0)).toBe(true);
    expect(bucket.takeUpTo(1000, 10, 50)).toBe(9);
  });

  it('leaves ordinary ticks on time while a sweep takes every token it can', async () => {
    const clock = new FakeClock(0);
    const metrics = createAgentMetrics();
    const scheduler = new Scheduler({
      send: (target, seq, done) => done(result(target.destination.id, seq)),
      onResult: () => undefined,
      clock,
      pps: 2000,
      metrics,
    });
    scheduler.apply(Array.from({ length: 100 }, (_, i) => destination(`d${i}`, { interval: 100 })));
    let lent = 0;
    for (let ms = 0; ms < 2000; ms++) {
      lent += scheduler.spare(1000);
      clock.advance(1);
    }
    // Ordinary: 100 destinations at 10/s = 1000/s; the sweep gets the other ~1000/s.
    expect(lent).toBeGreaterThan(1800);
    expect(lent).toBeLessThan(2200);
    const { sent, skipped } = scheduler.stats();
    expect(skipped).toBe(0);
    expect(sent).toBeGreaterThan(1900);
    // No tick waited for a token: every one left within 1 ms of its slot (the fake timers' own granularity).
    const values = (await metrics.lateness.get()).values;
    const within1ms = values.find((v) => v.labels.le === 0.001)!.value;
    const count = values.find((v) => v.metricName.endsWith('_count'))!.value;
    expect(count).toBe(sent);
    expect(within1ms).toBe(count);
  });
});
