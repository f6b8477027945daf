/**
 * What the control plane keeps of a census and answers with: the hosts it found (`GET /v1/census/:destination/hosts`),
 * the passes reported (`…/passes`) and the hosts' comings and goings (`…/events`). Times are ns since the epoch as
 * decimal strings, like a result's rtime; a host is "seen" at the start of the pass it answered in.
 */
import * as v from 'valibot';
import { IdSchema, intRange, limitParam, NanosSchema } from './common.js';
import { TimeBoundSchema } from './result.js';

const count = intRange(0, Number.MAX_SAFE_INTEGER);

/** The states a host can be asked for: `new` is up and first seen in the latest pass. */
export const CENSUS_HOST_STATES = ['up', 'down', 'new'] as const;

/** A host of a census: an address that answered at least once. */
export const CensusHostSchema = v.object({
  address: v.string(),
  /** up: answered in the last pass that covered it; down: missed at least that one. */
  state: v.picklist(['up', 'down']),
  /** Start of the first pass it answered in. */
  firstSeen: NanosSchema,
  /** Start of the last pass it answered in. */
  lastSeen: NanosSchema,
  /** RTT of its answer in that pass, µs (null when the agent did not say). */
  lastRtt: v.nullable(v.number()),
  /** Passes it answered in. */
  passesAnswered: count,
  /** Passes it missed in a row since it last answered. */
  missed: count,
});
export type CensusHost = v.InferOutput<typeof CensusHostSchema>;

/** Body of `GET /v1/census/:destination/hosts`, ordered by address. */
export const CensusHostListSchema = v.object({ hosts: v.array(CensusHostSchema) });

/** Query of `GET /v1/census/:destination/hosts`. */
export const CensusHostQuerySchema = v.strictObject({
  state: v.optional(v.picklist(CENSUS_HOST_STATES, 'must be one of up, down, new')),
});
export type CensusHostQuery = v.InferOutput<typeof CensusHostQuerySchema>;

/** One source's slice of a split pass, as it reported it. */
export const CensusPassSliceRecordSchema = v.object({
  source: IdSchema,
  /** Address indexes `from` ≤ i < `to` of the census (see contract `CensusSliceSchema`). */
  from: count,
  to: count,
  start: NanosSchema,
  end: NanosSchema,
  probed: count,
  answered: count,
  /** Probes that could not be sent: all of them (`errors` = `probed` > 0) is a slice that probed nothing. */
  errors: count,
});
export type CensusPassSliceRecord = v.InferOutput<typeof CensusPassSliceRecordSchema>;

/**
 * A pass as stored: the agent's record less its answer list, with its source(s) and a duration. A pass of a split
 * census is the slices its sources reported for one slot, merged: figures are summed over them, `start` is the
 * earliest and `end` the latest of theirs, `addresses` counts the whole census and `covered` the addresses of the
 * slices reported. It is `complete` once the slices cover every address; the slice of a source that went silent
 * is missing from its pass, counted as not probed (not as unanswered: its hosts are left as they were).
 */
export const CensusPassRecordSchema = v.object({
  destination: IdSchema,
  /** The source of a single-source pass; of a split pass, the first of {@link sources}. */
  source: IdSchema,
  /** Every source that reported a part of the pass, by id. */
  sources: v.array(IdSchema),
  prefix: v.string(),
  /** The wall-clock slot a split pass was scheduled for (its identity across sources); null for one source's. */
  slot: v.nullable(NanosSchema),
  start: NanosSchema,
  end: NanosSchema,
  /** end − start, milliseconds. */
  durationMs: v.number(),
  addresses: count,
  /** Addresses in the slices reported (all of them for a single-source pass). */
  covered: count,
  /** Every address was in a reported slice. */
  complete: v.boolean(),
  probed: count,
  answered: count,
  retries: count,
  errors: count,
  skipped: count,
  /** Probes a second the pass was paced at: the sum of its sources' rates. */
  rate: count,
  /** A split pass's slices, by `from`; absent for a single-source pass. */
  slices: v.optional(v.array(CensusPassSliceRecordSchema)),
  /**
   * A split pass: the sources it was cut for, by id — the `members` its slices name, with every source that
   * reported one (agents before `members` name none). Absent for a single-source pass.
   */
  members: v.optional(v.array(IdSchema)),
  /** A split pass: the {@link members} that reported no slice of it (yet). Absent for a single-source pass. */
  missing: v.optional(v.array(IdSchema)),
});
export type CensusPassRecord = v.InferOutput<typeof CensusPassRecordSchema>;

/** Body of `GET /v1/census/:destination/passes`, newest first. */
export const CensusPassListSchema = v.object({ passes: v.array(CensusPassRecordSchema) });

/** A host appeared (answered for the first time, or again after it was gone) or went (missed `goneAfter` passes). */
export const CensusEventSchema = v.object({
  /** Start of the pass that showed it. */
  at: NanosSchema,
  address: v.string(),
  kind: v.picklist(['appeared', 'gone']),
});
export type CensusEvent = v.InferOutput<typeof CensusEventSchema>;

/** Body of `GET /v1/census/:destination/events`, newest first. */
export const CensusEventListSchema = v.object({ events: v.array(CensusEventSchema) });

/** Query of the passes and events listings: the newest `limit` (default 100, at most 1,000). */
export const CensusListQuerySchema = v.strictObject({
  limit: v.optional(limitParam(1000), '100'),
});

/** Receipt of `POST /v1/agent/census/passes`: whether this report stored the pass or it was already stored. */
export const CensusPassReceiptSchema = v.object({ stored: v.boolean(), duplicate: v.boolean() });

/** Passes a host's history lists at most: the newest in range are kept. */
export const HOST_HISTORY_LIMITS = { default: 1000, max: 10_000 } as const;

/**
 * Query of `GET /v1/census/:destination/hosts/:address`: the passes with their time in [`from`, `to`] (ns or ISO
 * 8601, inclusive; `to` defaults to now, `from` to the oldest pass whose answers are still kept), the newest
 * `limit` of them.
 */
export const CensusHostHistoryQuerySchema = v.pipe(
  v.strictObject({
    from: v.optional(TimeBoundSchema),
    to: v.optional(TimeBoundSchema),
    limit: v.optional(limitParam(HOST_HISTORY_LIMITS.max), String(HOST_HISTORY_LIMITS.default)),
  }),
  v.forward(
    v.partialCheck(
      [['from'], ['to']],
      (q) => q.from === undefined || q.to === undefined || BigInt(q.from) <= BigInt(q.to),
      'must not be after to',
    ),
    ['from'],
  ),
);
export type CensusHostHistoryQuery = v.InferOutput<typeof CensusHostHistoryQuerySchema>;

/** One pass that probed the host: whether it answered, and its RTT then (µs; null when the agent did not say). */
export const CensusHostPassSchema = v.object({
  /** The pass's time: its start, or the slot of a split pass (what `firstSeen` and `lastSeen` count in). */
  at: NanosSchema,
  answered: v.boolean(),
  rtt: v.nullable(v.number()),
});
export type CensusHostPass = v.InferOutput<typeof CensusHostPassSchema>;

/**
 * Figures over the passes listed. `loss` is the share of them the host missed (null with no pass); RTT figures
 * are over the answers that carry an RTT (null without one), median and p90 by nearest rank — exact, not sketched.
 */
export const CensusHostSummarySchema = v.object({
  passes: count,
  answered: count,
  loss: v.nullable(v.number()),
  rttMin: v.nullable(v.number()),
  rttMedian: v.nullable(v.number()),
  rttP90: v.nullable(v.number()),
  rttMax: v.nullable(v.number()),
});
export type CensusHostSummary = v.InferOutput<typeof CensusHostSummarySchema>;

/**
 * Body of `GET /v1/census/:destination/hosts/:address`: the host's record and its history, oldest pass first. A
 * pass is listed when it probed the address (a split pass: when the slice holding it was reported; a silent
 * source's slice is not a miss). Answers are kept as long as raw results (`--retention raw=`), so passes older
 * than `kept` are not listed: `from` is the range actually read.
 */
export const CensusHostHistorySchema = v.object({
  host: CensusHostSchema,
  from: NanosSchema,
  to: NanosSchema,
  /** The oldest time whose answers are still kept (now − raw retention); null when raw results are kept forever. */
  kept: v.nullable(NanosSchema),
  /** Older passes in range were left out by `limit`. */
  more: v.boolean(),
  passes: v.array(CensusHostPassSchema),
  summary: CensusHostSummarySchema,
});
export type CensusHostHistory = v.InferOutput<typeof CensusHostHistorySchema>;
