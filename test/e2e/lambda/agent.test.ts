/**
 * A real `pinger agent` process against the serverless control plane: the Lambda handler served over loopback
 * HTTP by a thin adapter (Function URL events), backed by DynamoDB on dynalite. Results arrive, a change made
 * through the API reaches the wire through the Lambda's polling long-poll, and on SIGTERM every probe that
 * reached the wire is stored exactly once.
 */
import dgram from 'node:dgram';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Destination, Result, SourceWithToken } from '../../../contract/index.js';
import { type DynaliteServer, startDynalite } from '../../helpers/dynalite.js';
import { type BootedLambda, bootLambda } from '../../helpers/lambda-boot.js';
import { type LambdaHttp, serveLambda } from '../../helpers/lambda-http.js';
import { until } from '../../unit/agent/results-server.js';
import { type Proc, spawnPinger } from '../agent/processes.js';

const isRoot = process.getuid?.() === 0;

/** A UDP socket on 127.0.0.1 that records and echoes every datagram, so each probe is answered. */
async function udpEcho() {
  const socket = dgram.createSocket('udp4');
  const seen: { at: number; payload: Buffer }[] = [];
  socket.on('message', (msg, rinfo) => {
    seen.push({ at: performance.now(), payload: msg });
    socket.send(msg, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { port: socket.address().port, seen, close: () => socket.close() };
}

describe.skipIf(!isRoot)('pinger agent against the Lambda handler on DynamoDB (dynalite)', () => {
  let dir: string;
  let dynalite: DynaliteServer;
  let lambda: BootedLambda;
  let http: LambdaHttp;
  let agent: Proc | undefined;
  let echo: Awaited<ReturnType<typeof udpEcho>> | undefined;

  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${http.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${lambda.adminToken}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const results = async (destination: string): Promise<Result[]> => {
    const all: Result[] = [];
    let cursor: string | null = null;
    do {
      const qs = new URLSearchParams({ destination, limit: '10000', ...(cursor ? { cursor } : {}) });
      const page: { results: Result[]; cursor: string | null } = await api('GET', `/v1/results?${qs}`);
      all.push(...page.results);
      cursor = page.cursor;
    } while (cursor);
    return all;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pinger-e2e-lambda-'));
    dynalite = await startDynalite();
    lambda = await bootLambda(dynalite);
    http = await serveLambda(lambda.handler);
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
      PINGER_TOKEN: source.token,
      // The booted Lambda silenced its own logs through the environment this process passes on.
      PINGER_LOG_LEVEL: 'info',
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
    expect(agent.logs.find((l) => l.msg === '[agent] stopped')).toMatchObject({ unsent: 0 });
  }, 90_000);
});
