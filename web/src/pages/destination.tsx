/**
 * One destination: a SmokePing-style graph per source (median coloured by loss, smoke of the spread, loss bars
 * beneath), range buttons and drag to zoom — each asking the stats API for a step that fits the width — and the
 * latest raw results under it. The graphs take the keyboard too: focused, ← → move the range, + − zoom and Esc
 * returns to the range button's range, through the same range state a drag sets; the range shown is announced.
 */
import { useState } from 'preact/hooks';
import type { Destination, ResultPage, Source, StatsResponse } from '../../../contract/index.js';
import { withQuery } from '../api.js';
import { SmokeChart } from '../components/smoke-chart.js';
import { ago, LOSS_CLASSES, labelText, ms, nsToMs, stamp } from '../format.js';
import { useDark, useLoad, useWidth } from '../hooks.js';
import { href } from '../router.js';
import { useSession } from '../session-context.js';
import {
  baseOf,
  PRESETS,
  type Preset,
  panRange,
  presetRange,
  type Range,
  scaleRange,
  stepFor,
  zoomedTo,
} from '../stats-range.js';

const REFRESH_MS = 60_000;

/** What a key does to the range shown, or undefined for a key the graphs leave alone. */
function keyRange(key: string, shown: Range): Range | undefined {
  switch (key) {
    case 'ArrowLeft':
      return panRange(shown, -0.25);
    case 'ArrowRight':
      return panRange(shown, 0.25);
    case '+':
    case '=':
      return scaleRange(shown, 0.5);
    case '-':
    case '_':
      return scaleRange(shown, 2);
    case 'Escape':
    case '0':
      return shown.preset ? undefined : presetRange(baseOf(shown));
    default:
      return undefined;
  }
}

export function DestinationPage({ id }: { id: string }) {
  const { api } = useSession();
  const dark = useDark();
  const [range, setRange] = useState<Range>(() => presetRange('24h'));
  const { ref, width } = useWidth();

  const info = useLoad(async () => {
    const [d, s] = await Promise.all([
      api.get<Destination>(`/v1/destinations/${encodeURIComponent(id)}`),
      api.get<{ sources: Source[] }>('/v1/sources'),
    ]);
    return { destination: d, sources: new Map(s.sources.map((x) => [x.id, x])) };
  }, [api, id]);
  const step = stepFor((range.to - range.from) / 1000, width);
  const stats = useLoad(
    async () => {
      // Nothing to fit the step to before the charts' box is measured.
      if (width === 0) return undefined;
      // A preset follows "now": each load re-anchors it.
      const r = range.preset ? presetRange(range.preset) : range;
      const query = {
        destination: id,
        from: new Date(r.from).toISOString(),
        to: new Date(r.to).toISOString(),
        step: `${step}`,
      };
      const res = await api.get<StatsResponse>('/v1/stats', query);
      return { ...res, from: r.from, to: r.to, query: withQuery('/v1/stats', query) };
    },
    [api, id, range, step, width === 0],
    range.preset && PRESETS[range.preset] <= 86_400 ? REFRESH_MS : undefined,
  );
  const results = useLoad(
    () => api.get<ResultPage>('/v1/results', { destination: id, limit: 25 }),
    [api, id],
    REFRESH_MS,
  );

  // Keys and drags act on the range drawn (a preset's is re-anchored at each load), as the reader sees it.
  const current = (): Range =>
    stats.data
      ? { ...range, from: stats.data.from, to: stats.data.to }
      : range.preset
        ? presetRange(range.preset)
        : range;
  const onKey = (e: KeyboardEvent) => {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    const next = keyRange(e.key, current());
    if (!next) return;
    e.preventDefault();
    setRange(next);
  };
  const shownText = stats.data
    ? `${stamp(stats.data.from)} — ${stamp(stats.data.to)} · step ${stats.data.step / 60} min${
        range.preset ? '' : ` · zoomed in ${baseOf(range)}`
      }`
    : 'Loading…';

  const d = info.data?.destination;
  const error = info.error ?? stats.error ?? results.error;
  return (
    <section class="destination" aria-labelledby="dest-title">
      <p class="crumbs">
        <a href={href({ page: 'overview' })}>Overview</a> ›
      </p>
      <div class="page-head">
        <h1 id="dest-title">
          {d ? d.address : id}
          {d && (
            <small>
              {' '}
              {d.protocol}
              {d.port !== null ? `:${d.port}` : ''} · every {d.interval} ms · ttl {d.ttl}
              {d.active ? '' : ' · paused'}
            </small>
          )}
        </h1>
        <fieldset class="segmented">
          <legend class="sr-only">Range</legend>
          {(Object.keys(PRESETS) as Preset[]).map((p) => (
            <button
              key={p}
              type="button"
              aria-pressed={range.preset === p}
              onClick={() => setRange(presetRange(p))}
            >
              {p}
            </button>
          ))}
        </fieldset>
      </div>
      {d && Object.keys(d.labels).length > 0 && <p class="labels">{labelText(d.labels)}</p>}
      {error && (
        <p class="error" role="alert">
          {error.message}
        </p>
      )}
      <p class="range">
        <span id="range-shown" aria-live="polite" aria-atomic="true">
          {shownText}
        </span>
        {!range.preset && (
          <button type="button" class="ghost" onClick={() => setRange(presetRange(baseOf(range)))}>
            Reset zoom
          </button>
        )}
        <span class="legend-loss" title="colour of the median line by loss">
          {LOSS_CLASSES.map((c) => (
            <span key={c.name}>
              <i style={{ background: c.color }} /> {c.name}
            </span>
          ))}
        </span>
      </p>
      <p id="chart-keys" class="hint">
        Drag across a graph to zoom, or focus the graphs and use ← → to move, + − to zoom, Esc to reset.
      </p>
      {/* An application, not a group: screen readers then hand the arrow keys to it instead of reading on. */}
      <div
        ref={ref}
        class="charts"
        // biome-ignore lint/a11y/noNoninteractiveTabindex: role application is a widget taking its own keys
        tabIndex={0}
        role="application"
        aria-roledescription="zoomable graph"
        aria-label="Latency and loss graphs"
        aria-describedby="range-shown chart-keys"
        aria-keyshortcuts="ArrowLeft ArrowRight + - Escape"
        onKeyDown={onKey}
      >
        {stats.data && width > 0 && stats.data.series.length === 0 && (
          <p class="empty">No results in this range.</p>
        )}
        {stats.data &&
          width > 0 &&
          stats.data.series.map((s) => (
            <SmokeChart
              key={s.source}
              sourceId={s.source}
              title={`from ${info.data?.sources.get(s.source)?.name ?? s.source}`}
              points={s.points}
              step={stats.data!.step}
              from={stats.data!.from}
              to={stats.data!.to}
              width={width}
              dark={dark}
              syncKey={`d-${id}`}
              query={stats.data!.query}
              onZoom={(from, to) => setRange(zoomedTo(current(), from, to))}
            />
          ))}
      </div>
      <h2>Latest results</h2>
      <div class="table-wrap">
        <table class="results">
          <thead>
            <tr>
              <th scope="col">Sent</th>
              <th scope="col">Source</th>
              <th scope="col">Status</th>
              <th scope="col" class="num">
                RTT
              </th>
              <th scope="col" class="opt">
                Answered by
              </th>
              <th scope="col" class="num opt">
                TTL
              </th>
              <th scope="col" class="num opt">
                Seq
              </th>
            </tr>
          </thead>
          <tbody>
            {(results.data?.results ?? []).map((r) => (
              <tr key={`${r.source}/${r.rtime}/${r.rseq}`}>
                <td title={ago(nsToMs(r.rtime))}>
                  <span class="opt">{stamp(nsToMs(r.rtime)).slice(0, 11)}</span>
                  {stamp(nsToMs(r.rtime)).slice(11)}
                </td>
                <td>{info.data?.sources.get(r.source)?.name ?? r.source}</td>
                <td>
                  <span class={`badge ${r.status === 'reply' ? 'up' : 'down'}`}>{r.status}</span>
                </td>
                <td class="num">{ms(r.rtt)}</td>
                <td class="opt">{r.address ?? '—'}</td>
                <td class="num opt">{r.ttl ?? '—'}</td>
                <td class="num opt">{r.rseq}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
