import { describe, expect, it } from 'vitest';
import { createAgentMetrics, metricValue } from '../../../agent/metrics/metrics.js';
import {
  nextSlot,
  phaseOf,
  type ResultCallback,
  Scheduler,
  type SendProbe,
} from '../../../agent/schedule/scheduler.js';
import type { Destination, ResultInput } from '../../../contract/index.js';
import { FakeClock } from './fake-clock.js';
import { destination, result } from './fixtures.js';
import { memoryLogger } from './results-server.js';

interface Sent {
  at: number;
  id: string;
  seq: number;
  ttl: number;
  data: string;
}

/** A prober that answers at once (or holds answers when `hold` is set), recording what it was asked to send. */
function fakeProber(clock: FakeClock, hold = false) {
  const sent: Sent[] = [];
  const pending: { id: string; seq: number; resolve: ResultCallback }[] = [];
  const send: SendProbe = ({ destination: d }, seq, done) => {
    sent.push({ at: clock.now(), id: d.id, seq, ttl: d.ttl, data: d.data });
    const r = result(d.id, seq, { rtime: clock.wallNs().toString() });
    if (!hold) done(r);
    else pending.push({ id: d.id, seq, resolve: done });
  };
  return { sent, pending, send };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

function setup(options: { pps?: number; burst?: number; hold?: boolean } = {}) {
  const logger = memoryLogger();
  const clock = new FakeClock(10_000);
  const prober = fakeProber(clock, options.hold);
  const results: ResultInput[] = [];
  const metrics = createAgentMetrics();
  const scheduler = new Scheduler({
    clock,
    send: prober.send,
    onResult: (r) => results.push(r),
    metrics,
    logger,
    ...(options.pps !== undefined ? { pps: options.pps } : {}),
    ...(options.burst !== undefined ? { burst: options.burst } : {}),
  });
  return { clock, prober, results, metrics, scheduler, logger };
}

function seqsOf(sent: readonly { id: string; seq: number }[], id: string): number[] {
  return sent.filter((s) => s.id === id).map((s) => s.seq);
}

describe('scheduler', () => {
  it('staggers start offsets across the interval and sends each destination once per interval', () => {
    const { clock, prober, scheduler } = setup();
    const dests = Array.from({ length: 200 }, (_, i) => destination(`dst_${i}`));
    scheduler.apply(dests);
    const start = clock.now();
    const spread = (from: number, width: number) => {
      const sends = prober.sent.filter((s) => s.at >= from && s.at < from + width);
      const bins = new Array(10).fill(0) as number[];
      for (const s of sends) bins[Math.floor(((s.at - from) / width) * 10)]! += 1;
      return { sends, bins };
    };
    clock.advance(3000);
    // First probes: each destination once, at its phase within the first 500 ms (a new destination starts soon).
    const first = spread(start, 500);
    expect(new Set(first.sends.map((s) => s.id)).size).toBe(200);
    expect(first.sends).toHaveLength(200);
    // (Served up to earlyMs = 0.5 ms ahead when another tick's timer fires; never before +1 ms, like Node timers.)
    for (const s of first.sends) {
      expect(Math.abs(s.at - Math.max(start + 1, start + phaseOf(s.id) * 500))).toBeLessThanOrEqual(0.51);
    }
    // Steady state: each destination once per second, spread over the whole interval (~20 per 100 ms bin;
    // bunching would fill few bins).
    const steady = spread(start + 1500, 1000);
    expect(steady.sends).toHaveLength(200);
    expect(new Set(steady.sends.map((s) => s.id)).size).toBe(200);
    expect(Math.min(...steady.bins)).toBeGreaterThanOrEqual(8);
    expect(Math.max(...steady.bins)).toBeLessThanOrEqual(35);
    for (const s of steady.sends) {
      expect(Math.abs(s.at - nextSlot(start + 1500, 1000, phaseOf(s.id)))).toBeLessThanOrEqual(0.51);
    }
    // The second probe waits at least half an interval after the early first one.
    for (const d of dests.slice(0, 50)) {
      const [a, b] = prober.sent.filter((s) => s.id === d.id);
      expect(b!.at - a!.at).toBeGreaterThanOrEqual(500);
      expect(b!.at - a!.at).toBeLessThanOrEqual(1500);
    }
  });

  it('keeps exact slots (no drift) and runs seq 0, 1, 2, … without gaps', async () => {
    const { clock, prober, results, scheduler } = setup();
    scheduler.apply([destination('a', { interval: 100 })]);
    clock.advance(10_000);
    await flush();
    const times = prober.sent.map((s) => s.at);
    expect(times.length).toBeGreaterThanOrEqual(99);
    // After the early first probe, exactly one interval apart.
    for (let i = 2; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeCloseTo(100, 6);
    expect(seqsOf(prober.sent, 'a')).toEqual(times.map((_, i) => i));
    expect(results.map((r) => r.rseq)).toEqual(times.map((_, i) => i));
  });

  it('wraps seq at 16 bits', async () => {
    const { clock, prober, scheduler } = setup();
    scheduler.apply([destination('a', { interval: 10 })]);
    clock.advance(65_540 * 10);
    const seqs = seqsOf(prober.sent, 'a');
    expect(seqs.length).toBeGreaterThan(65_536);
    const wrap = seqs.indexOf(65_535);
    expect(seqs.slice(wrap, wrap + 3)).toEqual([65_535, 0, 1]);
    expect(seqs.every((s, i) => s === i % 65_536)).toBe(true);
  });

  it('retimes a changed interval without touching the other destinations', () => {
    const { clock, prober, scheduler } = setup();
    scheduler.apply([destination('a'), destination('b')]);
    clock.advance(3000);
    const bBefore = prober.sent.filter((s) => s.id === 'b').map((s) => s.at);
    const summary = scheduler.apply([destination('a', { interval: 100 }), destination('b')]);
    expect(summary).toMatchObject({ retimed: 1, unchanged: 1, added: 0, removed: 0 });
    const changedAt = clock.now();
    clock.advance(3000);
    const a = prober.sent.filter((s) => s.id === 'a' && s.at > changedAt);
    expect(a.length).toBeGreaterThanOrEqual(29);
    expect(a[0]!.at - changedAt).toBeLessThanOrEqual(100);
    // b keeps its phase: its sends stay on its slots (served up to earlyMs = 0.5 ms ahead when another timer fires).
    const b = prober.sent.filter((s) => s.id === 'b').map((s) => s.at);
    expect(b.slice(0, bBefore.length)).toEqual(bBefore);
    const bSlot = nextSlot(0, 1000, phaseOf('b'));
    for (const at of b.slice(1)) {
      const off = (((at - bSlot) % 1000) + 1000) % 1000;
      expect(Math.min(off, 1000 - off)).toBeLessThanOrEqual(1);
    }
    // seq continues across the retime.
    expect(seqsOf(prober.sent, 'a')).toEqual(seqsOf(prober.sent, 'a').map((_, i) => i));
  });

  it('reconfigures ttl/data on the next tick while keeping the schedule', () => {
    const { clock, prober, scheduler } = setup();
    scheduler.apply([destination('a', { interval: 200 })]);
    clock.advance(1000);
    const slots = prober.sent.map((s) => s.at);
    const summary = scheduler.apply([destination('a', { interval: 200, ttl: 3, data: 'xyz' })]);
    expect(summary.reconfigured).toBe(1);
    clock.advance(1000);
    const after = prober.sent.slice(slots.length);
    expect(after.length).toBe(5);
    expect(after.every((s) => s.ttl === 3 && s.data === 'xyz')).toBe(true);
    expect(after[0]!.at - slots.at(-1)!).toBeCloseTo(200, 6);
  });

  it('stops a removed or deactivated destination; its in-flight probes still finish and are recorded', async () => {
    const { clock, prober, results, scheduler } = setup({ hold: true });
    scheduler.apply([destination('a', { interval: 100 }), destination('b', { interval: 100 })]);
    clock.advance(250);
    const inflightA = prober.pending.filter((p) => p.id === 'a');
    expect(inflightA.length).toBeGreaterThanOrEqual(2);
    const summary = scheduler.apply([destination('b', { interval: 100, active: false })]);
    expect(summary).toMatchObject({ removed: 2 });
    const sentBefore = prober.sent.length;
    clock.advance(1000);
    expect(prober.sent.length).toBe(sentBefore);
    expect(scheduler.size).toBe(0);
    for (const p of prober.pending) p.resolve(result(p.id, p.seq));
    await flush();
    expect(results).toHaveLength(sentBefore);
    expect(results.filter((r) => r.destination === 'a').map((r) => r.rseq)).toEqual(
      inflightA.map((p) => p.seq),
    );
  });

  it('hands each probe its lateness for the timing mark, and counts answered results not kernel-timed', async () => {
    const clock = new FakeClock(10_000);
    const metrics = createAgentMetrics();
    const late: number[] = [];
    const timings: ResultInput['timing'][] = [
      { send: 'kernel', receive: 'kernel', lateness: 0 },
      { send: 'process', receive: 'kernel', lateness: 0 },
      { send: 'kernel', receive: 'process', lateness: 0 },
      undefined, // an agent-side sender without marks (e.g. a test's)
    ];
    let n = 0;
    let lastAt = 0;
    const scheduler = new Scheduler({
      clock,
      send: ({ destination: d }, seq, done, lateness) => {
        late.push(lateness ?? -1);
        lastAt = clock.now();
        const timing = timings[n++ % timings.length];
        done(result(d.id, seq, timing === undefined ? {} : { timing }));
      },
      onResult: () => undefined,
      metrics,
      logger: memoryLogger(),
    });
    scheduler.apply([destination('a', { interval: 100 })]);
    clock.advance(400);
    const dueAt = lastAt + 100;
    clock.stall(dueAt + 30 - clock.now());
    clock.advance(0);
    // Every probe says how late it left, in whole µs: on its slot (0, or the timer's sub-ms jitter), and 30 ms.
    expect(late.every((x) => Number.isInteger(x) && x >= 0)).toBe(true);
    expect(late.at(-1)).toBeCloseTo(30_000, -2);
    scheduler.stop(0);
    // Of each four answered results, three are not kernel-timed on both ends (the unmarked one included).
    const answered = late.length;
    const expected = Math.floor(answered / 4) * 3 + Math.max(0, (answered % 4) - 1);
    expect(await metricValue(metrics.processTimed)).toBe(expected);
  });

  it('sends a late tick late (observed) and skips ticks more than one interval late (counted, not bunched)', async () => {
    const { clock, prober, metrics, scheduler, logger } = setup();
    scheduler.apply([destination('a', { interval: 100 })]);
    clock.advance(500);
    const before = prober.sent.length;
    const dueAt = prober.sent.at(-1)!.at + 100;
    // The event loop is blocked until 230 ms after the next slot.
    clock.stall(dueAt + 230 - clock.now());
    clock.advance(0);
    // One probe goes out at once (2 slots skipped, then 30 ms late), not three in a burst.
    expect(prober.sent.length).toBe(before + 1);
    expect(await metricValue(metrics.lateSkipped)).toBe(2);
    expect(logger.lines.filter((l) => l.level === 'warn' && /skipped/.test(l.msg))).toHaveLength(1);
    expect(prober.sent.at(-1)!.at).toBeCloseTo(dueAt + 230, 6);
    const { values } = await metrics.lateness.get();
    const le50ms = values.find((v) => v.labels.le === 0.05 && v.metricName?.endsWith('_bucket'))!.value;
    const le25ms = values.find((v) => v.labels.le === 0.025 && v.metricName?.endsWith('_bucket'))!.value;
    expect(le50ms - le25ms).toBe(1);
    // The schedule stays on its slots afterwards and seq has no gap (skipped ticks send nothing).
    clock.advance(1000);
    const seqs = seqsOf(prober.sent, 'a');
    expect(seqs).toEqual(seqs.map((_, i) => i));
    const after = prober.sent.slice(before + 1).map((s) => s.at);
    for (let i = 1; i < after.length; i++) expect(after[i]! - after[i - 1]!).toBeCloseTo(100, 6);
  });

  it('holds the global pps budget and serves due ticks in slot order', async () => {
    const { clock, prober, scheduler } = setup({ pps: 100, burst: 1 });
    // 50 destinations at 100 ms want 500 probes/s; the budget allows 100/s.
    scheduler.apply(Array.from({ length: 50 }, (_, i) => destination(`d${i}`, { interval: 100 })));
    clock.advance(5000);
    expect(prober.sent.length).toBeGreaterThanOrEqual(495);
    expect(prober.sent.length).toBeLessThanOrEqual(502);
    // No 1-second window holds more than the budget (+ burst).
    for (let i = 0; i + 101 < prober.sent.length; i++) {
      expect(prober.sent[i + 101]!.at - prober.sent[i]!.at).toBeGreaterThanOrEqual(1000);
    }
    // Every destination still gets its share and its seqs stay contiguous.
    for (let i = 0; i < 50; i++) {
      const seqs = seqsOf(prober.sent, `d${i}`);
      expect(seqs.length).toBeGreaterThanOrEqual(8);
      expect(seqs).toEqual(seqs.map((_, k) => k));
    }
    expect(scheduler.stats().skipped).toBeGreaterThan(0);
  });

  it('turns a sender that throws into an error result with the same seq, once per probe', async () => {
    const clock = new FakeClock();
    const results: ResultInput[] = [];
    const metrics = createAgentMetrics();
    let n = 0;
    const scheduler = new Scheduler({
      clock,
      metrics,
      send: ({ destination: d }, seq, done) => {
        n++;
        if (n === 2 || n === 4) throw new Error('socket gone');
        // Before returning (a probe refused at once) or from a later turn (an answer).
        if (n === 3) done(result(d.id, seq, { status: 'error' }));
        else setImmediate(() => done(result(d.id, seq)));
      },
      onResult: (r) => results.push(r),
    });
    const d: Destination = destination('h', { address: 'example.invalid', interval: 100 });
    scheduler.apply([d]);
    clock.advance(450);
    await flush();
    expect(results.map((r) => [r.rseq, r.status]).sort((x, y) => Number(x[0]) - Number(y[0]))).toEqual([
      [0, 'reply'],
      [1, 'error'],
      [2, 'error'],
      [3, 'error'],
      [4, 'reply'],
    ]);
    expect(results.find((r) => r.rseq === 1)).toMatchObject({
      target: '0.0.0.0',
      address: null,
      rtt: null,
      destination: 'h',
      rtime: expect.any(String),
    });
    expect(scheduler.stats()).toMatchObject({ sent: 5, inflight: 0 });
    expect(await metricValue(metrics.inflight)).toBe(0);
    expect(await metricValue(metrics.results, { status: 'error' })).toBe(3);
  });

  it('hands the sender one object per destination, its memo reset when the destination changes', () => {
    const clock = new FakeClock();
    const seen: { target: object; memo: unknown; ttl: number }[] = [];
    const scheduler = new Scheduler({
      clock,
      send: (target, seq, done) => {
        seen.push({ target, memo: target.memo, ttl: target.destination.ttl });
        target.memo ??= { builtFor: target.destination };
        done(result(target.destination.id, seq));
      },
      onResult: () => {},
    });
    const a = destination('a', { interval: 100 });
    scheduler.apply([a]);
    clock.advance(250);
    scheduler.apply([a]); // the same object: unchanged
    clock.advance(100);
    scheduler.apply([{ ...a, ttl: 9 }]); // reconfigured
    clock.advance(100);
    scheduler.apply([{ ...a, ttl: 9, interval: 50 }]); // retimed
    clock.advance(50);
    expect(new Set(seen.map((s) => s.target)).size).toBe(1);
    // Undefined at the first probe and after each change; the sender's own memo otherwise.
    expect(seen.map((s) => (s.memo === undefined ? 'fresh' : 'memo'))).toEqual([
      'fresh',
      'memo',
      'memo',
      'memo',
      'fresh',
      'fresh',
    ]);
    expect(seen.map((s) => s.ttl)).toEqual([64, 64, 64, 64, 9, 9]);
  });

  it('stop() waits for in-flight probes up to a deadline and reports the abandoned ones', async () => {
    const { clock, prober, results, scheduler } = setup({ hold: true });
    scheduler.apply([destination('a', { interval: 100 }), destination('b', { interval: 100 })]);
    clock.advance(150);
    const inflight = prober.pending.length;
    expect(inflight).toBeGreaterThanOrEqual(2);
    const stopped = scheduler.stop(1000);
    prober.pending[0]!.resolve(result('x', 0));
    await flush();
    clock.advance(1000); // the drain deadline passes with the others unresolved
    expect(await stopped).toEqual({ abandoned: inflight - 1 });
    expect(results).toHaveLength(1);
    expect(() => scheduler.apply([])).toThrow(/after stop/);
  });

  it('with real timers: keeps per-destination rate, seq continuity and small lateness', async () => {
    const sent: { id: string; seq: number; at: number }[] = [];
    const results: ResultInput[] = [];
    const metrics = createAgentMetrics();
    const scheduler = new Scheduler({
      metrics,
      send: ({ destination: d }, seq, done) => {
        sent.push({ id: d.id, seq, at: performance.now() });
        done(result(d.id, seq));
      },
      onResult: (r) => results.push(r),
    });
    scheduler.apply(Array.from({ length: 20 }, (_, i) => destination(`r${i}`, { interval: 20 })));
    const start = performance.now();
    const deadline = start + 5000;
    while (sent.length < 20 * 50 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await scheduler.stop(1000);
    const elapsed = performance.now() - start;
    expect(sent.length).toBeGreaterThanOrEqual(1000);
    for (let i = 0; i < 20; i++) {
      const seqs = seqsOf(sent, `r${i}`);
      expect(seqs).toEqual(seqs.map((_, k) => k));
      // Never more than one probe per slot.
      expect(seqs.length).toBeLessThanOrEqual(Math.ceil(elapsed / 20) + 1);
    }
    expect(results).toHaveLength(sent.length);
    const { values } = await metrics.lateness.get();
    const count = values.find((v) => v.metricName?.endsWith('_count'))!.value;
    const under10ms = values.find((v) => v.labels.le === 0.01 && v.metricName?.endsWith('_bucket'))!.value;
    expect(under10ms / count).toBeGreaterThan(0.9);
  });
});
