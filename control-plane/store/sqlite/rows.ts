/**
 * Pure mappers between SQLite rows and domain objects, and the results cursor. Nothing else touches column
 * names, 0/1 booleans, JSON text columns or the cursor's shape.
 */
import type {
  Census,
  Destination,
  DestinationFields,
  Result,
  Source,
  Status,
  Timing,
} from '../../../contract/index.js';
import type { TokenKind, TokenRecord } from '../store.js';
import { StoreError } from '../store.js';

export interface SourceRow {
  id: string;
  name: string;
  location: number;
  host: number;
  sourceid: number;
  address: string | null;
  labels: string;
  last_seen: string | null;
  pps: number | null;
  created_at: string;
}

export function toSource(row: SourceRow): Source {
  return {
    id: row.id,
    name: row.name,
    location: row.location,
    host: row.host,
    sourceid: row.sourceid,
    address: row.address,
    labels: JSON.parse(row.labels) as Record<string, string>,
    lastSeen: row.last_seen,
    ...(row.pps !== null && row.pps !== undefined ? { pps: row.pps } : {}),
    createdAt: row.created_at,
  };
}

export interface DestinationRow {
  id: string;
  active: number;
  address: string;
  protocol: Destination['protocol'];
  port: number | null;
  interval: number;
  timeout: number;
  ttl: number;
  data: string;
  labels: string;
  /** JSON array of source ids, in the order given (aggregated from destination_sources). */
  sources: string;
  /** JSON of the census settings; NULL for a single host. */
  census: string | null;
  created_at: string;
  updated_at: string;
}

export function toDestination(row: DestinationRow): Destination {
  return {
    id: row.id,
    active: row.active === 1,
    address: row.address,
    protocol: row.protocol,
    port: row.port,
    interval: row.interval,
    timeout: row.timeout,
    ttl: row.ttl,
    data: row.data,
    sources: JSON.parse(row.sources) as string[],
    labels: JSON.parse(row.labels) as Record<string, string>,
    ...(row.census === null ? {} : { census: JSON.parse(row.census) as Census }),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** Named parameters of the destination columns. */
export function destinationParams(fields: DestinationFields) {
  return {
    active: fields.active ? 1 : 0,
    address: fields.address,
    protocol: fields.protocol,
    port: fields.port,
    interval: fields.interval,
    timeout: fields.timeout,
    ttl: fields.ttl,
    data: fields.data,
    labels: JSON.stringify(fields.labels),
    census: fields.census === undefined ? null : JSON.stringify(fields.census),
  };
}

export interface TokenRow {
  hash: string;
  kind: TokenKind;
  source_id: string | null;
  name: string;
  created_at: string;
}

export function toToken(row: TokenRow): TokenRecord {
  return {
    hash: row.hash,
    kind: row.kind,
    sourceId: row.source_id,
    name: row.name,
    createdAt: row.created_at,
  };
}

/** A results row joined with its keys' ids, read with safe integers: every INTEGER column is a bigint. */
export interface ResultRow {
  rtime: bigint;
  /** Numeric keys of source and destination (see `result_keys`); the ids are in source_id/destination_id. */
  source: bigint;
  destination: bigint;
  rseq: bigint;
  target: string;
  protocol: Result['protocol'];
  address: string | null;
  rtt: number | null;
  rtype: bigint | null;
  rcode: bigint | null;
  rid: bigint;
  datamatch: bigint | null;
  status: Status;
  ttl: bigint | null;
  rsite: bigint;
  rhost: bigint;
  /** 1 kernel, 0 process; all three NULL for a result without a timing mark (see migration 4). */
  timing_send: bigint | null;
  timing_receive: bigint | null;
  timing_lateness: bigint | null;
  source_id: string;
  destination_id: string;
}

const num = (x: bigint | null) => (x === null ? null : Number(x));
const source = (x: bigint | null) => (x === null ? null : x === 1n ? 'kernel' : 'process');

/** The timing columns of a result (see migration 4), in the order {@link TIMING_COLUMNS} names them. */
export function timingColumns(timing: Timing | undefined): [number | null, number | null, number | null] {
  if (timing === undefined) return [null, null, null];
  const bit = (s: 'kernel' | 'process' | null) => (s === null ? null : s === 'kernel' ? 1 : 0);
  return [bit(timing.send), bit(timing.receive), timing.lateness];
}

export const TIMING_COLUMNS = ['timing_send', 'timing_receive', 'timing_lateness'] as const;

function toTiming(row: ResultRow): Timing | undefined {
  if (row.timing_send === null) return undefined;
  return {
    send: source(row.timing_send)!,
    receive: source(row.timing_receive),
    lateness: Number(row.timing_lateness ?? 0n),
  };
}

export function toResult(row: ResultRow): Result {
  const timing = toTiming(row);
  const result: Result = {
    destination: row.destination_id,
    rtime: row.rtime.toString(),
    target: row.target,
    protocol: row.protocol,
    address: row.address,
    rtt: row.rtt,
    rtype: num(row.rtype),
    rcode: num(row.rcode),
    rid: Number(row.rid),
    rseq: Number(row.rseq),
    datamatch: row.datamatch === null ? null : row.datamatch === 1n,
    status: row.status,
    ttl: num(row.ttl),
    source: row.source_id,
    rsite: Number(row.rsite),
    rhost: Number(row.rhost),
  };
  if (timing !== undefined) result.timing = timing;
  return result;
}

/** Position after the last row of a page, in listing order: the primary key, descending. */
export interface ResultsCursor {
  rtime: bigint;
  source: bigint;
  destination: bigint;
  rseq: bigint;
}

/** Opaque to clients: base64url of a small JSON array of decimal strings. */
export function encodeCursor(c: ResultsCursor): string {
  const json = JSON.stringify([c.rtime, c.source, c.destination, c.rseq].map(String));
  return btoa(json).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

const notACursor = (cause?: unknown) =>
  new StoreError('[store:sqlite] is not a cursor this server issued', 'bad_request', 'cursor', { cause });

export function decodeCursor(cursor: string): ResultsCursor {
  let parts: unknown;
  try {
    parts = JSON.parse(atob(cursor.replace(/-/g, '+').replace(/_/g, '/')));
  } catch (err) {
    throw notACursor(err);
  }
  if (
    !Array.isArray(parts) ||
    parts.length !== 4 ||
    !parts.every((p) => typeof p === 'string' && /^-?\d{1,19}$/.test(p))
  ) {
    throw notACursor();
  }
  const values = (parts as string[]).map(BigInt);
  // 19 digits reach past SQLite's signed 64-bit INTEGER, which the driver would refuse when binding (a 500).
  if (!values.every((n) => n >= INT64_MIN && n <= INT64_MAX)) throw notACursor();
  const [rtime, source, destination, rseq] = values as [bigint, bigint, bigint, bigint];
  return { rtime, source, destination, rseq };
}
