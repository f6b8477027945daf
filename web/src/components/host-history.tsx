/**
 * One census host's history under its details: loss and RTT figures over the passes kept, and a small uPlot of
 * its RTT per pass with the passes it missed marked on the axis in the loss colour. Read from
 * `GET /v1/census/:destination/hosts/:address`; the drawn data is kept on `window.__pingerHostHistory` for the
 * browser tests, which read it, not pixels.
 */
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { CensusHostHistory } from '../../../contract/index.js';
import { ms, nsToMs, pct } from '../format.js';
import { useLoad } from '../hooks.js';
import { useSession } from '../session-context.js';

declare global {
  interface Window {
    __pingerHostHistory?: { address: string; data: uPlot.AlignedData };
  }
}

const WIDTH = 300;
const HEIGHT = 120;
const MISS = '#d64545';
/** As often as the census page reloads its hosts, so the details and the graph agree. */
const REFRESH_MS = 60_000;

/** [pass time (s), RTT (ms) or null, 0 where missed or null]: a miss breaks the line and gets a mark. */
export function historyData(h: CensusHostHistory): [number[], (number | null)[], (number | null)[]] {
  return [
    h.passes.map((p) => nsToMs(p.at) / 1000),
    h.passes.map((p) => (p.answered && p.rtt !== null ? p.rtt / 1000 : null)),
    h.passes.map((p) => (p.answered ? null : 0)),
  ];
}

/** 24-hour clock like the other graphs' (uPlot's default says am/pm). */
const clock = (_u: uPlot, splits: number[]) =>
  splits.map((t) => {
    const d = new Date(t * 1000);
    return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  });

function RttChart({ history, dark }: { history: CensusHostHistory; dark: boolean }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const css = (name: string) => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    const axis: uPlot.Axis = {
      stroke: css('--fg'),
      grid: { stroke: css('--grid'), width: 1 },
      ticks: { stroke: css('--grid'), width: 1 },
      font: '10px system-ui, sans-serif',
    };
    const data = historyData(history);
    const u = new uPlot(
      {
        width: WIDTH,
        height: HEIGHT,
        legend: { show: false },
        scales: { y: { range: (_u, _lo, hi) => [0, hi > 0 ? hi * 1.15 : 1] } },
        axes: [
          { ...axis, size: 24, values: clock },
          { ...axis, size: 40, label: 'ms', labelSize: 14 },
        ],
        series: [
          {},
          { label: 'RTT ms', stroke: css('--accent'), width: 1.5, points: { show: true, size: 4 } },
          { label: 'missed', stroke: MISS, width: 0, points: { show: true, size: 7, fill: MISS } },
        ],
      },
      data,
      el.current!,
    );
    window.__pingerHostHistory = { address: history.host.address, data: u.data };
    return () => {
      u.destroy();
      delete window.__pingerHostHistory;
    };
    // `dark` only re-reads the theme's colours.
  }, [history, dark]);
  return <div ref={el} class="host-rtt-chart" />;
}

/** The history of `address` in census `id`; renders nothing until loaded. */
export function HostHistory({ id, address, dark }: { id: string; address: string; dark: boolean }) {
  const { api } = useSession();
  const loaded = useLoad(
    () =>
      api.get<CensusHostHistory>(`/v1/census/${encodeURIComponent(id)}/hosts/${encodeURIComponent(address)}`),
    [api, id, address],
    REFRESH_MS,
  );
  const h = loaded.data;
  if (loaded.error) return <p class="error">{loaded.error.message}</p>;
  if (!h || h.host.address !== address) return null;
  const s = h.summary;
  return (
    <div class="host-history" data-address={address} data-passes={s.passes} data-answered={s.answered}>
      <p class="muted">
        {s.passes} passes kept: {s.answered} answered, loss {pct(s.loss)} · RTT {ms(s.rttMin)} /{' '}
        {ms(s.rttMedian)} / {ms(s.rttP90)} / {ms(s.rttMax)} (min / median / p90 / max)
      </p>
      {s.passes > 0 && <RttChart history={h} dark={dark} />}
    </div>
  );
}
