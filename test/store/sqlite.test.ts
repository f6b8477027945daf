/** The store contract on a real SQLite file, plus what only the SQLite backend promises. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../control-plane/store/sqlite/migrations.js';
import { createSqliteStore, openDatabase } from '../../control-plane/store/sqlite/sqlite.js';
import { StoreError } from '../../control-plane/store/store.js';
import { destinationInput, resultInput, sourceInput } from '../helpers/factories.js';
import { testStore } from './contract.js';

const dirs: string[] = [];
function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'pinger-sqlite-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

testStore('sqlite', async () => {
  const dir = tempDir();
  const store = createSqliteStore({ path: join(dir, 'nested', 'pinger.db') });
  return { store, cleanup: () => store.close() };
});

describe('sqlite store', () => {
  it('creates the directory, uses WAL and records the schema version', async () => {
    const path = join(tempDir(), 'a', 'b', 'pinger.db');
    const store = createSqliteStore({ path });
    await store.close();
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    db.close();
  });

  it('syncs each commit to disk before answering (synchronous = FULL, 2), so a 200 survives a power cut', () => {
    const db = openDatabase(join(tempDir(), 'pinger.db'), 5000);
    try {
      expect(db.pragma('synchronous', { simple: true })).toBe(2);
    } finally {
      db.close();
    }
  });

  it('keeps data across reopening and does not migrate twice', async () => {
    const path = join(tempDir(), 'pinger.db');
    const first = createSqliteStore({ path });
    const src = await first.createSource(
      { name: 'a', location: 0, host: 0, address: null, labels: {} },
      'h'.repeat(64),
    );
    const version = await first.configVersion();
    await first.close();
    const second = createSqliteStore({ path });
    expect(await second.getSource(src.id)).toEqual(src);
    expect(await second.configVersion()).toBe(version);
    await second.close();
  });

  it('refuses a file from a newer schema instead of guessing', async () => {
    const path = join(tempDir(), 'pinger.db');
    const db = new Database(path);
    db.pragma(`user_version = ${MIGRATIONS.length + 1}`);
    db.close();
    expect(() => createSqliteStore({ path })).toThrow(/newer than this build knows/);
  });

  it('stores rtime as an INTEGER column', async () => {
    const path = join(tempDir(), 'pinger.db');
    const store = createSqliteStore({ path });
    const src = await store.createSource(sourceInput(), 'h'.repeat(64));
    const dst = await store.createDestination(destinationInput());
    await store.putResults({ id: src.id, location: 0, host: 0 }, [
      resultInput(dst.id, { rtime: '1763780000123456789' }),
    ]);
    await store.close();
    const db = new Database(path, { readonly: true });
    db.defaultSafeIntegers(true);
    expect(db.prepare('SELECT typeof(rtime) AS t, rtime FROM results').get()).toEqual({
      t: 'integer',
      rtime: 1763780000123456789n,
    });
    db.close();
  });

  it('refuses a cursor whose numbers do not fit a 64-bit integer with a bad_request naming cursor', async () => {
    const store = createSqliteStore({ path: join(tempDir(), 'pinger.db') });
    try {
      const cursor = (parts: string[]) => Buffer.from(JSON.stringify(parts)).toString('base64url');
      for (const big of ['9223372036854775808', '9999999999999999999', '-9223372036854775809']) {
        const err = await store.listResults({ limit: 5, cursor: cursor([big, '1', '1', '0']) }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err, big).toBeInstanceOf(StoreError);
        expect(err as StoreError, big).toMatchObject({ code: 'bad_request', path: 'cursor' });
      }
      // The largest that fits is a cursor like any other (past every result: an empty last page).
      const edge = await store.listResults({
        limit: 5,
        cursor: cursor(['-9223372036854775808', '1', '1', '0']),
      });
      expect(edge).toEqual({ results: [], cursor: null });
    } finally {
      await store.close();
    }
  });
});
