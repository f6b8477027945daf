/** `serve()` in process: many long-polls parked on the shutdown signal at once, then a close that answers them. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it, vi } from 'vitest';
import type { Logger } from '../../../control-plane/deps.js';
import { type ServerHandle, serve } from '../../../control-plane/node.js';

const ADMIN = 'a'.repeat(48);
let dir: string | undefined;
let server: ServerHandle | undefined;
afterEach(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

it('parks 50 long-polls without a listener warning, answers them all with 304 on close, and closes at once', async () => {
  dir = mkdtempSync(join(tmpdir(), 'pinger-serve-polls-'));
  let parked = 0;
  const logger: Logger = {
    debug: (_obj, msg) => {
      if (msg === 'long-poll waiting') parked++;
    },
    info: () => {},
    warn: () => {},
    error: () => {},
  };
  const warnings: Error[] = [];
  const onWarning = (warning: Error) => warnings.push(warning);
  process.on('warning', onWarning);
  try {
    server = await serve({
      port: 0,
      dbPath: join(dir, 'pinger.db'),
      adminToken: ADMIN,
      logger,
      parserThreads: 0,
    });
    const call = (path: string, token: string, init: RequestInit = {}) =>
      fetch(`${server!.url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
      });
    const { token } = (await (
      await call('/v1/sources', ADMIN, { method: 'POST', body: JSON.stringify({ name: 'a' }) })
    ).json()) as { token: string };
    const etag = (await call('/v1/agent/config', token)).headers.get('etag')!;
    const polls = Array.from({ length: 50 }, () =>
      call('/v1/agent/config?wait=30', token, { headers: { 'if-none-match': etag } }),
    );
    await vi.waitFor(() => expect(parked).toBe(50), { timeout: 10_000, interval: 10 });
    // Node reports a listener warning on the next tick of the add that crossed the limit.
    await new Promise((resolve) => setImmediate(resolve));
    const began = performance.now();
    const closing = server.close();
    const answers = await Promise.all(polls);
    await Promise.all(answers.map((res) => res.arrayBuffer()));
    expect(answers.map((res) => res.status)).toEqual(Array(50).fill(304));
    await closing;
    // Their keep-alive connections do not hold the close (they did, ~3 s, until dropped as they went idle).
    expect(performance.now() - began).toBeLessThan(1_500);
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  } finally {
    process.off('warning', onWarning);
  }
});
