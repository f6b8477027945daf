/**
 * Results: one per probe sent, answered or not. Identity is (source, destination, rtime, rseq): storing the same
 * result twice stores it once, which makes every agent retry safe.
 */
import * as v from 'valibot';
import {
  IdSchema,
  IpSchema,
  intRange,
  limitParam,
  NanosSchema,
  ProtocolSchema,
  StatusSchema,
  Uint8Schema,
  Uint16Schema,
} from './common.js';

/** Largest batch an agent may post at once. The byte limit (2 MB, after gunzip) is the HTTP layer's. */
export const MAX_BATCH_RESULTS = 5000;
export const MAX_BATCH_BYTES = 2 * 1024 * 1024;

/** Where one end of a round trip was timed: the kernel's packet timestamp, or a clock read by the process. */
export const TIME_SOURCES = ['kernel', 'process'] as const;
const TimeSourceSchema = v.picklist(TIME_SOURCES, 'must be kernel or process');

/**
 * How a result was timed. An RTT between two kernel stamps leaves out the agent's own delays; one with a
 * `process` end includes the agent's wake-up or send-path delay on that end (tens of µs, more under load).
 */
export const TimingSchema = v.strictObject({
  /** The send: the kernel's transmit stamp, or the clock read just before `sendto` (no stamp came in time). */
  send: TimeSourceSchema,
  /** The answer's arrival; null when nothing answered. */
  receive: v.nullable(TimeSourceSchema),
  /** Microseconds the probe left after its scheduled slot (0 where nothing schedules it, e.g. `pinger probe`). */
  lateness: intRange(0, 3_600_000_000),
});
export type Timing = v.InferOutput<typeof TimingSchema>;

/** Whether a result's RTT was timed by the kernel on both ends; false for results without a timing mark. */
export function kernelTimed(r: { rtt: number | null; timing?: Timing | undefined }): boolean {
  return r.timing?.send === 'kernel' && r.timing.receive === 'kernel';
}

const resultFields = {
  destination: IdSchema,
  /** Send time, wall clock, ns since the epoch (decimal string). */
  rtime: NanosSchema,
  /** Address probed (resolved if the destination is a host name). */
  target: IpSchema,
  protocol: ProtocolSchema,
  /** Who answered: the target, or a router on the way; null on timeout. */
  address: v.nullable(IpSchema),
  /** Round-trip time in microseconds (ns precision in the fraction); null on timeout. */
  rtt: v.nullable(
    v.pipe(
      v.number('must be a number'),
      v.finite('must be finite'),
      v.minValue(0, 'must be at least 0'),
      v.maxValue(3_600_000_000, 'must be at most an hour'),
    ),
  ),
  /** ICMP type / code of the answer (null for a TCP answer or a timeout). */
  rtype: v.nullable(Uint8Schema),
  rcode: v.nullable(Uint8Schema),
  /** ICMP identifier / TCP source port / UDP source port the probe carried. */
  rid: Uint16Schema,
  /** Probe sequence number (16 bits, wraps). */
  rseq: Uint16Schema,
  /** Whether the echoed payload equals what was sent; null where nothing is echoed (tcp, timeout). */
  datamatch: v.nullable(v.boolean('must be true, false or null')),
  status: StatusSchema,
  /** TTL / hop limit of the answer where the socket gives it. */
  ttl: v.nullable(Uint8Schema),
  /** How the RTT was timed; absent from results of agents older than the mark. */
  timing: v.optional(TimingSchema),
};

/** The rules that tie a result's fields together. */
function resultRuleIssue(r: { status: string; rtt: number | null; address: string | null }) {
  if (r.status === 'timeout' && (r.rtt !== null || r.address !== null))
    return 'a timeout has rtt and address null';
  if (r.status !== 'timeout' && r.status !== 'error' && (r.rtt === null || r.address === null)) {
    return `status ${r.status} needs rtt and address`;
  }
  return undefined;
}

/** One result as an agent posts it. The source, rsite and rhost come from the agent's token, never the body. */
export const ResultInputSchema = v.pipe(
  v.strictObject(resultFields),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const message = resultRuleIssue(dataset.value);
    if (message) addIssue({ message });
  }),
);
export type ResultInput = v.InferOutput<typeof ResultInputSchema>;

/** Body of `POST /v1/agent/results`. */
export const ResultBatchSchema = v.strictObject({
  results: v.pipe(
    v.array(ResultInputSchema, 'must be an array of results'),
    v.maxLength(MAX_BATCH_RESULTS, `must hold at most ${MAX_BATCH_RESULTS} results`),
  ),
});
export type ResultBatch = v.InferOutput<typeof ResultBatchSchema>;

/** Answer to a posted batch. */
export const BatchReceiptSchema = v.object({ stored: v.number(), duplicates: v.number() });
export type BatchReceipt = v.InferOutput<typeof BatchReceiptSchema>;

/** A stored result as the API returns it. */
export const ResultSchema = v.object({
  ...resultFields,
  source: IdSchema,
  /** Site and host number of the source at the time of storing. */
  rsite: Uint16Schema,
  rhost: Uint16Schema,
});
export type Result = v.InferOutput<typeof ResultSchema>;

/**
 * ISO 8601 as `from`/`to` take it: a date (midnight UTC), or a date and time with its offset. `Date.parse` alone
 * would also take "March 7" or "12/31/2025", and read a time without an offset in the server's own time zone:
 * the same query would mean different times on different servers.
 */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** `from`/`to`: ns since the epoch, or an ISO 8601 timestamp. Output: ns as a decimal string. */
export const TimeBoundSchema = v.pipe(
  v.string('must be a string'),
  v.check(
    (s) => /^\d+$/.test(s) || (ISO_TIME.test(s) && !Number.isNaN(Date.parse(s))),
    'must be an ISO 8601 time (2026-01-02T03:04:05Z) or nanoseconds since the epoch',
  ),
  v.transform((s) =>
    /^\d+$/.test(s) ? s : Number.isNaN(Date.parse(s)) ? s : `${BigInt(Date.parse(s)) * 1_000_000n}`,
  ),
  NanosSchema,
);

/** Query of `GET /v1/results`. */
export const ResultQuerySchema = v.strictObject({
  destination: v.optional(IdSchema),
  source: v.optional(IdSchema),
  status: v.optional(StatusSchema),
  from: v.optional(TimeBoundSchema),
  to: v.optional(TimeBoundSchema),
  limit: v.optional(limitParam(10_000), '100'),
  cursor: v.optional(v.pipe(v.string(), v.maxLength(512, 'is not a cursor this server issued'))),
  format: v.optional(v.picklist(['json', 'ndjson'], 'must be json or ndjson'), 'json'),
});
export type ResultQuery = v.InferOutput<typeof ResultQuerySchema>;

/**
 * A page of results, newest first; `cursor` fetches the next page and is null on the last. A page may be
 * shorter than the limit, even empty, and still carry a cursor (a backend bounds what one request reads):
 * only a null cursor ends the listing.
 */
export const ResultPageSchema = v.object({ results: v.array(ResultSchema), cursor: v.nullable(v.string()) });
export type ResultPage = v.InferOutput<typeof ResultPageSchema>;
