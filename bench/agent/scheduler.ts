/**
 * The agent's per-probe path alone, in one process: the scheduler (heap, pps budget, lateness, metrics) →
 * engineSender (address, ProbeTarget) → a fake prober that answers every probe from a later event-loop turn, in
 * batches, as a raw socket's `message` events do → the scheduler's settle. No outbox, no HTTP, no sockets, so the
 * figure (CPU ms per 1,000 probes, from `process.cpuUsage()`) isolates the code this path owns; bench/agent/cpu.ts
 * measures the whole agent.
 *
 *   node --import tsx bench/agent/scheduler.ts [--destinations 10000] [--interval-ms 1000] [--window-ms 10000]
 *     [--names 0]   how many destinations use a host name (resolved once, then from the resolver's cache)
 *     [--virtual]   virtual time: the window runs as fast as the CPU allows under a clock that jumps from timer
 *                   to timer (whole milliseconds, like Node's), the prober answering after each timer. Many more
 *                   probes per second of CPU, so the figure is steadier on a busy machine; lateness is then moot.
 */
import { parseArgs } from 'node:util';
import { createAgentMetrics } from '../../agent/metrics/metrics.js';
import type { ProbeEngine } from '../../agent/probes/engine.js';
import type { SweepFlight } from '../../agent/probes/sweep-flight.js';
import type { OutcomeCallback, ProbeOutcome, Prober, ProbeTarget } from '../../agent/probes/types.js';
import type { Clock, TimerHandle } from '../../agent/schedule/clock.js';
import { Resolver } from '../../agent/schedule/resolve.js';
import { Scheduler } from '../../agent/schedule/scheduler.js';
import { engineSender } from '../../agent/schedule/send-probe.js';
import type { Destination, Protocol } from '../../contract/index.js';
import { bucketsOf, quantileBetween } from './histogram.js';

const { values: args } = parseArgs({
  options: {
    destinations: { type: 'string', default: '10000' },
    'interval-ms': { type: 'string', default: '1000' },
    'window-ms': { type: 'string', default: '10000' },
    'warmup-ms': { type: 'string', default: '3000' },
    names: { type: 'string', default: '0' },
    virtual: { type: 'boolean', default: false },
  },
});
const N = Number(args.destinations);
const INTERVAL = Number(args['interval-ms']);
const NAMES = Number(args.names);

/** Time that jumps from one timer to the next; {@link run} is the event loop. */
class VirtualClock implements Clock {
  #now = 1_000_000;
  #nextId = 1;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();
  #after: (() => void)[] = [];

  now(): number {
    return this.#now;
  }

  wallNs(): bigint {
    return 1_700_000_000_000_000_000n + BigInt(Math.round(this.#now * 1e6));
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const id = this.#nextId++;
    // Like Node: never early, 1 ms at least, on whole milliseconds.
    this.#timers.set(id, { at: Math.ceil(this.#now + Math.max(1, ms)), fn });
    return id as unknown as TimerHandle;
  }

  clearTimer(handle: TimerHandle): void {
    this.#timers.delete(handle as unknown as number);
  }

  /** Runs `fn` once the current timer's callback and its promise continuations are done (answers arriving). */
  afterTimer(fn: () => void): void {
    this.#after.push(fn);
  }

  /**
   * Fires the timers due in the next `ms` of virtual time, in order, with a turn of the real event loop after each
   * (so that promise continuations run between timers, as they would).
   */
  async run(ms: number): Promise<void> {
    const end = this.#now + ms;
    for (;;) {
      let nextId = 0;
      let next: { at: number; fn: () => void } | undefined;
      for (const [id, t] of this.#timers) {
        if (t.at <= end && (next === undefined || t.at < next.at)) [nextId, next] = [id, t];
      }
      if (next === undefined) break;
      this.#timers.delete(nextId);
      this.#now = Math.max(this.#now, next.at);
      next.fn();
      await new Promise(setImmediate);
      const after = this.#after;
      this.#after = [];
      for (const fn of after) fn();
      await new Promise(setImmediate);
    }
    this.#now = end;
  }
}

/**
 * Answers after the current event-loop turn, all pending probes at once, each with a fresh outcome object: from
 * `setImmediate` in real time, after the current timer in virtual time.
 */
class FakeProber implements Prober {
  readonly protocol: Protocol = 'icmp';
  #pending: { target: ProbeTarget; seq: number; done: OutcomeCallback }[] = [];
  #scheduled = false;

  constructor(readonly later: (fn: () => void) => void) {}

  send(target: ProbeTarget, seq: number, done: OutcomeCallback): void {
    this.#pending.push({ target, seq, done });
    if (!this.#scheduled) {
      this.#scheduled = true;
      this.later(this.#flush);
    }
  }

  probe(target: ProbeTarget, seq: number): Promise<ProbeOutcome> {
    return new Promise((resolve) => this.send(target, seq, resolve));
  }

  sweep(flight: SweepFlight, index: number, target: ProbeTarget): void {
    this.send(target, index, flight.done);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const batch = this.#pending;
    this.#pending = [];
    const rtime = `${BigInt(Date.now()) * 1_000_000n}`;
    for (const { target, seq, done } of batch) {
      done({
        rtime,
        target: target.address,
        protocol: target.protocol,
        address: target.address,
        rtt: 0.042,
        rtype: 0,
        rcode: 0,
        rid: 7,
        rseq: seq,
        datamatch: null,
        status: 'reply',
        ttl: 64,
      });
    }
  };
}

const clock = args.virtual ? new VirtualClock() : undefined;
const prober = new FakeProber(clock ? (fn) => clock.afterTimer(fn) : setImmediate);
const engine = { prober: () => prober } as unknown as ProbeEngine;
// Host names resolve through an injected DNS (never the network) to a benchmark-range address.
const resolver = new Resolver({
  dns: {
    resolve4: async () => [{ address: '198.18.0.1', ttl: 3600 }],
    resolve6: async () => [{ address: 'fd00:198:18::1', ttl: 3600 }],
    lookup: async () => ({ address: '198.18.0.1' }),
  },
});
const metrics = createAgentMetrics();
let results = 0;
const scheduler = new Scheduler({
  send: engineSender(() => engine, resolver),
  onResult: () => {
    results++;
  },
  metrics,
  ...(clock ? { clock } : {}),
});

const destinations: Destination[] = Array.from({ length: N }, (_, i) => ({
  id: `dst_${i.toString(36).padStart(8, '0')}`,
  address: i < NAMES ? `host-${i}.bench.invalid` : `198.18.${(i >> 8) & 0xff}.${i & 0xff}`,
  protocol: 'icmp',
  port: null,
  interval: INTERVAL,
  timeout: 1000,
  ttl: 64,
  data: '',
  sources: [],
  labels: {},
  active: true,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
}));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Lets `ms` of (real or virtual) time pass. */
const pass = (ms: number) => (clock ? clock.run(ms) : sleep(ms));
const lateness = () => bucketsOf(metrics.lateness);
const sample = async (cpu?: NodeJS.CpuUsage) => ({
  sent: scheduler.stats().sent,
  results,
  lateness: await lateness(),
  cpu: process.cpuUsage(cpu),
  at: performance.now(),
});

scheduler.apply(destinations);
await pass(Number(args['warmup-ms']));
const a = await sample();
await pass(Number(args['window-ms']));
const b = await sample(a.cpu);
const stopped = scheduler.stop(2000);
await pass(2000);
const { abandoned } = await stopped;

const probes = b.sent - a.sent;
const perProbe = (us: number) => Number((us / probes).toFixed(2));
process.stdout.write(
  `${JSON.stringify({
    probes,
    results: b.results - a.results,
    probesPerS: Math.round(probes / ((b.at - a.at) / 1000)),
    userMsPer1k: perProbe(b.cpu.user),
    systemMsPer1k: perProbe(b.cpu.system),
    cpuPctOfCore: Number((((b.cpu.user + b.cpu.system) / 1000 / (b.at - a.at)) * 100).toFixed(1)),
    latenessP50ms: Number((quantileBetween(a.lateness, b.lateness, 0.5) * 1000).toFixed(2)),
    latenessP99ms: Number((quantileBetween(a.lateness, b.lateness, 0.99) * 1000).toFixed(2)),
    abandoned,
  })}\n`,
);
