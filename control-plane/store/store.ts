/**
 * The storage interface of the control plane. One factory per backend (`sqlite.ts`, `dynamodb.ts`); both pass
 * the shared contract suite in `test/store/contract.ts`. Inputs are already validated by the contract schemas;
 * the store enforces what only it can: uniqueness, existence, atomicity.
 *
 * Runtime-free on purpose: no `node:*`, no SDK import here.
 */
import type {
  CensusEvent,
  CensusHost,
  CensusHostHistory,
  CensusPass,
  CensusPassRecord,
  Destination,
  DestinationCreate,
  DestinationFields,
  DestinationQuery,
  ResultInput,
  ResultPage,
  Source,
  SourceCreate,
  SourcePatch,
  StatsResponse,
  SummaryRow,
} from '../../contract/index.js';

/** Kinds of bearer token. Agent tokens belong to one source. */
export type TokenKind = 'admin' | 'read' | 'agent';

export interface TokenRecord {
  /** SHA-256 of the token, lowercase hex. The token itself is never stored. */
  hash: string;
  kind: TokenKind;
  /** The source an agent token belongs to. */
  sourceId: string | null;
  name: string;
  createdAt: string;
}

/** What a source needs to stamp results: taken from the store at ingest, never from the agent's body. */
export interface ResultOwner {
  id: string;
  location: number;
  host: number;
}

export interface ResultFilter {
  destination?: string;
  source?: string;
  status?: string;
  /** Inclusive bounds, ns since the epoch. */
  from?: bigint;
  to?: bigint;
  limit: number;
  /** Opaque, from a previous page. */
  cursor?: string;
}

export interface StoreStats {
  sources: number;
  destinations: number;
}

/** Which (destination, source) pairs a stats read covers; every filter given must hold. */
export interface PairFilter {
  /** A destination id (the route checks it exists: unknown → 404 there, an empty answer here). */
  destination?: string;
  /** A source id. */
  source?: string;
  /** Destinations whose labels hold every one of these. */
  labels?: Record<string, string>;
}

/** A stats read: pairs, an inclusive range and a step. */
export interface StatsFilter extends PairFilter {
  /** Inclusive bounds, ns since the epoch. Points cover the whole step-aligned slots that touch [from, to]. */
  from: bigint;
  to: bigint;
  /**
   * Seconds, a whole number of minutes; when absent the store picks one with `chooseStep` (rollup/step.ts):
   * at most 1,000 points. A given step that gives more than 10,000 points throws `StepError` (path `step`).
   */
  step?: number;
}

/** A summary read: pairs, and the window of `window` seconds that ends with the minute holding `to`. */
export interface SummaryFilter extends PairFilter {
  /** ns since the epoch, normally now. */
  to: bigint;
  /** Seconds (300, 3,600 or 86,400 through the API); a whole number of minutes. */
  window: number;
  /** Worst first: highest loss, or highest p50 (pairs without a reply last); ties by destination, source. */
  sort: 'loss' | 'p50';
}

/** Everything a pair has ever counted: results stored since the store began, whatever retention removed. */
export interface PairTotal {
  destination: string;
  source: string;
  sent: number;
  /** Results with status `reply`. */
  received: number;
  /** Results with an RTT not timed by the kernel on both ends (Bucket.processTimed). */
  processTimed: number;
}

/** What one retention pass did. */
export interface PruneOutcome {
  /** Rows deleted, raw results and rollups together. */
  deleted: number;
  /** True when some kind had more expired rows than one pass takes: run another pass soon. */
  more: boolean;
}

/**
 * Statistics from the rollups the store writes with every result batch (counted once per stored result), and
 * retention of the raw results and of each tier. A backend without them yet has `stats: undefined`.
 */
export interface StatsStore {
  /**
   * One series per (source, destination) pair with results in range, ordered by destination then source;
   * points oldest first, read from the coarsest tier whose width divides the step, empty steps left out.
   */
  readStats(filter: StatsFilter): Promise<StatsResponse>;
  /** One row per pair with results in the window, sorted worst first (see {@link SummaryFilter.sort}). */
  summary(filter: SummaryFilter): Promise<SummaryRow[]>;
  /**
   * Running totals per pair, ordered by destination then source: never pruned, so they only grow (what
   * Prometheus counters need). One cheap read per pair, whatever the history.
   */
  totals(filter: PairFilter): Promise<PairTotal[]>;
  /**
   * Deletes a bounded batch of what is past retention (raw results and each tier) and reclaims some of the
   * space; short, so it never holds ingest up for long. Hosts call it on a timer, again soon while `more`.
   * DynamoDB deletes nothing here (`deleted` is 0: a TTL attribute per tier has DynamoDB delete for free, and
   * reads hide what has expired); its pass compacts the hour and day tiers instead, which must happen within
   * minute retention (dynamodb/rollups.ts).
   */
  prune(now: Date): Promise<PruneOutcome>;
}

/** Which hosts of a census to list: `new` is up and first seen in the latest pass. */
export type CensusHostState = 'up' | 'down' | 'new';

/**
 * Census passes, hosts and events (issue 11). A pass is identified by (source, destination, start); storing it
 * again stores nothing and changes no host. Hosts change as `applyPass` (control-plane/census/apply-pass.ts) says.
 */
export interface CensusStore {
  /**
   * Stores a pass record reported by `source` and applies its answers to the destination's hosts, `goneAfter`
   * being the destination's setting. `stored` is false when the pass was stored before. Throws
   * {@link NotFoundError} (`destination`) when the destination does not exist.
   */
  putPass(source: string, pass: CensusPass, goneAfter: number): Promise<{ stored: boolean }>;
  /** The hosts of a census, by address; all of them unless a state is given. */
  listHosts(destination: string, state?: CensusHostState): Promise<CensusHost[]>;
  /** The newest `limit` passes, newest first (start, then source, descending). */
  listPasses(destination: string, limit: number): Promise<CensusPassRecord[]>;
  /** The newest `limit` events, newest first (at, then address and kind, descending). */
  listEvents(destination: string, limit: number): Promise<CensusEvent[]>;
  /**
   * One host's record and its passes in range (control-plane/census/host-history.ts), from the per-host answers
   * written with each pass: kept as long as raw results, so `from` is raised to now − raw retention. Undefined
   * when the address is not a host of the census (it never answered).
   */
  hostHistory(
    destination: string,
    address: string,
    range: HostHistoryRange,
  ): Promise<CensusHostHistory | undefined>;
}

/** The range of a host's history: pass times, inclusive; `to` defaults to now, `from` to the oldest kept. */
export interface HostHistoryRange {
  from?: bigint;
  to?: bigint;
  /** The newest this many passes. */
  limit: number;
}

/** A change that may concern agents: the config version after it. */
export type ChangeListener = (version: number) => void;

export interface Store {
  /** Backend name for logs and errors (`sqlite`, `dynamodb`). */
  readonly kind: string;

  // Sources ------------------------------------------------------------------------------------------------
  /** Creates a source with its first agent token. Assigns the lowest free `sourceid` when none is given. */
  createSource(input: SourceCreate, tokenHash: string): Promise<Source>;
  getSource(id: string): Promise<Source | undefined>;
  listSources(): Promise<Source[]>;
  updateSource(id: string, patch: SourcePatch): Promise<Source | undefined>;
  /** Deletes the source and its tokens; its id is removed from every destination's `sources`. Results stay. */
  deleteSource(id: string): Promise<boolean>;
  /** Replaces every agent token of a source with one new token (rotation). */
  replaceSourceToken(id: string, tokenHash: string): Promise<boolean>;
  /**
   * Records that the source's agent was heard from, and the pps budget it reported (kept until it reports
   * another; a changed budget is written at once). Cheap; may be coalesced by the backend.
   */
  touchSource(id: string, at: Date, pps?: number): Promise<void>;

  // Destinations -------------------------------------------------------------------------------------------
  /** Throws {@link NotFoundError} naming the first unknown id in `sources`. */
  createDestination(input: DestinationCreate): Promise<Destination>;
  getDestination(id: string): Promise<Destination | undefined>;
  listDestinations(query?: DestinationQuery): Promise<Destination[]>;
  /** Replaces the fields of a destination (the route merges and re-validates the patch first). */
  replaceDestination(id: string, fields: DestinationFields): Promise<Destination | undefined>;
  deleteDestination(id: string): Promise<boolean>;

  // Agent config --------------------------------------------------------------------------------------------
  /** Monotonic counter bumped in the same commit as every change to sources or destinations. */
  configVersion(): Promise<number>;
  /**
   * Calls `listener` after each committed change, where the backend can tell (one process: yes; DynamoDB: no,
   * callers poll {@link configVersion}). Returns the unsubscribe function, or undefined when unsupported.
   */
  onChange?(listener: ChangeListener): () => void;

  // Tokens -------------------------------------------------------------------------------------------------
  createToken(record: Omit<TokenRecord, 'createdAt'>): Promise<TokenRecord>;
  findToken(hash: string): Promise<TokenRecord | undefined>;
  listTokens(kind?: TokenKind): Promise<TokenRecord[]>;
  deleteToken(hash: string): Promise<boolean>;

  // Results ------------------------------------------------------------------------------------------------
  /**
   * Stores a batch whole or not at all. A result whose identity (source, destination, rtime, rseq) is already
   * stored counts as a duplicate. Throws {@link NotFoundError} naming the first unknown destination, storing
   * nothing.
   */
  putResults(
    owner: ResultOwner,
    results: readonly ResultInput[],
  ): Promise<{ stored: number; duplicates: number }>;
  /** Newest first (rtime descending, then identity), with an opaque cursor for the next page. */
  listResults(filter: ResultFilter): Promise<ResultPage>;

  // Statistics ---------------------------------------------------------------------------------------------
  /**
   * The backend's statistics and retention: the capability flag of issue 10. Both backends have them; a new
   * backend may start with `undefined` (its runner then opts out of the stats cases of the contract suite).
   */
  readonly stats: StatsStore | undefined;

  // Census -------------------------------------------------------------------------------------------------
  readonly census: CensusStore;

  close(): Promise<void>;
}

/** Base of the store's named errors; `code` maps to the HTTP error body. */
export class StoreError extends Error {
  override name = 'StoreError';
  constructor(
    message: string,
    readonly code: 'not_found' | 'conflict' | 'bad_request' | 'unavailable',
    readonly path?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A referenced id does not exist (`path` names the field). */
export class NotFoundError extends StoreError {
  override name = 'NotFoundError';
  constructor(message: string, path?: string, options?: ErrorOptions) {
    super(message, 'not_found', path, options);
  }
}

/** A uniqueness rule would break (e.g. `sourceid` taken). */
export class ConflictError extends StoreError {
  override name = 'ConflictError';
  constructor(message: string, path?: string, options?: ErrorOptions) {
    super(message, 'conflict', path, options);
  }
}

/** The backend could not be reached or refused the work for now (throttling); the caller may retry. */
export class UnavailableError extends StoreError {
  override name = 'UnavailableError';
  constructor(message: string, options?: ErrorOptions) {
    super(message, 'unavailable', undefined, options);
  }
}

/** The record of a new source, before it is stored: no agent heard from yet. */
export function newSource(input: SourceCreate, sourceid: number, createdAt: Date): Source {
  return {
    id: newId('src'),
    name: input.name,
    location: input.location,
    host: input.host,
    sourceid,
    address: input.address,
    labels: input.labels,
    lastSeen: null,
    createdAt: createdAt.toISOString(),
  };
}

/** Makes a resource id: a prefix and 16 random base-32 characters (80 bits). Web Crypto, so runtime-free. */
export function newId(prefix: 'src' | 'dst'): string {
  const alphabet = '0123456789abcdefghjkmnpqrstvwxyz';
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let out = `${prefix}_`;
  for (const b of bytes) out += alphabet[b & 31];
  return out;
}
