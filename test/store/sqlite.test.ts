/** The store contract on a real SQLite file, plus what only the SQLite backend promises. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRetention } from '../../contract/index.js';
import { MIGRATIONS } from '../../control-plane/store/sqlite/migrations.js';
import { createSqliteStore, openDatabase } from '../../control-plane/store/sqlite/sqlite.js';
import { StoreError } from '../../control-plane/store/store.js';
import { destinationInput, RTIME, resultInput, sourceInput } from '../helpers/factories.js';
import { oracle } from '../helpers/stats-oracle.js';
import { testStore } from './contract.js';

/** Takes a file back before migration 7: drops its process_timed column from these rollup tables. */
function undoMigration7(db: Database.Database, tables: readonly string[]) {
  for (const table of tables) db.exec(`ALTER TABLE rollup_${table} DROP COLUMN process_timed`);
}

/** Takes a file back before migration 9 (split members): drops its index and column. */
function undoMigration9(db: Database.Database) {
  db.exec('DROP INDEX census_passes_by_time; ALTER TABLE census_passes DROP COLUMN slice_members;');
}

/** Takes a file back before migration 8 (split censuses): drops the columns it adds (and migration 9's). */
function undoMigration8(db: Database.Database) {
  undoMigration9(db);
  db.exec(`ALTER TABLE sources DROP COLUMN pps; ALTER TABLE census_passes DROP COLUMN slot;
    ALTER TABLE census_passes DROP COLUMN slice_from; ALTER TABLE census_passes DROP COLUMN slice_to;
    ALTER TABLE census_passes DROP COLUMN slice_of;`);
}

/** Takes a file back before migration 10 (census host history): drops its table. */
function undoMigration10(db: Database.Database) {
  db.exec('DROP TABLE census_host_passes');
}

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
  let now = new Date();
  const store = createSqliteStore({ path: join(dir, 'nested', 'pinger.db'), now: () => now });
  return {
    store,
    cleanup: () => store.close(),
    setNow: (at) => {
      now = at;
    },
  };
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

  it('keeps the split passes of a file of schema 8 (before migration 9): their members are their reporters', async () => {
    const path = join(tempDir(), 'pinger.db');
    const store = createSqliteStore({ path });
    const src = await store.createSource(sourceInput(), 'h'.repeat(64));
    const dst = await store.createDestination(
      destinationInput({
        address: '198.18.0.0/24',
        census: { rate: 1000, retries: 0, split: true, goneAfter: 2 },
      }),
    );
    await store.close();
    const db = new Database(path);
    undoMigration10(db);
    undoMigration9(db);
    db.pragma('user_version = 8');
    db.prepare(
      `INSERT INTO census_passes (destination, source, start, end, prefix, addresses, probed, answered, retries,
         errors, skipped, rate, slot, slice_from, slice_to, slice_of)
       VALUES (?, ?, 1763780000000000000, 1763780001000000000, '198.18.0.0/24', 127, 127, 0, 0, 0, 0, 1000,
         1763780000000000000, 0, 127, 254)`,
    ).run(dst.id, src.id);
    db.close();
    const migrated = createSqliteStore({ path });
    try {
      expect(await migrated.census.listPasses(dst.id, 10)).toMatchObject([
        { sources: [src.id], members: [src.id], missing: [], covered: 127, complete: false },
      ]);
    } finally {
      await migrated.close();
    }
  });

  describe('rollups and retention', () => {
    /** A store on a fresh file with one source and destination, and `n` results 1 ms apart from RTIME. */
    async function filled(path: string, n: number, options: Parameters<typeof createSqliteStore>[0] = {}) {
      const store = createSqliteStore({ path, ...options });
      const src = await store.createSource(sourceInput(), 'h'.repeat(64));
      const dst = await store.createDestination(destinationInput());
      for (let i = 0; i < n; i += 5000) {
        await store.putResults(
          { id: src.id, location: 0, host: 0 },
          Array.from({ length: Math.min(5000, n - i) }, (_, j) =>
            resultInput(dst.id, { rtime: `${RTIME + BigInt(i + j) * 1_000_000n}`, rseq: (i + j) % 65_536 }),
          ),
        );
      }
      return { store, src, dst };
    }

    it('writes no rollup for a batch it refuses: results and rollups commit together or not at all', async () => {
      const path = join(tempDir(), 'pinger.db');
      const { store, src, dst } = await filled(path, 0);
      const err = await store
        .putResults({ id: src.id, location: 0, host: 0 }, [
          resultInput(dst.id),
          resultInput('dst_gone', { rseq: 1 }),
        ])
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      await store.close();
      const db = new Database(path, { readonly: true });
      for (const table of ['results', 'rollup_minute', 'rollup_hour', 'rollup_day']) {
        expect(db.prepare(`SELECT count(*) AS n FROM ${table}`).get(), table).toEqual({ n: 0 });
      }
      db.close();
    });

    it('keeps what --retention says, and gives the pruned pages back to the file system', async () => {
      const path = join(tempDir(), 'pinger.db');
      const { store } = await filled(path, 40_000, { retention: parseRetention('raw=1d,minute=forever') });
      const pages = () => {
        const db = new Database(path, { readonly: true });
        const out = db.pragma('page_count', { simple: true }) as number;
        db.close();
        return out;
      };
      const before = pages();
      const now = new Date(Number(RTIME / 1_000_000n) + 2 * 86_400_000);
      let passes = 0;
      while ((await store.stats!.prune(now)).more && passes < 100) passes++;
      expect(passes).toBeGreaterThan(5);
      expect((await store.listResults({ limit: 10 })).results).toEqual([]);
      // minute=forever: the minute tier still counts every result.
      const from = RTIME - 60_000_000_000n;
      const got = await store.stats!.readStats({ from, to: RTIME + 60_000_000_000n, step: 300 });
      expect(got.series[0]!.points.reduce((n, p) => n + p.sent, 0)).toBe(40_000);
      await store.close();
      expect(pages()).toBeLessThan(before / 2);
    });

    it('deletes census hosts’ answers past raw retention, a batch per pass, and keeps the rest', async () => {
      const path = join(tempDir(), 'pinger.db');
      const store = createSqliteStore({ path, pruneBatchRows: 50 });
      const src = await store.createSource(sourceInput(), 'h'.repeat(64));
      const dst = await store.createDestination(destinationInput({ address: '198.18.0.0/24' }));
      const answers = Array.from({ length: 120 }, (_, i): [string, number] => [`198.18.0.${i + 1}`, i]);
      const day = 86_400_000_000_000n;
      for (const [i, start] of [RTIME, RTIME + day].entries()) {
        await store.census.putPass(
          src.id,
          {
            destination: dst.id,
            prefix: '198.18.0.0/24',
            start: start.toString(),
            end: (start + 1n).toString(),
            addresses: 254,
            probed: 254,
            answered: 120,
            retries: 0,
            errors: 0,
            skipped: i,
            rate: 1000,
            answers,
          },
          2,
        );
      }
      const rows = () => {
        const db = new Database(path, { readonly: true });
        const out = db
          .prepare('SELECT at, count(*) AS n FROM census_host_passes GROUP BY at')
          .safeIntegers(true)
          .all();
        db.close();
        return out;
      };
      expect(rows()).toEqual([
        { at: RTIME, n: 120n },
        { at: RTIME + day, n: 120n },
      ]);
      // 14 days and an hour after the first pass: its 120 answers go, 50 a pass.
      const now = new Date(Number(RTIME / 1_000_000n) + 14 * 86_400_000 + 3_600_000);
      let prunes = 0;
      for (let more = true; more && prunes < 10; prunes++) more = (await store.stats!.prune(now)).more;
      expect(prunes).toBe(3);
      expect(rows()).toEqual([{ at: RTIME + day, n: 120n }]);
      await store.close();
    });

    it('builds the watermark and the 10-minute and 6-hour tiers from a file of schema 5 (before migration 6), equal to what ingest writes', async () => {
      const path = join(tempDir(), 'pinger.db');
      // 30 minutes of results, then one a day later: every minute of the first half hour closes.
      const { store, src, dst } = await filled(path, 0);
      const owner = { id: src.id, location: 0, host: 0 };
      const spread = (n: number, from: bigint, every: bigint) =>
        Array.from({ length: n }, (_, i) =>
          resultInput(dst.id, {
            rtime: `${from + BigInt(i) * every}`,
            rseq: i,
            rtt: 200 + ((i * 7919) % 500),
            status: i % 11 === 0 ? 'timeout' : 'reply',
          }),
        );
      await store.putResults(owner, spread(1_800, RTIME, 1_000_000_000n));
      await store.putResults(owner, spread(1, RTIME + 86_400_000_000_000n, 1n));
      await store.close();
      const tier = (db: Database.Database, name: string) =>
        db
          .prepare(`SELECT * FROM rollup_${name} ORDER BY t`)
          .all()
          .map((row) =>
            Object.fromEntries(
              Object.entries(row as object).map(([k, v]) => [
                k,
                typeof v === 'number' ? Number(v.toPrecision(12)) : v,
              ]),
            ),
          );
      const db = new Database(path);
      const written = tier(db, 'tenmin');
      expect(written.length).toBe(4);
      expect(written.reduce((n, r) => n + (r.sent as number), 0)).toBe(1_800);
      const sixhours = tier(db, 'sixhour');
      expect(sixhours.map((r) => r.sent)).toEqual([1_800]);
      const watermark = db.prepare('SELECT * FROM rollup_watermark').all();
      db.exec('DROP TABLE rollup_tenmin; DROP TABLE rollup_sixhour; DROP TABLE rollup_watermark');
      // Back to schema 5 whole: migrations 7 and 8 add columns, which must not be there when they run again.
      undoMigration7(db, ['minute', 'hour', 'day', 'total']);
      undoMigration10(db);
      undoMigration8(db);
      db.pragma('user_version = 5');
      db.close();
      // Opening migrates: the tier is made from the minute rows, the watermark from the newest raw result.
      await createSqliteStore({ path }).close();
      const again = new Database(path, { readonly: true });
      // A file of schema 5 has no process-timed count to build from (migration 7 starts it at 0: next test).
      const withoutCount = (rows: Record<string, unknown>[]) => rows.map(({ process_timed, ...row }) => row);
      expect(withoutCount(tier(again, 'tenmin'))).toEqual(withoutCount(written));
      expect(withoutCount(tier(again, 'sixhour'))).toEqual(withoutCount(sixhours));
      expect(again.prepare('SELECT * FROM rollup_watermark').all()).toEqual(
        watermark.map((w) => ({
          ...(w as object),
          minute: Number((RTIME + 86_400_000_000_000n) / 60_000_000_000n) * 60,
        })),
      );
      again.close();
    });

    it('adds the process-timed count to a file of schema 6: 0 in the rows there, counted from then on', async () => {
      const path = join(tempDir(), 'pinger.db');
      const { store, src, dst } = await filled(path, 0);
      const owner = { id: src.id, location: 0, host: 0 };
      // 10 minutes of unmarked answers (all process-timed), then one a day later: the 10 minutes close.
      const unmarked = (n: number, from: bigint) =>
        Array.from({ length: n }, (_, i) =>
          resultInput(dst.id, { rtime: `${from + BigInt(i) * 1_000_000_000n}`, rseq: i % 65_536 }),
        );
      await store.putResults(owner, unmarked(600, RTIME));
      await store.putResults(owner, unmarked(1, RTIME + 86_400_000_000_000n));
      await store.close();
      const db = new Database(path);
      const tiers = ['minute', 'tenmin', 'hour', 'sixhour', 'day', 'total'];
      undoMigration7(db, tiers);
      undoMigration10(db);
      undoMigration8(db);
      db.pragma('user_version = 6');
      db.close();

      const migrated = createSqliteStore({ path });
      const count = (tier: string) => {
        const file = new Database(path, { readonly: true });
        try {
          return file.prepare(`SELECT sum(process_timed) AS n FROM rollup_${tier}`).get() as { n: number };
        } finally {
          file.close();
        }
      };
      for (const tier of tiers) expect(count(tier).n, tier).toBe(0);
      // From here on each result is counted: a process-timed send counts, a kernel-timed one does not; the
      // open minute a day later was rebuilt from its raw row at open, so it counts too.
      const later = RTIME + 86_400_000_000_000n + 1_000_000_000n;
      await migrated.putResults(owner, [
        resultInput(dst.id, {
          rtime: `${later}`,
          rseq: 1,
          timing: { send: 'process', receive: 'kernel', lateness: 0 },
        }),
        resultInput(dst.id, {
          rtime: `${later + 1_000_000_000n}`,
          rseq: 2,
          timing: { send: 'kernel', receive: 'kernel', lateness: 0 },
        }),
      ]);
      const totals = await migrated.stats!.totals({});
      expect(totals.map((t) => [t.sent, t.processTimed])).toEqual([[603, 2]]);
      await migrated.close();
    });

    it('sums a 24 h summary from 6-hour, hour, 10-minute and minute rows and the open minutes, for any end', async () => {
      const path = join(tempDir(), 'pinger.db');
      const { store, src, dst } = await filled(path, 0);
      const day0 = (RTIME / 86_400_000_000_000n) * 86_400_000_000_000n;
      // 30 hours, one result every 97 s from a UTC midnight, RTTs that wander, a timeout now and then.
      const results = Array.from({ length: 1_114 }, (_, i) =>
        resultInput(dst.id, {
          rtime: `${day0 + BigInt(i) * 97_000_000_000n}`,
          rseq: i,
          rtt: 100 + ((i * 7919) % 900),
          status: i % 17 === 0 ? 'timeout' : 'reply',
        }),
      );
      await store.putResults({ id: src.id, location: 0, host: 0 }, results);
      for (const endSeconds of [
        24 * 3_600,
        25 * 3_600 + 37 * 60,
        29 * 3_600 + 59 * 60,
        28 * 3_600 + 10 * 60,
      ]) {
        const to = day0 + BigInt(endSeconds) * 1_000_000_000n - 1n;
        const [row] = await store.stats!.summary({ to, window: 86_400, sort: 'loss' });
        // The window: the 24 h that end with the minute holding `to`.
        const end = to + 1n;
        const inWindow = results.filter(
          (r) => BigInt(r.rtime) >= end - 86_400_000_000_000n && BigInt(r.rtime) < end,
        );
        const want = oracle(inWindow);
        expect([row!.sent, row!.received, row!.min, row!.max, row!.p50], `end ${endSeconds}`).toEqual([
          want.sent,
          want.received,
          want.min,
          want.max,
          row!.p50,
        ]);
        expect(Math.abs(row!.p50! - want.p50!) / want.p50!).toBeLessThanOrEqual(0.01);
        expect(Math.abs(row!.mean! - want.mean!) / want.mean!).toBeLessThan(1e-9);
      }
      await store.close();
    });

    it('closes minutes in whole 10-minute slots, minute by minute past the cache cap, with the same figures', async () => {
      const day0 = (RTIME / 86_400_000_000_000n) * 86_400_000_000_000n;
      const watermarks: number[] = [];
      const answers: unknown[] = [];
      for (const maxAlignedSlots of [undefined, 5]) {
        const path = join(tempDir(), 'pinger.db');
        const { store, src, dst } = await filled(path, 0, { maxAlignedSlots });
        const others = [
          await store.createDestination(destinationInput({ address: '198.18.0.2' })),
          await store.createDestination(destinationInput({ address: '198.18.0.3' })),
        ];
        // 25 minutes from a UTC midnight, each destination probed every 10 s, a batch per 30 s.
        for (let s = 0; s < 1_500; s += 30) {
          await store.putResults(
            { id: src.id, location: 0, host: 0 },
            [0, 10, 20].flatMap((k) =>
              [dst, ...others].map((d, j) =>
                resultInput(d.id, {
                  rtime: `${day0 + BigInt(s + k) * 1_000_000_000n + BigInt(j) * 1_000n}`,
                  rseq: s + k,
                  rtt: 100 + (((s + k) * 7919 + j * 31) % 900),
                  status: (s + k) % 170 === 0 ? 'timeout' : 'reply',
                }),
              ),
            ),
          );
        }
        // Ids are random: the series are named by the destination's place instead.
        const names = [dst, ...others].map((d) => d.id);
        const read = async (step: number) =>
          (await store.stats!.readStats({ from: day0, to: day0 + 3_600_000_000_000n - 1n, step })).series
            .map((x) => ({ ...x, source: 'a', destination: names.indexOf(x.destination) }))
            .sort((a, b) => a.destination - b.destination);
        answers.push([await read(60), await read(600), await read(3_600)]);
        await store.close();
        const db = new Database(path, { readonly: true });
        const { minute } = db.prepare('SELECT minute FROM rollup_watermark').get() as { minute: number };
        watermarks.push(minute - Number(day0 / 1_000_000_000n));
        // The tiers hold exactly the raw results up to the watermark, every tier.
        const raw = db
          .prepare('SELECT count(*) AS n FROM results WHERE rtime < ?')
          .get((BigInt(minute) + 60n) * 1_000_000_000n) as { n: number };
        for (const tier of ['minute', 'tenmin', 'hour', 'sixhour', 'day'])
          expect(db.prepare(`SELECT sum(sent) AS n FROM rollup_${tier}`).get(), tier).toEqual(raw);
        db.close();
      }
      // Newest minute 24:00, 2 minutes of grace: 22:00 may close. Whole slots: up to 19:00, the last minute
      // of the slot 10:00–19:59. Past the cap (3 pairs × 3 open minutes > 5): up to 22:00 itself.
      expect(watermarks).toEqual([19 * 60, 22 * 60]);
      expect(answers[1]).toEqual(answers[0]);
    });

    it('turns on incremental vacuum in a file made before it, once, keeping the data', async () => {
      const path = join(tempDir(), 'pinger.db');
      const old = new Database(path);
      old.exec(MIGRATIONS[0]!);
      old.pragma('user_version = 1');
      old.prepare(`INSERT INTO result_keys (id) VALUES ('dst_x')`).run();
      expect(old.pragma('auto_vacuum', { simple: true })).toBe(0);
      old.close();
      const store = createSqliteStore({ path });
      await store.close();
      const db = new Database(path, { readonly: true });
      expect(db.pragma('auto_vacuum', { simple: true })).toBe(2);
      expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
      expect(db.prepare('SELECT id FROM result_keys').all()).toEqual([{ id: 'dst_x' }]);
      db.close();
    });
  });
});
