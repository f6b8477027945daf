/**
 * Loss as the statistics report it, from a real agent probing across the lab's router: an nft rule drops 10 %
 * of the probes on their way to the target (one direction), and the summary's loss for that destination over
 * 2,000 probes (10 ms apart, the shortest interval the API takes: the count matters here, not the pace) must be
 * 10 ± 1.5 %. The rule drops every tenth packet (an nft counter) rather than each with probability 0.1: a random
 * drop would put ±1.5 % at 2.2 standard deviations of a binomial over 2,000, so one run in forty would fail by
 * chance and say nothing about Pinger. What is under test is the counting: the summary must also agree exactly
 * with the raw results stored and with /metrics' counters once the agent has flushed and stopped.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../cli/client.js';
import type { Result } from '../../contract/index.js';
import { createFailureLab, type FailureLab } from '../e2e/agent-failures/failure-lab.js';
import { ADMIN_TOKEN, type Proc, startAgentIn, startServe, until } from '../e2e/agent-failures/processes.js';
import { clearImpairment, induceEveryNthLoss } from './nft.js';

const isRoot = process.getuid?.() === 0;
const PROBES = 2_000;

describe.skipIf(!isRoot)('loss in the statistics (real agent in the lab, nft 10 % drop)', () => {
  let world: FailureLab;
  let dir: string;
  const procs: Proc[] = [];

  beforeAll(async () => {
    world = await createFailureLab(1);
    dir = await mkdtemp(join(tmpdir(), 'pinger-lab-stats-'));
  }, 60_000);

  afterAll(async () => {
    for (const p of procs) {
      p.kill('SIGKILL');
      await p.exited;
    }
    if (world) await clearImpairment(world.lab);
    await world?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the summary’s loss is 10 ± 1.5 % over 2,000 probes, and matches the raw results and /metrics', async () => {
    const serve = await startServe(world.controlHost, 0, join(dir, 'pinger.db'));
    procs.push(serve.proc);
    const api = new ApiClient({ url: serve.url, token: ADMIN_TOKEN });
    const source = await api.createSource({ name: 'lab-stats' });
    const target = world.targets[0]!;
    const destination = await api.createDestination({ address: target, interval: 10, timeout: 500 });
    await induceEveryNthLoss(world.lab, 10);

    const agent = startAgentIn(world.lab.agent, serve.url, source.token, join(dir, 'spool'));
    procs.push(agent);
    const sent = async () =>
      (await api.summary({ destination: destination.id, window: '24h' })).rows[0]?.sent ?? 0;
    // Startup through tsx can take 20–40 s on a loaded 2-core machine; the probing itself 20 s.
    await until(`${PROBES} probes counted`, async () => (await sent()) >= PROBES, 150_000, 500);

    // Stop probing and flush, so that the raw results and the rollups can be compared as they stand.
    agent.kill('SIGTERM');
    expect(await agent.exited).toEqual({ code: 0, signal: null });

    const { rows } = await api.summary({ destination: destination.id, window: '24h' });
    expect(rows).toHaveLength(1);
    const row = rows[0]!;
    expect(row.source).toBe(source.id);
    expect(row.sent).toBeGreaterThanOrEqual(PROBES);
    console.error(`[stats-loss] ${row.sent} probes, loss ${(row.loss * 100).toFixed(2)} %`);
    expect(row.loss).toBeGreaterThanOrEqual(0.085);
    expect(row.loss).toBeLessThanOrEqual(0.115);

    // The rollups count each stored result once: the same figures as the raw rows.
    const stored: Result[] = [];
    for await (const page of api.results({ destination: destination.id }, 100_000)) stored.push(...page);
    const replies = stored.filter((r) => r.status === 'reply');
    expect(row.sent).toBe(stored.length);
    expect(row.received).toBe(replies.length);
    expect(stored.filter((r) => r.status !== 'reply').every((r) => r.status === 'timeout')).toBe(true);
    expect(row.min).toBe(Math.min(...replies.map((r) => r.rtt!)));
    expect(row.max).toBe(Math.max(...replies.map((r) => r.rtt!)));

    // And /metrics' counters say the same.
    const metrics = await (
      await fetch(`${serve.url}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
    ).text();
    const counter = (name: string) =>
      Number(
        new RegExp(`^${name}\\{[^}]*destination="${destination.id}"[^}]*\\} (\\d+)$`, 'm').exec(metrics)?.[1],
      );
    expect(counter('pinger_probes_sent_total')).toBe(row.sent);
    expect(counter('pinger_probes_received_total')).toBe(row.received);
  }, 240_000);
});
