/**
 * Bench worker: `count` ICMP probes from one process with our engine, `window` in flight at a time (each answer
 * sends the next), to one target. Prints one JSON line: sent, received, wall time, CPU time.
 *
 *   node --import tsx bench/probe/ours.ts '{"address":"127.0.0.1","protocol":"icmp","count":100000,"window":256}'
 */
import { ProbeEngine } from '../../agent/probes/engine.js';
import type { ProbeOutcome } from '../../agent/probes/types.js';
import type { Protocol } from '../../contract/index.js';

interface Job {
  address: string;
  protocol: Protocol;
  count: number;
  window: number;
  timeout?: number;
  /** Milliseconds between sends instead of a window (paced mode, for the RTT bench); 0 = window mode. */
  interval?: number;
  /** Print every RTT (µs) too. */
  rtts?: boolean;
  /** The ICMP id (engine source id); random when not given. */
  sourceid?: number;
  /** Kernel transmit stamps (default true); false times sends by the process's clock. */
  txTimestamps?: boolean;
}

const job = JSON.parse(process.argv[2] ?? '{}') as Job;
const HARD_LIMIT_MS = 120_000;
const engine = new ProbeEngine({
  sourceid: job.sourceid ?? 1 + Math.floor(Math.random() * 65_534),
  txTimestamps: job.txTimestamps ?? true,
});
const prober = await engine.open(job.protocol);
const target = {
  protocol: job.protocol,
  address: job.address,
  port: null,
  ttl: 64,
  timeout: job.timeout ?? 2000,
  data: '',
};
/** RTTs (µs) by seq when asked for; null where the probe got no reply. */
const rtts: (number | null)[] = [];
let sent = 0;
let done = 0;
let received = 0;

const cpu0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
await new Promise<void>((resolve) => {
  const deadline = setTimeout(resolve, HARD_LIMIT_MS);
  const settle = (o: ProbeOutcome) => {
    done++;
    if (o.status === 'reply') {
      received++;
      if (job.rtts) rtts[o.rseq] = o.rtt;
    }
    if (!job.interval && sent < job.count) launch();
    if (done === job.count) {
      clearTimeout(deadline);
      resolve();
    }
  };
  const launch = () => {
    const seq = sent++ & 0xffff;
    prober.send(target, seq, settle);
  };
  if (job.interval) {
    const start = performance.now();
    const pace = () => {
      while (sent < job.count && start + sent * job.interval! <= performance.now()) launch();
      if (sent < job.count) setTimeout(pace, Math.max(0, start + sent * job.interval! - performance.now()));
    };
    pace();
  } else {
    for (let i = 0; i < Math.min(job.window, job.count); i++) launch();
  }
});
const elapsedNs = process.hrtime.bigint() - t0;
const cpu = process.cpuUsage(cpu0);
engine.close();
process.stdout.write(
  `${JSON.stringify({
    tool: 'pinger',
    sent,
    received,
    seconds: Number(elapsedNs) / 1e9,
    cpuMs: (cpu.user + cpu.system) / 1000,
    userMs: cpu.user / 1000,
    ...(job.rtts ? { rtts: Array.from(rtts, (x) => x ?? null) } : {}),
  })}\n`,
);
process.exit(0);
