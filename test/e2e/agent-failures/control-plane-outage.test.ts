/**
 * The control plane is SIGKILLed for 60 s while the agent probes 100 destinations every 100 ms (1,000 probes a
 * second of real ICMP across the lab's router), then restarted on the same database: every probe sent is stored
 * exactly once.
 *
 * How we know what was sent: the agent's own count. On SIGTERM it finishes the probes in flight, writes and sends
 * everything, and logs `sent` (probes handed to the prober; each yields exactly one result, answered or not).
 * Stored must then equal sent, and per destination the seqs must run 0…n-1 without a gap or a repeat; the count
 * per destination must match its active time divided by the interval (ticks skipped for lateness counted).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../cli/client.js';
import { createFailureLab, type FailureLab } from './failure-lab.js';
import { repeatedIdentities, seqRuns, storedResults } from './ledger.js';
import {
  ADMIN_TOKEN,
  caughtUp,
  metricsPortOf,
  type Proc,
  scrape,
  startRunnerIn,
  startServe,
  total,
  until,
} from './processes.js';

const isRoot = process.getuid?.() === 0;
const DESTINATIONS = 100;
const INTERVAL = 100;
const OUTAGE_MS = 60_000;

describe.skipIf(!isRoot)('control plane outage (real processes in the lab)', () => {
  let world: FailureLab;
  let dir: string;
  const procs: Proc[] = [];

  beforeAll(async () => {
    world = await createFailureLab(DESTINATIONS);
    dir = await mkdtemp(join(tmpdir(), 'pinger-e2e-outage-'));
  }, 60_000);

  afterAll(async () => {
    for (const p of procs) {
      p.kill('SIGKILL');
      await p.exited;
    }
    await world?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('SIGKILL of the control plane for 60 s: every probe sent is stored exactly once', async () => {
    const db = join(dir, 'pinger.db');
    const first = await startServe(world.controlHost, 0, db);
    procs.push(first.proc);
    const api = new ApiClient({ url: first.url, token: ADMIN_TOKEN });
    const source = await api.createSource({ name: 'outage' });
    for (const address of world.targets) {
      await api.createDestination({ address, protocol: 'icmp', interval: INTERVAL, timeout: 500 });
    }
    const ns = world.lab.agent;
    // The daemon as `pinger agent` runs it, with the retry backoff capped at 2 s instead of 30 s (see
    // agent-runner.ts): after 60 s down the production cap puts the next retry anywhere up to 30 s after the
    // restart, time this test would spend waiting and nothing else. It still retries, and fails, all through the
    // outage.
    const agent = startRunnerIn(ns, {
      url: first.url,
      token: source.token,
      spoolDir: join(dir, 'spool'),
      metricsPort: 0,
      outbox: { backoff: { baseMs: 250, capMs: 2000 } },
    });
    procs.push(agent);
    const port = await metricsPortOf(agent);
    await until(
      'results stored for every destination',
      async () =>
        new Set((await api.resultPage({ source: source.id }, 10_000)).results.map((r) => r.destination))
          .size === DESTINATIONS,
      // A startup wait, not a measurement: the agent starts through tsx, and on a loaded 2-core machine that
      // alone has taken over 20 s.
      45_000,
      250,
    );

    first.proc.kill('SIGKILL');
    expect((await first.proc.exited).signal).toBe('SIGKILL');
    const downAt = performance.now();
    const downWall = BigInt(Date.now()) * 1_000_000n;
    const atKill = await scrape(ns, port);
    await until('the outage', () => performance.now() - downAt >= OUTAGE_MS, OUTAGE_MS + 5000, 1000);
    const atRestart = await scrape(ns, port);
    const upWall = BigInt(Date.now()) * 1_000_000n;
    // Probing went on while nothing could be delivered, and the results waited in the spool.
    const sentDuring =
      total(atRestart, 'pinger_agent_probes_sent_total') - total(atKill, 'pinger_agent_probes_sent_total');
    expect(sentDuring).toBeGreaterThan(0.8 * DESTINATIONS * (OUTAGE_MS / INTERVAL));
    expect(total(atRestart, 'pinger_agent_spool_bytes')).toBeGreaterThan(1_000_000);
    expect(total(atRestart, 'pinger_agent_delivery_failures_total')).toBeGreaterThan(
      total(atKill, 'pinger_agent_delivery_failures_total'),
    );

    const second = await startServe(world.controlHost, first.port, db);
    procs.push(second.proc);
    // The backlog goes out after the outbox's next retry (full-jitter backoff, capped at 2 s here).
    await caughtUp(ns, port, 1500, 60_000);
    const beforeStop = await scrape(ns, port);
    agent.kill('SIGTERM');
    expect(await agent.exited).toEqual({ code: 0, signal: null });
    const stopped = agent.logs.find((l) => l.msg === '[agent] stopped') as
      | { sent: number; unsent: number; dropped: number; abandoned: number }
      | undefined;
    expect(stopped).toMatchObject({ unsent: 0, dropped: 0, abandoned: 0 });

    const stored = await storedResults(new ApiClient({ url: second.url, token: ADMIN_TOKEN }), source.id);
    expect(repeatedIdentities(stored)).toEqual([]);
    expect(stored.length).toBe(stopped!.sent);
    const runs = seqRuns(stored);
    expect(runs.size).toBe(DESTINATIONS);
    for (const r of runs.values()) expect(r).toMatchObject({ first: 0, gaps: [], repeats: [] });

    // Count per destination against time: (last − first rtime) / interval + 1, less the ticks skipped for being
    // late (at most a handful; counted by the agent).
    const skipped = total(beforeStop, 'pinger_agent_late_ticks_skipped_total');
    const span = new Map<string, { lo: bigint; hi: bigint }>();
    for (const r of stored) {
      const t = BigInt(r.rtime);
      const s = span.get(r.destination);
      if (!s) span.set(r.destination, { lo: t, hi: t });
      else if (t < s.lo) s.lo = t;
      else if (t > s.hi) s.hi = t;
    }
    let expected = 0;
    for (const [destination, { lo, hi }] of span) {
      const want = Math.round(Number(hi - lo) / 1e6 / INTERVAL) + 1;
      expected += want;
      expect(Math.abs(runs.get(destination)!.count - want)).toBeLessThanOrEqual(Math.max(3, skipped));
    }
    expect(Math.abs(stored.length + skipped - expected)).toBeLessThanOrEqual(DESTINATIONS);
    // And the outage itself is in the data, for every destination: ~600 probes each while the control plane was
    // dead.
    const inOutage = seqRuns(stored.filter((r) => BigInt(r.rtime) > downWall && BigInt(r.rtime) < upWall));
    expect(inOutage.size).toBe(DESTINATIONS);
    for (const r of inOutage.values()) expect(r.count).toBeGreaterThan(0.8 * (OUTAGE_MS / INTERVAL));
  }, 180_000);
});
