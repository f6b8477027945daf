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

/** Which pass a report is part of: a split pass's slices by their slot; every other report is a pass of its own. */
const passKey = (r: PassReport) => (r.slice ? `s${r.slice.slot}` : `p${r.start}#${r.source}`);

/** Whether a report probed `address`: a single-source pass probes all; a slice, the addresses in it. */
function makeProbes(address: string) {
  const prefixes = new Map<string, Prefix | undefined>();
  return (r: PassReport): boolean => {
    if (!r.slice) return true;
    if (!prefixes.has(r.prefix)) {
      const parsed = parsePrefix(r.prefix);
      prefixes.set(r.prefix, 'issue' in parsed ? undefined : parsed.prefix);
    }
    const p = prefixes.get(r.prefix);
    const i = p && censusAddressIndex(p, address);
    return i !== undefined && i >= r.slice.from && i < r.slice.to;
  };
}

/**
 * What a store reads, newest first, for a host's history: the reports of `limit + 1` passes that probed the host
 * (one more than listed tells `more`; a split pass's slices all come with their time, so a pass is whole). A
 * split pass whose reported slices miss the host does not count toward the limit.
 */
export class HistoryReader {
  readonly reports: PassReport[] = [];
  /** Pass times read: where the host's answers are looked up. */
  readonly times = new Set<bigint>();
  readonly #probes: (r: PassReport) => boolean;
  readonly #keys = new Set<string>();
  readonly #probing = new Set<string>();
  constructor(
    address: string,
    readonly limit: number,
  ) {
    this.#probes = makeProbes(address);
  }
  /** Takes the next report, newest first; false (and not taken) once enough passes are in and it starts another. */
  take(r: PassReport): boolean {
    const key = passKey(r);
    if (!this.#keys.has(key) && this.#probing.size > this.limit) return false;
    this.#keys.add(key);
    if (this.#probes(r)) this.#probing.add(key);
    this.reports.push(r);
    this.times.add(passTime(r));
    return true;
  }
}

/**
 * The API's answer from what a store read: the newest `limit` passes that probed the host, oldest first. Reports
 * group into passes as the pass listing groups them (merge-passes.ts); a split pass probed the host when one of
 * its reported slices holds it (a silent source's slice is not a miss).
 */
export function hostHistory(read: HostHistoryRead): CensusHostHistory {
  const probes = makeProbes(read.host.address);
  const passes = new Map<string, { at: bigint; probed: boolean }>();
  for (const r of read.passes) {
    const at = passTime(r);
    if (at < read.from || at > read.to) continue;
    const key = passKey(r);
    const pass = passes.get(key);
    if (pass) pass.probed ||= probes(r);
    else passes.set(key, { at, probed: probes(r) });
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
