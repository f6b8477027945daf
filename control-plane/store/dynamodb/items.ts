/**
 * Pure mappers between DynamoDB items and domain objects, the key layout, and the results cursor. Nothing else
 * builds a `pk`/`sk` or reads an item's attributes, so key names never leak into domain objects.
 *
 * Runtime-free: no SDK import (items are the plain objects lib-dynamodb marshals).
 */
import type {
  Census,
  Destination,
  DestinationFields,
  Result,
  ResultInput,
  Source,
  Timing,
} from '../../../contract/index.js';
import { type ResultOwner, StoreError, type TokenKind, type TokenRecord } from '../store.js';
import { TIME_SHARDS } from './schema.js';

export type Item = Record<string, unknown>;
export interface Key {
  pk: string;
  sk: string;
}

/** Partition of each kind of config item; one partition per kind keeps listing a single Query. */
export const PART = {
  meta: 'META',
  source: 'SRC',
  sourceid: 'SID',
  destination: 'DST',
  token: 'TOK',
} as const;

export const META_KEY: Key = { pk: PART.meta, sk: 'CONFIG' };

export const sourceKey = (id: string): Key => ({ pk: PART.source, sk: id });
export const destinationKey = (id: string): Key => ({ pk: PART.destination, sk: id });
export const tokenKey = (hash: string): Key => ({ pk: PART.token, sk: hash });
/** The guard item that makes a sourceid unique: its key is the sourceid, zero-padded so keys sort numerically. */
export const sourceidKey = (sourceid: number): Key => ({
  pk: PART.sourceid,
  sk: String(sourceid).padStart(5, '0'),
});

/** Whether an item read back is live (config deletes leave a tombstone; see dynamodb-log.ts). */
export const isLive = (item: Item | undefined): item is Item => item !== undefined && item.gone !== true;

/** `SET` assignments for every attribute of `fields`, through placeholders (many names are reserved words). */
export function setClause(fields: Item): {
  assignments: string[];
  names: Record<string, string>;
  values: Item;
} {
  const names: Record<string, string> = {};
  const values: Item = {};
  const assignments = Object.entries(fields).map(([name, value], i) => {
    names[`#a${i}`] = name;
    values[`:a${i}`] = value;
    return `#a${i} = :a${i}`;
  });
  return { assignments, names, values };
}

// Sources ----------------------------------------------------------------------------------------------------

/** The fields a source item carries besides its key. `lastSeen` and `pps` are left out: only `touchSource` writes them. */
export function sourceFields(s: Omit<Source, 'lastSeen' | 'pps'>): Item {
  return {
    id: s.id,
    name: s.name,
    location: s.location,
    host: s.host,
    sourceid: s.sourceid,
    address: s.address,
    labels: s.labels,
    createdAt: s.createdAt,
  };
}

export function toSource(item: Item): Source {
  return {
    id: item.id as string,
    name: item.name as string,
    location: item.location as number,
    host: item.host as number,
    sourceid: item.sourceid as number,
    address: (item.address as string | null | undefined) ?? null,
    labels: (item.labels as Record<string, string> | undefined) ?? {},
    lastSeen: (item.lastSeen as string | null | undefined) ?? null,
    ...(typeof item.pps === 'number' ? { pps: item.pps } : {}),
    createdAt: item.createdAt as string,
  };
}

// Destinations -----------------------------------------------------------------------------------------------

/** The config log only SETs attributes: a census removed from a destination is written as null, not left out. */
export function destinationFields(d: Destination): Item {
  return { ...d, census: d.census ?? null };
}

export function toDestination(item: Item): Destination {
  return {
    id: item.id as string,
    active: item.active as boolean,
    address: item.address as string,
    protocol: item.protocol as Destination['protocol'],
    port: (item.port as number | null | undefined) ?? null,
    interval: item.interval as number,
    timeout: item.timeout as number,
    ttl: item.ttl as number,
    data: (item.data as string | undefined) ?? '',
    sources: (item.sources as string[] | undefined) ?? [],
    labels: (item.labels as Record<string, string> | undefined) ?? {},
    ...(item.census ? { census: item.census as Census } : {}),
    createdAt: item.createdAt as string,
    updatedAt: item.updatedAt as string,
  };
}

/** A destination built from its fields, with exactly the domain's keys (no stray input keys stored). */
export function makeDestination(
  id: string,
  f: DestinationFields,
  createdAt: string,
  updatedAt: string,
): Destination {
  return {
    id,
    active: f.active,
    address: f.address,
    protocol: f.protocol,
    port: f.port,
    interval: f.interval,
    timeout: f.timeout,
    ttl: f.ttl,
    data: f.data,
    sources: [...f.sources],
    labels: { ...f.labels },
    ...(f.census ? { census: { ...f.census } } : {}),
    createdAt,
    updatedAt,
  };
}

// Tokens -----------------------------------------------------------------------------------------------------

export function tokenFields(t: TokenRecord): Item {
  return { hash: t.hash, kind: t.kind, sourceId: t.sourceId, name: t.name, createdAt: t.createdAt };
}

export function toToken(item: Item): TokenRecord {
  return {
    hash: item.hash as string,
    kind: item.kind as TokenKind,
    sourceId: (item.sourceId as string | null | undefined) ?? null,
    name: item.name as string,
    createdAt: item.createdAt as string,
  };
}

// Results ----------------------------------------------------------------------------------------------------

/** rtime is below 2^63, so 19 digits suffice; 20 keeps the key sortable for any 64-bit value. */
const RTIME_DIGITS = 20;

/**
 * The results' sort key, shared by the table and both indexes: `<rtime>#<source>#<destination>#<rseq>` with
 * rtime and rseq zero-padded. Descending string order is the listing order (rtime, source, destination, rseq
 * all descending), a total order, so a page boundary is just the last key returned.
 */
export function resultSortKey(rtime: string, source: string, destination: string, rseq: number): string {
  return `${rtime.padStart(RTIME_DIGITS, '0')}#${source}#${destination}#${String(rseq).padStart(5, '0')}`;
}

/** Lowest sort key at or after `rtime` (the key condition's lower bound). */
export const sortKeyFrom = (rtime: bigint): string => `${rtime.toString().padStart(RTIME_DIGITS, '0')}#`;
/** Highest sort key at `rtime` (`~` sorts after every id character). */
export const sortKeyTo = (rtime: bigint): string => `${rtime.toString().padStart(RTIME_DIGITS, '0')}#~`;

export const resultPartition = (destination: string): string => `R#${destination}`;
export const sourcePartition = (source: string): string => `S#${source}`;
export const timePartition = (shard: number): string => `T#${shard}`;

/** The identity of a result as one string (source, destination, rtime, rseq), for de-duplication in memory. */
export const identityOf = (source: string, r: Pick<ResultInput, 'destination' | 'rtime' | 'rseq'>): string =>
  resultSortKey(r.rtime, source, r.destination, r.rseq);

/** The item of a result: its identity is its key, so writing it again overwrites it with itself. */
export function resultItem(owner: ResultOwner, r: ResultInput, expireAt: number): Item {
  const item: Item = {
    pk: resultPartition(r.destination),
    sk: resultSortKey(r.rtime, owner.id, r.destination, r.rseq),
    spk: sourcePartition(owner.id),
    // rseq increments per probe, so consecutive results of one destination land on different shards.
    tpk: timePartition(r.rseq % TIME_SHARDS),
    expireAt,
    destination: r.destination,
    source: owner.id,
    rtime: r.rtime,
    target: r.target,
    protocol: r.protocol,
    address: r.address,
    rtt: r.rtt,
    rtype: r.rtype,
    rcode: r.rcode,
    rid: r.rid,
    rseq: r.rseq,
    datamatch: r.datamatch,
    status: r.status,
    ttl: r.ttl,
    rsite: owner.location,
    rhost: owner.host,
  };
  // A map, only when the agent sent one: results of older agents have no timing mark.
  if (r.timing !== undefined) item.timing = { ...r.timing };
  return item;
}

export function toResult(item: Item): Result {
  const result: Result = {
    destination: item.destination as string,
    source: item.source as string,
    rtime: item.rtime as string,
    target: item.target as string,
    protocol: item.protocol as Result['protocol'],
    address: (item.address as string | null | undefined) ?? null,
    rtt: (item.rtt as number | null | undefined) ?? null,
    rtype: (item.rtype as number | null | undefined) ?? null,
    rcode: (item.rcode as number | null | undefined) ?? null,
    rid: item.rid as number,
    rseq: item.rseq as number,
    datamatch: (item.datamatch as boolean | null | undefined) ?? null,
    status: item.status as Result['status'],
    ttl: (item.ttl as number | null | undefined) ?? null,
    rsite: item.rsite as number,
    rhost: item.rhost as number,
  };
  const timing = item.timing as Timing | undefined;
  if (timing !== undefined && timing !== null) {
    result.timing = { send: timing.send, receive: timing.receive ?? null, lateness: timing.lateness };
  }
  return result;
}

// Cursor -----------------------------------------------------------------------------------------------------

const SORT_KEY = /^\d{20}#[A-Za-z0-9_-]{1,64}#[A-Za-z0-9_-]{1,64}#\d{5}$/;

/** The cursor is the last sort key returned, base64url-wrapped so clients treat it as opaque. */
export function encodeCursor(sk: string): string {
  return btoa(JSON.stringify({ k: sk }))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replaceAll('=', '');
}

export function decodeCursor(cursor: string): string {
  try {
    const parsed = JSON.parse(atob(cursor.replaceAll('-', '+').replaceAll('_', '/'))) as { k?: unknown };
    if (typeof parsed.k === 'string' && SORT_KEY.test(parsed.k)) return parsed.k;
  } catch {
    // Falls through to the one error below: a cursor either came from us or it is not a cursor.
  }
  throw new StoreError('[store:dynamodb] is not a cursor this server issued', 'bad_request', 'cursor');
}
