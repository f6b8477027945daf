/**
 * The outbox's own CPU per result, without the scheduler and the prober: the real Outbox (LineBuffer, disk spool
 * with its fsyncs, gzip, undici delivery) fed engine-shaped results at a steady rate, delivering to the minimal
 * control plane of bench/agent/sink.ts in a child process (its CPU is not counted). CPU comes from
 * `process.cpuUsage()` (every thread of this process: gzip runs in the libuv pool) over a fixed window, and is
 * reported per 1,000 results; the control plane's count proves every result got there.
 *
 *   node --import tsx bench/agent/outbox.ts [--rate 10000] [--window-ms 10000] [--warmup-ms 3000]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { Agent as UndiciAgent } from 'undici';
import { Outbox } from '../../agent/delivery/outbox.js';
import { resultsClient } from '../../agent/delivery/results-client.js';
import type { ResultInput } from '../../contract/index.js';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '10000' },
    'window-ms': { type: 'string', default: '10000' },
    'warmup-ms': { type: 'string', default: '3000' },
  },
});
const RATE = Number(args.rate);
const WINDOW = Number(args['window-ms']);
const WARMUP = Number(args['warmup-ms']);
const TICK_MS = 10;

/** As agent/probes/in-flight.ts builds an outcome and agent/schedule/send-probe.ts stamps it: a fresh object per probe. */
function engineResult(n: number): ResultInput {
  const i = n % 10_000;
  const address = `198.18.${64 + (i >> 8)}.${i & 255}`;
  const outcome = {
    rtime: (BigInt(Date.now()) * 1_000_000n + BigInt(n % 1_000_000)).toString(),
    target: address,
    protocol: 'icmp' as const,
    rid: 4242,
    rseq: (n / 10_000) & 0xffff,
    address: address as string | null,
    // As micros() makes it: whole nanoseconds / 1000.
    rtt: (180_000 + ((n * 7919) % 900_000)) / 1000,
    rtype: 0 as number | null,
    rcode: 0 as number | null,
    datamatch: true as boolean | null,
    status: 'reply' as const,
    ttl: 63 as number | null,
  };
  return Object.assign(outcome, { destination: `dst_${i.toString(36).padStart(6, '0')}` });
}

const sink = spawn(
  process.execPath,
  ['--import', 'tsx', join(import.meta.dirname, 'sink.ts'), '10000', '1000'],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const dir = mkdtempSync(join(tmpdir(), 'pinger-bench-outbox-'));
try {
  const { url } = JSON.parse(
    await new Promise<string>((resolve, reject) => {
      createInterface({ input: sink.stdout! }).once('line', resolve);
      sink.once('exit', (code) => reject(new Error(`[bench:agent:outbox] sink exited (${code})`)));
    }),
  ) as { url: string };
  // As agent/main.ts sets it up.
  const dispatcher = new UndiciAgent({ keepAliveTimeout: 30_000, connections: 4 });
  const outbox = await Outbox.open({
    spoolDir: join(dir, 'spool'),
    deliver: resultsClient({ url, token: 'bench-agent-token', dispatcher }),
  });

  // Paced by the elapsed time, not by the timer's count: the rate holds even when ticks come late.
  let pushed = 0;
  const t0 = performance.now();
  const ticker = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) / 1000) * RATE);
    while (pushed < due) outbox.push(engineResult(pushed++));
  }, TICK_MS);
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await sleep(WARMUP);
  const [n0, c0, w0] = [pushed, process.cpuUsage(), performance.now()];
  await sleep(WINDOW);
  const [n1, c1, w1] = [pushed, process.cpuUsage(c0), performance.now()];
  clearInterval(ticker);
  const stats = await outbox.close(10_000);
  await dispatcher.close();
  const received = (await (await fetch(`${url}/bench/stats`)).json()) as { results: number; batches: number };
  const results = n1 - n0;
  const per1k = (us: number) => Number(((us / 1000 / results) * 1000).toFixed(2));
  process.stdout.write(
    `${JSON.stringify({
      results,
      resultsPerS: Math.round(results / ((w1 - w0) / 1000)),
      userMsPer1k: per1k(c1.user),
      systemMsPer1k: per1k(c1.system),
      totalMsPer1k: per1k(c1.user + c1.system),
      pushed,
      delivered: stats.delivered,
      received: received.results,
      pending: stats.pending,
      loadavg1: loadavg()[0]!.toFixed(1),
    })}\n`,
  );
  if (received.results !== pushed || stats.pending !== 0)
    throw new Error(
      `[bench:agent:outbox] ${pushed} pushed, ${received.results} received, ${stats.pending} pending`,
    );
} finally {
  sink.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
