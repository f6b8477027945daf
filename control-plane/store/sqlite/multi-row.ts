/**
 * One INSERT of many rows instead of a statement per row: for the rollup flush, which writes a few dozen to a
 * few thousand rows per table at once. Each native call costs a few µs whatever it carries, and the rows'
 * work inside SQLite is the same either way (an upsert's ON CONFLICT applies row by row, in order).
 *
 * Statements are prepared per row count on first use; counts are powers of two up to {@link MAX_ROWS}, so a
 * table needs at most eight of them whatever the batch.
 */
import type Database from 'better-sqlite3';

/** Rows per statement at most: 64 × 23 parameters, far below SQLite's limit of 32,766. */
const MAX_ROWS = 64;

/**
 * Runs `INSERT INTO … (columns) VALUES (row), (row), … {tail}` over `rows`, each an array of `width`
 * parameters. `head` is everything before VALUES; `tail` may be an ON CONFLICT clause or empty.
 */
export function multiRowInsert(
  db: Database.Database,
  head: string,
  width: number,
  tail = '',
): (rows: readonly unknown[][]) => void {
  const statements = new Map<number, Database.Statement>();
  const row = `(${Array(width).fill('?').join(', ')})`;
  const statement = (count: number) => {
    let s = statements.get(count);
    if (!s) {
      s = db.prepare(`${head} VALUES ${Array(count).fill(row).join(', ')} ${tail}`);
      statements.set(count, s);
    }
    return s;
  };
  return (rows) => {
    let at = 0;
    while (at < rows.length) {
      let count = MAX_ROWS;
      while (count > rows.length - at) count >>= 1;
      const params: unknown[] = [];
      for (let i = at; i < at + count; i++) for (const p of rows[i]!) params.push(p);
      statement(count).run(params);
      at += count;
    }
  };
}
