/**
 * Buckets: what a rollup keeps per (destination, source, time slot) — counts, RTT moments, jitter sums and a
 * latency sketch — all of which merge by addition, so an hour is the merge of its minutes and a day of its
 * hours, in any order and any grouping.
 *
 * Jitter (RFC 3550's idea: the mean absolute difference between the RTTs of consecutive replies, without its
 * running smoothing) is kept as a sum of |Δ| and a count of Δ. The rule that keeps it exact and independent of
 * how results were batched: **a Δ is taken between two replies adjacent in send order (rtime; within a pair
 * that is rseq order without its 16-bit wrap) inside the same minute, and belongs to that minute.** The pair
 * that straddles a minute boundary is not counted (one Δ of every ~60 at a 1 s interval), so minutes are
 * independent and merge by plain addition. Timeouts and other statuses between two replies are skipped over.
 * To join batches, a minute bucket also keeps its first and last reply (rtime, rtt): a batch whose replies all
 * come after the stored ones (the usual case) or all before (a late spool) adds one linking Δ; one whose
 * replies interleave with the stored ones cannot be joined from summaries, and {@link combineMinute} says so,
 * so that the store recomputes that minute's jitter from its raw results.
 */
import { kernelTimed, STATUSES, type Status, type Timing } from '../../contract/index.js';
import { newSketch, type Sketch } from './sketch.js';

/** A reply's place and RTT: what joining two batches' jitter needs. */
export interface ReplyMark {
  /** ns since the epoch. */
  rtime: bigint;
  /** µs. */
  rtt: number;
}

export interface Bucket {
  /** Every result, whatever its status. */
  sent: number;
  /** Results per status, in {@link STATUSES} order. */
  statuses: number[];
  /**
   * Results with an RTT (any status) whose timing is not the kernel's on both ends (contract `kernelTimed`):
   * their RTT includes some of the agent's own delay. Counted like the agent's
   * `pinger_agent_results_process_timed_total`, so that the two agree.
   */
  processTimed: number;
  /** RTT of replies (status `reply` only: an ICMP error's RTT is to a router, not the destination), µs. */
  rttMin: number;
  rttMax: number;
  rttSum: number;
  rttSumSquares: number;
  jitterSum: number;
  jitterCount: number;
  /** First and last reply by rtime: minute buckets only (null in merged tiers and when there is no reply). */
  firstReply: ReplyMark | null;
  lastReply: ReplyMark | null;
  sketch: Sketch;
  /** The newest result of any status (ties: the later one seen). */
  lastResult: { rtime: bigint; status: Status } | null;
}

/** Index of `reply` in {@link Bucket.statuses}. */
export const REPLY = STATUSES.indexOf('reply');
const STATUS_INDEX = new Map<string, number>(STATUSES.map((s, i) => [s, i]));

/** A bucket with nothing in it. */
export function emptyBucket(): Bucket {
  return {
    sent: 0,
    statuses: STATUSES.map(() => 0),
    processTimed: 0,
    rttMin: Number.POSITIVE_INFINITY,
    rttMax: Number.NEGATIVE_INFINITY,
    rttSum: 0,
    rttSumSquares: 0,
    jitterSum: 0,
    jitterCount: 0,
    firstReply: null,
    lastReply: null,
    sketch: newSketch(),
    lastResult: null,
  };
}

/** What a bucket needs of a result. */
export interface RollupResult<D> {
  /** The destination's key (its id, or a store's own number for it). */
  destination: D;
  /** ns since the epoch, decimal. */
  rtime: string;
  status: Status;
  rtt: number | null;
  /** How the RTT was timed; absent for results of agents older than the mark (then not kernel-timed). */
  timing?: Timing | undefined;
}

/** The minute (seconds since the epoch, a multiple of 60) an rtime falls in. */
export function minuteOf(rtime: string): number {
  const seconds = rtime.length > 9 ? Number(rtime.slice(0, -9)) : 0;
  return seconds - (seconds % 60);
}

/** Orders decimal rtimes numerically without BigInt (no leading zeros: longer is larger). */
export function compareRtime(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** One minute of one destination's results, as {@link bucketResults} returns it. */
export interface MinuteBucket<D> {
  destination: D;
  /** Start of the minute, seconds since the epoch. */
  minute: number;
  bucket: Bucket;
}

/**
 * Buckets one source's results per (destination, minute). The results need not be sorted; each must be
 * counted once (give only those the store actually inserted).
 */
export function bucketResults<D>(results: readonly RollupResult<D>[]): MinuteBucket<D>[] {
  const groups = new Map<D, Map<number, RollupResult<D>[]>>();
  for (const r of results) {
    let byMinute = groups.get(r.destination);
    if (!byMinute) {
      byMinute = new Map();
      groups.set(r.destination, byMinute);
    }
    const minute = minuteOf(r.rtime);
    const list = byMinute.get(minute);
    if (list) list.push(r);
    else byMinute.set(minute, [r]);
  }
  const out: MinuteBucket<D>[] = [];
  for (const [destination, byMinute] of groups) {
    for (const [minute, list] of byMinute) out.push({ destination, minute, bucket: bucketOf(list) });
  }
  return out;
}

/** The bucket of results that share one (destination, minute). */
function bucketOf(results: RollupResult<unknown>[]): Bucket {
  // Agents send in rtime order already; sorting a sorted array is one linear pass.
  const sorted = results.length > 1 ? [...results].sort((a, b) => compareRtime(a.rtime, b.rtime)) : results;
  const b = emptyBucket();
  let previousRtt: number | null = null;
  let first: RollupResult<unknown> | undefined;
  let last: RollupResult<unknown> | undefined;
  for (const r of sorted) {
    if (countResult(b, r.status, r.rtt, r.timing)) {
      const rtt = r.rtt!;
      if (previousRtt !== null) {
        b.jitterSum += Math.abs(rtt - previousRtt);
        b.jitterCount++;
      }
      previousRtt = rtt;
      first ??= r;
      last = r;
    }
  }
  const newest = sorted[sorted.length - 1]!;
  b.lastResult = { rtime: BigInt(newest.rtime), status: newest.status };
  if (first && last) {
    b.firstReply = { rtime: BigInt(first.rtime), rtt: first.rtt! };
    b.lastReply = { rtime: BigInt(last.rtime), rtt: last.rtt! };
  }
  return b;
}

/**
 * Counts one result into `b`: `sent`, its status, whether it was timed by the process and, for a reply with an
 * RTT, the RTT's moments and sketch. Jitter and the first/last marks depend on the order of results and are
 * the caller's. Returns whether the result was such a reply (the only kind jitter is taken between).
 */
export function countResult(
  b: Bucket,
  status: Status,
  rtt: number | null,
  timing: Timing | undefined,
): boolean {
  b.sent++;
  b.statuses[STATUS_INDEX.get(status)!]!++;
  if (rtt !== null && !kernelTimed({ rtt, timing })) b.processTimed++;
  if (status !== 'reply' || rtt === null) return false;
  if (rtt < b.rttMin) b.rttMin = rtt;
  if (rtt > b.rttMax) b.rttMax = rtt;
  b.rttSum += rtt;
  b.rttSumSquares += rtt * rtt;
  b.sketch.accept(rtt);
  return true;
}

/**
 * Adds `from` into `into` (which changes), for buckets of different slots or tiers: every sum adds, the
 * sketches merge, jitter sums add without a linking Δ. First/last reply marks are dropped: a merged bucket
 * spans minutes, and a Δ never crosses one.
 */
export function mergeInto(into: Bucket, from: Bucket): Bucket {
  addFigures(into, from);
  into.jitterSum += from.jitterSum;
  into.jitterCount += from.jitterCount;
  into.firstReply = null;
  into.lastReply = null;
  return into;
}

/** Merges buckets of different slots into a new one. */
export function mergeBuckets(buckets: Iterable<Bucket>): Bucket {
  const out = emptyBucket();
  for (const b of buckets) mergeInto(out, b);
  return out;
}

/**
 * Joins a batch's bucket into the stored bucket of the same (destination, source, minute), into `stored`
 * (which changes). Returns whether the jitter is still exact: false when the batch's replies interleave with
 * the stored ones in time, and the caller must recompute the minute's jitter from its raw results.
 */
export function combineMinute(stored: Bucket, batch: Bucket): { exact: boolean } {
  addFigures(stored, batch);
  stored.jitterSum += batch.jitterSum;
  stored.jitterCount += batch.jitterCount;
  const [sf, sl, bf, bl] = [stored.firstReply, stored.lastReply, batch.firstReply, batch.lastReply];
  if (!sf || !sl || !bf || !bl) {
    // One side has no reply: nothing to link; the marks are those of the side that has replies.
    stored.firstReply = sf ?? bf;
    stored.lastReply = sl ?? bl;
    return { exact: true };
  }
  if (bf.rtime > sl.rtime) {
    stored.jitterSum += Math.abs(bf.rtt - sl.rtt);
    stored.jitterCount++;
    stored.lastReply = bl;
    return { exact: true };
  }
  if (bl.rtime < sf.rtime) {
    stored.jitterSum += Math.abs(sf.rtt - bl.rtt);
    stored.jitterCount++;
    stored.firstReply = bf;
    return { exact: true };
  }
  stored.firstReply = bf.rtime < sf.rtime ? bf : sf;
  stored.lastReply = bl.rtime > sl.rtime ? bl : sl;
  return { exact: false };
}

/** Sum of |Δ| and count of Δ over RTTs of consecutive replies already in send order: a minute recomputed. */
export function jitterOf(rtts: readonly number[]): { sum: number; count: number } {
  let sum = 0;
  for (let i = 1; i < rtts.length; i++) sum += Math.abs(rtts[i]! - rtts[i - 1]!);
  return { sum, count: Math.max(0, rtts.length - 1) };
}

function addFigures(into: Bucket, from: Bucket) {
  into.sent += from.sent;
  for (let i = 0; i < into.statuses.length; i++) into.statuses[i]! += from.statuses[i]!;
  into.processTimed += from.processTimed;
  if (from.rttMin < into.rttMin) into.rttMin = from.rttMin;
  if (from.rttMax > into.rttMax) into.rttMax = from.rttMax;
  into.rttSum += from.rttSum;
  into.rttSumSquares += from.rttSumSquares;
  into.sketch.merge(from.sketch);
  if (from.lastResult && (!into.lastResult || from.lastResult.rtime >= into.lastResult.rtime)) {
    into.lastResult = from.lastResult;
  }
}
