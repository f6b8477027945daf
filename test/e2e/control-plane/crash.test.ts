/**
 * Atomicity across a crash: a server SIGKILLed while it ingests 5,000-result batches is restarted on the same
 * file; every batch is then either all there or not there at all, and every batch it acknowledged is there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pool, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type ServerProcess, startServer } from './server-process.js';

const ADMIN = 'e2e-crash-admin-token-0123456789abcdef';
const BATCH = 5000;
const BATCHES = 24;
const T0 = 1_763_780_000_000_000_000n;
/** Batch k owns rtimes [T0 + k·SPAN, T0 + (k+1)·SPAN): counting a batch is one range query. */
const SPAN = 1_000_000_000_000n;

/** The few fields these calls read back. */
interface Answer {
  id: string;
  token: string;
  stored: number;
  duplicates: number;
  results: unknown[];
}

async function json(url: string, method: 'GET' | 'POST', token: string, body?: unknown): Promise<Answer> {
  const res = await request(url, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${text}`);
  return JSON.parse(text) as Answer;
}

function batch(k: number, destination: string): string {
  return JSON.stringify({
    results: Array.from({ length: BATCH }, (_, i) => ({
      destination,
      rtime: `${T0 + BigInt(k) * SPAN + BigInt(i) * 1000n}`,
      target: '198.18.0.1',
      protocol: 'icmp',
      address: '198.18.0.1',
      rtt: 100 + i / 1000,
      rtype: 0,
      rcode: 0,
      rid: 1,
      rseq: i,
      datamatch: true,
      status: 'reply',
      ttl: 64,
    })),
  });
}

describe('SIGKILL during ingest', () => {
  let dir: string | undefined;
  const servers: ServerProcess[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.stop('SIGKILL');
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('leaves each batch whole or absent, and every acknowledged batch whole', async () => {
    dir = mkdtempSync(join(tmpdir(), 'pinger-crash-'));
    const dbPath = join(dir, 'pinger.db');
    let server = await startServer({ dbPath, adminToken: ADMIN });
    servers.push(server);
    const source = await json(`${server.url}/v1/sources`, 'POST', ADMIN, { name: 'crash' });
    const destination = (
      await json(`${server.url}/v1/destinations`, 'POST', ADMIN, { address: '198.18.0.1' })
    ).id;
    const bodies = Array.from({ length: BATCHES }, (_, k) => batch(k, destination));

    // Three posters keep requests in flight; once a few batches are acknowledged the server is killed, so the
    // kill lands while other batches are being read, validated or committed.
    const acknowledged = new Set<number>();
    const pool = new Pool(server.url, { connections: 3 });
    let next = 0;
    let killed = false;
    const poster = async () => {
      while (next < BATCHES && !killed) {
        const k = next++;
        try {
          const res = await pool.request({
            path: '/v1/agent/results',
            method: 'POST',
            headers: { authorization: `Bearer ${source.token}`, 'content-type': 'application/json' },
            body: bodies[k],
          });
          const receipt = (await res.body.json()) as { stored: number };
          expect(res.statusCode).toBe(200);
          expect(receipt.stored).toBe(BATCH);
          acknowledged.add(k);
          if (acknowledged.size === 4 && !killed) {
            killed = true;
            server.child.kill('SIGKILL');
          }
        } catch (err) {
          // Only the requests the kill cut short may fail.
          if (!killed) throw err;
        }
      }
    };
    await Promise.all([poster(), poster(), poster()]);
    await pool.destroy();
    expect(killed).toBe(true);
    expect(await server.stop('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });

    server = await startServer({ dbPath, adminToken: ADMIN });
    servers.push(server);
    const counts: number[] = [];
    for (let k = 0; k < BATCHES; k++) {
      const from = T0 + BigInt(k) * SPAN;
      const page = await json(
        `${server.url}/v1/results?limit=10000&from=${from}&to=${from + SPAN - 1n}`,
        'GET',
        ADMIN,
      );
      counts.push(page.results.length);
    }
    for (const [k, count] of counts.entries()) {
      expect([0, BATCH], `batch ${k}`).toContain(count);
      if (acknowledged.has(k)) expect(count, `acknowledged batch ${k}`).toBe(BATCH);
    }
    // The kill came before the end: some batches were never stored.
    expect(counts.filter((c) => c === 0).length).toBeGreaterThan(0);
    // And the database is healthy: the remaining batches go in after the restart.
    const receipt = await json(
      `${server.url}/v1/agent/results`,
      'POST',
      source.token,
      JSON.parse(bodies[BATCHES - 1]!),
    );
    expect(receipt.stored + receipt.duplicates).toBe(BATCH);
  });
});
