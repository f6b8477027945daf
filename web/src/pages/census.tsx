/**
 * A census destination (its address a prefix): hosts up over time, a map of the prefix coloured by host state
 * (click a cell for that host, its history graphed under its details), and the latest passes with the sources
 * that took part and what they covered.
 */
import { useMemo, useState } from 'preact/hooks';
import {
  type CensusEvent,
  type CensusHost,
  type CensusPassRecord,
  type Destination,
  defaultCensus,
  type Source,
} from '../../../contract/index.js';
import { CELL_COLORS, type CellState, gridOf, hostStates } from '../census-grid.js';
import { CensusMap } from '../components/census-map.js';
import { HostHistory } from '../components/host-history.js';
import { HostsChart } from '../components/hosts-chart.js';
import { PassesTable } from '../components/passes-table.js';
import { ago, ms, nsToMs, stamp } from '../format.js';
import { useDark, useLoad, useWidth } from '../hooks.js';
import { href } from '../router.js';
import { useSession } from '../session-context.js';

const REFRESH_MS = 60_000;

function HostDetails({ address, host, state }: { address: string; host?: CensusHost; state?: CellState }) {
  return (
    <dl class="host-details" aria-live="polite" data-address={address}>
      <dt>Address</dt>
      <dd>{address}</dd>
      <dt>State</dt>
      <dd>{state ?? 'never answered'}</dd>
      {host && (
        <>
          <dt>First seen</dt>
          <dd title={ago(nsToMs(host.firstSeen))}>{stamp(nsToMs(host.firstSeen))}</dd>
          <dt>Last seen</dt>
          <dd title={ago(nsToMs(host.lastSeen))}>{stamp(nsToMs(host.lastSeen))}</dd>
          <dt>Last RTT</dt>
          <dd>{ms(host.lastRtt)}</dd>
          <dt>Passes answered</dt>
          <dd data-passes={host.passesAnswered}>{host.passesAnswered}</dd>
        </>
      )}
    </dl>
  );
}

export function CensusPage({ id }: { id: string }) {
  const { api } = useSession();
  const { ref, width } = useWidth();
  const dark = useDark();
  const [picked, setPicked] = useState<string | undefined>();
  const base = `/v1/census/${encodeURIComponent(id)}`;
  const data = useLoad(
    async () => {
      const [destination, hosts, fresh, passes, events, sources] = await Promise.all([
        api.get<Destination>(`/v1/destinations/${encodeURIComponent(id)}`),
        api.get<{ hosts: CensusHost[] }>(`${base}/hosts`),
        api.get<{ hosts: CensusHost[] }>(`${base}/hosts`, { state: 'new' }),
        api.get<{ passes: CensusPassRecord[] }>(`${base}/passes`, { limit: 1000 }),
        api.get<{ events: CensusEvent[] }>(`${base}/events`, { limit: 1000 }),
        api.get<{ sources: Source[] }>('/v1/sources'),
      ]);
      const goneAfter = (destination.census ?? defaultCensus()).goneAfter;
      return {
        destination,
        hosts: new Map(hosts.hosts.map((h) => [h.address, h])),
        states: hostStates(hosts.hosts, fresh.hosts, events.events, goneAfter),
        passes: passes.passes,
        names: new Map(sources.sources.map((s) => [s.id, s.name])),
      };
    },
    [api, id],
    REFRESH_MS,
  );
  const d = data.data?.destination;
  const grid = useMemo(() => (d ? gridOf(d.address) : undefined), [d?.address]);
  const counts = useMemo(() => {
    const c: Record<CellState, number> = { up: 0, new: 0, down: 0, gone: 0 };
    for (const s of Object.values(data.data?.states ?? {})) c[s]++;
    return c;
  }, [data.data]);

  return (
    <section class="census" aria-labelledby="census-title">
      <p class="crumbs">
        <a href={href({ page: 'manage' })}>Destinations</a> ›
      </p>
      <div class="page-head">
        <h1 id="census-title">
          {d ? d.address : id}
          {d?.census && (
            <small>
              {' '}
              census · every {Math.round(d.interval / 60_000)} min · {d.census.rate} probes/s · gone after{' '}
              {d.census.goneAfter} missed
              {d.active ? '' : ' · paused'}
            </small>
          )}
        </h1>
        <a href={href({ page: 'destination', id })}>Results of its answers ›</a>
      </div>
      {data.error && (
        <p class="error" role="alert">
          {data.error.message}
        </p>
      )}
      <h2>Hosts up</h2>
      <div ref={ref} class="charts">
        {data.data && data.data.passes.length === 0 && <p class="empty">No passes reported yet.</p>}
        {data.data && width > 0 && data.data.passes.length > 0 && (
          <HostsChart passes={data.data.passes} width={width} dark={dark} />
        )}
      </div>
      <h2>Map</h2>
      {grid && data.data && (
        <div class="census-body">
          <CensusMap grid={grid} states={data.data.states} picked={picked} dark={dark} onPick={setPicked} />
          <div class="census-side">
            <ul class="census-legend" aria-label="Legend">
              {(Object.keys(CELL_COLORS) as CellState[]).map((s) => (
                <li key={s} data-state={s}>
                  <i style={{ background: CELL_COLORS[s] }} /> {s} <span class="muted">{counts[s]}</span>
                </li>
              ))}
              <li data-state="none">
                <i class="none" /> never answered
              </li>
            </ul>
            <p class="muted">
              {grid.cols}×{grid.rows}, one cell per address, row by row from {grid.prefix.text.split('/')[0]}.
            </p>
            {picked ? (
              <>
                <HostDetails
                  address={picked}
                  host={data.data.hosts.get(picked)}
                  state={data.data.states[picked]}
                />
                {data.data.hosts.has(picked) && <HostHistory id={id} address={picked} dark={dark} />}
              </>
            ) : (
              <p class="muted">Click a cell for that host.</p>
            )}
          </div>
        </div>
      )}
      <h2>Latest passes</h2>
      <PassesTable passes={(data.data?.passes ?? []).slice(0, 25)} names={data.data?.names ?? new Map()} />
    </section>
  );
}
