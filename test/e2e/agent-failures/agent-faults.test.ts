/**
 * The agent under faults, end to end with real processes: `pinger serve` in the root namespace, the agent in the
 * lab's agent namespace probing 50 addresses of the lab's target across the router (real ICMP on veth wires), a
 * fault proxy (test/helpers/fault-proxy.ts) between agent and control plane.
 *
 * 1. The agent is SIGKILLed and restarted on the same spool: what reached the spool is delivered, nothing is
 *    stored twice. "Reached the spool" = the whole result lines in the spool's segment files at the moment of
 *    the kill (read by this test right after it). A SIGKILL loses only what the agent had not written yet: the
 *    results in memory (at most one flush period, 200 ms) and the probes in flight; so per destination the
 *    stored seqs of the killed run are 0…k without a gap, and the lost tail is under a second.
 * 2. The control plane answers 500s (before and after doing the work) and stalls at random, and one answer never
 *    comes (the agent's request deadline ends it, lowered to 5 s here): no loss, no duplicates.
 * 3. The spool is a 128 KiB tmpfs that fills while the control plane is away: a clear log line, dropped results
 *    counted, probing goes on, and results arrive again once the control plane is back. 128 KiB is less than one
 *    batch of results (1,000 × ~230 bytes), the case that once kept the spool from ever taking another write;
 *    a 256 KiB one happens to fit a batch and passed even then.
 *
 * Each case gets a fresh control plane and database; they run one after another (they share the lab).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../cli/client.js';
import type { Destination, SourceWithToken } from '../../../contract/index.js';
import { FaultProxy, isResultsPost } from '../../helpers/fault-proxy.js';
import { createFailureLab, type FailureLab } from './failure-lab.js';
import { identity, repeatedIdentities, seqRuns, spooledResults, storedResults } from './ledger.js';
import {
  ADMIN_TOKEN,
  caughtUp,
  metricsPortOf,
  type Proc,
  scrape,
  startAgentIn,
  startRunnerIn,
  startServe,
  total,
  until,
} from './processes.js';

const execFileAsync = promisify(execFile);
const isRoot = process.getuid?.() === 0;
const DESTINATIONS = 50;
const INTERVAL = 100;

describe.skipIf(!isRoot)('agent failures (real processes in the lab)', () => {
  let world: FailureLab;
  let dir: string;
  const procs: Proc[] = [];
  const proxies: FaultProxy[] = [];
  const mounts: string[] = [];

  beforeAll(async () => {
    world = await createFailureLab(DESTINATIONS);
    dir = await mkdtemp(join(tmpdir(), 'pinger-e2e-failures-'));
  }, 60_000);

  afterEach(async () => {
    for (const p of procs.splice(0)) p.kill('SIGKILL');
    for (const x of proxies.splice(0)) await x.close();
  });

  afterAll(async () => {
    for (const p of procs.splice(0)) {
      p.kill('SIGKILL');
      await p.exited;
    }
    for (const m of mounts) await execFileAsync('umount', ['-l', m]).catch(() => undefined);
    await world?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A fresh control plane with one source and one ICMP destination per target address. */
  async function controlPlane(name: string) {
    const serve = await startServe(world.controlHost, 0, join(dir, `${name}.db`));
    procs.push(serve.proc);
    const api = new ApiClient({ url: serve.url, token: ADMIN_TOKEN });
    const source: SourceWithToken = await api.createSource({ name });
    const destinations: Destination[] = [];
    for (const address of world.targets) {
      destinations.push(
        await api.createDestination({ address, protocol: 'icmp', interval: INTERVAL, timeout: 500 }),
      );
    }
    return { serve, api, source, destinations };
  }

  const agentIn = (url: string, token: string, spool: string) => {
    const agent = startAgentIn(world.lab.agent, url, token, spool);
    procs.push(agent);
    return agent;
  };

  /** Waits until every destination has a stored result (the agent is probing and delivering). */
  const flowing = (api: ApiClient, source: string, ms = 20_000) =>
    until(
      'results stored for every destination',
      async () => {
        const page = await api.resultPage({ source }, 10_000);
        return new Set(page.results.map((r) => r.destination)).size === DESTINATIONS;
      },
      ms,
      250,
    );

  /** Waits until the agent has delivered all but about a batch of what it produced. */
  const drained = (ns: string, port: number, ms: number) => caughtUp(ns, port, 750, ms);

  const stopGracefully = async (agent: Proc) => {
    agent.kill('SIGTERM');
    expect(await agent.exited).toEqual({ code: 0, signal: null });
    const stopped = agent.logs.find((l) => l.msg === '[agent] stopped');
    expect(stopped).toBeDefined();
    return stopped as { sent: number; unsent: number; dropped: number; abandoned: number };
  };

  it('SIGKILL of the agent: what reached the spool is delivered after restart, nothing is stored twice', async () => {
    const { serve, api, source } = await controlPlane('agent-kill');
    const proxy = await FaultProxy.start({ target: serve.url, host: world.controlHost, seed: 7 });
    proxies.push(proxy);
    const spool = join(dir, 'spool-kill');
    const first = agentIn(proxy.url, source.token, spool);
    await flowing(api, source.id);

    // The next batch reaches the control plane and is stored, but its answer is held: the agent cannot know.
    // Batches behind it pile up in the spool.
    proxy.set({ kind: 'hold', applies: isResultsPost });
    await until('a stored batch whose answer is held', () => proxy.holding === 1, 10_000);
    await until(
      'three segments in the spool',
      async () => (await spooledResults(spool)).files >= 3,
      10_000,
      100,
    );
    first.kill('SIGKILL');
    expect((await first.exited).signal).toBe('SIGKILL');
    const killedAt = BigInt(Date.now()) * 1_000_000n;
    const spooled = (await spooledResults(spool)).results;
    expect(spooled.length).toBeGreaterThan(DESTINATIONS);
    proxy.set({ kind: 'pass' });
    // Until now every answer reached the agent; the held one is the batch stored without its knowing.
    await until(
      'the held answer found its client gone',
      () => proxy.receipts.some((r) => !r.delivered),
      10_000,
    );
    const heldBatch = proxy.receipts.find((r) => !r.delivered)!;
    expect(proxy.receipts.filter((r) => !r.delivered)).toHaveLength(1);
    expect(heldBatch.stored).toBeGreaterThan(0);

    const restartedAt = BigInt(Date.now()) * 1_000_000n;
    const second = agentIn(proxy.url, source.token, spool);
    const port = await metricsPortOf(second);
    const wanted = new Set(spooled.map(identity));
    await until(
      'every spooled result stored',
      async () => {
        const ids = new Set((await storedResults(api, source.id)).map(identity));
        return [...wanted].every((id) => ids.has(id));
      },
      30_000,
      500,
    );
    await until(
      'the restarted agent probing and delivering',
      async () => total(await scrape(world.lab.agent, port), 'pinger_agent_results_delivered_total') > 500,
      15_000,
      250,
    );
    const stopped = await stopGracefully(second);
    expect(stopped).toMatchObject({ unsent: 0, dropped: 0 });

    const stored = await storedResults(api, source.id);
    expect(repeatedIdentities(stored)).toEqual([]);
    // Every row was stored by exactly one receipt: the re-sent batches (the held one) came back as duplicates.
    const totals = proxy.totals();
    expect(totals.stored).toBe(stored.length);
    expect(totals.duplicates).toBeGreaterThanOrEqual(heldBatch.stored);

    const killedRun = stored.filter((r) => BigInt(r.rtime) < killedAt);
    const restartedRun = stored.filter((r) => BigInt(r.rtime) >= restartedAt);
    expect(killedRun.length + restartedRun.length).toBe(stored.length);
    for (const run of [seqRuns(killedRun), seqRuns(restartedRun)]) {
      expect(run.size).toBe(DESTINATIONS);
      for (const r of run.values()) expect(r).toMatchObject({ first: 0, gaps: [], repeats: [] });
    }
    // The restarted run: everything it sent is stored.
    expect(restartedRun.length).toBe(stopped.sent);
    // The killed run lost at most its unwritten tail: under a second of probes per destination.
    const lastRtime = new Map<string, bigint>();
    for (const r of killedRun) {
      const t = BigInt(r.rtime);
      if (t > (lastRtime.get(r.destination) ?? 0n)) lastRtime.set(r.destination, t);
    }
    for (const t of lastRtime.values()) expect(Number(killedAt - t) / 1e6).toBeLessThan(1000);
  }, 120_000);

  it('500s and stalls at random, and an answer that never comes: no loss, no duplicates', async () => {
    const { serve, api, source } = await controlPlane('flaky');
    const proxy = await FaultProxy.start({ target: serve.url, host: world.controlHost, seed: 20261122 });
    proxies.push(proxy);
    // The daemon as `pinger agent` runs it, with the request deadline lowered from 15 s to 5 s (see
    // agent-runner.ts): the held answer below waits out one deadline, and 5 s still covers the longest stall the
    // faults add to a request that does get an answer (2.5 s before and 2.5 s after).
    const agent = startRunnerIn(world.lab.agent, {
      url: proxy.url,
      token: source.token,
      spoolDir: join(dir, 'spool-flaky'),
      metricsPort: 0,
      deliveryTimeoutMs: 5000,
    });
    procs.push(agent);
    const port = await metricsPortOf(agent);
    await flowing(api, source.id);

    // One batch stored and never answered: the agent's request deadline must end the wait and re-send.
    proxy.set({ kind: 'hold', applies: isResultsPost });
    await until('an answer held', () => proxy.holding === 1, 10_000);
    const heldFrom = performance.now();
    proxy.set({
      kind: 'faulty',
      plan: { errorBefore: 0.2, errorAfter: 0.2, stallBefore: 0.15, stallAfter: 0.15, stallMs: [100, 2500] },
    });
    await until('the agent gave up on the held answer', () => proxy.holding === 0, 15_000, 100);
    // By its deadline, not by chance: the held request stayed open that long.
    expect(performance.now() - heldFrom).toBeGreaterThan(3000);
    const gaveUpAt = performance.now();
    // Then random faults on every request (results and config long-polls) for a while: 8 s of result posts
    // (with the 15 s deadline this was a 22 s period from the hold, 7 s of it after the agent gave up).
    await until('the faulty period', () => performance.now() - gaveUpAt > 8000, 15_000, 250);
    proxy.set({ kind: 'pass' });
    await drained(world.lab.agent, port, 45_000);
    const stopped = await stopGracefully(agent);
    expect(stopped).toMatchObject({ unsent: 0, dropped: 0 });

    for (const kind of ['errorBefore', 'errorAfter', 'stallBefore', 'stallAfter'] as const) {
      expect(proxy.counts[kind], `${kind} faults injected (seed ${proxy.seed})`).toBeGreaterThan(0);
    }
    const stored = await storedResults(api, source.id);
    expect(repeatedIdentities(stored)).toEqual([]);
    expect(stored.length).toBe(stopped.sent);
    const runs = seqRuns(stored);
    expect(runs.size).toBe(DESTINATIONS);
    for (const r of runs.values()) {
      expect(r).toMatchObject({ first: 0, gaps: [], repeats: [] });
    }
    // Batches stored but answered 500 (or never answered) were sent again and came back as duplicates; every
    // row was stored by exactly one receipt.
    const totals = proxy.totals();
    expect(totals.stored).toBe(stored.length);
    const lostAnswers = proxy.receipts.filter((r) => !r.delivered).reduce((n, r) => n + r.stored, 0);
    expect(totals.duplicates).toBeGreaterThanOrEqual(lostAnswers);
    expect(lostAnswers).toBeGreaterThan(0);
  }, 120_000);

  it('a full spool (128 KiB tmpfs): a clear log line, drops counted, probing continues and results arrive again', async () => {
    const { serve, api, source } = await controlPlane('full-spool');
    const proxy = await FaultProxy.start({ target: serve.url, host: world.controlHost, seed: 3 });
    proxies.push(proxy);
    const spool = join(dir, 'spool-tmpfs');
    await mkdir(spool);
    await execFileAsync('mount', ['-t', 'tmpfs', '-o', 'size=128k', 'tmpfs', spool]);
    mounts.push(spool);

    // The daemon as `pinger agent` runs it, with the in-memory bound lowered from 100,000 results to 2,000 so that
    // it overflows within seconds (see agent-runner.ts).
    const runner = startRunnerIn(world.lab.agent, {
      url: proxy.url,
      token: source.token,
      spoolDir: spool,
      metricsPort: 0,
      outbox: { maxMemoryResults: 2000 },
    });
    procs.push(runner);
    const port = await metricsPortOf(runner);
    await flowing(api, source.id);

    // The control plane goes away for results: the spool fills, then memory, then results are dropped.
    proxy.set({ kind: 'down', applies: isResultsPost });
    await until(
      'the full-disk log line',
      () => runner.logs.some((l) => /cannot write the spool \(ENOSPC\)/.test(String(l.msg))),
      15_000,
    );
    const line = runner.logs.find((l) => /cannot write the spool/.test(String(l.msg)))!;
    expect(line.msg).toMatch(/probing continues/);
    expect(line.level).toBe(50);
    await until(
      'dropped results counted',
      async () =>
        total(
          await scrape(world.lab.agent, port),
          'pinger_agent_results_dropped_total{reason="memory_full"}',
        ) > 0,
      20_000,
      250,
    );
    expect(
      runner.logs.some((l) => l.msg === '[agent:outbox] dropped results' && l.reason === 'memory_full'),
    ).toBe(true);
    // Probing goes on while nothing can be stored.
    const sentBefore = total(await scrape(world.lab.agent, port), 'pinger_agent_probes_sent_total');
    await until(
      'probes still sent',
      async () =>
        total(await scrape(world.lab.agent, port), 'pinger_agent_probes_sent_total') >
        sentBefore + 2 * DESTINATIONS,
      5000,
      100,
    );

    // The control plane is back: the spool drains and new results arrive for every destination.
    const backAt = BigInt(Date.now()) * 1_000_000n;
    proxy.set({ kind: 'pass' });
    await until(
      'results probed after the return stored for every destination',
      async () => {
        const page = await api.resultPage({ source: source.id, from: String(backAt) }, 10_000);
        return new Set(page.results.map((r) => r.destination)).size === DESTINATIONS;
      },
      40_000,
      500,
    );
    await drained(world.lab.agent, port, 40_000);
    const metrics = await scrape(world.lab.agent, port);
    const stopped = await stopGracefully(runner);
    expect(stopped.unsent).toBe(0);
    expect(stopped.dropped).toBeGreaterThan(0);

    // Accounting: every probe sent is either stored once or counted as dropped.
    const stored = await storedResults(api, source.id);
    expect(repeatedIdentities(stored)).toEqual([]);
    expect(stored.length + stopped.dropped).toBe(stopped.sent);
    expect(total(metrics, 'pinger_agent_results_dropped_total')).toBeLessThanOrEqual(stopped.dropped);
    for (const r of seqRuns(stored).values()) expect(r.repeats).toEqual([]);
  }, 150_000);
});
