/**
 * Census passes, hosts and events in SQLite: a pass, its host changes and its events go in one transaction (the
 * store's `write`), so a pass is never half applied. The primary key of `census_passes` is the pass's identity:
 * a retried report finds its row and changes nothing.
 */
import type Database from 'better-sqlite3';
import type { CensusEvent, CensusPassRecord } from '../../../contract/index.js';
import { applyPass, type HostState } from '../../census/apply-pass.js';
import { filterHosts, toCensusHost } from '../../census/host-list.js';
import { type CensusHostState, type CensusStore, NotFoundError } from '../store.js';

interface PassRow {
  destination: string;
  source: string;
  start: bigint;
  end: bigint;
  prefix: string;
  addresses: bigint;
  probed: bigint;
  answered: bigint;
  retries: bigint;
  errors: bigint;
  skipped: bigint;
  rate: bigint;
}

interface HostRow {
  address: string;
  state: 'up' | 'down';
  first_seen: bigint;
  last_seen: bigint;
  last_rtt: number | null;
  passes_answered: bigint;
  missed: bigint;
  last_pass: bigint;
}

const toHostState = (r: HostRow): HostState => ({
  address: r.address,
  state: r.state,
  firstSeen: r.first_seen,
  lastSeen: r.last_seen,
  lastRtt: r.last_rtt,
  passesAnswered: Number(r.passes_answered),
  missed: Number(r.missed),
  lastPass: r.last_pass,
});

const toPassRecord = (r: PassRow): CensusPassRecord => ({
  destination: r.destination,
  source: r.source,
  prefix: r.prefix,
  start: r.start.toString(),
  end: r.end.toString(),
  durationMs: Number(r.end - r.start) / 1e6,
  addresses: Number(r.addresses),
  probed: Number(r.probed),
  answered: Number(r.answered),
  retries: Number(r.retries),
  errors: Number(r.errors),
  skipped: Number(r.skipped),
  rate: Number(r.rate),
});

/**
 * The census part of the SQLite store.
 *
 * @param write runs work in the store's write transaction
 */
export function censusTables(db: Database.Database, write: <T>(work: () => T) => T): CensusStore {
  const sql = {
    destinationExists: db.prepare<[string], { one: number }>(
      'SELECT 1 AS one FROM destinations WHERE id = ?',
    ),
    insertPass: db.prepare(`
      INSERT OR IGNORE INTO census_passes
        (destination, source, start, end, prefix, addresses, probed, answered, retries, errors, skipped, rate)
      VALUES (@destination, @source, @start, @end, @prefix, @addresses, @probed, @answered, @retries, @errors,
        @skipped, @rate)`),
    hosts: db
      .prepare<[string], HostRow>('SELECT * FROM census_hosts WHERE destination = ?')
      .safeIntegers(true),
    upsertHost: db.prepare(`
      INSERT INTO census_hosts
        (destination, address, state, first_seen, last_seen, last_rtt, passes_answered, missed, last_pass)
      VALUES (@destination, @address, @state, @firstSeen, @lastSeen, @lastRtt, @passesAnswered, @missed, @lastPass)
      ON CONFLICT (destination, address) DO UPDATE SET state = excluded.state, first_seen = excluded.first_seen,
        last_seen = excluded.last_seen, last_rtt = excluded.last_rtt, passes_answered = excluded.passes_answered,
        missed = excluded.missed, last_pass = excluded.last_pass`),
    insertEvent: db.prepare(
      'INSERT OR IGNORE INTO census_events (destination, at, address, kind) VALUES (?, ?, ?, ?)',
    ),
    passes: db
      .prepare<[string, number], PassRow>(
        'SELECT * FROM census_passes WHERE destination = ? ORDER BY start DESC, source DESC LIMIT ?',
      )
      .safeIntegers(true),
    latestPass: db
      .prepare<[string], { start: bigint | null }>(
        'SELECT MAX(start) AS start FROM census_passes WHERE destination = ?',
      )
      .safeIntegers(true),
    events: db
      .prepare<[string, number], { at: bigint; address: string; kind: 'appeared' | 'gone' }>(
        'SELECT at, address, kind FROM census_events WHERE destination = ? ORDER BY at DESC, address DESC, kind DESC LIMIT ?',
      )
      .safeIntegers(true),
  };

  return {
    async putPass(source, pass, goneAfter) {
      return write(() => {
        if (!sql.destinationExists.get(pass.destination)) {
          throw new NotFoundError(
            `[store:sqlite] destination ${pass.destination} does not exist`,
            'destination',
          );
        }
        const start = BigInt(pass.start);
        const inserted = sql.insertPass.run({
          destination: pass.destination,
          source,
          start,
          end: BigInt(pass.end),
          prefix: pass.prefix,
          addresses: pass.addresses,
          probed: pass.probed,
          answered: pass.answered,
          retries: pass.retries,
          errors: pass.errors,
          skipped: pass.skipped,
          rate: pass.rate,
        });
        if (inserted.changes === 0) return { stored: false };
        if (pass.answers === undefined) return { stored: true };
        const known = new Map(
          sql.hosts.all(pass.destination).map((r) => [r.address, toHostState(r)] as const),
        );
        const effect = applyPass(known, start, pass.answers, goneAfter);
        for (const h of effect.hosts) sql.upsertHost.run({ destination: pass.destination, ...h });
        for (const e of effect.events) sql.insertEvent.run(pass.destination, BigInt(e.at), e.address, e.kind);
        return { stored: true };
      });
    },

    async listHosts(destination, state?: CensusHostState) {
      const rows = sql.hosts.all(destination).map(toHostState);
      const latest = sql.latestPass.get(destination)?.start ?? null;
      return filterHosts(rows, state, latest).map(toCensusHost);
    },

    async listPasses(destination, limit) {
      return sql.passes.all(destination, limit).map(toPassRecord);
    },

    async listEvents(destination, limit) {
      return sql.events
        .all(destination, limit)
        .map((r): CensusEvent => ({ at: r.at.toString(), address: r.address, kind: r.kind }));
    },
  };
}
