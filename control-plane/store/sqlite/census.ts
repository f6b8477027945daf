/**
 * Census passes, hosts and events in SQLite: a pass, its host changes and its events go in one transaction (the
 * store's `write`), so a pass is never half applied. The primary key of `census_passes` is the pass's identity:
 * a retried report finds its row and changes nothing. The slices of a split pass are rows of their own, merged
 * when listed (merge-passes.ts). Each answer of a pass is also a row of `census_host_passes` (migration 10), what a
 * host's history reads: one point lookup per pass in range.
 */
import type Database from 'better-sqlite3';
import type { CensusEvent, Retention } from '../../../contract/index.js';
import { type HostState, passEffect } from '../../census/apply-pass.js';
import { HistoryReader, historyRange, hostHistory, type PassReport } from '../../census/host-history.js';
import { filterHosts, toCensusHost } from '../../census/host-list.js';
import { mergePasses, type StoredPass } from '../../census/merge-passes.js';
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
  slot: bigint | null;
  slice_from: bigint | null;
  slice_to: bigint | null;
  slice_of: bigint | null;
  slice_members: string | null;
}

type ReportRow = Pick<
  PassRow,
  'source' | 'start' | 'prefix' | 'slot' | 'slice_from' | 'slice_to' | 'slice_of'
>;

const toPassReport = (r: ReportRow): PassReport => ({
  source: r.source,
  start: r.start,
  prefix: r.prefix,
  ...(r.slot !== null
    ? { slice: { slot: r.slot, from: Number(r.slice_from), to: Number(r.slice_to), of: Number(r.slice_of) } }
    : {}),
});

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

const toStoredPass = (r: PassRow): StoredPass => ({
  destination: r.destination,
  source: r.source,
  prefix: r.prefix,
  start: r.start,
  end: r.end,
  addresses: Number(r.addresses),
  probed: Number(r.probed),
  answered: Number(r.answered),
  retries: Number(r.retries),
  errors: Number(r.errors),
  skipped: Number(r.skipped),
  rate: Number(r.rate),
  ...(r.slot !== null
    ? {
        slice: {
          slot: r.slot,
          from: Number(r.slice_from),
          to: Number(r.slice_to),
          of: Number(r.slice_of),
          ...(r.slice_members !== null ? { members: JSON.parse(r.slice_members) as string[] } : {}),
        },
      }
    : {}),
});

/**
 * The census part of the SQLite store.
 *
 * @param write runs work in the store's write transaction
 * @param now the store's clock, and `retention.raw` how long answers are kept: a host's history reads no further
 * @param history false writes no answers (the benchmark's baseline)
 */
export function censusTables(
  db: Database.Database,
  write: <T>(work: () => T) => T,
  now: () => Date,
  retention: Retention,
  history = true,
): CensusStore {
  const sql = {
    censusNumber: db.prepare<[string], { num: number }>('SELECT num FROM result_keys WHERE id = ?'),
    insertAnswer: db.prepare(
      'INSERT OR IGNORE INTO census_host_passes (at, census, address, rtt) VALUES (?, ?, ?, ?)',
    ),
    answer: db
      .prepare<[bigint, number, string], { rtt: number | null }>(
        'SELECT rtt FROM census_host_passes WHERE at = ? AND census = ? AND address = ?',
      )
      .safeIntegers(false),
    host: db
      .prepare<[string, string], HostRow>('SELECT * FROM census_hosts WHERE destination = ? AND address = ?')
      .safeIntegers(true),
    // Pass reports newest first in range, by pass time (the slot of a split pass), read until past `limit`
    // times; only what tells which pass a report is part of and what it probed.
    passesInRange: db
      .prepare<[{ destination: string; from: bigint; to: bigint }], ReportRow>(`
        SELECT source, start, prefix, slot, slice_from, slice_to, slice_of FROM census_passes
        WHERE destination = @destination AND COALESCE(slot, start) BETWEEN @from AND @to
        ORDER BY COALESCE(slot, start) DESC`)
      .safeIntegers(true),
    destinationExists: db.prepare<[string], { one: number }>(
      'SELECT 1 AS one FROM destinations WHERE id = ?',
    ),
    insertPass: db.prepare(`
      INSERT OR IGNORE INTO census_passes
        (destination, source, start, end, prefix, addresses, probed, answered, retries, errors, skipped, rate,
         slot, slice_from, slice_to, slice_of, slice_members)
      VALUES (@destination, @source, @start, @end, @prefix, @addresses, @probed, @answered, @retries, @errors,
        @skipped, @rate, @slot, @sliceFrom, @sliceTo, @sliceOf, @sliceMembers)`),
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
    // The newest `limit` passes whole: every row (slice) of each, a pass named by its slot, or its start and
    // source when it has one source.
    passes: db
      .prepare<[{ destination: string; limit: number }], PassRow>(`
        SELECT p.* FROM census_passes p JOIN (
          SELECT DISTINCT COALESCE(slot, start) AS at, CASE WHEN slot IS NULL THEN source END AS only
          FROM census_passes WHERE destination = @destination ORDER BY at DESC, only DESC LIMIT @limit
        ) top ON COALESCE(p.slot, p.start) = top.at AND (top.only IS NULL OR p.source = top.only)
        WHERE p.destination = @destination`)
      .safeIntegers(true),
    latestPass: db
      .prepare<[string], { start: bigint | null }>(
        'SELECT MAX(COALESCE(slot, start)) AS start FROM census_passes WHERE destination = ?',
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
          slot: pass.slice ? BigInt(pass.slice.slot) : null,
          sliceFrom: pass.slice?.from ?? null,
          sliceTo: pass.slice?.to ?? null,
          sliceOf: pass.slice?.of ?? null,
          sliceMembers: pass.slice?.members ? JSON.stringify(pass.slice.members) : null,
        });
        if (inserted.changes === 0) return { stored: false };
        if (pass.answers === undefined) return { stored: true };
        const known = new Map(
          sql.hosts.all(pass.destination).map((r) => [r.address, toHostState(r)] as const),
        );
        const effect = passEffect(known, pass, goneAfter);
        for (const h of effect.hosts) sql.upsertHost.run({ destination: pass.destination, ...h });
        for (const e of effect.events) sql.insertEvent.run(pass.destination, BigInt(e.at), e.address, e.kind);
        // Every answer, also of a late pass whose hosts a newer one already moved on: history is what happened.
        const at = pass.slice ? BigInt(pass.slice.slot) : start;
        const num = sql.censusNumber.get(pass.destination)!.num;
        if (history) for (const [address, rtt] of pass.answers) sql.insertAnswer.run(at, num, address, rtt);
        return { stored: true };
      });
    },

    async listHosts(destination, state?: CensusHostState) {
      const rows = sql.hosts.all(destination).map(toHostState);
      const latest = sql.latestPass.get(destination)?.start ?? null;
      return filterHosts(rows, state, latest).map(toCensusHost);
    },

    async listPasses(destination, limit) {
      return mergePasses(sql.passes.all({ destination, limit }).map(toStoredPass));
    },

    async hostHistory(destination, address, query) {
      // One read transaction: one snapshot, and one WAL lock for the hundreds of lookups rather than one each
      // (outside a transaction each statement takes its own: ~30 µs a lookup, most of the read).
      return db.transaction(() => {
        const row = sql.host.get(destination, address);
        const num = sql.censusNumber.get(destination)?.num;
        if (!row || num === undefined) return undefined;
        const range = historyRange(query.from, query.to, now().getTime(), retention.raw);
        const reader = new HistoryReader(address, query.limit);
        if (range.from <= range.to) {
          for (const r of sql.passesInRange.iterate({ destination, ...range }))
            if (!reader.take(toPassReport(r))) break;
        }
        const answers = new Map<bigint, number | null>();
        for (const t of reader.times) {
          const answer = sql.answer.get(t, num, address);
          if (answer) answers.set(t, answer.rtt);
        }
        return hostHistory({
          host: toCensusHost(toHostState(row)),
          passes: reader.reports,
          answers,
          ...range,
          limit: query.limit,
        });
      })();
    },

    async listEvents(destination, limit) {
      return sql.events
        .all(destination, limit)
        .map((r): CensusEvent => ({ at: r.at.toString(), address: r.address, kind: r.kind }));
    },
  };
}
