/** Time ranges of the destination page, the step that fits them to a chart's width, and moving them by key. */

export const PRESETS = {
  '1h': 3_600,
  '6h': 21_600,
  '24h': 86_400,
  '7d': 604_800,
  '30d': 2_592_000,
  '1y': 31_536_000,
} as const;
export type Preset = keyof typeof PRESETS;

/** Steps the graph asks for, seconds: whole minutes (the finest rollup), growing by the usual factors. */
const NICE_STEPS = [
  60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200, 86_400, 172_800, 604_800,
];

/** The smallest nice step giving at most one point per pixel of `widthPx` over `spanSeconds`. */
export function stepFor(spanSeconds: number, widthPx: number): number {
  const least = spanSeconds / Math.max(100, widthPx);
  return NICE_STEPS.find((s) => s >= least) ?? NICE_STEPS[NICE_STEPS.length - 1]!;
}

/**
 * A range in ms since the epoch. `preset` when it follows "now" (refreshed); once zoomed it is fixed and `base`
 * names the range button it came from, which "reset" returns to.
 */
export interface Range {
  from: number;
  to: number;
  preset?: Preset;
  base?: Preset;
}

export function presetRange(preset: Preset, now = Date.now()): Range {
  return { from: now - PRESETS[preset] * 1000, to: now, preset };
}

/** The range button a range belongs to: its own, or the one it was zoomed from. */
export const baseOf = (r: Range): Preset => r.preset ?? r.base ?? '24h';

/** A zoom keeps at least ten minutes in view: ten one-minute steps, the finest the stats API has. */
export const MIN_SPAN_MS = 600_000;

/** `from`–`to` as a fixed range zoomed from `r`, widened about its middle to at least {@link MIN_SPAN_MS}. */
export function zoomedTo(r: Range, from: number, to: number): Range {
  const span = Math.max(MIN_SPAN_MS, to - from);
  const mid = (from + to) / 2;
  return { from: Math.round(mid - span / 2), to: Math.round(mid + span / 2), base: baseOf(r) };
}

/**
 * `r` scaled about its middle by `factor` (½ zooms in, 2 out), no wider than a year and never ending after `now`
 * (a wider view of the latest hours keeps "now" at its right edge).
 */
export function scaleRange(r: Range, factor: number, now = Date.now()): Range {
  const span = Math.min(PRESETS['1y'] * 1000, Math.max(MIN_SPAN_MS, (r.to - r.from) * factor));
  const mid = (r.from + r.to) / 2;
  const to = Math.min(now, mid + span / 2);
  return zoomedTo(r, to - span, to);
}

/** `r` moved by `fraction` of its span (negative: earlier), never past `now`. */
export function panRange(r: Range, fraction: number, now = Date.now()): Range {
  const span = r.to - r.from;
  const to = Math.min(now, r.to + span * fraction);
  return zoomedTo(r, to - span, to);
}
