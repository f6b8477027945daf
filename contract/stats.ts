/**
 * Statistics: loss, RTT moments, percentiles and jitter per (destination, source) over time, read from the
 * rollup tiers (minute, hour, day) rather than from raw results; and the retention of each tier.
 *
 * Units: times are ns since the epoch as decimal strings (like `rtime`); RTT figures are microseconds (like
 * `rtt`); `loss` is a fraction from 0 to 1; `step` and windows are seconds.
 */
import * as v from 'valibot';
import { IdSchema, NanosSchema, StatusSchema } from './common.js';
import { TimeBoundSchema } from './result.js';

/** Width of each rollup tier, seconds. A tier merges the one before it. */
export const TIER_SECONDS = { minute: 60, hour: 3_600, day: 86_400 } as const;
export type Tier = keyof typeof TIER_SECONDS;
/** The tiers, finest first. */
export const TIERS: readonly Tier[] = ['minute', 'hour', 'day'];

/** Most points a series gets when the server chooses the step. */
export const AUTO_STEP_POINTS = 1_000;
/** Most points a series may get with a step the client chose (a bad step is refused, not truncated). */
export const MAX_STEP_POINTS = 10_000;
/** Span read when `from` is absent: `to` minus this many seconds (`to` defaults to now). */
export const DEFAULT_STATS_SPAN_SECONDS = 3_600;
/** Longest step: a year (longer steps are one point per query anyway). */
export const MAX_STEP_SECONDS = 366 * 86_400;

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3_600, d: 86_400, w: 604_800, y: 31_536_000 };

/**
 * Seconds in a duration written as a whole number and a unit (`90s`, `5m`, `1h`, `14d`, `2w`, `2y`; a year is
 * 365 days) or as bare seconds (`300`); undefined when it is neither.
 */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,9})([smhdwy]?)$/.exec(text.trim());
  if (!m) return undefined;
  return Number(m[1]) * UNIT_SECONDS[m[2] || 's']!;
}

/** Writes seconds back the way {@link parseDuration} reads them, in the largest unit that divides them. */
export function formatDuration(seconds: number): string {
  for (const unit of ['y', 'w', 'd', 'h', 'm'] as const) {
    const size = UNIT_SECONDS[unit]!;
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/** `step`: a duration (`1m`, `5m`, `1h`, `1d`) or seconds; a whole number of minutes, the finest tier. */
export const StepSchema = v.pipe(
  v.string('must be a string'),
  v.check((s) => parseDuration(s) !== undefined, 'must be a duration like 1m, 5m, 1h, 1d or seconds'),
  v.transform((s) => parseDuration(s) ?? 0),
  v.minValue(60, 'must be at least 1m (the finest rollup)'),
  v.check((n) => n % 60 === 0, 'must be a whole number of minutes'),
  v.maxValue(MAX_STEP_SECONDS, `must be at most ${MAX_STEP_SECONDS / 86_400}d`),
);

/** One `label=k:v` filter; the key and value rules are those of labels themselves. */
const LabelFilterSchema = v.pipe(
  v.string('must be a string'),
  v.regex(/^[A-Za-z0-9_.-]{1,63}:.{0,256}$/, 'must be key:value (the key 1–63 letters, digits, _ . or -)'),
);

/**
 * `label`: one `k:v` or several (repeated `label=` parameters); all must match the destination's labels.
 * Output: the labels as a record.
 */
export const LabelFiltersSchema = v.pipe(
  v.union([LabelFilterSchema, v.array(LabelFilterSchema)], 'must be key:value, once or repeated'),
  v.transform((input) => {
    const out: Record<string, string> = {};
    for (const pair of typeof input === 'string' ? [input] : input) {
      const colon = pair.indexOf(':');
      out[pair.slice(0, colon)] = pair.slice(colon + 1);
    }
    return out;
  }),
);

const pairFilters = {
  /** One destination; unknown → 404 (the route's to check). */
  destination: v.optional(IdSchema),
  /** One source. */
  source: v.optional(IdSchema),
  /** Destinations whose labels hold every one of these. */
  label: v.optional(LabelFiltersSchema),
};

/**
 * Query of `GET /v1/stats`. `from`/`to` take the forms of the results API (ns or ISO 8601), inclusive; `to`
 * defaults to now and `from` to `to` minus {@link DEFAULT_STATS_SPAN_SECONDS}. Without `step` the server picks
 * the smallest "nice" step giving at most {@link AUTO_STEP_POINTS} points; a given step may give at most
 * {@link MAX_STEP_POINTS} (checked where both bounds are known, after the defaults).
 */
export const StatsQuerySchema = v.pipe(
  v.strictObject({
    ...pairFilters,
    from: v.optional(TimeBoundSchema),
    to: v.optional(TimeBoundSchema),
    step: v.optional(StepSchema),
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
export type StatsQuery = v.InferOutput<typeof StatsQuerySchema>;

/** RTT figures over the replies of a bucket, microseconds; null when it holds no reply. */
const rttFigures = {
  min: v.nullable(v.number()),
  /** Arithmetic mean. */
  mean: v.nullable(v.number()),
  /** Population standard deviation. */
  stddev: v.nullable(v.number()),
  /**
   * Percentiles from the sketch: within 1 % (relative) of the exact value at that rank. p10, p25 and p75 are
   * what a SmokePing-style graph draws its smoke from (p10–p90 and p25–p75 around the median).
   */
  p10: v.nullable(v.number()),
  p25: v.nullable(v.number()),
  p50: v.nullable(v.number()),
  p75: v.nullable(v.number()),
  p90: v.nullable(v.number()),
  p99: v.nullable(v.number()),
  max: v.nullable(v.number()),
  /**
   * Mean absolute difference between the RTTs of consecutive replies in rseq order (RFC 3550's idea, without
   * its smoothing); null when no two replies are consecutive.
   */
  jitter: v.nullable(v.number()),
};

const countFigures = {
  /** Probes sent: every result, whatever its status. */
  sent: v.number(),
  /** Results with status `reply`. */
  received: v.number(),
  /** 1 − received / sent. */
  loss: v.number(),
  /**
   * Results with an RTT (any status) not timed by the kernel on both ends (the result's `timing`): their RTT
   * includes some of the agent's own delay (its wake-up, or its send path), tens of µs or more under load.
   * Results from agents older than the timing mark count here too. 0 when every RTT is kernel-timed.
   */
  processTimed: v.number(),
};

/** One step of a series. Steps without any result are left out (a gap, not a zero). */
export const StatsPointSchema = v.object({
  /** Start of the step, ns since the epoch; steps are aligned to multiples of the step since the epoch. */
  t: NanosSchema,
  ...countFigures,
  ...rttFigures,
});
export type StatsPoint = v.InferOutput<typeof StatsPointSchema>;

/** The points of one (source, destination) pair, oldest first. */
export const StatsSeriesSchema = v.object({
  source: IdSchema,
  destination: IdSchema,
  points: v.array(StatsPointSchema),
});
export type StatsSeries = v.InferOutput<typeof StatsSeriesSchema>;

/** Answer of `GET /v1/stats`: the step used (seconds) and one series per pair that has results in range. */
export const StatsResponseSchema = v.object({
  step: v.number(),
  series: v.array(StatsSeriesSchema),
});
export type StatsResponse = v.InferOutput<typeof StatsResponseSchema>;

/** Windows the overview offers, seconds each. */
export const SUMMARY_WINDOWS = { '5m': 300, '1h': 3_600, '24h': 86_400 } as const;
export type SummaryWindow = keyof typeof SUMMARY_WINDOWS;

/** Query of `GET /v1/stats/summary`. Rows come worst first: highest loss, or highest p50. */
export const SummaryQuerySchema = v.strictObject({
  ...pairFilters,
  window: v.optional(v.picklist(['5m', '1h', '24h'], 'must be one of 5m, 1h, 24h'), '1h'),
  sort: v.optional(v.picklist(['loss', 'p50'], 'must be loss or p50'), 'loss'),
});
export type SummaryQuery = v.InferOutput<typeof SummaryQuerySchema>;

/** One (destination, source) pair over the window: the figures of a stats point and what it last did. */
export const SummaryRowSchema = v.object({
  source: IdSchema,
  destination: IdSchema,
  ...countFigures,
  ...rttFigures,
  /** rtime of the pair's newest result in the window. */
  lastResult: NanosSchema,
  /** Status of that result. */
  lastStatus: StatusSchema,
});
export type SummaryRow = v.InferOutput<typeof SummaryRowSchema>;

/** Answer of `GET /v1/stats/summary`. */
export const SummaryResponseSchema = v.object({
  window: v.number(),
  rows: v.array(SummaryRowSchema),
});
export type SummaryResponse = v.InferOutput<typeof SummaryResponseSchema>;

/** What is kept: raw results and each rollup tier. */
export const RETENTION_KINDS = ['raw', 'minute', 'hour', 'day'] as const;
export type RetentionKind = (typeof RETENTION_KINDS)[number];

/** How long each kind is kept, seconds; null keeps it forever. */
export type Retention = Record<RetentionKind, number | null>;

/** Raw 14 days, minute 60 days, hour 2 years, day forever. */
export const DEFAULT_RETENTION: Readonly<Retention> = {
  raw: 14 * 86_400,
  minute: 60 * 86_400,
  hour: 2 * 31_536_000,
  day: null,
};

/** Nothing is kept less than a day: late batches (a spool replayed after an outage) must still find their rows. */
const MIN_RETENTION_SECONDS = 86_400;

/**
 * `--retention` / `PINGER_RETENTION`: comma-separated `kind=duration` (`raw=14d,minute=60d,hour=2y`), a
 * duration of at least a day or `forever`; kinds not named keep their default. Output: a full {@link Retention}.
 */
export const RetentionSchema = v.pipe(
  v.string('must be a string'),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    const out: Retention = { ...DEFAULT_RETENTION };
    const seen = new Set<string>();
    for (const part of dataset.value.split(',').filter((p) => p.trim() !== '')) {
      const [kind = '', value = '', extra] = part.split('=').map((s) => s.trim());
      if (
        !(RETENTION_KINDS as readonly string[]).includes(kind) ||
        !part.includes('=') ||
        extra !== undefined
      ) {
        addIssue({ message: `"${part}" must be kind=duration with kind one of raw, minute, hour, day` });
        return NEVER;
      }
      if (seen.has(kind)) {
        addIssue({ message: `${kind} is given twice` });
        return NEVER;
      }
      seen.add(kind);
      if (value === 'forever') {
        out[kind as RetentionKind] = null;
        continue;
      }
      const seconds = parseDuration(value);
      if (seconds === undefined || seconds < MIN_RETENTION_SECONDS) {
        addIssue({ message: `${kind} must be a duration of at least 1d (like 14d, 8w, 2y) or forever` });
        return NEVER;
      }
      out[kind as RetentionKind] = seconds;
    }
    return out;
  }),
);

/** Parses a retention setting or throws a named error listing the rule broken. */
export function parseRetention(text: string): Retention {
  const parsed = v.safeParse(RetentionSchema, text);
  if (parsed.success) return parsed.output;
  throw new RetentionError(`[retention] ${parsed.issues[0]!.message}`);
}

/** A retention setting that breaks its rules. */
export class RetentionError extends Error {
  override name = 'RetentionError';
}
