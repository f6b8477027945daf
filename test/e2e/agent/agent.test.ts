/**
 * The agent end to end: a real `pinger serve` process and a real `pinger agent` process (raw sockets, as root)
 * probing loopback. Destinations added, changed and removed through the API change what reaches the wire within
 * a second (observed on UDP sockets this test listens on, which echo every probe); SIGTERM flushes: every probe
 * that reached the wire is stored exactly once, with seqs that have no gaps.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Destination, SourceWithToken } from '../../../contract/index.js';
import { type AdminApi, adminApi } from '../../helpers/admin-api.js';
import { type PingerProcess, spawnPinger } from '../../helpers/pinger-process.js';
import { type UdpEcho, udpEcho } from '../../helpers/udp-echo.js';
import { until } from '../../helpers/until.js';

const ADMIN = 'e2e-admin-token-0123456789abcdefghijklmnopq';
const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('pinger agent (real processes, loopback)', () => {
  let dir: string;
  let serve: PingerProcess;
  let agent: PingerProcess;
  let url: string;
  let source: SourceWithToken;
  const sockets: UdpEcho[] = [];
  let api: AdminApi['call'];
  let results: AdminApi['results'];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pinger-e2e-agent-'));
    serve = spawnPinger(['serve', '--port', '0', '--db', join(dir, 'pinger.db')], {
      env: { PINGER_ADMIN_TOKEN: ADMIN },
    });
    url = (await serve.waitForLine('stdout', /listening on (\S+)/, { timeoutMs: 20_000 }))[1]!;
    ({ call: api, results } = adminApi(url, ADMIN));
    source = await api<SourceWithToken>('POST', '/v1/sources', { name: 'e2e-agent' });
  }, 30_000);

  afterAll(async () => {
    agent?.kill('SIGKILL');
    serve?.kill('SIGTERM');
    await Promise.all([agent?.exited, serve?.exited]);
    for (const s of sockets) s.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('probes loopback, follows API changes within a second, and flushes every result on SIGTERM', async () => {
    const stable = await udpEcho();
    const moving = await udpEcho();
    sockets.push(stable, moving);
    const icmp = await api<Destination>('POST', '/v1/destinations', { address: '127.0.0.1', interval: 100 });
    const icmp6 = await api<Destination>('POST', '/v1/destinations', {
      address: '::1',
      protocol: 'icmp6',
      interval: 100,
    });
    const a = await api<Destination>('POST', '/v1/destinations', {
      address: '127.0.0.1',
      protocol: 'udp',
      port: stable.port,
      interval: 50,
      timeout: 500,
      data: 'stable',
    });

    agent = spawnPinger(['agent', '--url', url, '--spool', join(dir, 'spool'), '--metrics-port', '0'], {
      env: { PINGER_TOKEN: source.token },
    });
    await until('agent probing', () => stable.seen.length > 0, 20_000);

    // Loopback over both families ends up stored, answered.
    await until(
      'icmp and icmp6 results stored',
      async () =>
        (await results(icmp.id)).some((r) => r.status === 'reply') &&
        (await results(icmp6.id)).some((r) => r.status === 'reply'),
      15_000,
    );
    const v6 = (await results(icmp6.id))[0]!;
    expect(v6).toMatchObject({
      target: '::1',
      address: '::1',
      status: 'reply',
      datamatch: true,
      source: source.id,
      // The hop limit of the reply, which loopback does not decrement; timed by the kernel on both ends, and the
      // mark survives the spool, the batch and the store.
      ttl: 64,
      timing: { send: 'kernel', receive: 'kernel' },
    });
    expect(v6.timing!.lateness).toBeGreaterThanOrEqual(0);

    // Added: on the wire within a second.
    let t = performance.now();
    const b = await api<Destination>('POST', '/v1/destinations', {
      address: '127.0.0.1',
      protocol: 'udp',
      port: moving.port,
      interval: 100,
      timeout: 500,
      data: 'first',
    });
    await until('new destination on the wire', () => moving.seen.length > 0, 3000);
    expect(moving.seen[0]!.at - t).toBeLessThan(1000);

    // Changed data: the next probes carry it within a second.
    t = performance.now();
    await api('PATCH', `/v1/destinations/${b.id}`, { data: 'second' });
    await until(
      'new payload on the wire',
      () => moving.seen.some((s) => s.payload.toString().endsWith('second')),
      3000,
    );
    expect(moving.seen.find((s) => s.payload.toString().endsWith('second'))!.at - t).toBeLessThan(1000);

    // Changed interval (100 → 400 ms): retimed within a second.
    t = performance.now();
    const before = moving.seen.length;
    await api('PATCH', `/v1/destinations/${b.id}`, { interval: 400 });
    await until(
      'the longer interval on the wire',
      () => {
        const after = moving.seen.slice(before);
        return after.some((s, i) => i > 0 && s.at - after[i - 1]!.at > 350);
      },
      3000,
    );
    const after = moving.seen.slice(before);
    const gapStart = after.findIndex((s, i) => i < after.length - 1 && after[i + 1]!.at - s.at > 350);
    expect(after[gapStart]!.at - t).toBeLessThan(1000);
    // And from then on the spacing stays ~400 ms, not 100.
    const later = moving.seen.slice(before + gapStart);
    await until('three retimed probes', () => moving.seen.length - (before + gapStart) >= 3, 3000);
    for (let i = 1; i < Math.min(later.length, 3); i++)
      expect(later[i]!.at - later[i - 1]!.at).toBeGreaterThan(350);

    // Removed (deleted; deactivation is the same diff, see the scheduler tests): nothing on the wire after a
    // second, observed over a bounded window. Results of it still waiting in the agent are refused by the control
    // plane (unknown destination); only those may be set aside, never the other destinations' (checked below).
    t = performance.now();
    await api('DELETE', `/v1/destinations/${b.id}`);
    const stopWindowEnd = t + 1800;
    await until('observation window', () => performance.now() > stopWindowEnd, 3000);
    expect(moving.seen.filter((s) => s.at > t + 1000)).toHaveLength(0);

    // The agent's own metrics endpoint answers on loopback.
    const started = agent.logs().find((l) => l.msg === '[agent] started')!;
    const metrics = await (await fetch(`http://127.0.0.1:${started.metricsPort}/metrics`)).text();
    expect(metrics).toMatch(/pinger_agent_probes_sent_total\{protocol="udp"\} \d+/);
    expect(metrics).toMatch(/pinger_agent_last_sync_timestamp_seconds \d/);
    // Arrival times come from the kernel on every socket the agent opened, and it says so.
    for (const socket of ['icmp6', 'udp4', 'icmp4'])
      expect(metrics).toContain(`pinger_agent_receive_timestamps{socket="${socket}",source="kernel"} 1`);
    expect(agent.logs().some((l) => l.msg === '[agent] arrival times come from the kernel')).toBe(true);

    // SIGTERM: in-flight probes finish, the spool flushes, the final send delivers, exit 0.
    agent.kill('SIGTERM');
    const exit = await agent.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    const sentToA = stable.seen.length;
    const stored = await results(a.id);
    const seqs = stored.map((r) => r.rseq).sort((x, y) => x - y);
    // Every probe that reached the wire is stored exactly once, seqs 0…n-1 without a gap.
    expect(seqs).toHaveLength(sentToA);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    expect(stored.every((r) => r.status === 'reply' && r.datamatch === true)).toBe(true);
    const stopped = agent.logs().find((l) => l.msg === '[agent] stopped')!;
    expect(stopped).toMatchObject({ unsent: 0 });
    // Whatever was set aside is the deleted destination's results, logged as refused.
    const refused = agent.logs().filter((l) => /refused/.test(String(l.msg)));
    expect(refused.reduce((n, l) => n + Number(l.refused), 0)).toBe(stopped.dropped);
    for (const l of refused) expect(String(l.message)).toContain(b.id);
  }, 90_000);

  it('exits 1 with a clear message when the control plane refuses the token, 2 on a missing --url', async () => {
    const wrong = spawnPinger([
      'agent',
      '--url',
      url,
      '--token',
      'pgr_agent_wrong',
      '--spool',
      join(dir, 'spool2'),
    ]);
    const exit = await wrong.exited;
    expect(exit.code).toBe(1);
    expect(wrong.logs().some((l) => /refused the agent token \(HTTP 401/.test(String(l.raw ?? l.msg)))).toBe(
      true,
    );
    const missing = spawnPinger(['agent', '--token', 'x'], { env: { PINGER_URL: '' } });
    expect((await missing.exited).code).toBe(2);
    expect(
      missing
        .logs()
        .map((l) => String(l.raw))
        .join('\n'),
    ).toMatch(/--url \(or PINGER_URL\) is required/);
    // Two agent processes start and stop here, one after the other: on a loaded 2-core machine each start can
    // take several seconds.
  }, 60_000);
});
