/**
 * A minute bucket that takes results one at a time, in send order: what the open-minute cache adds a batch's
 * results with, without making a bucket (and a sketch) per (pair, minute, batch) and merging it in.
 *
 * A result is taken only if it comes after every result already taken (rtime strictly greater); then it is
 * the newest of the minute, and if it is a reply, the Δ between it and the last reply is the one
 * `bucketResults` would take between them — the bucket stays exactly what bucketResults gives for the
 * same results. A result that does not come after (a late or reordered one) is refused, and the caller counts
 * it the batch way: `bucketResults` and `combineMinute`, which links or says the jitter must be
 * recomputed from the raw results.
 *
 * The marks that hold rtimes as bigint (lastReply, lastResult) are set by {@link settle}, once per minute and
 * batch rather than per result (BigInt of a decimal string costs ~80 ns): read the bucket only after it.
 */
import type { Status, Timing } from '../../contract/index.js';
import { type Bucket, compareRtime, countResult, emptyBucket, type MinuteBucket } from './bucket.js';

export class MinuteAppender<D> implements MinuteBucket<D> {
  readonly bucket: Bucket;
  /** rtime of the newest result taken, as text; '' before the first (every rtime compares greater). */
  private newest = '';
  private newestStatus: Status = 'reply';
  /** The last reply's rtime as text, null before the first reply, and its RTT. */
  private lastReplyRtime: string | null = null;
  private lastReplyRtt = 0;
  /** Whether the bigint marks lag behind what was appended. */
  private stale = false;

  constructor(
    readonly destination: D,
    readonly minute: number,
    bucket?: Bucket,
  ) {
    this.bucket = bucket ?? emptyBucket();
    if (bucket) this.resync();
  }

  /** True when results were taken since the last {@link settle}. */
  get unsettled(): boolean {
    return this.stale;
  }

  /** Takes a result of this minute if it comes after all taken so far; false leaves it to the caller. */
  append(rtime: string, status: Status, rtt: number | null, timing?: Timing): boolean {
    if (compareRtime(rtime, this.newest) <= 0) return false;
    const b = this.bucket;
    if (countResult(b, status, rtt, timing)) {
      if (this.lastReplyRtime === null) b.firstReply = { rtime: BigInt(rtime), rtt: rtt! };
      else {
        b.jitterSum += Math.abs(rtt! - this.lastReplyRtt);
        b.jitterCount++;
      }
      this.lastReplyRtime = rtime;
      this.lastReplyRtt = rtt!;
    }
    this.newest = rtime;
    this.newestStatus = status;
    this.stale = true;
    return true;
  }

  /** Sets the bucket's bigint marks from what was appended. */
  settle(): void {
    if (!this.stale) return;
    this.stale = false;
    const b = this.bucket;
    const newest = BigInt(this.newest);
    b.lastResult = { rtime: newest, status: this.newestStatus };
    if (this.lastReplyRtime !== null) {
      const rtime = this.lastReplyRtime === this.newest ? newest : BigInt(this.lastReplyRtime);
      b.lastReply = { rtime, rtt: this.lastReplyRtt };
    }
  }

  /** Takes the marks from the bucket again, after it was changed from outside (combineMinute). */
  resync(): void {
    const b = this.bucket;
    this.stale = false;
    this.newest = b.lastResult ? String(b.lastResult.rtime) : '';
    this.newestStatus = b.lastResult?.status ?? 'reply';
    this.lastReplyRtime = b.lastReply ? String(b.lastReply.rtime) : null;
    this.lastReplyRtt = b.lastReply?.rtt ?? 0;
  }
}
