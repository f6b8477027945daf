/**
 * Hosts up over time, the older system's graph: each pass's answered count at the pass's start, in uPlot. The
 * drawn data is kept on `window.__pingerHostsChart` for the browser tests, which read it, not pixels.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { CensusPassRecord } from '../../../contract/index.js';
import { nsToMs } from '../format.js';

declare global {
  interface Window {
    __pingerHostsChart?: uPlot.AlignedData;
  }
}

/** Passes oldest first as [start (s), answered]; the API lists them newest first. */
export function hostsData(passes: readonly CensusPassRecord[]): [number[], number[]] {
  const sorted = [...passes].sort((a, b) => (BigInt(a.start) < BigInt(b.start) ? -1 : 1));
  return [sorted.map((p) => nsToMs(p.start) / 1000), sorted.map((p) => p.answered)];
}

/** 24-hour clock like the destination graph's; the date as well where the passes span days. */
function timeLabels(xs: number[]) {
  const long = xs.length > 1 && xs[xs.length - 1]! - xs[0]! > 2 * 86_400;
  const two = (n: number) => String(n).padStart(2, '0');
  return (_u: uPlot, splits: number[]) =>
    splits.map((t) => {
      const d = new Date(t * 1000);
      const time = `${two(d.getHours())}:${two(d.getMinutes())}`;
      return long ? `${two(d.getMonth() + 1)}-${two(d.getDate())} ${time}` : time;
    });
}

export function HostsChart(props: { passes: readonly CensusPassRecord[]; width: number; dark: boolean }) {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const width = useRef(props.width);
  width.current = props.width;
  useEffect(() => {
    const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    const fg = css('--fg');
    const grid = css('--grid');
    const axis: uPlot.Axis = {
      stroke: fg,
      grid: { stroke: grid, width: 1 },
      ticks: { stroke: grid, width: 1 },
    };
    const accent = css('--accent');
    const [xs, ys] = hostsData(props.passes);
    const u = new uPlot(
      {
        width: width.current,
        height: 220,
        scales: { y: { range: (_u, _lo, hi) => [0, hi > 0 ? Math.ceil(hi * 1.1) : 1] } },
        axes: [
          { ...axis, values: timeLabels(xs) },
          { ...axis, size: 56 },
        ],
        series: [
          {},
          {
            label: 'hosts up',
            stroke: accent,
            fill: `${accent}33`,
            width: 2,
            points: { show: true, size: 6 },
          },
        ],
      },
      [xs, ys],
      el.current!,
    );
    plot.current = u;
    window.__pingerHostsChart = u.data;
    return () => {
      plot.current = undefined;
      u.destroy();
      delete window.__pingerHostsChart;
    };
    // `dark` only re-reads the theme's colours.
  }, [props.passes, props.dark]);
  // A new width only resizes: rebuilding would blank the chart for a frame.
  useEffect(() => plot.current?.setSize({ width: props.width, height: 220 }), [props.width]);
  return <div ref={el} class="hosts-chart" />;
}
