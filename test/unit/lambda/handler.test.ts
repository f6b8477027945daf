/**
 * The Lambda entry invoked with real-shaped API Gateway HTTP API (v2) and Function URL events, over DynamoDB
 * on dynalite: the same API as on a Node host.
 */
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApp } from '../../../control-plane/app.js';
import { generateToken } from '../../../control-plane/auth.js';
import { createSqliteStore } from '../../../control-plane/store/sqlite/sqlite.js';
import { type DynaliteServer, startDynalite } from '../../helpers/dynalite.js';
import { resultInput } from '../../helpers/factories.js';
import { type BootedLambda, bootLambda } from '../../helpers/lambda-boot.js';
import {
  type EventKind,
  type HttpRequest,
  type LambdaResult,
  lambdaContext,
  lambdaEvent,
  resultBody,
} from '../../helpers/lambda-events.js';

let dynalite: DynaliteServer;
let lambda: BootedLambda;
beforeAll(async () => {
  dynalite = await startDynalite();
  lambda = await bootLambda(dynalite);
});
afterAll(async () => {
  await dynalite?.close();
});

// Now, whole seconds: results expire 14 days after they were sent, and the Lambda runs on the real clock.
const T0 = BigInt(Math.floor(Date.now() / 1000)) * 1_000_000_000n;

describe.each<EventKind>(['api-gateway-v2', 'function-url'])('lambda handler (%s events)', (kind) => {
  async function invoke(request: HttpRequest & { token?: string; json?: unknown }) {
    const headers: Record<string, string> = { ...request.headers };
    if (request.token) headers.authorization = `Bearer ${request.token}`;
    let body = request.body;
    if (request.json !== undefined) {
      body = JSON.stringify(request.json);
      headers['content-type'] = 'application/json';
    }
    const result = (await lambda.handler(
      lambdaEvent(kind, { ...request, headers, body }),
      lambdaContext(),
    )) as LambdaResult;
    const text = resultBody(result).toString('utf8');
    return { status: result.statusCode, headers: result.headers ?? {}, body: text ? JSON.parse(text) : null };
  }
  const admin = () => lambda.adminToken;

  it('creates a source and destinations, serves agent config with ETag and 304, stores results once', async () => {
    const source = await invoke({
      method: 'POST',
      url: '/v1/sources',
      token: admin(),
      json: { name: `ams-${kind}` },
    });
    expect(source.status).toBe(201);
    const agent = source.body.token as string;
    const d1 = await invoke({
      method: 'POST',
      url: '/v1/destinations',
      token: admin(),
      json: { address: '198.18.0.1' },
    });
    const d2 = await invoke({
      method: 'POST',
      url: '/v1/destinations',
      token: admin(),
      json: { address: '198.18.0.2', protocol: 'tcp', port: 443, sources: [source.body.id] },
    });
    expect([d1.status, d2.status]).toEqual([201, 201]);

    const config = await invoke({ method: 'GET', url: '/v1/agent/config', token: agent });
    expect(config.status).toBe(200);
    expect(config.body.source).toMatchObject({ id: source.body.id, sourceid: source.body.sourceid });
    expect(config.body.destinations.map((d: { id: string }) => d.id)).toEqual(
      expect.arrayContaining([d1.body.id, d2.body.id]),
    );
    const etag = config.headers.etag!;
    expect(etag).toBe(`"${config.body.version}"`);
    const unchanged = await invoke({
      method: 'GET',
      url: '/v1/agent/config',
      token: agent,
      headers: { 'if-none-match': etag },
    });
    expect(unchanged.status).toBe(304);
    expect(unchanged.body).toBeNull();

    const batch = {
      results: [0, 1, 2].map((i) =>
        resultInput(d1.body.id, { rtime: (T0 + BigInt(i) * 1_000_000_000n).toString(), rseq: i, rtt: 812.5 }),
      ),
    };
    // As the agent sends it: gzip, which both services hand over base64-encoded.
    const post = () =>
      invoke({
        method: 'POST',
        url: '/v1/agent/results',
        token: agent,
        headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
        body: new Uint8Array(gzipSync(JSON.stringify(batch))),
      });
    expect(await post()).toMatchObject({ status: 200, body: { stored: 3, duplicates: 0 } });
    expect(await post()).toMatchObject({ status: 200, body: { stored: 0, duplicates: 3 } });
    const listed = await invoke({
      method: 'GET',
      url: `/v1/results?destination=${d1.body.id}&source=${source.body.id}`,
      token: admin(),
    });
    expect(listed.status).toBe(200);
    expect(listed.body.results.map((r: { rseq: number }) => r.rseq)).toEqual([2, 1, 0]);
    expect(listed.body.results[0]).toMatchObject({
      source: source.body.id,
      rtt: 812.5,
      rtime: batch.results[2]!.rtime,
    });
  });

  it('answers a waiting long-poll soon after a destination changes', async () => {
    const source = await invoke({
      method: 'POST',
      url: '/v1/sources',
      token: admin(),
      json: { name: `lp-${kind}` },
    });
    const agent = source.body.token as string;
    const dest = await invoke({
      method: 'POST',
      url: '/v1/destinations',
      token: admin(),
      json: { address: '198.18.0.3', sources: [source.body.id] },
    });
    const first = await invoke({ method: 'GET', url: '/v1/agent/config', token: agent });
    const started = Date.now();
    const mark = dynalite.operations.length;
    const waiting = invoke({
      method: 'GET',
      url: '/v1/agent/config?wait=20',
      token: agent,
      headers: { 'if-none-match': first.headers.etag! },
    });
    // Change the destination only once the poll has read the config (its one Query): from then on only its
    // re-reads of the version can notice the change.
    await vi.waitFor(() => expect(dynalite.operations.slice(mark)).toContain('Query'), {
      timeout: 5000,
      interval: 5,
    });
    const patched = await invoke({
      method: 'PATCH',
      url: `/v1/destinations/${dest.body.id}`,
      token: admin(),
      json: { interval: 250 },
    });
    expect(patched.status).toBe(200);
    const answer = await waiting;
    const waited = Date.now() - started;
    expect(answer.status).toBe(200);
    expect(answer.headers.etag).not.toBe(first.headers.etag);
    expect(answer.body.destinations.find((d: { id: string }) => d.id === dest.body.id)).toMatchObject({
      interval: 250,
    });
    // Re-read every 1.2 s: far sooner than the 20 s the poll may hold.
    expect(waited).toBeLessThan(6000);
  });

  it('refuses bad input with 400 and the same error body as the Node host', async () => {
    const bad = { address: '300.1.1.1', protocol: 'udp', interval: 5 };
    const onLambda = await invoke({ method: 'POST', url: '/v1/destinations', token: admin(), json: bad });
    expect(onLambda.status).toBe(400);
    expect(onLambda.body.error.code).toBe('bad_request');
    expect(onLambda.body.error.issues.map((i: { path: string }) => i.path)).toEqual(
      expect.arrayContaining(['address', 'interval']),
    );

    const sqlite = createSqliteStore({ path: ':memory:' });
    const { token, hash } = await generateToken('admin');
    await sqlite.createToken({ hash, kind: 'admin', sourceId: null, name: 'node' });
    const onNode = await createApp({ store: sqlite }).request('/v1/destinations', {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(bad),
    });
    expect(onNode.status).toBe(400);
    expect(onLambda.body).toEqual(await onNode.json());
    await sqlite.close();

    const notJson = await invoke({
      method: 'POST',
      url: '/v1/destinations',
      token: admin(),
      headers: { 'content-type': 'application/json' },
      body: '{"address":',
    });
    expect(notJson.status).toBe(400);
    expect(notJson.body.error.code).toBe('invalid_json');
  });

  it('refuses a request without the admin secret', async () => {
    const res = await invoke({
      method: 'GET',
      url: '/v1/sources',
      token: 'not-the-admin-secret-but-long-enough-1234',
    });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('unauthorized');
  });
});
