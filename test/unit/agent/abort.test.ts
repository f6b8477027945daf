import { getEventListeners } from 'node:events';
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resultsClient } from '../../../agent/delivery/results-client.js';
import { requestSignal } from '../../../agent/http/abort.js';
import { result } from './fixtures.js';
import { type ResultsServer, startResultsServer, until } from './results-server.js';

let server: ResultsServer;
beforeEach(async () => {
  server = await startResultsServer();
});
afterEach(async () => {
  await server.close();
});

/** What a long-lived signal holds on to for each request that followed it (Node's `AbortSignal.any` leak). */
function dependants(signal: AbortSignal): number {
  const key = Object.getOwnPropertySymbols(signal).find((s) => s.description === 'kDependantSignals');
  const set =
    key === undefined ? undefined : (signal as unknown as Record<symbol, Set<unknown> | undefined>)[key];
  return (set?.size ?? 0) + getEventListeners(signal, 'abort').length;
}

describe('requestSignal', () => {
  it('follows the long-lived signal, times out on its own, and lets go of the parent when done', async () => {
    const parent = new AbortController();
    const a = requestSignal(parent.signal, 60_000);
    const b = requestSignal(parent.signal, 20);
    await until('b timed out', () => b.signal.aborted, 2000);
    expect((b.signal.reason as DOMException).name).toBe('TimeoutError');
    b.done();
    parent.abort(new Error('stopping'));
    expect(a.signal.aborted).toBe(true);
    expect((a.signal.reason as Error).message).toBe('stopping');
    a.done();
    expect(dependants(parent.signal)).toBe(0);
    // Born aborted when the parent already is.
    expect(requestSignal(parent.signal, 1000).signal.aborted).toBe(true);
  });

  it('the results client leaves nothing behind on the long-lived signal, batch after batch', async () => {
    const parent = new AbortController();
    const deliver = resultsClient({ url: server.url, token: 'agent-token', timeoutMs: 2000 });
    const body = gzipSync(JSON.stringify({ results: [result('d', 0)] }));
    for (let i = 0; i < 200; i++) expect((await deliver(body, 1, parent.signal)).kind).toBe('stored');
    server.answer = () => ({ status: 503 });
    for (let i = 0; i < 50; i++) expect((await deliver(body, 1, parent.signal)).kind).toBe('retry');
    expect(dependants(parent.signal)).toBe(0);
  });
});
