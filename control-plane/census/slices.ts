/**
 * Slices of a split census (`census.split`): the census's addresses cut into one contiguous range per source that
 * probes it, sized in proportion to the sources' pps budgets. Pure, and a function of its inputs alone — sources
 * are ordered by id, sizes rounded by largest remainder with ties to the lower id — so every agent's config,
 * computed at any time from the same sources and budgets, gives the same disjoint slices that cover every address
 * exactly once, and a change that touches nothing gives the same slices again.
 */
import type { CensusAssignedSlice } from '../../contract/index.js';

/** A source that takes part in a split census, with its weight (its agent's pps budget, > 0). */
export interface SliceMember {
  id: string;
  pps: number;
}

/**
 * @param addresses the census's address count (the `of` of every slice)
 * @param members the sources alive and probing it; an empty list gives no slices
 * @returns each member's slice, by source id
 */
export function assignSlices(
  addresses: number,
  members: readonly SliceMember[],
): Map<string, CensusAssignedSlice> {
  const ordered = [...new Map(members.map((m) => [m.id, m] as const)).values()].sort((a, b) =>
    a.id < b.id ? -1 : a.id > b.id ? 1 : 0,
  );
  const slices = new Map<string, CensusAssignedSlice>();
  if (ordered.length === 0) return slices;
  const total = ordered.reduce((sum, m) => sum + m.pps, 0);
  // Largest remainder (Hamilton): floors first, then one more address to the largest remainders.
  const exact = ordered.map((m) => (addresses * m.pps) / total);
  const sizes = exact.map(Math.floor);
  let left = addresses - sizes.reduce((a, b) => a + b, 0);
  const byRemainder = exact
    .map((x, i) => [x - Math.floor(x), i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of byRemainder) {
    if (left === 0) break;
    sizes[i]!++;
    left--;
  }
  let from = 0;
  ordered.forEach((m, index) => {
    const to = from + sizes[index]!;
    slices.set(m.id, { from, to, of: addresses, index, count: ordered.length });
    from = to;
  });
  return slices;
}
