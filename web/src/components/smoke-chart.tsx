/**
 * SmokePing's picture in uPlot, for one source: the median RTT as a line coloured by the loss of each step, with
 * "smoke" around it, and the loss of each step as bars beneath. The smoke is SmokePing's spread in two bands,
 * from the stats API's percentiles: p25–p75 (dark: the middle half of the replies) inside p10–p90 (light).
 * Dragging across either chart zooms: `onZoom` gets the range and the page refetches.
 * The drawn data is kept on `window.__pingerCharts[source]` for the browser tests, which read it, not pixels.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { StatsPoint } from '../../../contract/index.js';
import { LOSS_CLASSES, lossColor, nsToMs } from '../format.js';

declare global {
  interface Window {
    __pingerCharts?: Record<
      string,
      { smoke: uPlot.AlignedData; loss: uPlot.AlignedData; step: number; query: string }
    >;
  }
}

/** The series uPlot draws: time (s), then p10, p25, p75, p90, p50 in ms, then loss in %; a null closes each gap. */
export function chartData(points: readonly StatsPoint[], step: number) {
  const xs: number[] = [];
  const cols: (number | null)[][] = [[], [], [], [], [], []];
  const losses: number[] = [];
  const ms = (us: number | null) => (us === null ? null : us / 1000);
  let prev: number | undefined;
  for (const p of points) {
    const t = nsToMs(p.t) / 1000;
    if (prev !== undefined && t - prev > step * 1.5) {
      xs.push(prev + step);
      for (const c of cols) c.push(null);
      losses.push(Number.NaN);
    }
    xs.push(t);
    cols[0]!.push(ms(p.p10));
    cols[1]!.push(ms(p.p25));
    cols[2]!.push(ms(p.p75));
    cols[3]!.push(ms(p.p90));
    cols[4]!.push(ms(p.p50));
    cols[5]!.push(p.loss * 100);
    losses.push(p.loss);
    prev = t;
  }
  return { xs, cols, losses };
}

function cssVar(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/** A horizontal gradient with a hard stop per step, so the median's colour is the loss of that step. */
function lossStroke(xs: number[], losses: number[]) {
  return (u: uPlot) => {
    const { left, width } = u.bbox;
    // Asked before the first layout too, when the box is not measured yet.
    if (!Number.isFinite(left) || !Number.isFinite(width) || width <= 0) return cssVar('--fg');
    const g = u.ctx.createLinearGradient(left, 0, left + width, 0);
    for (let i = 0; i < xs.length; i++) {
      const loss = losses[i]!;
      if (Number.isNaN(loss)) continue;
      const a = (u.valToPos(xs[i]!, 'x', true) - left) / width;
      const b = i + 1 < xs.length ? (u.valToPos(xs[i + 1]!, 'x', true) - left) / width : 1;
      if (!Number.isFinite(a) || !Number.isFinite(b)) continue;
      const color = lossColor(loss);
      g.addColorStop(Math.min(1, Math.max(0, a)), color);
      g.addColorStop(Math.min(1, Math.max(0, b)), color);
    }
    return g;
  };
}

export interface SmokeChartProps {
  sourceId: string;
  title: string;
  points: readonly StatsPoint[];
  step: number;
  from: number;
  to: number;
  width: number;
  dark: boolean;
  syncKey: string;
  /** The stats request these points answer (kept with the chart's data for the tests). */
  query: string;
  onZoom?: ((from: number, to: number) => void) | undefined;
}

export function SmokeChart(props: SmokeChartProps) {
  const smokeEl = useRef<HTMLDivElement>(null);
  const lossEl = useRef<HTMLDivElement>(null);
  const zoom = useRef(props.onZoom);
  zoom.current = props.onZoom;
  const plots = useRef<uPlot[]>([]);
  const width = useRef(props.width);
  width.current = props.width;

  useEffect(() => {
    const { xs, cols, losses } = chartData(props.points, props.step);
    const fg = cssVar('--fg');
    const grid = cssVar('--grid');
    const axis = (unit: string): uPlot.Axis => ({
      stroke: fg,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
      values: unit ? (_u, vals) => vals.map((v) => `${+v.toFixed(2)} ${unit}`) : undefined,
      size: 64,
    });
    // 24-hour clock; the date where a range spans days.
    const long = props.to - props.from > 2 * 86_400_000;
    const two = (n: number) => String(n).padStart(2, '0');
    const timeAxis: uPlot.Axis = {
      ...axis(''),
      values: (_u, splits) =>
        splits.map((t) => {
          const d = new Date(t * 1000);
          return long
            ? `${two(d.getMonth() + 1)}-${two(d.getDate())}`
            : `${two(d.getHours())}:${two(d.getMinutes())}`;
        }),
    };
    const scaleX = { time: true, range: (): uPlot.Range.MinMax => [props.from / 1000, props.to / 1000] };
    const zoomHook = (u: uPlot) => {
      if (u.select.width < 4) return;
      const a = u.posToVal(u.select.left, 'x') * 1000;
      const b = u.posToVal(u.select.left + u.select.width, 'x') * 1000;
      u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
      zoom.current?.(Math.round(a), Math.round(b));
    };
    const cursor: uPlot.Cursor = {
      sync: { key: props.syncKey },
      drag: { x: true, y: false, setScale: false },
    };
    const smokeData: uPlot.AlignedData = [xs, ...cols.slice(0, 5)];
    const lossData: uPlot.AlignedData = [xs, cols[5]!];
    const u1 = new uPlot(
      {
        width: width.current,
        height: 260,
        cursor,
        scales: { x: scaleX, y: { range: (_u, _lo, hi) => [0, hi > 0 ? hi * 1.08 : 1] } },
        axes: [timeAxis, axis('ms')],
        legend: { show: true },
        series: [
          {},
          { label: 'p10', stroke: 'transparent', points: { show: false } },
          { label: 'p25', stroke: 'transparent', points: { show: false } },
          { label: 'p75', stroke: 'transparent', points: { show: false } },
          { label: 'p90', stroke: 'transparent', points: { show: false } },
          { label: 'median', stroke: lossStroke(xs, losses), width: 2, points: { show: false } },
        ],
        bands: [
          { series: [4, 1], fill: cssVar('--smoke-light') },
          { series: [3, 2], fill: cssVar('--smoke-dark') },
        ],
        hooks: { setSelect: [zoomHook] },
      },
      smokeData,
      smokeEl.current!,
    );
    const u2 = new uPlot(
      {
        width: width.current,
        height: 120,
        cursor,
        scales: { x: scaleX, y: { range: [0, 100] } },
        axes: [timeAxis, { ...axis('%'), splits: () => [0, 50, 100] }],
        legend: { show: false },
        series: [
          {},
          {
            label: 'loss',
            stroke: LOSS_CLASSES[4].color,
            // No outline: a step without loss draws nothing, not a hairline.
            width: 0,
            fill: `${LOSS_CLASSES[4].color}99`,
            paths: uPlot.paths.bars!({ size: [1, 8], align: 1 }),
            points: { show: false },
          },
        ],
        hooks: { setSelect: [zoomHook] },
      },
      lossData,
      lossEl.current!,
    );
    plots.current = [u1, u2];
    window.__pingerCharts ??= {};
    window.__pingerCharts[props.sourceId] = {
      smoke: u1.data,
      loss: u2.data,
      step: props.step,
      query: props.query,
    };
    return () => {
      plots.current = [];
      u1.destroy();
      u2.destroy();
      delete window.__pingerCharts?.[props.sourceId];
    };
  }, [
    props.points,
    props.step,
    props.from,
    props.to,
    props.dark,
    props.syncKey,
    props.sourceId,
    props.query,
  ]);

  // A new width resizes the charts in place: no rebuild, no blank frame.
  useEffect(() => {
    for (const u of plots.current) u.setSize({ width: props.width, height: u.height });
  }, [props.width]);

  return (
    <figure
      class="smoke"
      data-source={props.sourceId}
      data-step={props.step}
      data-points={props.points.length}
    >
      <figcaption>{props.title}</figcaption>
      <div ref={smokeEl} class="smoke-chart" />
      <div ref={lossEl} class="loss-chart" title="loss per step" />
    </figure>
  );
}
