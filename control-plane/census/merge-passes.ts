/**
 * Census pass records as the API lists them, the same for every store: a single source's pass as it is, and the
 * slices of a split pass — the rows its sources reported for one slot — merged into one record (see contract
 * `CensusPassRecordSchema`). Pure.
 */
import type { CensusPassRecord } from '../../contract/index.js';

/** A pass report as the stores keep it (one per source and pass). */
export interface StoredPass {
  destination: string;
  source: string;
  prefix: string;
  start: bigint;
  end: bigint;
  addresses: number;
  probed: number;
  answered: number;
  retries: number;
  errors: number;
  skipped: number;
  rate: number;
  /** A split pass's slice and slot, and the members its agent was told the census is split among. */
  slice?: { slot: bigint; from: number; to: number; of: number; members?: readonly string[] };
}

/** The time that names a pass: its slot when split, else its start. Passes are ordered and grouped by it. */
export function passTime(p: Pick<StoredPass, 'start' | 'slice'>): bigint {
  return p.slice?.slot ?? p.start;
}

/** Addresses in the union of the ranges (slices of one pass should be disjoint; overlap is counted once). */
function covered(ranges: readonly { from: number; to: number }[]): number {
  const sorted = [...ranges].sort((a, b) => a.from - b.from);
  let total = 0;
  let reach = 0;
  for (const { from, to } of sorted) {
    const lo = Math.max(from, reach);
    if (to > lo) total += to - lo;
    reach = Math.max(reach, to);
  }
  return total;
}

function single(p: StoredPass): CensusPassRecord {
  return {
    destination: p.destination,
    source: p.source,
    sources: [p.source],
    prefix: p.prefix,
    slot: null,
    start: p.start.toString(),
    end: p.end.toString(),
    durationMs: Number(p.end - p.start) / 1e6,
    addresses: p.addresses,
    covered: p.addresses,
    complete: true,
    probed: p.probed,
    answered: p.answered,
    retries: p.retries,
    errors: p.errors,
    skipped: p.skipped,
    rate: p.rate,
  };
}

function merged(slot: bigint, parts: StoredPass[]): CensusPassRecord {
  const bySlice = [...parts].sort((a, b) => a.slice!.from - b.slice!.from || (a.source < b.source ? -1 : 1));
  // bigints: Math.min and Math.max do not take them.
  const byTime = (x: bigint, y: bigint) => (x < y ? -1 : x > y ? 1 : 0);
  const start = parts.map((p) => p.start).sort(byTime)[0]!;
  const end = parts
    .map((p) => p.end)
    .sort(byTime)
    .at(-1)!;
  const of = Math.max(...parts.map((p) => p.slice!.of));
  const sum = (f: (p: StoredPass) => number) => parts.reduce((n, p) => n + f(p), 0);
  const sources = [...new Set(parts.map((p) => p.source))].sort();
  const reached = covered(parts.map((p) => p.slice!));
  const members = [...new Set([...sources, ...parts.flatMap((p) => p.slice!.members ?? [])])].sort();
  const reporting = new Set(sources);
  return {
    destination: parts[0]!.destination,
    source: sources[0]!,
    sources,
    prefix: parts[0]!.prefix,
    slot: slot.toString(),
    start: start.toString(),
    end: end.toString(),
    durationMs: Number(end - start) / 1e6,
    addresses: of,
    covered: reached,
    complete: reached === of,
    probed: sum((p) => p.probed),
    answered: sum((p) => p.answered),
    retries: sum((p) => p.retries),
    errors: sum((p) => p.errors),
    skipped: sum((p) => p.skipped),
    rate: sum((p) => p.rate),
    slices: bySlice.map((p) => ({
      source: p.source,
      from: p.slice!.from,
      to: p.slice!.to,
      start: p.start.toString(),
      end: p.end.toString(),
      probed: p.probed,
      answered: p.answered,
      errors: p.errors,
    })),
    members,
    missing: members.filter((id) => !reporting.has(id)),
  };
}

/**
 * The records of the stored passes, newest first (by pass time, then source id descending), a split pass's
 * slices merged into one. Rows of one pass must all be given: stores fetch whole passes.
 */
export function mergePasses(rows: readonly StoredPass[]): CensusPassRecord[] {
  const groups = new Map<string, { time: bigint; rows: StoredPass[] }>();
  for (const row of rows) {
    // A single-source pass is its own group even when another source's pass has the same start.
    const key = row.slice ? `s${row.slice.slot}` : `p${row.start}#${row.source}`;
    const group = groups.get(key) ?? { time: passTime(row), rows: [] };
    group.rows.push(row);
    groups.set(key, group);
  }
  const sorted = [...groups.values()].sort((a, b) => {
    if (a.time !== b.time) return a.time > b.time ? -1 : 1;
    const sa = a.rows[0]!.source;
    const sb = b.rows[0]!.source;
    return sa > sb ? -1 : sa < sb ? 1 : 0;
  });
  return sorted.map((g) => (g.rows[0]!.slice ? merged(g.time, g.rows) : single(g.rows[0]!)));
}
