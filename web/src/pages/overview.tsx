/**
 * Every (destination, source) pair with status, loss, median and jitter over the chosen window and an hour's
 * sparkline, worst first; filters; a virtualised list so a thousand rows scroll smoothly; refreshes itself.
 */
import { useEffect, useMemo, useState } from 'preact/hooks';
import type { Destination, Source, SummaryResponse, SummaryWindow } from '../../../contract/index.js';
import { Sparkline } from '../components/sparkline.js';
import { VirtualTable } from '../components/virtual-table.js';
import { ago, ms, nsToMs, pct, stamp } from '../format.js';
import { useLoad } from '../hooks.js';
import { type Filters, filterRows, pairRows } from '../overview-rows.js';
import { href } from '../router.js';
import { useSession } from '../session-context.js';
import { useSparklines } from '../sparklines.js';

const REFRESH_MS = 30_000;
const ROW_HEIGHT = 44;

export function OverviewPage() {
  const { api } = useSession();
  const [win, setWin] = useState<SummaryWindow>('1h');
  const [filters, setFilters] = useState<Filters>({ text: '', protocol: '', source: '', label: '' });

  const config = useLoad(
    async () => {
      const [d, s] = await Promise.all([
        api.get<{ destinations: Destination[] }>('/v1/destinations'),
        api.get<{ sources: Source[] }>('/v1/sources'),
      ]);
      return { destinations: d.destinations, sources: s.sources };
    },
    [api],
    REFRESH_MS,
  );
  const summary = useLoad(
    () => api.get<SummaryResponse>('/v1/stats/summary', { window: win }),
    [api, win],
    REFRESH_MS,
  );
  // The sparklines of the rows on screen only, asked once the rows are in (see sparklines.ts).
  const { lines, showing } = useSparklines(api, REFRESH_MS);

  const rows = useMemo(
    () =>
      // Without figures (the stats API failing) the pairs still show, as "no data", beside the error.
      config.data && (summary.data || summary.error)
        ? pairRows(config.data.destinations, config.data.sources, summary.data?.rows ?? [])
        : undefined,
    [config.data, summary.data, summary.error],
  );
  const shown = useMemo(() => (rows ? filterRows(rows, filters) : []), [rows, filters]);
  const labels = useMemo(() => {
    const all = new Set<string>();
    for (const d of config.data?.destinations ?? [])
      for (const [k, v] of Object.entries(d.labels)) all.add(`${k}=${v}`);
    return [...all].sort();
  }, [config.data]);
  const counts = useMemo(() => {
    const c: Record<string, number> = {};
    for (const r of shown) c[r.status] = (c[r.status] ?? 0) + 1;
    return c;
  }, [shown]);

  // Marks for bench/dashboard: the first rows, and the first sparklines, in the page (after the commit).
  const drawn = rows !== undefined && rows.length > 0;
  useEffect(() => {
    if (drawn && performance.getEntriesByName('overview:rows').length === 0)
      performance.mark('overview:rows');
  }, [drawn]);
  useEffect(() => {
    if (drawn && lines.size > 0 && performance.getEntriesByName('overview:sparklines').length === 0)
      performance.mark('overview:sparklines');
  }, [drawn, lines]);

  const error = config.error ?? summary.error;
  const set = (k: keyof Filters) => (e: Event) =>
    setFilters({ ...filters, [k]: (e.currentTarget as HTMLInputElement | HTMLSelectElement).value });

  return (
    <section class="overview" aria-labelledby="overview-title">
      <div class="page-head">
        <h1 id="overview-title">Overview</h1>
        <fieldset class="segmented">
          <legend class="sr-only">Window</legend>
          {(['5m', '1h', '24h'] as const).map((w) => (
            <button key={w} type="button" aria-pressed={w === win} onClick={() => setWin(w)}>
              {w}
            </button>
          ))}
        </fieldset>
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <div class="filter">
          <label for="f-search">Search</label>
          <input
            id="f-search"
            type="search"
            placeholder="address, label, source"
            value={filters.text}
            onInput={set('text')}
          />
        </div>
        <div class="filter">
          <label for="f-label">Label</label>
          <select id="f-label" value={filters.label} onChange={set('label')}>
            <option value="">any</option>
            {labels.map((l) => (
              <option key={l}>{l}</option>
            ))}
          </select>
        </div>
        <div class="filter">
          <label for="f-protocol">Protocol</label>
          <select id="f-protocol" value={filters.protocol} onChange={set('protocol')}>
            <option value="">any</option>
            {['icmp', 'icmp6', 'udp', 'udp6', 'tcp', 'tcp6'].map((p) => (
              <option key={p}>{p}</option>
            ))}
          </select>
        </div>
        <div class="filter">
          <label for="f-source">Source</label>
          <select id="f-source" value={filters.source} onChange={set('source')}>
            <option value="">any</option>
            {(config.data?.sources ?? []).map((s) => (
              <option key={s.id} value={s.id}>
                {s.name}
              </option>
            ))}
          </select>
        </div>
      </form>
      <p class="counts" aria-live="polite">
        {rows === undefined
          ? 'Loading…'
          : `${shown.length} of ${rows.length} pairs · ${(
              ['down', 'loss', 'no data', 'up', 'paused'] as const
            )
              .filter((s) => counts[s])
              .map((s) => `${counts[s]} ${s}`)
              .join(' · ')}`}
        {summary.data && ` · updated ${stamp(Date.now()).slice(11)}, every ${REFRESH_MS / 1000} s`}
      </p>
      {error && (
        <p class="error" role="alert">
          {error.message}
        </p>
      )}
      <VirtualTable
        items={shown}
        rowHeight={ROW_HEIGHT}
        columns={7}
        label="Destinations by source, worst first"
        onRendered={(rs) => showing(rs.map((r) => r.destination.id))}
        head={
          <tr>
            <th scope="col" class="c-status">
              Status
            </th>
            <th scope="col" class="c-dest">
              Destination
            </th>
            <th scope="col" class="c-src">
              Source
            </th>
            <th scope="col" class="num c-num">
              Loss
            </th>
            <th scope="col" class="num c-num">
              Median
            </th>
            <th scope="col" class="num c-num opt">
              Jitter
            </th>
            <th scope="col" class="c-spark opt">
              Last hour
            </th>
          </tr>
        }
        row={(r, i) => (
          <tr class="pair" key={r.key} data-pair={r.key} data-status={r.status} aria-rowindex={i + 2}>
            <td>
              <span class={`badge ${r.status.replace(' ', '-')}`}>{r.status}</span>
            </td>
            <td class="dest">
              <a href={href({ page: r.destination.census ? 'census' : 'destination', id: r.destination.id })}>
                {r.destination.address}
              </a>
              <small>
                {r.destination.protocol}
                {r.destination.port !== null ? `:${r.destination.port}` : ''}
                <span class="phone-only"> · {r.source?.name ?? r.sourceId}</span>
              </small>
            </td>
            <td
              class="src"
              title={r.summary ? `last result ${ago(nsToMs(r.summary.lastResult))}` : undefined}
            >
              {r.source?.name ?? r.sourceId}
            </td>
            <td class="num loss" data-loss={r.summary?.loss}>
              {pct(r.summary?.loss)}
            </td>
            <td class="num">{ms(r.summary?.p50)}</td>
            <td class="num opt">{ms(r.summary?.jitter)}</td>
            <td class="opt">
              <Sparkline line={lines.get(r.key)} />
            </td>
          </tr>
        )}
      />
    </section>
  );
}
