/**
 * A real `pinger agent` process against the serverless control plane: the Lambda handler served over loopback
 * HTTP by a thin adapter (Function URL events), backed by DynamoDB on dynalite. Results arrive, a change made
 * through the API reaches the wire through the Lambda's polling long-poll, and on SIGTERM every probe that
 * reached the wire is stored exactly once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Destination, SourceWithToken } from '../../../contract/index.js';
import { type AdminApi, adminApi } from '../../helpers/admin-api.js';
import { type DynaliteServer, startDynalite } from '../../helpers/dynalite.js';
import { type BootedLambda, bootLambda } from '../../helpers/lambda-boot.js';
import { type LambdaHttp, serveLambda } from '../../helpers/lambda-http.js';
import { type PingerProcess, spawnPinger } from '../../helpers/pinger-process.js';
import { type UdpEcho, udpEcho } from '../../helpers/udp-echo.js';
import { until } from '../../helpers/until.js';

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('pinger agent against the Lambda handler on DynamoDB (dynalite)', () => {
  let dir: string;
  let dynalite: DynaliteServer;
  let lambda: BootedLambda;
  let http: LambdaHttp;
  let agent: PingerProcess | undefined;
  let echo: UdpEcho | undefined;
  let api: AdminApi['call'];
  let results: AdminApi['results'];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pinger-e2e-lambda-'));
    dynalite = await startDynalite();
    lambda = await bootLambda(dynalite);
    http = await serveLambda(lambda.handler);
    ({ call: api, results } = adminApi(http.url, lambda.adminToken));
  }, 30_000);

  afterAll(async () => {
    agent?.kill('SIGKILL');
    await agent?.exited;
    echo?.close();
    await http?.close();
    await dynalite?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('stores the agent results, follows a change within the Lambda poll, and keeps every probe once', async () => {
    echo = await udpEcho();
    const source = await api<SourceWithToken>('POST', '/v1/sources', { name: 'lambda-e2e' });
    const dest = await api<Destination>('POST', '/v1/destinations', {
      address: '127.0.0.1',
      protocol: 'udp',
      port: echo.port,
      interval: 100,
      timeout: 500,
      data: 'first',
      sources: [source.id],
    });

    agent = spawnPinger(['agent', '--url', http.url, '--spool', join(dir, 'spool')], {
      env: { PINGER_TOKEN: source.token, PINGER_LOG_LEVEL: 'info' },
    });
    await until('agent probing', () => echo!.seen.length > 0, 20_000);
    await until(
      'results stored in DynamoDB',
      async () => (await results(dest.id)).some((r) => r.status === 'reply'),
      20_000,
    );

    // The agent is now waiting in a long-poll held by the Lambda, which re-reads the version every 1.2 s.
    const t = performance.now();
    await api('PATCH', `/v1/destinations/${dest.id}`, { data: 'second' });
    await until(
      'new payload on the wire',
      () => echo!.seen.some((s) => s.payload.toString().endsWith('second')),
      5000,
    );
    expect(echo.seen.find((s) => s.payload.toString().endsWith('second'))!.at - t).toBeLessThan(3000);

    agent.kill('SIGTERM');
    expect(await agent.exited).toEqual({ code: 0, signal: null });
    const sent = echo.seen.length;
    const stored = await results(dest.id);
    const seqs = stored.map((r) => r.rseq).sort((x, y) => x - y);
    expect(seqs).toHaveLength(sent);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    expect(stored.every((r) => r.status === 'reply' && r.source === source.id)).toBe(true);
    expect(agent.logs().find((l) => l.msg === '[agent] stopped')).toMatchObject({ unsent: 0 });
  }, 90_000);
});
