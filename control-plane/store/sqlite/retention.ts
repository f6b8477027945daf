/**
 * Retention in SQLite: each pass deletes at most a fixed number of expired rows per kind (raw results, then
 * census hosts' answers, each tier), each kind in its own short transaction, then gives a few pages back to the file system
 * (auto_vacuum = INCREMENTAL; the file is converted once when opened, see sqlite.ts). Ingest waits at most one
 * such transaction, never a whole purge.
 */
import type Database from 'better-sqlite3';
import { type Retention, TIER_SECONDS, type Tier } from '../../../contract/index.js';
import type { PruneOutcome } from '../store.js';

/** Rows one pass deletes per kind at most: a few ms of work. */
export const PRUNE_BATCH_ROWS = 2_000;
/** Free pages one pass returns to the file system at most (4 KiB each: 4 MiB). */
export const VACUUM_PAGES = 1_024;

export interface Pruner {
  prune(now: Date): PruneOutcome;
}

/**
 * @param write runs a function in one immediate transaction (the store's writer, with its error mapping)
 */
export function pruner(
  db: Database.Database,
  retention: Retention,
  write: <T>(work: () => T) => T,
  batchRows = PRUNE_BATCH_ROWS,
  /** Called in a write transaction before raw rows older than `second` are deleted. */
  beforeRaw: (second: number) => void = () => {},
): Pruner {
  const raw = db.prepare(
    `DELETE FROM results WHERE (rtime, source, destination, rseq) IN
       (SELECT rtime, source, destination, rseq FROM results WHERE rtime < ? ORDER BY rtime LIMIT ?)`,
  );
  // A census host's answers go with the raw results they are (migration 10); led by the pass time.
  const hostPasses = db.prepare(
    `DELETE FROM census_host_passes WHERE (at, census, address) IN
       (SELECT at, census, address FROM census_host_passes WHERE at < ? ORDER BY at LIMIT ?)`,
  );
  const tiers = (Object.keys(TIER_SECONDS) as Tier[]).map((tier) => ({
    tier,
    // A slot goes once all of it is past the horizon.
    statement: db.prepare(
      `DELETE FROM rollup_${tier} WHERE (destination, source, t) IN
         (SELECT destination, source, t FROM rollup_${tier} WHERE t <= ? ORDER BY t LIMIT ?)`,
    ),
  }));

  const summaryTiers = Object.fromEntries(
    ['tenmin', 'sixhour'].map((tier) => [
      tier,
      db.prepare(
        `DELETE FROM rollup_${tier} WHERE (destination, source, t) IN
           (SELECT destination, source, t FROM rollup_${tier} WHERE t <= ? ORDER BY t LIMIT ?)`,
      ),
    ]),
  ) as Record<'tenmin' | 'sixhour', Database.Statement>;

  return {
    prune(now) {
      const nowSeconds = Math.floor(now.getTime() / 1000);
      let deleted = 0;
      let more = false;
      const run = (statement: Database.Statement, bound: number | bigint) => {
        const changes = write(() => statement.run(bound, batchRows).changes);
        deleted += changes;
        if (changes >= batchRows) more = true;
      };
      if (retention.raw !== null) {
        const horizon = nowSeconds - retention.raw;
        write(() => beforeRaw(horizon));
        run(raw, BigInt(horizon) * 1_000_000_000n);
        run(hostPasses, BigInt(horizon) * 1_000_000_000n);
      }
      for (const { tier, statement } of tiers) {
        const keep = retention[tier];
        if (keep !== null) run(statement, nowSeconds - keep - TIER_SECONDS[tier]);
      }
      // The summary's 10-minute and 6-hour tiers go with the minutes and hours they were made from.
      if (retention.minute !== null) run(summaryTiers.tenmin, nowSeconds - retention.minute - 600);
      if (retention.hour !== null) run(summaryTiers.sixhour, nowSeconds - retention.hour - 21_600);
      if (deleted > 0 || more) db.pragma(`incremental_vacuum(${VACUUM_PAGES})`);
      return { deleted, more };
    },
  };
}
