/**
 * An hour of median RTT as a small SVG line, lost probes as red ticks under it. Hand-written: a chart library
 * instance per row would cost more than the row. Exposes its points in `data-points` for the browser tests.
 */

import type { StatsPoint } from '../../../contract/index.js';
import { nsToMs } from '../format.js';

const W = 120;
const H = 28;

export function Sparkline(props: { points: readonly StatsPoint[] | undefined; from: number; to: number }) {
  const { points, from, to } = props;
  if (!points || points.length === 0) return <svg class="spark" width={W} height={H} aria-hidden="true" />;
  const values = points.map((p) => p.p50).filter((v): v is number => v !== null);
  const lo = Math.min(...values);
  const hi = Math.max(...values);
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
  return (
    <svg
      class="spark"
      width={W}
      height={H}
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label="median RTT, last hour"
    >
      <path d={d} fill="none" stroke="currentColor" stroke-width="1.5" />
      {points
        .filter((p) => p.loss > 0)
        .map((p) => (
          <rect
            key={p.t}
            x={x(p) - 1}
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
