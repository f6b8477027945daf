/**
 * Results in SQLite: the hot path. A batch is checked and inserted inside the caller's transaction with
 * multi-row INSERT OR IGNORE statements (one native call per 64 rows instead of per row), and read back
 * newest first by keyset pagination on the primary key.
 */
import type Database from 'better-sqlite3';
import type { ResultInput, ResultPage } from '../../../contract/index.js';
import { NotFoundError, type ResultFilter, type ResultOwner } from '../store.js';
import {
  decodeCursor,
  encodeCursor,
  type ResultRow,
  TIMING_COLUMNS,
  timingColumns,
  toResult,
} from './rows.js';

const COLUMNS = `(rtime, source, destination, rseq, target, protocol, address, rtt, rtype, rcode, rid, datamatch, status, ttl, rsite, rhost, ${TIMING_COLUMNS.join(', ')})`;
const ROW = `(${Array(19).fill('?').join(', ')})`;
/** Rows per multi-row statement: 64 × 19 parameters, far below SQLite's limit of 32,766. */
const CHUNK = 64;

/** What a put stored, for the rollups: the source's key and the results actually inserted. */
export interface PutOutcome {
  stored: number;
  duplicates: number;
  source: number;
  /**
   * Results actually inserted (duplicates left out), when asked for; else empty. When none was a duplicate (the
   * usual batch) this is the batch itself, not a copy.
   */
  inserted: readonly ResultInput[];
  /** The numeric key of every destination id in the batch. */
  keys: ReadonlyMap<string, number>;
}

/**
 * What a put must say of the rows it inserted: nothing (no rollups); `batch`: all or none, else it throws
 * {@link MixedBatchError}; `rows`: each, by INSERT … RETURNING.
 */
export type Collect = 'none' | 'batch' | 'rows';

/**
 * Part of a batch was stored already (a retry of a batch that overlaps another, or a result repeated inside
 * it), asked with collect `batch`: the caller rolls the transaction back and puts the batch again with `rows`.
 */
export class MixedBatchError extends Error {
  override name = 'MixedBatchError';
}

export interface ResultsTable {
  /**
   * Must run inside a transaction: refuses the batch (NotFoundError) before writing if a destination is unknown.
   * Unless `collect` is `none`, also says which results were inserted, so that what a retry brings again is
   * never counted twice. `batch` is the fast way: a plain INSERT changed as many rows as the batch has (the
   * usual case: all new) or none (a retry of the whole batch: all old); anything in between throws, and the
   * caller starts over with `rows`, RETURNING each inserted row's identity. RETURNING is not the first try
   * because it costs more than the insert itself (2.2 against 3.4 ms of CPU per 1,000 rows, measured: SQLite
   * buffers the returned rows and the driver makes an object of each); a savepoint around the plain INSERT,
   * to redo only the batch, cost 0.6–0.8 ms per 1,000 rows (the pages it touches are copied to SQLite's
   * sub-journal), so the rare mixed batch redoes the whole transaction instead.
   */
  put(owner: ResultOwner, results: readonly ResultInput[], collect: Collect): PutOutcome;
  list(filter: ResultFilter): ResultPage;
}

/** The identity of an inserted row as RETURNING gives it. */
interface Identity {
  rtime: string;
  destination: number;
  rseq: number;
}

export function resultsTable(db: Database.Database): ResultsTable {
  const insertChunk = db.prepare(
    `INSERT OR IGNORE INTO results ${COLUMNS} VALUES ${Array(CHUNK).fill(ROW).join(', ')}`,
  );
  const insertOne = db.prepare(`INSERT OR IGNORE INTO results ${COLUMNS} VALUES ${ROW}`);
  // Only inserted rows come back from INSERT OR IGNORE … RETURNING; rtime as text matches the input's string.
  const RETURNING = 'RETURNING CAST(rtime AS TEXT) AS rtime, destination, rseq';
  const insertChunkReturning = db.prepare<unknown[], Identity>(
    `INSERT OR IGNORE INTO results ${COLUMNS} VALUES ${Array(CHUNK).fill(ROW).join(', ')} ${RETURNING}`,
  );
  const insertOneReturning = db.prepare<unknown[], Identity>(
    `INSERT OR IGNORE INTO results ${COLUMNS} VALUES ${ROW} ${RETURNING}`,
  );
  const keyOf = db.prepare<[string], { num: number }>('SELECT num FROM result_keys WHERE id = ?');
  const destinationKey = db.prepare<[string], { num: number }>(
    'SELECT k.num FROM destinations d JOIN result_keys k ON k.id = d.id WHERE d.id = ?',
  );
  const addKey = db.prepare('INSERT OR IGNORE INTO result_keys (id) VALUES (?)');

  /** The numeric key of an id, made if missing (a source created before keys existed, in principle). */
  function key(id: string): number {
    const found = keyOf.get(id);
    if (found) return found.num;
    addKey.run(id);
    return keyOf.get(id)!.num;
  }

  /** Inserts the batch with RETURNING: which of its results were new, each once. */
  function insertReturning(
    results: readonly ResultInput[],
    destinations: ReadonlyMap<string, number>,
    params: (from: number, to: number) => unknown[],
  ): { stored: number; inserted: ResultInput[] } {
    let stored = 0;
    const inserted: ResultInput[] = [];
    /** Adds the results of [from, to) that `rows` says were inserted. */
    const keep = (from: number, to: number, rows: Identity[]) => {
      stored += rows.length;
      if (rows.length === to - from) {
        for (let i = from; i < to; i++) inserted.push(results[i]!);
        return;
      }
      const fresh = new Set(rows.map((r) => `${r.rtime}/${r.destination}/${r.rseq}`));
      for (let i = from; i < to; i++) {
        const r = results[i]!;
        // Deleting the identity once seen keeps a repeat within the same statement from counting twice.
        if (fresh.delete(`${r.rtime}/${destinations.get(r.destination)}/${r.rseq}`)) inserted.push(r);
      }
    };
    let at = 0;
    for (; at + CHUNK <= results.length; at += CHUNK)
      keep(at, at + CHUNK, insertChunkReturning.all(params(at, at + CHUNK)));
    for (; at < results.length; at++) keep(at, at + 1, insertOneReturning.all(params(at, at + 1)));
    return { stored, inserted };
  }

  // The listing has 2^5 shapes (which filters are present); each is prepared once, on first use.
  const listStatements = new Map<string, Database.Statement>();
  function listStatement(where: string) {
    let statement = listStatements.get(where);
    if (!statement) {
      statement = db
        .prepare(
          `SELECT r.*, s.id AS source_id, d.id AS destination_id FROM results r
           JOIN result_keys s ON s.num = r.source JOIN result_keys d ON d.num = r.destination
           ${where ? `WHERE ${where}` : ''}
           ORDER BY r.rtime DESC, r.source DESC, r.destination DESC, r.rseq DESC LIMIT ?`,
        )
        .safeIntegers(true);
      listStatements.set(where, statement);
    }
    return statement;
  }

  return {
    put(owner, results, collect) {
      const destinations = new Map<string, number>();
      results.forEach((r, i) => {
        if (destinations.has(r.destination)) return;
        const found = destinationKey.get(r.destination);
        if (!found) {
          throw new NotFoundError(
            `[store:sqlite] destination ${r.destination} does not exist`,
            `results.${i}.destination`,
          );
        }
        destinations.set(r.destination, found.num);
      });
      const source = key(owner.id);
      const params = (from: number, to: number) => {
        const out: unknown[] = [];
        for (let i = from; i < to; i++) {
          const r = results[i]!;
          out.push(
            BigInt(r.rtime),
            source,
            destinations.get(r.destination),
            r.rseq,
            r.target,
            r.protocol,
            r.address,
            r.rtt,
            r.rtype,
            r.rcode,
            r.rid,
            r.datamatch === null ? null : r.datamatch ? 1 : 0,
            r.status,
            r.ttl,
            owner.location,
            owner.host,
            ...timingColumns(r.timing),
          );
        }
        return out;
      };
      /** Inserts every row; returns how many were new. */
      const insertAll = () => {
        let changes = 0;
        let at = 0;
        for (; at + CHUNK <= results.length; at += CHUNK)
          changes += insertChunk.run(params(at, at + CHUNK)).changes;
        for (; at < results.length; at++) changes += insertOne.run(params(at, at + 1)).changes;
        return changes;
      };
      const outcome = (stored: number, inserted: readonly ResultInput[]) => ({
        stored,
        duplicates: results.length - stored,
        source,
        inserted,
        keys: destinations,
      });
      if (collect === 'rows') {
        const { stored, inserted } = insertReturning(results, destinations, params);
        return outcome(stored, inserted);
      }
      const stored = insertAll();
      if (collect === 'none') return outcome(stored, []);
      if (stored === results.length) return outcome(stored, results);
      if (stored === 0) return outcome(0, []);
      throw new MixedBatchError(
        `[store:sqlite] ${stored} of the batch's ${results.length} results were new: put again row by row`,
      );
    },

    list(filter) {
      const where: string[] = [];
      const params: unknown[] = [];
      for (const [column, id] of [
        ['destination', filter.destination],
        ['source', filter.source],
      ] as const) {
        if (id === undefined) continue;
        const found = keyOf.get(id);
        if (!found) return { results: [], cursor: null };
        where.push(`r.${column} = ?`);
        params.push(found.num);
      }
      if (filter.status !== undefined) where.push('r.status = ?') && params.push(filter.status);
      if (filter.from !== undefined) where.push('r.rtime >= ?') && params.push(filter.from);
      if (filter.to !== undefined) where.push('r.rtime <= ?') && params.push(filter.to);
      if (filter.cursor !== undefined) {
        const after = decodeCursor(filter.cursor);
        where.push('(r.rtime, r.source, r.destination, r.rseq) < (?, ?, ?, ?)');
        params.push(after.rtime, after.source, after.destination, after.rseq);
      }
      // One row more than asked tells whether another page exists.
      const rows = listStatement(where.join(' AND ')).all(...params, filter.limit + 1) as ResultRow[];
      const more = rows.length > filter.limit;
      const page = more ? rows.slice(0, filter.limit) : rows;
      const last = page[page.length - 1];
      return { results: page.map(toResult), cursor: more && last ? encodeCursor(last) : null };
    },
  };
}
