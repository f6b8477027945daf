/**
 * An hour of median RTT as a small SVG line, lost probes as red ticks under it. Hand-written: a chart library
 * instance per row would cost more than the row. The path is built once per line (memoised), so scrolling
 * re-renders a row without redrawing its line. Exposes its medians in `data-points` (µs, `-` for a gap) for
 * the browser tests.
 */
import { useMemo } from 'preact/hooks';
import type { StatsPoint } from '../../../contract/index.js';
import { nsToMs } from '../format.js';
import type { SparkLine } from '../sparklines.js';

const W = 120;
const H = 28;

function shape(line: SparkLine) {
  const { points, from, to } = line;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const p of points) {
    if (p.p50 === null) continue;
    lo = Math.min(lo, p.p50);
    hi = Math.max(hi, p.p50);
  }
  const x = (p: StatsPoint) => ((nsToMs(p.t) - from) / Math.max(1, to - from)) * (W - 2) + 1;
  const y = (v: number) => (hi === lo ? H / 2 : H - 5 - ((v - lo) / (hi - lo)) * (H - 9));
  let d = '';
  let pen = false;
  for (const p of points) {
    if (p.p50 === null) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${x(p).toFixed(1)},${y(p.p50).toFixed(1)}`;
    pen = true;
  }
  const losses = points.filter((p) => p.loss > 0).map((p) => ({ t: p.t, x: x(p), loss: p.loss }));
  return { d, losses, data: points.map((p) => (p.p50 === null ? '-' : String(p.p50))).join(' ') };
}

export function Sparkline({ line }: { line: SparkLine | undefined }) {
  const drawn = useMemo(() => (line && line.points.length > 0 ? shape(line) : undefined), [line]);
  if (!drawn) return <svg class="spark" width={W} height={H} aria-hidden="true" />;
  return (
    <svg
      class="spark"
      width={W}
      height={H}
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label="median RTT, last hour"
      data-points={drawn.data}
    >
      <path d={drawn.d} fill="none" stroke="currentColor" stroke-width="1.5" />
      {drawn.losses.map((p) => (
        <rect
          key={p.t}
          x={p.x - 1}
          y={H - 3}
          width={2}
          height={3}
          class="spark-loss"
          opacity={Math.max(0.3, p.loss)}
        />
      ))}
    </svg>
  );
}
