/**
 * A source's slices of the split censuses it probes, for its agent config. The sources that share a split census
 * are those it names (all sources when it names none) that are alive: heard from (`lastSeen`) within
 * `silentAfterMs`, and always the asking source itself. Each gets a slice in proportion to the pps budget its
 * agent reports (the default budget until it does), see slices.ts.
 *
 * Slices are re-cut whenever that set changes; the agent takes the slice it holds when a pass starts. A source
 * that goes silent thus loses its slice at the first pass after `silentAfterMs` (and the others' next config),
 * and that pass's earlier slot shows its slice as missing (the merged pass is not `complete`).
 */
import {
  AGENT_PPS,
  type CensusAssignedSlice,
  censusAddressCount,
  type Destination,
  parsePrefix,
  type Source,
} from '../../contract/index.js';
import { assignSlices } from './slices.js';

/**
 * @param sourceId the asking source
 * @param destinations its active destinations
 * @param sources every source (read only when some destination is a split census)
 * @returns the asking source's slice of each split census, by destination id; undefined when there are none
 */
export async function splitSlices(
  sourceId: string,
  destinations: readonly Destination[],
  sources: () => Promise<Source[]>,
  options: { now: Date; silentAfterMs: number },
): Promise<Record<string, CensusAssignedSlice> | undefined> {
  const split = destinations.filter((d) => d.census?.split === true);
  if (split.length === 0) return undefined;
  const all = await sources();
  const since = options.now.getTime() - options.silentAfterMs;
  const alive = new Map(
    all
      .filter((s) => s.id === sourceId || (s.lastSeen !== null && Date.parse(s.lastSeen) >= since))
      .map((s) => [s.id, s] as const),
  );
  const slices: Record<string, CensusAssignedSlice> = {};
  for (const d of split) {
    const parsed = parsePrefix(d.address);
    if ('issue' in parsed) continue;
    const ids = d.sources.length > 0 ? d.sources : all.map((s) => s.id);
    const members = ids.flatMap((id) => {
      const s = alive.get(id);
      return s ? [{ id, pps: s.pps ?? AGENT_PPS.default }] : [];
    });
    const mine = assignSlices(censusAddressCount(parsed.prefix), members).get(sourceId);
    if (mine) slices[d.id] = mine;
  }
  return slices;
}
