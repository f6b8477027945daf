/**
 * Runs the agent's census scheduler (with its pass runner) beside its ordinary scheduler on one probe engine, as
 * agent/main.ts wires them, for the lab tests: started inside the agent namespace, it runs census passes over a
 * prefix while ordinary destinations are probed, and prints one JSON line: each pass record with the hosts that
 * answered in it, how many passes ran at once at most, and the ordinary probes' lateness during the first pass.
 *
 *   ip netns exec NS node --import tsx test/lab/census-driver.ts '<JSON CensusRun>'
 */
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { createAgentMetrics } from '../../agent/metrics/metrics.js';
import { ProbeEngine } from '../../agent/probes/engine.js';
import type { Prober } from '../../agent/probes/types.js';
import { CensusScheduler } from '../../agent/schedule/census/census-scheduler.js';
import { Resolver } from '../../agent/schedule/resolve.js';
import { Scheduler } from '../../agent/schedule/scheduler.js';
import { engineSender } from '../../agent/schedule/send-probe.js';
import type { CensusPass, Destination } from '../../contract/index.js';

export interface CensusRun {
  prefix: string;
  rate: number;
  retries: number;
  /** Census interval, ms. */
  interval: number;
  timeout: number;
  /** The agent's pps budget. */
  pps: number;
  /** Stop after this many pass records. */
  passes: number;
  /** Ordinary destinations probed meanwhile: `count` of them to `address`, each every `interval` ms. */
  ordinary?: { count: number; interval: number; address: string };
  /**
   * Ordinary destinations alone for this long before the census starts (ms): their lateness then is the baseline
   * of this machine at this moment, measured in the same run.
   */
  baselineMs?: number;
  /** Hard bound on the whole run, ms. */
  maxMs: number;
}

export interface CensusRunOutput {
  passes: { record: CensusPass; hosts: string[] }[];
  maxRunning: number;
  /** Ordinary probes sent between the first census probe and the end of the first pass, and how late they left. */
  ordinary: Lateness;
  /** The same, over the last `baselineMs` before the census started (no sweep). */
  baseline: Lateness;
  /** What the process went through during the first pass: event-loop delay (ms), GC pauses (ms), CPU (ms). */
  process: {
    loopP50: number;
    loopP99: number;
    loopMax: number;
    gcMs: number;
    gcMaxMs: number;
    /** GC pause ms by kind (1 minor, 2 major, 4 incremental, 8 weak callbacks: perf_hooks' constants). */
    gcByKind: Record<string, number>;
    cpuMs: number;
  };
}

/** Ordinary probes in a window, and how many left within 1 and 2 ms of their slot. */
export interface Lateness {
  sent: number;
  observed: number;
  within1ms: number;
  within2ms: number;
  lateSkipped: number;
}

const run = JSON.parse(process.argv[2] ?? '{}') as CensusRun;
const at = '2026-12-05T00:00:00.000Z';
const base = {
  active: true,
  port: null,
  ttl: 64,
  data: '',
  sources: [],
  labels: {},
  createdAt: at,
  updatedAt: at,
};
const censusDestination: Destination = {
  ...base,
  id: 'dst_census',
  address: run.prefix,
  protocol: 'icmp',
  interval: run.interval,
  timeout: run.timeout,
  census: { rate: run.rate, retries: run.retries, split: false, goneAfter: 2 },
};
const ordinary: Destination[] = Array.from({ length: run.ordinary?.count ?? 0 }, (_, i) => ({
  ...base,
  id: `dst_plain_${i}`,
  address: run.ordinary!.address,
  protocol: 'icmp',
  interval: run.ordinary!.interval,
  timeout: 1000,
}));

const metrics = createAgentMetrics();
const engine = new ProbeEngine({ sourceid: 4343 });
await engine.open('icmp', run.ordinary ? [run.ordinary.address] : []);
const scheduler = new Scheduler({
  send: engineSender(() => engine, new Resolver()),
  onResult: () => undefined,
  pps: run.pps,
  metrics,
});

type Buckets = Map<number, number>;
const snapshot = async (): Promise<Buckets> => {
  const out: Buckets = new Map();
  for (const v of (await metrics.lateness.get()).values) {
    if (v.metricName.endsWith('_bucket'))
      out.set(v.labels.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(v.labels.le), v.value);
  }
  return out;
};
let before: Promise<Buckets> | undefined;
let skippedBefore = 0;
let sentBefore = 0;
let firstPass: { buckets: Buckets; skipped: number; sent: number } | undefined;

const prober = engine.prober('icmp');
// The census's prober, seen through a wrapper that notes the first census probe (the start of the sweep window).
const watched: Pick<Prober, 'sweep'> = {
  sweep(flight, index, target) {
    if (before === undefined) {
      loop.enable();
      cpu0 = process.cpuUsage();
      before = snapshot();
      skippedBefore = scheduler.stats().skipped;
      sentBefore = scheduler.stats().sent;
    }
    prober.sweep(flight, index, target);
  },
};

const output: CensusRunOutput = {
  passes: [],
  maxRunning: 0,
  ordinary: { sent: 0, observed: 0, within1ms: 0, within2ms: 0, lateSkipped: 0 },
  baseline: { sent: 0, observed: 0, within1ms: 0, within2ms: 0, lateSkipped: 0 },
  process: { loopP50: 0, loopP99: 0, loopMax: 0, gcMs: 0, gcMaxMs: 0, gcByKind: {}, cpuMs: 0 },
};
const loop = monitorEventLoopDelay({ resolution: 1 });
let gcMs = 0;
let gcMaxMs = 0;
const gcByKind: Record<string, number> = {};
let cpu0: NodeJS.CpuUsage | undefined;
const gc = new PerformanceObserver((list) => {
  if (cpu0 === undefined || firstPass !== undefined) return;
  for (const e of list.getEntries()) {
    gcMs += e.duration;
    gcMaxMs = Math.max(gcMaxMs, e.duration);
    const kind = String((e as unknown as { detail?: { kind?: number } }).detail?.kind);
    gcByKind[kind] = (gcByKind[kind] ?? 0) + e.duration;
  }
});
gc.observe({ entryTypes: ['gc'] });
const between = (b: Buckets, a: Buckets, sent: number, skipped: number): Lateness => {
  const delta = (le: number) => (a.get(le) ?? 0) - (b.get(le) ?? 0);
  return {
    sent,
    observed: delta(Number.POSITIVE_INFINITY),
    within1ms: delta(0.001),
    within2ms: delta(0.002),
    lateSkipped: skipped,
  };
};
let hosts: string[] = [];
let finish: () => void;
const finished = new Promise<void>((resolve) => {
  finish = resolve;
});
const census = new CensusScheduler({
  prober: () => watched,
  onResult: (r) => {
    hosts.push(r.target);
    output.maxRunning = Math.max(output.maxRunning, census.running);
  },
  onPass: (record) => {
    output.passes.push({ record, hosts });
    hosts = [];
    if (firstPass === undefined) {
      loop.disable();
      const cpu = process.cpuUsage(cpu0);
      output.process = {
        loopP50: loop.percentile(50) / 1e6,
        loopP99: loop.percentile(99) / 1e6,
        loopMax: loop.max / 1e6,
        gcMs,
        gcMaxMs,
        gcByKind,
        cpuMs: (cpu.user + cpu.system) / 1000,
      };
      const stats = scheduler.stats();
      void snapshot().then((buckets) => {
        firstPass = { buckets, skipped: stats.skipped, sent: stats.sent };
        if (output.passes.length >= run.passes) finish();
      });
    } else if (output.passes.length >= run.passes) finish();
  },
  budget: scheduler,
  pps: run.pps,
  metrics,
});
const timer = setInterval(() => {
  output.maxRunning = Math.max(output.maxRunning, census.running);
}, 5);
scheduler.apply(ordinary);
if (run.baselineMs) {
  // The first ordinary probes leave within 500 ms (their start spread); the baseline window starts after that.
  await new Promise((resolve) => setTimeout(resolve, 600));
  const b0 = await snapshot();
  const s0 = scheduler.stats();
  await new Promise((resolve) => setTimeout(resolve, run.baselineMs));
  const s1 = scheduler.stats();
  output.baseline = between(b0, await snapshot(), s1.sent - s0.sent, s1.skipped - s0.skipped);
}
census.apply([censusDestination]);
const bound = setTimeout(() => finish(), run.maxMs);
await finished;
clearTimeout(bound);
clearInterval(timer);
gc.disconnect();
await census.stop(2000);
await scheduler.stop(2000);
engine.close();
if (before !== undefined && firstPass !== undefined) {
  output.ordinary = between(
    await before,
    firstPass.buckets,
    firstPass.sent - sentBefore,
    firstPass.skipped - skippedBefore,
  );
}
process.stdout.write(`${JSON.stringify(output)}\n`);
