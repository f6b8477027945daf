/**
 * Census: a destination whose address is a prefix is swept in passes (every address once, permuted, paced) rather
 * than probed as one host. This file holds the destination's `census` settings and the record of one pass.
 *
 * A pass's answers travel as ordinary results (destination = the census destination, target = the address that
 * answered); addresses that did not answer are only counted, in the pass record.
 */
import * as v from 'valibot';
import { AGENT_PPS, IdSchema, IpSchema, intRange, NanosSchema } from './common.js';
import { MAX_CENSUS_ADDRESSES } from './prefix.js';

/** Limits of the census settings. */
export const CENSUS_LIMITS = {
  /** Probes a second; an agent holds a higher rate to its own pps budget (`pinger agent --pps`). */
  rate: { min: 1, max: AGENT_PPS.max },
  /** Extra rounds over the addresses that did not answer. */
  retries: { min: 0, max: 5 },
  /** Passes a host must miss in a row to be declared gone. */
  goneAfter: { min: 1, max: 1000 },
} as const;

/** Defaults of a census destination (the interval replaces the destination's 1 s default for a prefix). */
export const CENSUS_DEFAULTS = {
  interval: 1_800_000,
  rate: 5000,
  retries: 1,
  split: false,
  goneAfter: 2,
} as const;

/** The census settings as given: every field optional, defaults filled in. */
export const CensusSchema = v.strictObject({
  /** Probes a second for the pass. */
  rate: v.optional(intRange(CENSUS_LIMITS.rate.min, CENSUS_LIMITS.rate.max), CENSUS_DEFAULTS.rate),
  /** Rounds over the unanswered addresses after the first. */
  retries: v.optional(
    intRange(CENSUS_LIMITS.retries.min, CENSUS_LIMITS.retries.max),
    CENSUS_DEFAULTS.retries,
  ),
  /** Share the prefix across the sources that probe it (a disjoint slice each, given in the agent config). */
  split: v.optional(v.boolean('must be true or false'), CENSUS_DEFAULTS.split),
  /** A host that misses this many passes in a row is gone. */
  goneAfter: v.optional(
    intRange(CENSUS_LIMITS.goneAfter.min, CENSUS_LIMITS.goneAfter.max),
    CENSUS_DEFAULTS.goneAfter,
  ),
});
export type Census = v.InferOutput<typeof CensusSchema>;

/** The census settings with every default, for a prefix destination that gave none. */
export function defaultCensus(): Census {
  return {
    rate: CENSUS_DEFAULTS.rate,
    retries: CENSUS_DEFAULTS.retries,
    split: CENSUS_DEFAULTS.split,
    goneAfter: CENSUS_DEFAULTS.goneAfter,
  };
}

const count = intRange(0, Number.MAX_SAFE_INTEGER);

/** The sources a census is split among, by id: each once, at most one per address of the largest census. */
export const SplitMembersSchema = v.pipe(
  v.array(IdSchema, 'must be an array of source ids'),
  v.minLength(1, 'must name at least one source'),
  v.maxLength(MAX_CENSUS_ADDRESSES, `must name at most ${MAX_CENSUS_ADDRESSES} sources`),
  v.check((ids) => new Set(ids).size === ids.length, 'must not name a source twice'),
);

/**
 * A source's share of a split census (`census.split`): the addresses with index `from` ≤ i < `to` of the `of`
 * addresses the census probes (indexes as `censusAddressIndex` counts them: the prefix in address order, less the
 * network and broadcast of an IPv4 prefix shorter than /31). A contiguous range, so that the control plane tells
 * whether a host lies in a slice with a comparison; the agent still probes its slice in a permuted order.
 */
export const CensusSliceSchema = v.pipe(
  v.strictObject({
    from: intRange(0, MAX_CENSUS_ADDRESSES),
    to: intRange(0, MAX_CENSUS_ADDRESSES),
    of: intRange(0, MAX_CENSUS_ADDRESSES),
  }),
  v.check((s) => s.from <= s.to && s.to <= s.of, 'must have from ≤ to ≤ of'),
);
export type CensusSlice = v.InferOutput<typeof CensusSliceSchema>;

/**
 * The slice the control plane assigns a source in its config: a {@link CensusSlice}, and its place among the
 * `count` slices of the sources it found alive (ordered by source id; sizes in proportion to their pps budgets).
 */
export const CensusAssignedSliceSchema = v.pipe(
  v.strictObject({
    from: intRange(0, MAX_CENSUS_ADDRESSES),
    to: intRange(0, MAX_CENSUS_ADDRESSES),
    of: intRange(0, MAX_CENSUS_ADDRESSES),
    index: intRange(0, 65_535),
    count: intRange(1, 65_536),
    /**
     * The sources the census is split among this time, by id in slice order (`count` of them). The agent reports
     * them with its pass, so that the control plane knows whose slice of the pass went unreported. Optional so
     * that configs of control planes before it still parse.
     */
    members: v.optional(SplitMembersSchema),
  }),
  v.check(
    (s) => s.from <= s.to && s.to <= s.of && s.index < s.count,
    'must have from ≤ to ≤ of, index < count',
  ),
);
export type CensusAssignedSlice = v.InferOutput<typeof CensusAssignedSliceSchema>;

/**
 * In place of a slice: this source is left out of the split for now, because its last `failed` slices in a row
 * went unreported or had every probe fail (its addresses went to the others). Its agent runs no pass of the
 * census. It is given a slice again, on probation, once the others have reported `probationIn` more passes.
 */
export const CensusLeftOutSchema = v.strictObject({
  leftOut: v.literal(true, 'must be true'),
  failed: intRange(1, 65_536),
  probationIn: intRange(1, 65_536),
});
export type CensusLeftOut = v.InferOutput<typeof CensusLeftOutSchema>;

/** What a source's config says of a split census: its slice, or that it is left out for now. */
export const CensusSliceAssignmentSchema = v.union([CensusAssignedSliceSchema, CensusLeftOutSchema]);
export type CensusSliceAssignment = v.InferOutput<typeof CensusSliceAssignmentSchema>;

/**
 * What a pass of a split census says about its slice: the slice it probed and its `slot`, the wall-clock time
 * (ns since the epoch) the pass was scheduled for. Every source schedules a split census at the same wall-clock
 * slots (multiples of the interval, offset by the destination's phase), so the slot names the pass across
 * sources: the slices reported with one slot make one pass.
 */
export const CensusPassSliceSchema = v.pipe(
  v.strictObject({
    slot: NanosSchema,
    from: intRange(0, MAX_CENSUS_ADDRESSES),
    to: intRange(0, MAX_CENSUS_ADDRESSES),
    of: intRange(0, MAX_CENSUS_ADDRESSES),
    /** The `members` of the slice it probed (absent from agents before them). */
    members: v.optional(SplitMembersSchema),
  }),
  v.check((s) => s.from <= s.to && s.to <= s.of, 'must have from ≤ to ≤ of'),
);

/**
 * One census pass as its agent reports it. Its identity is (source — from the agent's token —, destination,
 * start), like a result's, so a retried report stores once. Times are wall clock, ns since the epoch.
 */
export const CensusPassSchema = v.strictObject({
  destination: IdSchema,
  /** The prefix swept, `network/bits`. */
  prefix: v.string(),
  /** When the first probe of the pass left. */
  start: NanosSchema,
  /** When the last probe of the pass was settled (answered or timed out). */
  end: NanosSchema,
  /** Addresses in the pass (the prefix without network and broadcast of an IPv4 prefix shorter than /31). */
  addresses: count,
  /** Probes sent, first round and retries. */
  probed: count,
  /** Addresses that answered (each counted once, whichever round it answered in). */
  answered: count,
  /** Probes sent in the retry rounds (included in `probed`). */
  retries: count,
  /** Probes that could not be sent (included in `probed`; their addresses count as unanswered). */
  errors: count,
  /** Slots of this destination that came due while this pass ran, and were skipped rather than overlapped. */
  skipped: count,
  /** Probes a second the pass was paced at (the configured rate, held to the agent's budget). */
  rate: count,
  /**
   * Every address that answered, with the RTT (µs) of its first answer, in any order: `[address, rtt]`. The
   * control plane updates its hosts from this list, so host state never depends on the order in which the
   * answers' results arrive. Optional so that records from agents before it still parse; without it the pass is
   * stored and counted but no host is updated. At most one entry per address of the pass (65,536).
   */
  /** A pass of a split census: the slice it probed and the slot that names the pass across sources. */
  slice: v.optional(CensusPassSliceSchema),
  answers: v.optional(
    v.pipe(
      v.array(
        v.tuple([IpSchema, v.nullable(v.pipe(v.number('must be a number'), v.minValue(0, 'must be ≥ 0')))]),
        'must be an array of [address, rtt] pairs',
      ),
      v.maxLength(MAX_CENSUS_ADDRESSES, `must list at most ${MAX_CENSUS_ADDRESSES} addresses`),
    ),
  ),
});
export type CensusPass = v.InferOutput<typeof CensusPassSchema>;

/**
 * Body of `POST /v1/agent/census/passes`: one pass record, checked for consistency — `end` not before `start`,
 * `answers` (when given) one entry per answering address, matching `answered`, a slice as wide as `addresses`.
 */
export const CensusPassReportSchema = v.pipe(
  CensusPassSchema,
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const p = dataset.value;
    const issue = (key: string, message: string) =>
      addIssue({
        message,
        path: [{ type: 'object', origin: 'value', input: p, key, value: p[key as keyof CensusPass] }],
      });
    if (BigInt(p.end) < BigInt(p.start)) issue('end', 'must not be before start');
    if (p.answered > p.addresses) issue('answered', 'must not exceed addresses');
    if (p.slice !== undefined && p.slice.to - p.slice.from !== p.addresses)
      issue('slice', `must span the pass's ${p.addresses} addresses (to − from)`);
    if (p.answers !== undefined) {
      if (p.answers.length !== p.answered)
        issue('answers', `must list exactly the ${p.answered} answered addresses`);
      else if (new Set(p.answers.map(([a]) => a)).size !== p.answers.length)
        issue('answers', 'must not list an address twice');
    }
  }),
);
