/**
 * One census pass end to end, for bench/census/run.ts (started in the lab's agent namespace): a real `pinger serve`
 * (SQLite) and `pinger agent` there, a census of the prefix added through the API, and the time from the pass's
 * first probe (its record's `start`) until the control plane has it recorded complete with every answer stored as
 * a result — the measure, which the pass-code row of run.ts does not include (upload and storage). Prints
 * one JSON line: those times, the agent process's CPU over the same span (from /proc, 10 ms ticks), and the hosts
 * the control plane lists up.
 *
 *   ip netns exec NS node --import tsx bench/census/recorded.ts '{"prefix":…,"rate":…,"timeout":…,"pps":…}'
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient } from '../../cli/client.js';
import type { CensusPassRecord } from '../../contract/index.js';
import { spawnPinger } from '../../test/helpers/pinger-process.js';

const job = JSON.parse(process.argv[2] ?? '{}') as {
  prefix: string;
  rate: number;
  timeout: number;
  pps: number;
};
const ADMIN = 'bench-census-admin-token-0123456789abcdef';
/** How often the control plane is asked (ms): the resolution of the recorded time. */
const POLL_MS = 20;
const DEADLINE_MS = 90_000;

const TICK_MS = 1000 / 100; // USER_HZ
/** The process's user + system CPU so far, ms (fields 14 and 15 of /proc/PID/stat, threads included). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

const wallNs = () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));
const tick = () => new Promise((resolve) => setTimeout(resolve, POLL_MS));

const dir = await mkdtemp(join(tmpdir(), 'pinger-bench-census-'));
const serve = spawnPinger(['serve', '--host', '127.0.0.1', '--port', '0', '--db', join(dir, 'pinger.db')], {
  env: { PINGER_ADMIN_TOKEN: ADMIN },
});
let agent: ReturnType<typeof spawnPinger> | undefined;
try {
  const url = (await serve.waitForLine('stdout', /listening on (\S+)/, { timeoutMs: 30_000 }))[1]!;
  const api = new ApiClient({ url, token: ADMIN });
  const source = await api.createSource({ name: 'bench' });
  // One pass: the next slot is ten minutes away.
  const census = await api.createDestination({
    address: job.prefix,
    interval: 600_000,
    timeout: job.timeout,
    census: { rate: job.rate, retries: 0 },
  });
  agent = spawnPinger(['agent', '--url', url, '--spool', join(dir, 'spool'), '--pps', String(job.pps)], {
    env: { PINGER_TOKEN: source.token },
  });
  const pid = agent.child.pid!;
  // CPU sampled at every poll: the sample just before the pass's start is its baseline.
  const samples: { at: bigint; cpu: number }[] = [];
  const began = Date.now();
  let pass: CensusPassRecord | undefined;
  while (pass === undefined) {
    if (Date.now() - began > DEADLINE_MS) throw new Error('[bench] no pass recorded in time');
    samples.push({ at: wallNs(), cpu: cpuMs(pid) });
    [pass] = await api.censusPasses(census.id, 1);
    if (pass === undefined) await tick();
  }
  const recordedAt = wallNs();
  let stored = 0;
  for (;;) {
    stored = 0;
    for await (const page of api.results({ destination: census.id }, 70_000, 5000)) stored += page.length;
    if (stored >= pass.answered || Date.now() - began > DEADLINE_MS) break;
    await tick();
  }
  const completeAt = wallNs();
  const cpuEnd = cpuMs(pid);
  const start = BigInt(pass.start);
  const baseline = samples.filter((s) => s.at <= start).at(-1) ?? samples[0]!;
  const hosts = (await api.censusHosts(census.id, 'up')).map((h) => h.address);
  process.stdout.write(
    `${JSON.stringify({
      passMs: Number(BigInt(pass.end) - start) / 1e6,
      recordedMs: Number(recordedAt - start) / 1e6,
      completeMs: Number(completeAt - start) / 1e6,
      answered: pass.answered,
      stored,
      cpuMs: cpuEnd - baseline.cpu,
      hosts,
    })}\n`,
  );
} finally {
  agent?.kill('SIGTERM');
  serve.kill('SIGTERM');
  await Promise.all([agent?.exited, serve.exited]);
  await rm(dir, { recursive: true, force: true });
}
