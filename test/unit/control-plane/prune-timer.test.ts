/**
 * Retention on a Node host: `serve` with `retention` runs prune passes on its timer, in bounded passes close
 * together while a backlog remains, and stops them on close. A real server on a real SQLite file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRetention } from '../../../contract/index.js';
import { serve } from '../../../control-plane/node.js';
import { startPruneTimer } from '../../../control-plane/prune-timer.js';
import { createSqliteStore } from '../../../control-plane/store/sqlite/sqlite.js';
import { destinationInput, RTIME, resultInput, sourceInput } from '../../helpers/factories.js';
import { until } from '../../helpers/until.js';

const silent = pino({ level: 'silent' });
const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});
function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'pinger-prune-'));
  dirs.push(dir);
  return dir;
}

/** A store holding `n` results sent at RTIME (2025-11-22), long past a day's raw retention. */
async function seeded(path: string, n: number, pruneBatchRows?: number) {
  const store = createSqliteStore({ path, pruneBatchRows, retention: parseRetention('raw=1d') });
  const src = await store.createSource(sourceInput(), 'e'.repeat(64));
  const dst = await store.createDestination(destinationInput());
  await store.putResults(
    { id: src.id, location: 0, host: 0 },
    Array.from({ length: n }, (_, i) => resultInput(dst.id, { rtime: `${RTIME + BigInt(i) * 1_000_000n}` })),
  );
  return store;
}

describe('retention timer', () => {
  it('serve prunes what is past retention on its timer', async () => {
    const path = join(tempDir(), 'pinger.db');
    await (await seeded(path, 50)).close();
    const server = await serve({
      port: 0,
      dbPath: path,
      adminToken: 'a'.repeat(40),
      logger: silent,
      retention: parseRetention('raw=1d'),
      pruneIntervalMs: 20,
    });
    try {
      const res = () =>
        fetch(`${server.url}/v1/results?limit=100`, {
          headers: { authorization: `Bearer ${'a'.repeat(40)}` },
        });
      await until('the expired results to be pruned', async () => {
        const body = (await (await res()).json()) as { results: unknown[] };
        return body.results.length === 0;
      });
    } finally {
      await server.close();
    }
  });

  it('works a backlog off in bounded passes, one after another, until none is left', async () => {
    const store = await seeded(join(tempDir(), 'pinger.db'), 1_000, 100);
    const passes: number[] = [];
    const stats = store.stats!;
    const counting = {
      ...stats,
      prune: async (at: Date) => {
        const outcome = await stats.prune(at);
        passes.push(outcome.deleted);
        return outcome;
      },
    };
    const timer = startPruneTimer(counting, silent, 1);
    try {
      await until('the backlog to be worked off', () => passes.length > 0 && passes.at(-1)! < 100, 5_000);
    } finally {
      await timer.stop();
    }
    // At most 100 rows per kind and pass (raw results, then the minute, hour and day tiers).
    expect(passes.length).toBeGreaterThanOrEqual(10);
    expect(Math.max(...passes)).toBeLessThanOrEqual(400);
    expect(passes.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1_000);
    expect((await store.listResults({ limit: 10 })).results).toEqual([]);
    await store.close();
  });
});
