/**
 * The scheduler's timer alone on the real clock: how many wake-ups a second it takes, what CPU that costs, and how
 * far from its slot each probe leaves (early as well as late: the lateness metric clamps early sends to 0). The
 * sender answers at once and does nothing else, so the figures are the scheduler's and its timer's.
 *
 *   node --import tsx bench/agent/wakeups.ts [--destinations 10000] [--interval-ms 1000] [--window-ms 10000]
 *     [--early-ms 0.25,0.5]   one window per value of the scheduler's earlyMs, in this order (default 0.5)
 */
import { parseArgs } from 'node:util';
import { createAgentMetrics } from '../../agent/metrics/metrics.js';
import { Scheduler, type SendProbe } from '../../agent/schedule/scheduler.js';
import type { Destination } from '../../contract/index.js';

const { values: args } = parseArgs({
  options: {
    destinations: { type: 'string', default: '10000' },
    'interval-ms': { type: 'string', default: '1000' },
    'window-ms': { type: 'string', default: '10000' },
    'warmup-ms': { type: 'string', default: '2000' },
    'early-ms': { type: 'string', default: '0.5' },
  },
});
const N = Number(args.destinations);
const INTERVAL = Number(args['interval-ms']);
const WINDOW = Number(args['window-ms']);
const WARMUP = Number(args['warmup-ms']);

const destinations: Destination[] = Array.from(
  { length: N },
  (_, i) =>
    ({
      id: `dst_${i}`,
      name: `d${i}`,
      address: `198.18.${(i >> 8) & 0xff}.${i & 0xff}`,
      protocol: 'icmp',
      interval: INTERVAL,
      timeout: 1000,
      ttl: 64,
      data: 0,
      active: true,
      labels: {},
      createdAt: '2026-01-01T00:00:00.000Z',
      updatedAt: '2026-01-01T00:00:00.000Z',
    }) as unknown as Destination,
);

/**
 * Wake-ups, counted from the sender: each one is its own macrotask, and the microtask queued at its first send runs
 * when it ends, whatever the timer.
 */
let wakeups = 0;
let inWakeup = false;
const endWakeup = () => {
  inWakeup = false;
};

/** Signed offsets from the slot (ms, negative = early) of the probes sent while `recording`. */
const offsets: number[] = [];
let recording = false;

// The scheduler moves a destination's slot on by one interval before it sends, so the slot just served is the
// state's slot minus its interval (every destination here is past its first, early probe by then).
const send: SendProbe = (target, seq, done) => {
  if (!inWakeup) {
    inWakeup = true;
    wakeups++;
    queueMicrotask(endWakeup);
  }
  if (recording) {
    const state = target as unknown as { slot: number; interval: number; first: boolean };
    offsets.push(performance.now() - (state.slot - state.interval));
  }
  done({ destination: target.destination.id, seq } as never);
};

const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

for (const earlyMs of args['early-ms'].split(',').map(Number)) {
  const scheduler = new Scheduler({ send, onResult() {}, earlyMs, metrics: createAgentMetrics() });
  scheduler.apply(destinations);
  await wait(INTERVAL + WARMUP);
  offsets.length = 0;
  recording = true;
  const [w0, c0, t0] = [wakeups, process.cpuUsage(), performance.now()];
  await wait(WINDOW);
  const [w1, c1, t1] = [wakeups, process.cpuUsage(c0), performance.now()];
  recording = false;
  await scheduler.stop();
  const seconds = (t1 - t0) / 1000;
  const sorted = offsets.slice().sort((a, b) => a - b);
  const f = (v: number) => Number(v.toFixed(3));
  console.log(
    JSON.stringify({
      earlyMs,
      probesPerSec: Math.round(offsets.length / seconds),
      wakeupsPerSec: Math.round((w1 - w0) / seconds),
      cpuPct: f(((c1.user + c1.system) / 1000 / (t1 - t0)) * 100),
      offsetMs: {
        min: f(sorted[0] ?? Number.NaN),
        p1: f(quantile(sorted, 0.01)),
        p50: f(quantile(sorted, 0.5)),
        p99: f(quantile(sorted, 0.99)),
        max: f(sorted.at(-1) ?? Number.NaN),
      },
      earlyShare: f(sorted.filter((v) => v < 0).length / sorted.length),
    }),
  );
}
