/**
 * One host's history, the same for every store: the stores hand over the census's passes in range (whole passes,
 * every slice) and the host's answers by pass time, and this turns them into the passes that probed the host —
 * answered or missed — and the figures over them. Misses are not stored: a pass that probed the address and has
 * no answer from it is one. Pure.
 */
import {
  type CensusHost,
  type CensusHostHistory,
  type CensusHostPass,
  type CensusHostSummary,
  censusAddressIndex,
  type Prefix,
  parsePrefix,
} from '../../contract/index.js';
import { passTime, type StoredPass } from './merge-passes.js';

/** What a host's history needs of a pass report: which pass it is part of, and what it probed. */
export type PassReport = Pick<StoredPass, 'source' | 'start' | 'prefix' | 'slice'>;

/** What a store read for one host's history. */
export interface HostHistoryRead {
  host: CensusHost;
  /** Every stored report of the passes in range (a split pass's slices all given), in any order. */
  passes: readonly PassReport[];
  /** The host's RTT by pass time, for the passes it answered (null: answered without an RTT). */
  answers: ReadonlyMap<bigint, number | null>;
  /** The range read: `from` already raised to `kept`. */
  from: bigint;
  to: bigint;
  kept: bigint | null;
  limit: number;
}

/** Nearest rank: the smallest value with at least `q` of the values at or below it. */
function rank(sorted: readonly number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

/** The figures over a host's passes. */
export function summarize(passes: readonly CensusHostPass[]): CensusHostSummary {
  const answered = passes.filter((p) => p.answered).length;
  const rtts = passes
    .map((p) => p.rtt)
    .filter((r): r is number => r !== null)
    .sort((a, b) => a - b);
  const some = rtts.length > 0;
  return {
    passes: passes.length,
    answered,
    loss: passes.length === 0 ? null : (passes.length - answered) / passes.length,
    rttMin: some ? rtts[0]! : null,
    rttMedian: some ? rank(rtts, 0.5) : null,
    rttP90: some ? rank(rtts, 0.9) : null,
    rttMax: some ? rtts.at(-1)! : null,
  };
}

/**
 * The API's answer from what a store read: the newest `limit` passes that probed the host, oldest first. Reports
 * group into passes as the pass listing groups them (merge-passes.ts): a split pass's slices by their slot, every
 * other report a pass of its own; a split pass probed the host when one of its reported slices holds it.
 */
export function hostHistory(read: HostHistoryRead): CensusHostHistory {
  const prefixes = new Map<string, Prefix | undefined>();
  const index = (prefix: string) => {
    if (!prefixes.has(prefix)) {
      const parsed = parsePrefix(prefix);
      prefixes.set(prefix, 'issue' in parsed ? undefined : parsed.prefix);
    }
    const p = prefixes.get(prefix);
    return p && censusAddressIndex(p, read.host.address);
  };
  const passes = new Map<string, { at: bigint; probed: boolean }>();
  for (const r of read.passes) {
    const at = passTime(r);
    if (at < read.from || at > read.to) continue;
    const key = r.slice ? `s${r.slice.slot}` : `p${r.start}#${r.source}`;
    const i = r.slice && index(r.prefix);
    const probed = !r.slice || (i !== undefined && i >= r.slice.from && i < r.slice.to);
    const pass = passes.get(key);
    if (pass) pass.probed ||= probed;
    else passes.set(key, { at, probed });
  }
  const all = [...passes.values()]
    .filter((p) => p.probed)
    .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  const kept = all
    .slice(0, read.limit)
    .reverse()
    .map(({ at }): CensusHostPass => {
      const answered = read.answers.has(at);
      return { at: at.toString(), answered, rtt: answered ? read.answers.get(at)! : null };
    });
  return {
    host: read.host,
    from: read.from.toString(),
    to: read.to.toString(),
    kept: read.kept === null ? null : read.kept.toString(),
    more: all.length > read.limit,
    passes: kept,
    summary: summarize(kept),
  };
}

/**
 * The range a store reads: `from` raised to the oldest time whose answers are kept, `now − raw` (answers go with
 * raw results); null bounds take the defaults (`to` now, `from` that oldest time, or 0 when kept forever).
 */
export function historyRange(
  from: bigint | undefined,
  to: bigint | undefined,
  nowMs: number,
  rawSeconds: number | null,
): { from: bigint; to: bigint; kept: bigint | null } {
  const now = BigInt(nowMs) * 1_000_000n;
  const kept = rawSeconds === null ? null : now - BigInt(rawSeconds) * 1_000_000_000n;
  const floor = kept ?? 0n;
  return { from: from === undefined || from < floor ? floor : from, to: to ?? now, kept };
}
