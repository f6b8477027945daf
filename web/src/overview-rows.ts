/**
 * The overview's rows: every (destination, source) pair a destination is probed from, joined with its summary
 * row when the stats API has one, ranked worst first. Pure, so the ranking reads in one place.
 */
import type { Destination, Source, SummaryRow } from '../../contract/index.js';

export type PairStatus = 'down' | 'loss' | 'no data' | 'up' | 'paused';

export interface PairRow {
  key: string;
  destination: Destination;
  source: Source | undefined;
  sourceId: string;
  summary: SummaryRow | undefined;
  status: PairStatus;
}

const RANK: Record<PairStatus, number> = { down: 0, loss: 1, 'no data': 2, up: 3, paused: 4 };

function statusOf(d: Destination, s: SummaryRow | undefined): PairStatus {
  if (!d.active) return 'paused';
  if (!s || s.sent === 0) return 'no data';
  if (s.loss >= 1) return 'down';
  return s.loss > 0 ? 'loss' : 'up';
}

/** All pairs, worst first: by status, then loss, then median RTT. */
export function pairRows(destinations: Destination[], sources: Source[], summary: SummaryRow[]): PairRow[] {
  const byPair = new Map(summary.map((r) => [`${r.destination}/${r.source}`, r]));
  const sourceById = new Map(sources.map((s) => [s.id, s]));
  const rows: PairRow[] = [];
  for (const d of destinations) {
    const ids = d.sources.length > 0 ? d.sources : sources.map((s) => s.id);
    for (const sourceId of ids) {
      const key = `${d.id}/${sourceId}`;
      const s = byPair.get(key);
      byPair.delete(key);
      rows.push({
        key,
        destination: d,
        source: sourceById.get(sourceId),
        sourceId,
        summary: s,
        status: statusOf(d, s),
      });
    }
  }
  // A pair with figures but no longer configured (a source taken off the destination) still shows what it did.
  const destById = new Map(destinations.map((d) => [d.id, d]));
  for (const [key, s] of byPair) {
    const d = destById.get(s.destination);
    if (!d) continue;
    rows.push({
      key,
      destination: d,
      source: sourceById.get(s.source),
      sourceId: s.source,
      summary: s,
      status: statusOf(d, s),
    });
  }
  return rows.sort(
    (a, b) =>
      RANK[a.status] - RANK[b.status] ||
      (b.summary?.loss ?? 0) - (a.summary?.loss ?? 0) ||
      (b.summary?.p50 ?? 0) - (a.summary?.p50 ?? 0) ||
      a.destination.address.localeCompare(b.destination.address),
  );
}

export interface Filters {
  text: string;
  protocol: string;
  source: string;
  /** `k=v`, or '' for any. */
  label: string;
}

/** The rows the filters keep. */
export function filterRows(rows: PairRow[], f: Filters): PairRow[] {
  const text = f.text.trim().toLowerCase();
  const [lk, lv] = f.label
    ? [f.label.slice(0, f.label.indexOf('=')), f.label.slice(f.label.indexOf('=') + 1)]
    : [];
  return rows.filter((r) => {
    if (f.protocol && r.destination.protocol !== f.protocol) return false;
    if (f.source && r.sourceId !== f.source) return false;
    if (lk !== undefined && r.destination.labels[lk] !== lv) return false;
    if (!text) return true;
    const hay = [
      r.destination.address,
      r.destination.id,
      r.source?.name ?? r.sourceId,
      ...Object.entries(r.destination.labels).map(([k, v]) => `${k}=${v}`),
    ]
      .join(' ')
      .toLowerCase();
    return hay.includes(text);
  });
}
