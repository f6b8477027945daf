import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resultsClient } from '../../../agent/delivery/results-client.js';
import type { ResultInput } from '../../../contract/index.js';
import { startControlPlane, type TestControlPlane } from './control-plane.js';
import { result } from './fixtures.js';
import { type PrefixProxy, startPrefixProxy } from './prefix-proxy.js';
import { type ResultsServer, startResultsServer } from './results-server.js';

let dir: string;
let cp: TestControlPlane;
let proxy: PrefixProxy;
let server: ResultsServer;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pinger-results-client-'));
  cp = await startControlPlane(join(dir, 'pinger.db'));
  proxy = await startPrefixProxy(cp.url);
  server = await startResultsServer();
});

afterEach(async () => {
  await server.close();
  await proxy.close();
  await cp.close();
  await rm(dir, { recursive: true, force: true });
});

const gz = (results: ResultInput[]) => gzipSync(JSON.stringify({ results }));
const signal = new AbortController().signal;

describe('results client', () => {
  it('keeps the base URL path: a control plane behind a proxy at /pinger/ stores the batch', async () => {
    const source = await cp.createSource('agent-1');
    const dest = await cp.createDestination({ address: '127.0.0.1' });
    for (const base of [`${proxy.url}/pinger/`, `${proxy.url}/pinger`]) {
      const deliver = resultsClient({ url: base, token: source.token, timeoutMs: 2000 });
      const batch = [0, 1, 2].map((i) => result(dest.id, i + (base.endsWith('/') ? 0 : 3)));
      const outcome = await deliver(gz(batch), batch.length, signal);
      expect(outcome).toEqual({ kind: 'stored', stored: 3, duplicates: 0 });
    }
    expect(proxy.paths).toEqual(['/pinger/v1/agent/results', '/pinger/v1/agent/results']);
    expect(await cp.results()).toHaveLength(6);
  });

  it('a 200 that is not a receipt (a catch-all page) is not a confirmation: retry, saying why', async () => {
    const deliver = resultsClient({ url: proxy.url, token: 'agent-token', timeoutMs: 2000 });
    const outcome = await deliver(gz([result('d', 0)]), 1, signal);
    expect(outcome.kind).toBe('retry');
    expect(outcome).toMatchObject({ status: 200, message: expect.stringMatching(/without a batch receipt/) });
  });

  it('a receipt that does not account for every result of the batch is not a confirmation', async () => {
    server.answer = () => ({ status: 200, body: { stored: 1, duplicates: 0 } });
    const deliver = resultsClient({ url: server.url, token: 'agent-token', timeoutMs: 2000 });
    const outcome = await deliver(gz([result('d', 0), result('d', 1)]), 2, signal);
    expect(outcome).toMatchObject({
      kind: 'retry',
      status: 200,
      message: expect.stringMatching(/not the batch's 2/),
    });
    server.answer = () => ({ status: 200, body: { stored: 1, duplicates: 1 } });
    expect(await deliver(gz([result('d', 0), result('d', 1)]), 2, signal)).toEqual({
      kind: 'stored',
      stored: 1,
      duplicates: 1,
    });
  });

  it('a refusal is final only when it is the control plane naming results or a final code; else retried', async () => {
    const deliver = resultsClient({ url: server.url, token: 'agent-token', timeoutMs: 2000 });
    const batch = gz([result('d', 0), result('d', 1)]);
    const err = (code: string, issues?: { path: string; message: string }[]) => ({
      error: { code, message: 'm', ...(issues ? { issues } : {}) },
    });
    const cases: [number, unknown, 'rejected' | 'retry'][] = [
      [400, err('bad_request', [{ path: 'results.1.rtt', message: 'too large' }]), 'rejected'],
      [403, err('forbidden', [{ path: 'results.0.destination', message: 'not yours' }]), 'rejected'],
      [400, err('bad_request', [{ path: 'results', message: 'at most 5000' }]), 'rejected'],
      [400, err('invalid_json'), 'rejected'],
      [413, err('payload_too_large'), 'rejected'],
      // A proxy's or WAF's page, a body from another version, a refusal naming no result: not proof.
      [400, '<html>Bad Request</html>', 'retry'],
      [413, 'Request Entity Too Large', 'retry'],
      [422, { message: 'unprocessable' }, 'retry'],
      [400, err('bad_request'), 'retry'],
      [400, { error: { code: 'some_future_code', message: 'm' } }, 'retry'],
      [403, err('forbidden'), 'retry'],
    ];
    for (const [status, body, kind] of cases) {
      server.answer = () => ({ status, body });
      const outcome = await deliver(batch, 2, signal);
      expect({ status, body, kind: outcome.kind }).toEqual({ status, body, kind });
    }
  });
});
