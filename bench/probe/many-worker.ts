/**
 * Bench worker: `count` destinations, each probed every `interval` ms for `seconds`, through the engine the way
 * the agent's scheduler drives it (destinations staggered evenly over the interval, a 16-bit seq per destination,
 * one ProbeTarget object kept per destination and handed to `Prober.send` with a callback, as the agent does).
 * The engine alone: no resolver, scheduler or outbox, so that its per-probe cost shows by itself. Targets are distinct
 * loopback addresses 127.1.x.y: run it inside a network namespace of its own (see many.ts), so that all traffic
 * stays on that namespace's `lo`. Prints one JSON line: probes sent, outcomes by status, CPU time and how late
 * the sends were, measured after a warm-up interval.
 *
 *   ip netns exec NS node --import tsx bench/probe/many-worker.ts '{"count":10000,"interval":1000,"seconds":10}'
 */
import { ProbeEngine } from '../../agent/probes/engine.js';
import type { ProbeOutcome, ProbeTarget } from '../../agent/probes/types.js';
import type { Protocol } from '../../contract/index.js';

interface Job {
  count: number;
  interval: number;
  seconds: number;
  protocol?: Protocol;
  /** Scheduler tick, ms: every tick sends the probes that fell due. */
  tick?: number;
  /** Kernel transmit stamps (default true). */
  txTimestamps?: boolean;
  /** ms before measuring starts (default one interval): keeps start-up's JIT and backlog out of the figures. */
  warmup?: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const protocol = job.protocol ?? 'icmp';
const tickMs = job.tick ?? 5;
if (!(job.count > 0 && job.count <= 65_000 && job.seconds > 0 && job.seconds <= 120 && job.interval >= 10)) {
  throw new Error('[bench] count 1–65000, seconds 1–120, interval ≥ 10 ms');
}
if (job.warmup !== undefined && !(job.warmup >= 0 && job.warmup < job.seconds * 1000)) {
  throw new Error('[bench] warmup 0 ms up to the run length');
}

const engine = new ProbeEngine({
  sourceid: 1 + Math.floor(Math.random() * 65_534),
  txTimestamps: job.txTimestamps ?? true,
});
const destinations = Array.from({ length: job.count }, (_, i) => {
  const n = i + 1;
  const target: ProbeTarget = {
    protocol,
    address: `127.1.${n >> 8}.${n & 0xff}`,
    port: protocol.startsWith('icmp') ? null : 7,
    ttl: 64,
    timeout: 1000,
    data: '',
  };
  return { target, seq: 0, next: (i * job.interval) / job.count };
});
const prober = await engine.open(
  protocol,
  destinations.map((d) => d.target.address),
);

const byStatus: Record<string, number> = {};
let sent = 0;
let settled = 0;
let measuredSent = 0;
let lateSum = 0;
let lateMax = 0;
let measuring = false;

function record(r: ProbeOutcome): void {
  settled++;
  byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
}

function send(d: (typeof destinations)[number]): void {
  const seq = d.seq;
  d.seq = (seq + 1) & 0xffff;
  sent++;
  prober.send(d.target, seq, record);
}

const t0 = performance.now();
const end = job.seconds * 1000;
let cpu0 = process.cpuUsage();
let m0 = 0;
let i = 0;
await new Promise<void>((resolve) => {
  const loop = () => {
    const now = performance.now() - t0;
    if (!measuring && now >= (job.warmup ?? job.interval)) {
      measuring = true;
      cpu0 = process.cpuUsage();
      m0 = now;
    }
    // Destinations are kept in due order (staggered, equal intervals): walk from the last one sent.
    for (let n = 0; n < destinations.length; n++) {
      const d = destinations[i]!;
      if (d.next > now || d.next >= end) break;
      const late = now - d.next;
      if (measuring) {
        measuredSent++;
        lateSum += late;
        if (late > lateMax) lateMax = late;
      }
      send(d);
      d.next += job.interval;
      i = (i + 1) % destinations.length;
    }
    if (now < end) setTimeout(loop, tickMs);
    else resolve();
  };
  loop();
});
const cpu = process.cpuUsage(cpu0);
const measuredMs = performance.now() - t0 - m0;
const drainDeadline = performance.now() + 5000;
while (settled < sent && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 20));
engine.close();
const cpuMs = (cpu.user + cpu.system) / 1000;
process.stdout.write(
  `${JSON.stringify({
    protocol,
    destinations: job.count,
    intervalMs: job.interval,
    sent,
    settled,
    byStatus,
    measuredSeconds: measuredMs / 1000,
    measuredSent,
    probesPerSecond: Math.round(measuredSent / (measuredMs / 1000)),
    cpuMsPer1000: Math.round((cpuMs / measuredSent) * 1000 * 100) / 100,
    // User space alone: the engine's own code (system time is mostly the kernel's loopback echo, in our context).
    userMsPer1000: Math.round((cpu.user / 1000 / measuredSent) * 1000 * 100) / 100,
    cpuShare: Math.round((cpuMs / measuredMs) * 1000) / 1000,
    lateAvgMs: Math.round((lateSum / measuredSent) * 100) / 100,
    lateMaxMs: Math.round(lateMax * 10) / 10,
  })}\n`,
);
process.exit(0);
