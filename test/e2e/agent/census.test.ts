/**
 * A census through the whole product: a prefix destination created through the API, a real `pinger agent` process
 * (raw sockets, as root) running its passes, and the answers stored by a real `pinger serve` as ordinary results.
 * The prefix is 127.0.0.0/24 on loopback, where every address answers. The census settings reach the agent through
 * its config (the configured rate is the pass's), and the pass record reaches the control plane, whose hosts API
 * then lists every address; the record is in the agent's log too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Destination, SourceWithToken } from '../../../contract/index.js';
import { type AdminApi, adminApi } from '../../helpers/admin-api.js';
import { type PingerProcess, spawnPinger } from '../../helpers/pinger-process.js';
import { until } from '../../helpers/until.js';

const ADMIN = 'e2e-census-token-0123456789abcdefghijklmnopq';
const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('census through pinger agent (real processes, loopback)', () => {
  let dir: string;
  let serve: PingerProcess;
  let agent: PingerProcess | undefined;
  let api: AdminApi['call'];
  let results: AdminApi['results'];
  let url: string;
  let source: SourceWithToken;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pinger-e2e-census-'));
    serve = spawnPinger(['serve', '--port', '0', '--db', join(dir, 'pinger.db')], {
      env: { PINGER_ADMIN_TOKEN: ADMIN },
    });
    url = (await serve.waitForLine('stdout', /listening on (\S+)/, { timeoutMs: 20_000 }))[1]!;
    ({ call: api, results } = adminApi(url, ADMIN));
    source = await api<SourceWithToken>('POST', '/v1/sources', { name: 'e2e-census' });
  }, 30_000);

  afterAll(async () => {
    agent?.kill('SIGKILL');
    serve?.kill('SIGTERM');
    await Promise.all([agent?.exited, serve?.exited]);
    await rm(dir, { recursive: true, force: true });
  });

  it('runs a pass over the prefix and delivers each answer as a result and the pass record; hosts listed', async () => {
    const census = await api<Destination>('POST', '/v1/destinations', {
      address: '127.0.0.0/24',
      interval: 3_600_000,
      census: { rate: 7000, retries: 0 },
    });
    expect(census).toMatchObject({ address: '127.0.0.0/24', interval: 3_600_000 });
    agent = spawnPinger(['agent', '--url', url, '--spool', join(dir, 'spool')], {
      env: { PINGER_TOKEN: source.token },
    });
    const line = await agent.waitForLine('stderr', (l) => l.includes('[agent:census] pass done'), {
      timeoutMs: 20_000,
    });
    const record = JSON.parse(line) as Record<string, unknown>;
    expect(record).toMatchObject({
      destination: census.id,
      prefix: '127.0.0.0/24',
      addresses: 254,
      probed: 254,
      answered: 254,
      retries: 0,
      errors: 0,
      skipped: 0,
      // The configured rate, from the store through the agent config.
      rate: 7000,
    });
    await until('every answer stored', async () => (await results(census.id)).length >= 254, 15_000);
    const stored = await results(census.id);
    expect(stored.length).toBe(254);
    const targets = new Set(stored.map((r) => r.target));
    expect(targets.size).toBe(254);
    expect(targets.has('127.0.0.0')).toBe(false);
    expect(targets.has('127.0.0.255')).toBe(false);
    for (const r of stored) expect(r).toMatchObject({ status: 'reply', source: source.id });
    await until(
      'the pass stored',
      async () =>
        (await api<{ passes: unknown[] }>('GET', `/v1/census/${census.id}/passes`)).passes.length === 1,
      15_000,
    );
    const { passes } = await api<{ passes: Record<string, unknown>[] }>(
      'GET',
      `/v1/census/${census.id}/passes`,
    );
    expect(passes[0]).toMatchObject({
      source: source.id,
      prefix: '127.0.0.0/24',
      start: String(record.start),
      end: String(record.end),
      answered: 254,
      probed: 254,
      rate: 7000,
    });
    const { hosts } = await api<{ hosts: { address: string; state: string }[] }>(
      'GET',
      `/v1/census/${census.id}/hosts?state=new`,
    );
    expect(hosts.map((h) => h.address)).toEqual(Array.from({ length: 254 }, (_, i) => `127.0.0.${i + 1}`));
    expect(new Set(hosts.map((h) => h.state))).toEqual(new Set(['up']));
    const { events } = await api<{ events: unknown[] }>('GET', `/v1/census/${census.id}/events`);
    expect(events).toHaveLength(100);
    const exit = await agent.stop('SIGTERM', 10_000);
    expect(exit.code).toBe(0);
  }, 60_000);
});
