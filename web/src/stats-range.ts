/** Time ranges of the destination page and the step that fits them to a chart's width. */

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

/** A range in ms since the epoch; `preset` when it follows "now" (refreshed), absent once zoomed. */
export interface Range {
  from: number;
  to: number;
  preset?: Preset;
}

export function presetRange(preset: Preset, now = Date.now()): Range {
  return { from: now - PRESETS[preset] * 1000, to: now, preset };
}
