/**
 * A source's slices of the split censuses it probes, for its agent config. The sources that share a split census
 * are those it names (all sources when it names none) that are alive — heard from (`lastSeen`) within
 * `silentAfterMs`, and always the asking source itself — and that deliver their slices: a source whose recent
 * slices went unreported or had every probe fail is left out for a while (split-members.ts), and its config says
 * so instead of giving it a slice. Each member gets a slice in proportion to the pps budget its agent reports (the
 * default budget until it does), see slices.ts, and the list of members, which its agent reports with its pass.
 *
 * Slices are re-cut whenever that set changes; the agent takes the slice it holds when a pass starts. A source
 * that goes silent thus loses its slice at the first pass after `silentAfterMs` (and the others' next config),
 * and that pass's earlier slot shows its slice as missing (the merged pass is not `complete`). One that polls but
 * does not deliver loses it once the others have reported the passes that show it (split-members.ts).
 */
import {
  AGENT_PPS,
  type CensusPassRecord,
  type CensusSliceAssignment,
  censusAddressCount,
  type Destination,
  parsePrefix,
  type Source,
} from '../../contract/index.js';
import { assignSlices } from './slices.js';
import {
  decidedBy,
  QUICK_PASSES,
  SPLIT_RULE_DEFAULTS,
  type SplitRule,
  type SplitStanding,
  splitMembers,
} from './split-members.js';

/** What {@link splitSlices} reads from the store. */
export interface SplitReads {
  /** Every source (read only when some destination is a split census). */
  sources(): Promise<Source[]>;
  /** A census's newest `limit` passes, newest first (the store's `census.listPasses`). */
  passes(destination: string, limit: number): Promise<CensusPassRecord[]>;
}

/**
 * @param sourceId the asking source
 * @param destinations its active destinations
 * @returns the asking source's slice of each split census (or that it is left out), by destination id; undefined
 *   when there are none
 */
export async function splitSlices(
  sourceId: string,
  destinations: readonly Destination[],
  reads: SplitReads,
  options: { now: Date; silentAfterMs: number; rule?: SplitRule },
): Promise<Record<string, CensusSliceAssignment> | undefined> {
  const split = destinations.filter((d) => d.census?.split === true);
  if (split.length === 0) return undefined;
  const rule = options.rule ?? SPLIT_RULE_DEFAULTS;
  const all = await reads.sources();
  const since = options.now.getTime() - options.silentAfterMs;
  const alive = new Map(
    all
      .filter((s) => s.id === sourceId || (s.lastSeen !== null && Date.parse(s.lastSeen) >= since))
      .map((s) => [s.id, s] as const),
  );
  const slices: Record<string, CensusSliceAssignment> = {};
  await Promise.all(
    split.map(async (d) => {
      const parsed = parsePrefix(d.address);
      if ('issue' in parsed) return;
      const ids = d.sources.length > 0 ? d.sources : all.map((s) => s.id);
      const candidates = [...new Set(ids.filter((id) => alive.has(id)))].sort();
      // One candidate is a member whatever it did: there is nobody to hand its addresses to.
      let standing: SplitStanding = { members: candidates, leftOut: new Map() };
      if (candidates.length > 1) {
        // A healthy split is decided by its newest few passes; the whole window only when someone failed lately.
        let passes = await reads.passes(d.id, Math.min(QUICK_PASSES, rule.history));
        if (!decidedBy(passes, candidates)) passes = await reads.passes(d.id, rule.history);
        standing = splitMembers(candidates, passes, rule);
      }
      const out = standing.leftOut.get(sourceId);
      if (out) {
        slices[d.id] = { leftOut: true, ...out };
        return;
      }
      const members = standing.members.map((id) => ({ id, pps: alive.get(id)!.pps ?? AGENT_PPS.default }));
      const mine = assignSlices(censusAddressCount(parsed.prefix), members).get(sourceId);
      if (mine) slices[d.id] = { ...mine, members: standing.members };
    }),
  );
  return slices;
}
