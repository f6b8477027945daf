/**
 * The embedded store: one SQLite file through better-sqlite3. WAL lets readers run beside the writer;
 * synchronous=FULL syncs each commit to disk before it returns, so a batch answered 200 (after which the
 * agent deletes its copy) survives a power cut too; a batch is one transaction, so that is one sync per batch.
 * Each write is one transaction that also bumps the config version where agents care, so a long-poll never
 * sees half a change. Results go in with INSERT OR IGNORE on their identity, one transaction per batch; their
 * rollups are counted in memory while their minute is open and written when it closes (open-minutes.ts), so a
 * file has one store instance writing it at a time.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import {
  DEFAULT_RETENTION,
  type Destination,
  type DestinationFields,
  type Retention,
} from '../../../contract/index.js';
import {
  type ChangeListener,
  ConflictError,
  NotFoundError,
  newId,
  newSource,
  type Store,
  StoreError,
  UnavailableError,
} from '../store.js';
import { censusTables } from './census.js';
import { MIGRATIONS } from './migrations.js';
import { MAX_ALIGNED_SLOTS, openMinutes, type PendingMinute } from './open-minutes.js';
import { type Collect, MixedBatchError, resultsTable } from './results.js';
import { pruner } from './retention.js';
import { rollingSummary } from './rolling-summary.js';
import { registerSketchMerge, tierWriter } from './rollups.js';
import {
  type DestinationRow,
  destinationParams,
  type SourceRow,
  type TokenRow,
  toDestination,
  toSource,
  toToken,
} from './rows.js';
import { statsReader } from './stats-read.js';

/** Where `pinger serve` keeps its data unless told otherwise (`--db`, `PINGER_DB`). */
export const DEFAULT_DB_PATH = './data/pinger.db';

export interface SqliteStoreOptions {
  /** File to open or create (its directory too); `:memory:` for a throwaway store. */
  path?: string;
  /** Milliseconds a writer waits for another connection's lock before giving up. */
  busyTimeoutMs?: number;
  /** Clock for createdAt/updatedAt, injectable for tests. */
  now?: () => Date;
  /** How long raw results and each rollup tier are kept; {@link DEFAULT_RETENTION} unless given. */
  retention?: Retention;
  /** Rows a prune pass deletes per kind at most (tests make it small to see several passes). */
  pruneBatchRows?: number;
  /**
   * False writes no rollups (and `stats` reads nothing new): only for the ingest benchmark's baseline, which
   * measures what rollups cost. Default true.
   */
  rollups?: boolean;
  /**
   * False keeps no per-host census history (census_host_passes): only for the census benchmark's baseline, which
   * measures what it adds to applying a pass. Default true.
   */
  censusHistory?: boolean;
  /**
   * False adds up the tiers over the window for every summary (the reference the rolling summary is tested
   * against, rolling-summary.ts). Default true.
   */
  rollingSummary?: boolean;
  /**
   * How many (pair, minute)s the open-minute cache may hold and still close minutes in whole 10-minute slots
   * (open-minutes.ts); {@link MAX_ALIGNED_SLOTS} unless given (tests make it small).
   */
  maxAlignedSlots?: number;
}

/** The SQLite error codes better-sqlite3 puts on `code`. */
function sqliteCode(err: unknown): string | undefined {
  return err instanceof Database.SqliteError ? err.code : undefined;
}

/** Opens (creating and migrating as needed) the SQLite store. */
export function createSqliteStore(options: SqliteStoreOptions = {}): Store {
  const path = options.path ?? DEFAULT_DB_PATH;
  const now = options.now ?? (() => new Date());
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });

  const db = openDatabase(path, options.busyTimeoutMs ?? 5000);
  const listeners = new Set<ChangeListener>();
  const resultRows = resultsTable(db);
  const pending = (): Iterable<PendingMinute> => rollups?.pending() ?? [];
  const rolling =
    options.rollups === false || options.rollingSummary === false
      ? undefined
      : rollingSummary(db, pending, options.retention ?? DEFAULT_RETENTION);
  const rollups =
    options.rollups === false
      ? undefined
      : openMinutes(db, tierWriter(db, rolling?.counted), options.maxAlignedSlots);
  rollups?.reload();
  const stats = statsReader(db, pending, rolling);
  const retention = pruner(
    db,
    options.retention ?? DEFAULT_RETENTION,
    (work) => write(work, false),
    options.pruneBatchRows,
    // The cache's minutes live in their raw rows until closed: close them before those rows may go.
    (second) => rollups?.flushBefore(second - (second % 60) + 60),
  );

  const census = censusTables(
    db,
    (work) => write(work, false),
    now,
    options.retention ?? DEFAULT_RETENTION,
    options.censusHistory ?? true,
  );

  const sql = {
    version: db.prepare<[], { value: number }>(`SELECT value FROM meta WHERE key = 'config_version'`),
    bump: db.prepare(`UPDATE meta SET value = value + 1 WHERE key = 'config_version'`),

    source: db.prepare<[string], SourceRow>('SELECT * FROM sources WHERE id = ?'),
    sources: db.prepare<[], SourceRow>('SELECT * FROM sources ORDER BY created_at, id'),
    sourceidTaken: db.prepare<[number, string], { id: string }>(
      'SELECT id FROM sources WHERE sourceid = ? AND id <> ?',
    ),
    // Lowest free sourceid: 0 if free, else the lowest n+1 not taken; NULL when all 65,536 are taken.
    freeSourceid: db.prepare<[], { free: number | null }>(`
      SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM sources WHERE sourceid = 0) THEN 0 ELSE (
        SELECT MIN(s.sourceid + 1) FROM sources s
        WHERE s.sourceid < 65535 AND NOT EXISTS (SELECT 1 FROM sources t WHERE t.sourceid = s.sourceid + 1)
      ) END AS free`),
    insertSource: db.prepare(`
      INSERT INTO sources (id, name, location, host, sourceid, address, labels, last_seen, created_at)
      VALUES (@id, @name, @location, @host, @sourceid, @address, @labels, NULL, @createdAt)`),
    updateSource: db.prepare(`
      UPDATE sources SET name = @name, location = @location, host = @host, sourceid = @sourceid,
        address = @address, labels = @labels WHERE id = @id`),
    deleteSource: db.prepare('DELETE FROM sources WHERE id = ?'),
    touchSource: db.prepare('UPDATE sources SET last_seen = ?, pps = COALESCE(?, pps) WHERE id = ?'),

    destination: db.prepare<[string], DestinationRow>(`${DESTINATION_SELECT} WHERE d.id = ?`),
    destinations: db.prepare<
      { active: number | null; protocol: string | null; source: string | null },
      DestinationRow
    >(`${DESTINATION_SELECT}
      WHERE (@active IS NULL OR d.active = @active)
        AND (@protocol IS NULL OR d.protocol = @protocol)
        AND (@source IS NULL
             OR NOT EXISTS (SELECT 1 FROM destination_sources x WHERE x.destination = d.id)
             OR EXISTS (SELECT 1 FROM destination_sources x WHERE x.destination = d.id AND x.source = @source))
      ORDER BY d.created_at, d.id`),
    insertDestination: db.prepare(`
      INSERT INTO destinations
        (id, active, address, protocol, port, interval, timeout, ttl, data, labels, census, created_at, updated_at)
      VALUES (@id, @active, @address, @protocol, @port, @interval, @timeout, @ttl, @data, @labels, @census, @at, @at)`),
    updateDestination: db.prepare(`
      UPDATE destinations SET active = @active, address = @address, protocol = @protocol, port = @port,
        interval = @interval, timeout = @timeout, ttl = @ttl, data = @data, labels = @labels, census = @census,
        updated_at = @at
      WHERE id = @id`),
    deleteDestination: db.prepare('DELETE FROM destinations WHERE id = ?'),
    clearDestinationSources: db.prepare('DELETE FROM destination_sources WHERE destination = ?'),
    insertDestinationSource: db.prepare(
      'INSERT INTO destination_sources (destination, source, position) VALUES (?, ?, ?)',
    ),
    destinationsNaming: db.prepare<[string], { destination: string }>(
      'SELECT destination FROM destination_sources WHERE source = ?',
    ),
    unlinkSource: db.prepare('DELETE FROM destination_sources WHERE source = ?'),
    // A destination whose last named source went away is switched off: an empty list would mean "everyone".
    deactivateOrphans: db.prepare(`
      UPDATE destinations SET active = 0, updated_at = @at
      WHERE id IN (SELECT value FROM json_each(@ids))
        AND NOT EXISTS (SELECT 1 FROM destination_sources x WHERE x.destination = destinations.id)`),
    sourceExists: db.prepare<[string], { one: number }>('SELECT 1 AS one FROM sources WHERE id = ?'),
    destinationExists: db.prepare<[string], { one: number }>(
      'SELECT 1 AS one FROM destinations WHERE id = ?',
    ),

    insertToken: db.prepare(
      'INSERT INTO tokens (hash, kind, source_id, name, created_at) VALUES (@hash, @kind, @sourceId, @name, @createdAt)',
    ),
    token: db.prepare<[string], TokenRow>('SELECT * FROM tokens WHERE hash = ?'),
    tokens: db.prepare<{ kind: string | null }, TokenRow>(
      'SELECT * FROM tokens WHERE @kind IS NULL OR kind = @kind ORDER BY created_at, hash',
    ),
    deleteToken: db.prepare('DELETE FROM tokens WHERE hash = ?'),
    addResultKey: db.prepare('INSERT OR IGNORE INTO result_keys (id) VALUES (?)'),
    deleteAgentTokens: db.prepare(`DELETE FROM tokens WHERE source_id = ? AND kind = 'agent'`),
  };

  /** Runs `work` in one immediate transaction; on success tells listeners if it bumped the version. */
  function write<T>(work: () => T, bumps: boolean): T {
    const run = db.transaction(() => {
      const out = work();
      if (bumps) sql.bump.run();
      return out;
    });
    let out: T;
    try {
      out = run.immediate();
    } catch (err) {
      throw translate(err);
    }
    if (bumps && listeners.size > 0) {
      const version = sql.version.get()!.value;
      for (const listener of [...listeners]) listener(version);
    }
    return out;
  }

  function read<T>(work: () => T): T {
    try {
      return work();
    } catch (err) {
      throw translate(err);
    }
  }

  function setDestinationSources(id: string, sources: readonly string[]) {
    sql.clearDestinationSources.run(id);
    sources.forEach((source, position) => {
      if (!sql.sourceExists.get(source)) {
        throw new NotFoundError(`[store:sqlite] source ${source} does not exist`, 'sources');
      }
      sql.insertDestinationSource.run(id, source, position);
    });
  }

  function assertSourceidFree(sourceid: number, id: string) {
    const holder = sql.sourceidTaken.get(sourceid, id);
    if (holder) {
      throw new ConflictError(
        `[store:sqlite] sourceid ${sourceid} is taken by source ${holder.id}`,
        'sourceid',
      );
    }
  }

  const store: Store = {
    kind: 'sqlite',

    async createSource(input, tokenHash) {
      return write(() => {
        let sourceid = input.sourceid;
        if (sourceid === undefined) {
          const free = sql.freeSourceid.get()!.free;
          if (free === null)
            throw new ConflictError('[store:sqlite] all 65,536 sourceids are taken', 'sourceid');
          sourceid = free;
        }
        const source = newSource(input, sourceid, now());
        assertSourceidFree(sourceid, source.id);
        sql.insertSource.run({ ...source, labels: JSON.stringify(source.labels) });
        sql.addResultKey.run(source.id);
        insertToken({ hash: tokenHash, kind: 'agent', sourceId: source.id, name: source.name });
        return source;
      }, true);
    },

    async getSource(id) {
      return read(() => {
        const row = sql.source.get(id);
        return row && toSource(row);
      });
    },

    async listSources() {
      return read(() => sql.sources.all().map(toSource));
    },

    async updateSource(id, patch) {
      return write(() => {
        const row = sql.source.get(id);
        if (!row) return undefined;
        const next = { ...toSource(row), ...patch };
        assertSourceidFree(next.sourceid, id);
        sql.updateSource.run({ ...next, labels: JSON.stringify(next.labels) });
        return next;
      }, true);
    },

    async deleteSource(id) {
      return write(() => {
        if (!sql.sourceExists.get(id)) return false;
        const named = sql.destinationsNaming.all(id).map((r) => r.destination);
        sql.unlinkSource.run(id);
        sql.deactivateOrphans.run({ ids: JSON.stringify(named), at: now().toISOString() });
        sql.deleteSource.run(id);
        return true;
      }, true);
    },

    async replaceSourceToken(id, tokenHash) {
      // Rotation changes no agent config: no version bump, no long-poll wakes.
      return write(() => {
        const row = sql.source.get(id);
        if (!row) return false;
        sql.deleteAgentTokens.run(id);
        insertToken({ hash: tokenHash, kind: 'agent', sourceId: id, name: row.name });
        return true;
      }, false);
    },

    async touchSource(id, at, pps) {
      read(() => sql.touchSource.run(at.toISOString(), pps ?? null, id));
    },

    async createDestination(input) {
      return write(() => {
        const at = now().toISOString();
        const id = newId('dst');
        sql.insertDestination.run({ id, at, ...destinationParams(input) });
        sql.addResultKey.run(id);
        setDestinationSources(id, input.sources);
        return toDestination(sql.destination.get(id)!);
      }, true);
    },

    async getDestination(id) {
      return read(() => {
        const row = sql.destination.get(id);
        return row && toDestination(row);
      });
    },

    async listDestinations(query = {}) {
      return read(() =>
        sql.destinations
          .all({
            active: query.active === undefined ? null : query.active ? 1 : 0,
            protocol: query.protocol ?? null,
            source: query.source ?? null,
          })
          .map(toDestination),
      );
    },

    async replaceDestination(id, fields: DestinationFields) {
      return write((): Destination | undefined => {
        const changed = sql.updateDestination.run({
          id,
          at: now().toISOString(),
          ...destinationParams(fields),
        });
        if (changed.changes === 0) return undefined;
        setDestinationSources(id, fields.sources);
        return toDestination(sql.destination.get(id)!);
      }, true);
    },

    async deleteDestination(id) {
      return write(() => sql.deleteDestination.run(id).changes > 0, true);
    },

    async configVersion() {
      return read(() => sql.version.get()!.value);
    },

    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    async createToken(record) {
      return write(() => insertToken(record), false);
    },

    async findToken(hash) {
      return read(() => {
        const row = sql.token.get(hash);
        return row && toToken(row);
      });
    },

    async listTokens(kind) {
      return read(() => sql.tokens.all({ kind: kind ?? null }).map(toToken));
    },

    async deleteToken(hash) {
      return write(() => sql.deleteToken.run(hash).changes > 0, false);
    },

    async putResults(owner, results) {
      const put = (collect: Collect) =>
        write(() => {
          const outcome = resultRows.put(owner, results, collect);
          rollups?.add(outcome);
          return { stored: outcome.stored, duplicates: outcome.duplicates };
        }, false);
      try {
        if (rollups === undefined) return put('none');
        try {
          return put('batch');
        } catch (err) {
          // Thrown before the cache was touched, and rolled back: nothing to rebuild.
          if (!(err instanceof MixedBatchError)) throw err;
          return put('rows');
        }
      } catch (err) {
        // The cache may hold what the rolled-back transaction added: rebuild it from what did commit.
        if (db.open) rollups?.reload();
        rolling?.reset();
        throw err;
      }
    },

    async listResults(filter) {
      return read(() => resultRows.list(filter));
    },

    stats: {
      async readStats(filter) {
        return read(() => stats.readStats(filter));
      },
      async summary(filter) {
        return read(() => stats.summary(filter));
      },
      async totals(filter) {
        return read(() => stats.totals(filter));
      },
      async prune(at) {
        try {
          read(() => rolling?.pruning(at));
          return read(() => retention.prune(at));
        } catch (err) {
          if (db.open) rollups?.reload();
          rolling?.reset();
          throw err;
        }
      },
    },

    census,

    async close() {
      listeners.clear();
      if (db.open) db.close();
    },
  };

  function insertToken(record: Parameters<Store['createToken']>[0]) {
    const full = { ...record, createdAt: now().toISOString() };
    try {
      sql.insertToken.run(full);
    } catch (err) {
      if (sqliteCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
        throw new ConflictError('[store:sqlite] a token with this hash exists', 'hash', { cause: err });
      }
      throw err;
    }
    return full;
  }

  return store;
}

const DESTINATION_SELECT = `
  SELECT d.*, (
    SELECT json_group_array(x.source ORDER BY x.position) FROM destination_sources x WHERE x.destination = d.id
  ) AS sources
  FROM destinations d`;

/**
 * Opens the file with the settings the store relies on and brings its schema up to date. Exported for tests,
 * which check those settings on the connection (most are per connection, not kept in the file).
 */
export function openDatabase(path: string, busyTimeoutMs: number): Database.Database {
  let db: Database.Database | undefined;
  try {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    // FULL: a commit is on disk before the agent hears 200 and deletes its spooled batch (NORMAL in WAL mode
    // may lose the last commits to a power cut). One fsync of the WAL per batch, not per result.
    db.pragma('synchronous = FULL');
    db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    db.pragma('foreign_keys = ON');
    // A bigger page cache keeps the result indexes' hot pages in memory during ingest (64 MiB).
    db.pragma('cache_size = -65536');
    enableIncrementalVacuum(db);
    // Migration 3 builds a tier with it.
    registerSketchMerge(db);
    migrate(db);
    return db;
  } catch (err) {
    db?.close();
    if (err instanceof StoreError) throw err;
    throw new UnavailableError(`[store:sqlite] cannot open ${path}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Retention frees pages that only auto_vacuum = INCREMENTAL lets the store give back a few at a time. The mode
 * is a property of the file that SQLite changes only before the first table or by a VACUUM: a file made before
 * issue 10 is rebuilt once here (a full copy: it takes a while on a large file, and only once — the file then
 * reads back 2). Not a migration: VACUUM cannot run inside the migrations' transaction.
 */
function enableIncrementalVacuum(db: Database.Database) {
  if (db.pragma('auto_vacuum', { simple: true }) === 2) return;
  db.pragma('auto_vacuum = INCREMENTAL');
  if (db.pragma('auto_vacuum', { simple: true }) !== 2) db.exec('VACUUM');
}

/** Applies the migrations this file has not seen yet, all in one transaction. */
function migrate(db: Database.Database) {
  const applied = db.pragma('user_version', { simple: true }) as number;
  if (applied > MIGRATIONS.length) {
    throw new StoreError(
      `[store:sqlite] the file is at schema version ${applied}, newer than this build knows (${MIGRATIONS.length}): upgrade pinger`,
      'unavailable',
    );
  }
  if (applied === MIGRATIONS.length) return;
  db.transaction(() => {
    for (let i = applied; i < MIGRATIONS.length; i++) db.exec(MIGRATIONS[i]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  }).immediate();
}

/** A busy database becomes retryable; anything else passes through (a bug or a broken file: a 500). */
function translate(err: unknown): unknown {
  const code = sqliteCode(err);
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new UnavailableError('[store:sqlite] the database is busy', { cause: err });
  }
  return err;
}
