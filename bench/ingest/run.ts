/**
 * Ingest benchmark: a real `pinger serve` process on a temp SQLite file, fed batches of 1,000 results over
 * HTTP by a few concurrent undici clients, and the long-poll wake-up latency (write sent → waiting agent
 * answered) over many samples. Several runs; the medians are reported.
 *
 *   node --import tsx bench/ingest/run.ts [--batches 200] [--concurrency 4] [--runs 5] [--samples 200] [--write]
 *
 * `--write` puts the figures into BENCHMARKS.md under "## Ingest (issue 2)". Traffic goes to 127.0.0.1 only;
 * every loop is bounded in count and time.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { Pool, request } from 'undici';
import { type ServerProcess, startServer } from '../../test/e2e/control-plane/server-process.js';
import { median, quantile } from './stats.js';

const { values: args } = parseArgs({
  options: {
    batches: { type: 'string', default: '200' },
    concurrency: { type: 'string', default: '4' },
    runs: { type: 'string', default: '5' },
    samples: { type: 'string', default: '200' },
    write: { type: 'boolean', default: false },
  },
});
const BATCHES = Number(args.batches);
const CONCURRENCY = Number(args.concurrency);
const RUNS = Number(args.runs);
const SAMPLES = Number(args.samples);
const BATCH_SIZE = 1000;
const DESTINATIONS = 20;
/** No single phase may run longer than this: the benchmark stops itself. */
const PHASE_DEADLINE_MS = 120_000;
const ADMIN = `bench-admin-${crypto.randomUUID()}`;
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** CPU time a process has used so far (user + system), ms, from /proc. */
function cpuMs(pid: number): number {
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the whole line.
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

interface RunFigures {
  /** 1-minute load average at the end of the run (other work on the machine competes for its 2 cores). */
  load: number;
  plainPerSecond: number;
  /** Server process CPU time (user + system) per 1,000 results of the JSON phase, ms. */
  cpuMsPerThousand: number;
  gzipPerSecond: number;
  wakeP50: number;
  wakeP99: number;
}

async function json(url: string, method: 'GET' | 'POST' | 'PATCH', token: string, body?: unknown) {
  const res = await request(url, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** Bodies of `count` distinct batches (distinct rtimes, so every result is stored, none a duplicate). */
function makeBatches(destinations: string[], count: number, offset: number): string[] {
  const base = 1_763_780_000_000_000_000n + BigInt(offset) * 1_000_000_000_000n;
  return Array.from({ length: count }, (_, b) =>
    JSON.stringify({
      results: Array.from({ length: BATCH_SIZE }, (_, i) => {
        const n = b * BATCH_SIZE + i;
        const timeout = n % 50 === 0;
        return {
          destination: destinations[n % destinations.length],
          rtime: `${base + BigInt(n) * 1_000_000n}`,
          target: '198.18.0.1',
          protocol: 'icmp',
          address: timeout ? null : '198.18.0.1',
          rtt: timeout ? null : 250 + (n % 1000) / 7,
          rtype: timeout ? null : 0,
          rcode: timeout ? null : 0,
          rid: 4242,
          rseq: n % 65_536,
          datamatch: timeout ? null : true,
          status: timeout ? 'timeout' : 'reply',
          ttl: timeout ? null : 63,
        };
      }),
    }),
  );
}

/** Posts every body with `CONCURRENCY` requests in flight; returns results per second. */
async function ingest(
  pool: Pool,
  token: string,
  bodies: (string | Buffer)[],
  gzip: boolean,
): Promise<number> {
  let next = 0;
  let stored = 0;
  const deadline = Date.now() + PHASE_DEADLINE_MS;
  const started = performance.now();
  const worker = async () => {
    while (next < bodies.length && Date.now() < deadline) {
      const body = bodies[next++]!;
      const res = await pool.request({
        path: '/v1/agent/results',
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          ...(gzip ? { 'content-encoding': 'gzip' } : {}),
        },
        body,
      });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`ingest: ${res.statusCode} ${text}`);
      stored += (JSON.parse(text) as { stored: number }).stored;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  if (stored !== bodies.length * BATCH_SIZE)
    throw new Error(`ingest: stored ${stored} of ${bodies.length * BATCH_SIZE}`);
  return stored / seconds;
}

/**
 * Wake-up latency: the agent parks a long-poll; once it is parked, an admin write that concerns the agent is
 * sent; the sample is the time from sending the write to the agent's answer (an upper bound: it includes the
 * write's own request).
 */
async function wakeLatencies(
  server: ServerProcess,
  agentToken: string,
  destination: string,
): Promise<number[]> {
  const url = server.url;
  const samples: number[] = [];
  let etag = (await request(`${url}/v1/agent/config`, { headers: { authorization: `Bearer ${agentToken}` } }))
    .headers.etag as string;
  const deadline = Date.now() + PHASE_DEADLINE_MS;
  for (let i = 0; i < SAMPLES && Date.now() < deadline; i++) {
    const logged = server.stderr.length;
    const poll = request(`${url}/v1/agent/config?wait=10`, {
      headers: { authorization: `Bearer ${agentToken}`, 'if-none-match': etag },
    });
    // The server logs (debug) when a poll starts waiting: write only once it is parked.
    await server.waitForLog('long-poll waiting', { after: logged });
    const sent = performance.now();
    const write = json(`${url}/v1/destinations/${destination}`, 'PATCH', ADMIN, {
      interval: 1000 + (i % 2) + 1,
    });
    const res = await poll;
    const answered = performance.now();
    await res.body.text();
    await write;
    if (res.statusCode !== 200) throw new Error(`long-poll answered ${res.statusCode}, expected 200`);
    etag = res.headers.etag as string;
    samples.push(answered - sent);
  }
  return samples;
}

async function oneRun(run: number): Promise<RunFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'pinger-bench-'));
  // Debug logs for the "long-poll waiting" line; one line per request costs little beside a 1,000-result batch.
  const server = await startServer({ dbPath: join(dir, 'pinger.db'), adminToken: ADMIN, logLevel: 'debug' });
  const pool = new Pool(server.url, { connections: CONCURRENCY, pipelining: 1 });
  try {
    const source = await json(`${server.url}/v1/sources`, 'POST', ADMIN, { name: `bench-${run}` });
    const destinations: string[] = [];
    for (let i = 0; i < DESTINATIONS; i++) {
      const d = await json(`${server.url}/v1/destinations`, 'POST', ADMIN, { address: `198.18.0.${i + 1}` });
      destinations.push(d.id as string);
    }
    const token = source.token as string;
    // Warm up (JIT, SQLite page cache) with a few batches that are not counted.
    await ingest(pool, token, makeBatches(destinations, 10, 0), false);
    const plainBodies = makeBatches(destinations, BATCHES, 1);
    const cpuBefore = cpuMs(server.child.pid!);
    const plainPerSecond = await ingest(pool, token, plainBodies, false);
    const cpuMsPerThousand = (cpuMs(server.child.pid!) - cpuBefore) / BATCHES;
    const gzipPerSecond = await ingest(
      pool,
      token,
      makeBatches(destinations, BATCHES, 2).map((b) => gzipSync(b)),
      true,
    );
    const wake = await wakeLatencies(server, token, destinations[0]!);
    const figures = {
      load: loadAverage(),
      plainPerSecond,
      cpuMsPerThousand,
      gzipPerSecond,
      wakeP50: quantile(wake, 0.5),
      wakeP99: quantile(wake, 0.99),
    };
    console.error(
      `run ${run + 1}/${RUNS}: ${Math.round(plainPerSecond)} results/s plain ` +
        `(server CPU ${cpuMsPerThousand.toFixed(1)} ms per 1,000), ${Math.round(gzipPerSecond)} gzip; ` +
        `wake p50 ${figures.wakeP50.toFixed(1)} ms p99 ${figures.wakeP99.toFixed(1)} ms (${wake.length} samples); ` +
        `load average ${figures.load}`,
    );
    return figures;
  } finally {
    await pool.close();
    await server.stop('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The 1-minute load average: how busy the shared machine was while a run measured. */
function loadAverage(): number {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

function machine(): string {
  const model = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model;
  const nproc = execFileSync('nproc').toString().trim();
  return `${nproc} CPUs (nproc), ${model}, Node ${process.version}, SQLite file on ${tmpdir()}`;
}

const runs: RunFigures[] = [];
for (let run = 0; run < RUNS; run++) runs.push(await oneRun(run));
const m = (pick: (r: RunFigures) => number) => median(runs.map(pick));
const section = `## Ingest (issue 2)

\`node --import tsx bench/ingest/run.ts --batches ${BATCHES} --concurrency ${CONCURRENCY} --runs ${RUNS} --samples ${SAMPLES} --write\`

Machine: ${machine()}.

A real \`pinger serve\` process (SQLite, WAL, synchronous=FULL) on a fresh temp file per run; one source,
${DESTINATIONS} destinations; ${BATCHES} batches of ${BATCH_SIZE} results posted over HTTP/1.1 on loopback by
${CONCURRENCY} concurrent undici connections, after 10 warm-up batches. Every result is new (no duplicates), so each
is validated and inserted. Server CPU is the server process's user + system time (from /proc) over the JSON phase:
the cost of ingest independent of what else the machine runs. Wake-up latency: an agent long-poll
(\`If-None-Match\`, \`?wait=10\`) is parked (the server's debug log says so), an admin PATCH of a destination it
probes is sent, and the sample is the time from sending that PATCH to the agent's answer (so it includes the
PATCH itself); ${SAMPLES} samples per run. Figures are the medians of ${RUNS} runs.

| figure | median of runs | runs | goal |
| --- | --- | --- | --- |
| results/s, JSON body | ${Math.round(m((r) => r.plainPerSecond))} | ${runs.map((r) => Math.round(r.plainPerSecond)).join(', ')} | ≥ 50,000 |
| server CPU per 1,000 results, JSON (ms) | ${m((r) => r.cpuMsPerThousand).toFixed(1)} | ${runs.map((r) => r.cpuMsPerThousand.toFixed(1)).join(', ')} | |
| results/s one whole core would take (10^6 / CPU ms per 1,000) | ${Math.round(1e6 / m((r) => r.cpuMsPerThousand))} | ${runs.map((r) => Math.round(1e6 / r.cpuMsPerThousand)).join(', ')} | ≥ 50,000 |
| results/s, gzip body | ${Math.round(m((r) => r.gzipPerSecond))} | ${runs.map((r) => Math.round(r.gzipPerSecond)).join(', ')} | |
| long-poll wake-up p50 (ms) | ${m((r) => r.wakeP50).toFixed(1)} | ${runs.map((r) => r.wakeP50.toFixed(1)).join(', ')} | |
| long-poll wake-up p99 (ms) | ${m((r) => r.wakeP99).toFixed(1)} | ${runs.map((r) => r.wakeP99.toFixed(1)).join(', ')} | ≤ 50 |
| machine load average (1 min) at the end of each run | ${m((r) => r.load).toFixed(1)} | ${runs.map((r) => r.load.toFixed(1)).join(', ')} | |

The server runs its event loop and SQLite on the main thread and parses and validates batches on a worker thread
(\`control-plane/batch-worker-pool.ts\`); the CPU row sums both. The "one whole core" row is what a single core's
worth of that CPU carries: the rate with a single core to itself, a floor (with the worker on a second core it
goes faster, as the JSON row shows when the machine is quiet). The wall-clock rows
also depend on how much CPU the server got: client and server share the machine's ${cpus().length} cores with
whatever else runs there (the load row; above ${cpus().length} means processes waited for a core). When the
wall-clock row misses the goal while the CPU row meets it, the server was waiting for a core, not working.

There is no real peer to compare with: no other open prober's control plane ingests this result shape over
HTTP, so the figures stand against the issue's goals only.
`;
console.log(section);
if (args.write) {
  const path = new URL('../../BENCHMARKS.md', import.meta.url);
  const current = readFileSync(path, 'utf8');
  const pattern = /## Ingest \(issue 2\)\n[\s\S]*?(?=\n## |$)/;
  const next = pattern.test(current)
    ? current.replace(pattern, `${section.trimEnd()}\n`)
    : `${current.trimEnd()}\n\n${section}`;
  writeFileSync(path, next.endsWith('\n') ? next : `${next}\n`);
  console.error('BENCHMARKS.md updated');
}
