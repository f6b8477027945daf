/**
 * Who shares a split census: of the sources alive to probe it, those that deliver their slices. A source that
 * keeps polling for its config but cannot probe — its raw sockets fail, so every probe of its slice is an error or
 * no pass runs at all, or its pass reports never arrive — would otherwise keep its slice forever, and that part
 * of the prefix would go unprobed pass after pass. So each source has a standing, read from the census's latest
 * split passes (newest first, as the store lists them):
 *
 * - A pass **expects** a source when one of its slices names the source among its `members` (the sources the
 *   agent's slice was cut among) or the source reported a slice of it.
 * - The source **failed** that pass when it reported no slice of it, or one in which every probe was an error
 *   (`errors` = `probed` > 0). Not yet failed: the newest pass (its report may still come), and a pass that came
 *   due while the source's previous pass still ran (its agent skips that slot rather than overlap; its report's
 *   `end` is past the slot).
 * - It **delivered** a pass when it reported a slice with at least one probe sent (or an empty slice).
 * - Counting from the newest pass back to the first it delivered, passes that did not expect it are passed over:
 *   `failed` is the number it failed in that run.
 * - With `failed` ≥ `failAfter` it is **left out**: its addresses go to the others, until the others have
 *   reported `probation · 2^(failed − failAfter)` passes (at most `probationMax`) after the last one it failed.
 *   Then it is given a slice again, **on probation**: one more failure leaves it out again at once, for twice as
 *   long; one delivered pass makes it a full member. (An unreported slice is known only once a newer pass is
 *   reported, so the pass that starts before then still expects the source, and usually counts as one more
 *   failure: the first wait of a source whose reports stop is then 4 passes, not 2.)
 * - When that would leave nobody, nobody is left out: there is no one to hand the addresses to.
 *
 * Pure, and a function of its inputs alone: every config computed from the same sources and passes gives the
 * same members, hence the same slices. The window of passes read bounds how far back `failed` counts (and so
 * the backoff); a config poll reads the newest {@link QUICK_PASSES} first and the whole window only when those do
 * not decide every source ({@link decidedBy}), so a healthy split costs a small read per poll.
 */
import type { CensusPassRecord } from '../../contract/index.js';

/** When a source is left out of a split and when it is let back in, counted in passes. */
export interface SplitRule {
  /** Passes failed in a row that leave a source out. */
  failAfter: number;
  /** Passes of the others before a source left out gets a slice again, after its first `failAfter` failures. */
  probation: number;
  /** The longest wait before probation, however often it failed. */
  probationMax: number;
  /** Split passes read, newest first (the history `failed` is counted in). */
  history: number;
}

/**
 * Left out after 2 failed passes in a row; back on probation after 2, 4, then 8 passes of the others. The window
 * of 48 passes holds the 4 failures (each 9 passes apart at the longest wait) that keep the wait at 8: a window
 * too short for the failures that reach `probationMax` would let the wait shrink as old failures leave it.
 */
export const SPLIT_RULE_DEFAULTS: SplitRule = { failAfter: 2, probation: 2, probationMax: 8, history: 48 };

/** A source left out of the split for now. */
export interface LeftOut {
  /** Passes it failed in a row (passes that did not expect it not counted). */
  failed: number;
  /** Passes the others must report before it gets a slice again (≥ 1). */
  probationIn: number;
}

/** The split's members and who is left out, from {@link splitMembers}. */
export interface SplitStanding {
  /** The candidates that take part, in the order given. */
  members: string[];
  /** The candidates left out, by id. */
  leftOut: Map<string, LeftOut>;
}

type Slice = NonNullable<CensusPassRecord['slices']>[number];

const sliceOf = (pass: CensusPassRecord, source: string): Slice | undefined =>
  pass.slices?.find((s) => s.source === source);

/** Whether the source's latest report before pass `i` (older ones sit after it) ended after pass `i`'s slot. */
function stillRunning(passes: readonly CensusPassRecord[], i: number, source: string): boolean {
  const slot = BigInt(passes[i]!.slot!);
  for (let j = i + 1; j < passes.length; j++) {
    const earlier = sliceOf(passes[j]!, source);
    if (earlier) return BigInt(earlier.end) >= slot;
  }
  return false;
}

/**
 * The source's failures in a row and how many passes came after the newest of them; see the module comment.
 * `decided` when a pass it delivered ended the run: passes older than that one cannot change the answer.
 */
export function failures(
  passes: readonly CensusPassRecord[],
  source: string,
): { failed: number; since: number; decided: boolean } {
  let failed = 0;
  let since = -1;
  for (const [i, pass] of passes.entries()) {
    const slice = sliceOf(pass, source);
    if (slice === undefined && !pass.members?.includes(source)) continue;
    if (slice !== undefined) {
      if (slice.probed === 0 || slice.errors < slice.probed)
        return { failed, since: Math.max(since, 0), decided: true };
    } else if (i === 0 || stillRunning(passes, i, source)) continue;
    failed++;
    if (since < 0) since = i;
  }
  return { failed, since: Math.max(since, 0), decided: false };
}

/** Passes read first: enough when every source delivered one of them, as in a healthy split. */
export const QUICK_PASSES = 4;

/**
 * Whether the newest {@link QUICK_PASSES} passes (all there are, if fewer) decide every candidate's standing, so
 * that the full `history` need not be read: true when each candidate delivered one of them, since a run of
 * failures ends there (and the report that excuses a skipped slot is never older than it).
 */
export function decidedBy(newest: readonly CensusPassRecord[], candidates: readonly string[]): boolean {
  const split = newest.filter((p) => p.slot !== null);
  return newest.length < QUICK_PASSES || candidates.every((id) => failures(split, id).decided);
}

/**
 * @param candidates the sources alive to probe the census (any order; the members keep it)
 * @param passes the census's latest split passes, newest first (passes without a slot are ignored)
 */
export function splitMembers(
  candidates: readonly string[],
  passes: readonly CensusPassRecord[],
  rule: SplitRule = SPLIT_RULE_DEFAULTS,
): SplitStanding {
  const split = passes.filter((p) => p.slot !== null).slice(0, rule.history);
  const leftOut = new Map<string, LeftOut>();
  for (const id of candidates) {
    const { failed, since } = failures(split, id);
    if (failed < rule.failAfter) continue;
    const wait = Math.min(rule.probation * 2 ** (failed - rule.failAfter), rule.probationMax);
    if (since < wait) leftOut.set(id, { failed, probationIn: wait - since });
  }
  const members = candidates.filter((id) => !leftOut.has(id));
  if (members.length === 0) return { members: [...candidates], leftOut: new Map() };
  return { members, leftOut };
}
