/**
 * The agent's own CPU cost per probe, without the network: the real agent (`startAgent`: sync, scheduler, outbox
 * with its disk spool, gzip, HTTP delivery) in this process with a fake prober that answers every probe at once,
 * against a minimal control plane in a child process (bench/agent/sink.ts). CPU comes from `process.cpuUsage()`
 * over a fixed count of probes, so the figure (ms per 1,000 probes) depends on the code, not on how busy the
 * machine is; lateness, which does depend on the machine, is reported with the load average.
 *
 *   node --import tsx bench/agent/cpu.ts [--destinations 10000] [--interval-ms 1000] [--window-ms 15000]
 *     [--writes-ms 400]   a second window with a config change every 400 ms (the sync + apply cost)
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/agent/cpu.ts …   for the hot spots
 *   node --expose-gc … adds the heap retained after a full GC (retainedHeapMB)
 * RSS without the tsx loader (as the esbuild-bundled agent artifact runs):
 *   npx esbuild bench/agent/cpu.ts --bundle --platform=node --format=esm --packages=external \
 *     --outfile=dist/bench/cpu.mjs && node dist/bench/cpu.mjs --sink bench/agent/sink.ts
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { startAgent } from '../../agent/main.js';
import type { SendProbe } from '../../agent/schedule/scheduler.js';
import { bucketsOf, quantileBetween } from './histogram.js';

const { values: args } = parseArgs({
  options: {
    destinations: { type: 'string', default: '10000' },
    'interval-ms': { type: 'string', default: '1000' },
    'window-ms': { type: 'string', default: '15000' },
    'warmup-ms': { type: 'string', default: '5000' },
    'writes-ms': { type: 'string' },
    /** The sink script, for a bundled copy of this file run outside the repository (see BENCHMARKS.md). */
    sink: { type: 'string' },
  },
});
const N = Number(args.destinations);
const INTERVAL = Number(args['interval-ms']);
const WINDOW = Number(args['window-ms']);
const log = (msg: string) => process.stderr.write(`[bench:agent:cpu] ${msg}\n`);
const silent = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Answers at once (before returning) with a reply shaped like the engine's (a fresh object per probe, as the engine
 * makes): the cheapest prober there can be, so the figure is the agent's own cost.
 */
const fakeSender =
  (sourceid: number): SendProbe =>
  ({ destination: d }, seq, done) =>
    done({
      destination: d.id,
      rtime: `${BigInt(Date.now()) * 1_000_000n}`,
      target: d.address,
      protocol: d.protocol,
      address: d.address,
      rtt: 0.042,
      rtype: 0,
      rcode: 0,
      rid: sourceid,
      rseq: seq,
      datamatch: null,
      status: 'reply',
      ttl: 64,
    });

const sink = spawn(
  process.execPath,
  ['--import', 'tsx', args.sink ?? join(import.meta.dirname, 'sink.ts'), String(N), String(INTERVAL)],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const dir = mkdtempSync(join(tmpdir(), 'pinger-bench-cpu-'));
try {
  const { url } = JSON.parse(
    await new Promise<string>((resolve, reject) => {
      createInterface({ input: sink.stdout! }).once('line', resolve);
      sink.once('exit', (code) => reject(new Error(`sink exited (${code})`)));
    }),
  ) as { url: string };
  const agent = await startAgent({
    url,
    token: 'bench-agent-token',
    spoolDir: join(dir, 'spool'),
    logger: silent,
    sender: fakeSender,
  });
  const { metrics } = agent;
  const sent = async () => (await metrics.probesSent.get()).values.reduce((n, v) => n + v.value, 0);
  const lateness = () => bucketsOf(metrics.lateness);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const deadline = performance.now() + 30_000;
  while ((await metrics.destinations.get()).values[0]?.value !== N) {
    if (performance.now() > deadline)
      throw new Error('[bench:agent:cpu] the agent never scheduled every destination');
    await sleep(100);
  }
  await sleep(Number(args['warmup-ms']));

  const window = async (label: string, during?: () => Promise<void>) => {
    const [s0, l0, c0, t0] = [await sent(), await lateness(), process.cpuUsage(), performance.now()];
    let rss = 0;
    let heap = 0;
    let external = 0;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      rss = Math.max(rss, m.rss);
      heap = Math.max(heap, m.heapUsed);
      external = Math.max(external, m.external + m.arrayBuffers);
    }, 250);
    await (during ? Promise.all([sleep(WINDOW), during()]) : sleep(WINDOW));
    clearInterval(sampler);
    const [s1, l1, c1, t1] = [await sent(), await lateness(), process.cpuUsage(c0), performance.now()];
    // With --expose-gc: what the heap retains once the young generation's garbage is gone.
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const retained = gc ? process.memoryUsage().heapUsed : Number.NaN;
    const probes = s1 - s0;
    const per1k = (us: number) => (us / 1000 / probes) * 1000;
    const mb = (b: number) => (b / 1048576).toFixed(0);
    const row = {
      window: label,
      probes,
      probesPerS: Math.round(probes / ((t1 - t0) / 1000)),
      userMsPer1k: Number(per1k(c1.user).toFixed(1)),
      systemMsPer1k: Number(per1k(c1.system).toFixed(1)),
      cpuPctOfCore: Number((((c1.user + c1.system) / 1000 / (t1 - t0)) * 100).toFixed(1)),
      rssMB: mb(rss),
      heapMB: mb(heap),
      externalMB: mb(external),
      retainedHeapMB: mb(retained),
      latenessP50ms: Number((quantileBetween(l0, l1, 0.5) * 1000).toFixed(2)),
      latenessP99ms: Number((quantileBetween(l0, l1, 0.99) * 1000).toFixed(2)),
      loadavg1: loadavg()[0]!.toFixed(1),
    };
    process.stdout.write(`${JSON.stringify(row)}\n`);
  };

  await window('steady');
  if (args['writes-ms'] !== undefined) {
    const every = Number(args['writes-ms']);
    await window(`config change every ${every} ms`, async () => {
      const end = performance.now() + WINDOW - every;
      for (let i = 0; performance.now() < end; i++) {
        await fetch(`${url}/bench/touch?i=${i * 7919}`, { method: 'POST' });
        await sleep(every);
      }
    });
  }
  await agent.stop();
  const stats = (await (await fetch(`${url}/bench/stats`)).json()) as { results: number; batches: number };
  log(`control plane received ${stats.results} results in ${stats.batches} batches; sent ${await sent()}`);
} finally {
  sink.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
