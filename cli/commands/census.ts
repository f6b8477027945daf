/**
 * `pinger census …`: sweep whole prefixes on a schedule and follow the hosts found. `add` creates a destination
 * whose address is a prefix (the server's schema judges the prefix and the settings); `show` sums up a census
 * (hosts up, new, gone, the last pass's figures); `hosts` lists its hosts, by state; `host` shows one host's
 * history, pass by pass, with loss and RTT figures.
 */
import { type Command, Option } from 'commander';
import {
  CENSUS_DEFAULTS,
  CENSUS_HOST_STATES,
  CENSUS_LIMITS,
  type CensusEvent,
  type CensusHost,
  type CensusHostHistory,
  type CensusHostPass,
  type CensusPassRecord,
  HOST_HISTORY_LIMITS,
  PROTOCOLS,
  type Protocol,
} from '../../contract/index.js';
import { type ApiOptions, apiAction, type Io } from '../api-command.js';
import { parseDuration, parseIdList, parseInteger, parsePositiveInteger } from '../arguments.js';
import { type Column, details, formatRtime, formatRtt, table } from '../format.js';

interface AddOptions extends ApiOptions {
  every?: number;
  rate?: number;
  retries?: number;
  goneAfter?: number;
  split?: boolean;
  protocol?: Protocol;
  port?: number;
  timeout?: number;
  sources?: string[];
}

const hostColumns: Column<CensusHost>[] = [
  { heading: 'ADDRESS', cell: (h) => h.address },
  { heading: 'STATE', cell: (h) => h.state },
  { heading: 'FIRST SEEN', cell: (h) => formatRtime(h.firstSeen) },
  { heading: 'LAST SEEN', cell: (h) => formatRtime(h.lastSeen) },
  { heading: 'LAST RTT', cell: (h) => formatRtt(h.lastRtt), align: 'right' },
  { heading: 'PASSES', cell: (h) => String(h.passesAnswered), align: 'right' },
  { heading: 'MISSED', cell: (h) => String(h.missed), align: 'right' },
];

const passColumns: Column<CensusPassRecord>[] = [
  { heading: 'START', cell: (p) => formatRtime(p.start) },
  { heading: 'DURATION', cell: (p) => `${(p.durationMs / 1000).toFixed(2)} s`, align: 'right' },
  { heading: 'SOURCES', cell: (p) => p.sources.join(',') },
  { heading: 'ADDRESSES', cell: (p) => String(p.addresses), align: 'right' },
  // A split pass missing a silent source's slice: how much of the prefix was probed.
  { heading: 'COVERED', cell: (p) => (p.complete ? 'all' : String(p.covered)), align: 'right' },
  // Members of a split pass that reported no slice of it (yet).
  { heading: 'MISSING', cell: (p) => (p.missing?.length ? p.missing.join(',') : '-') },
  { heading: 'ANSWERED', cell: (p) => String(p.answered), align: 'right' },
  { heading: 'PROBED', cell: (p) => String(p.probed), align: 'right' },
  { heading: 'RETRIES', cell: (p) => String(p.retries), align: 'right' },
  { heading: 'SKIPPED', cell: (p) => String(p.skipped), align: 'right' },
];

const eventColumns: Column<CensusEvent>[] = [
  { heading: 'AT', cell: (e) => formatRtime(e.at) },
  { heading: 'ADDRESS', cell: (e) => e.address },
  { heading: 'EVENT', cell: (e) => e.kind },
];

const historyColumns: Column<CensusHostPass>[] = [
  { heading: 'PASS', cell: (p) => formatRtime(p.at) },
  { heading: 'ANSWERED', cell: (p) => (p.answered ? 'yes' : 'no') },
  { heading: 'RTT', cell: (p) => (p.answered ? formatRtt(p.rtt) : ''), align: 'right' },
];

const range = (r: { min: number; max: number }) => `${r.min}–${r.max}`;

/** A host's record and the figures over its history as `key: value` lines. */
function hostLines(h: CensusHostHistory): [string, string][] {
  const s = h.summary;
  const rtt = (x: number | null) => formatRtt(x);
  return [
    ['address', h.host.address],
    ['state', h.host.missed > 0 ? `${h.host.state} (missed ${h.host.missed} in a row)` : h.host.state],
    ['first seen', formatRtime(h.host.firstSeen)],
    ['last seen', formatRtime(h.host.lastSeen)],
    ['last rtt', formatRtt(h.host.lastRtt)],
    ['passes answered', `${h.host.passesAnswered} (all time)`],
    ['range', `${formatRtime(h.from)} – ${formatRtime(h.to)}${h.more ? ' (older passes left out)' : ''}`],
    ['passes', `${s.passes}, answered ${s.answered}`],
    ['loss', s.loss === null ? '' : `${(s.loss * 100).toFixed(1)} %`],
    [
      'rtt min/median/p90/max',
      `${rtt(s.rttMin)} / ${rtt(s.rttMedian)} / ${rtt(s.rttP90)} / ${rtt(s.rttMax)}`,
    ],
  ];
}

/** The last pass as `key: value` lines. */
function passLines(p: CensusPassRecord | undefined): [string, string][] {
  if (!p) return [['last pass', 'none yet']];
  return [
    [
      'last pass',
      `${formatRtime(p.start)} (${(p.durationMs / 1000).toFixed(2)} s, ` +
        `${p.sources.length === 1 ? 'source' : 'sources'} ${p.sources.join(', ')})`,
    ],
    [
      '  addresses',
      p.complete ? String(p.addresses) : `${p.addresses} (${p.covered} in the slices reported)`,
    ],
    ...(p.missing?.length
      ? [['  missing', `${p.missing.join(', ')} (reported no slice)`] as [string, string]]
      : []),
    ['  answered', String(p.answered)],
    ['  probed', `${p.probed} (${p.retries} retries, ${p.errors} errors)`],
    ['  rate', `${p.rate}/s`],
    ['  skipped', `${p.skipped} slots (a pass still running)`],
  ];
}

/** Registers `pinger census add|show|hosts|passes|events`. */
export function register(program: Command, io: Io): void {
  const census = program
    .command('census')
    .description('sweep prefixes on a schedule and follow the hosts found');

  const add = census
    .command('add <prefix>')
    .description('add a census: a prefix (IPv4 /16 or longer, IPv6 /112 or longer) swept in passes')
    .option('--every <duration>', 'time between passes: 30m, 1h, 90s … (default: 30m)', parseDuration)
    .option(
      '--rate <n>',
      `probes a second (${range(CENSUS_LIMITS.rate)}, default: ${CENSUS_DEFAULTS.rate}; held to the agent's --pps)`,
      parseInteger,
    )
    .option(
      '--retries <n>',
      `extra rounds over the silent addresses (${range(CENSUS_LIMITS.retries)}, default: ${CENSUS_DEFAULTS.retries})`,
      parseInteger,
    )
    .option(
      '--gone-after <n>',
      `passes a host must miss in a row to be gone (${range(CENSUS_LIMITS.goneAfter)}, default: ${CENSUS_DEFAULTS.goneAfter})`,
      parseInteger,
    )
    .option('--split', 'share the prefix across the sources that probe it')
    .addOption(new Option('--protocol <protocol>', 'probe protocol (default: icmp)').choices(PROTOCOLS))
    .option('--port <n>', 'port, for udp and tcp only', parseInteger)
    .option('--timeout <ms>', 'milliseconds to wait for each answer (default: 1000)', parseInteger)
    .option(
      '--sources <ids>',
      'comma-separated source ids that sweep it (default: every source)',
      parseIdList,
    );
  apiAction<AddOptions>(add, io, async (ctx, [prefix], o) => {
    const settings: Record<string, unknown> = {};
    if (o.rate !== undefined) settings.rate = o.rate;
    if (o.retries !== undefined) settings.retries = o.retries;
    if (o.goneAfter !== undefined) settings.goneAfter = o.goneAfter;
    if (o.split) settings.split = true;
    const d = await ctx.client.createDestination({
      address: prefix!,
      census: settings,
      ...(o.every !== undefined ? { interval: o.every } : {}),
      ...(o.protocol !== undefined ? { protocol: o.protocol } : {}),
      ...(o.port !== undefined ? { port: o.port } : {}),
      ...(o.timeout !== undefined ? { timeout: o.timeout } : {}),
      ...(o.sources !== undefined ? { sources: o.sources } : {}),
    });
    ctx.print(d, () =>
      details([
        ['id', d.id],
        ['prefix', d.address],
        ['protocol', d.protocol],
        ['every', `${d.interval / 1000} s`],
        ['rate', `${d.census?.rate}/s`],
        ['retries', String(d.census?.retries)],
        ['gone after', `${d.census?.goneAfter} passes`],
        ['split', d.census?.split ? 'yes' : 'no'],
      ]),
    );
  });

  const show = census.command('show <id>').description('hosts up, new and gone, and the last pass');
  apiAction(show, io, async (ctx, [id]) => {
    const [d, hosts, passes, events] = await Promise.all([
      ctx.client.getDestination(id!),
      ctx.client.censusHosts(id!),
      ctx.client.censusPasses(id!, 1),
      ctx.client.censusEvents(id!, 1000),
    ]);
    const last = passes[0];
    const up = hosts.filter((h) => h.state === 'up');
    // Hosts and events carry the time of their pass: the slot of a split pass, else its start.
    const lastAt = last && (last.slot ?? last.start);
    const fresh = last ? up.filter((h) => h.firstSeen === lastAt) : [];
    const gone = last ? events.filter((e) => e.kind === 'gone' && e.at === lastAt) : [];
    const summary = {
      destination: d,
      hosts: {
        up: up.length,
        down: hosts.length - up.length,
        new: fresh.length,
        goneInLastPass: gone.length,
      },
      lastPass: last ?? null,
    };
    ctx.print(summary, () =>
      details([
        ['id', d.id],
        ['prefix', d.address],
        ['every', `${d.interval / 1000} s`],
        ['hosts up', String(up.length)],
        ['hosts down', String(hosts.length - up.length)],
        ['new in last pass', String(fresh.length)],
        ['gone in last pass', String(gone.length)],
        ...passLines(last),
      ]),
    );
  });

  const hosts = census
    .command('hosts <id>')
    .description('list the hosts of a census, by address')
    .addOption(
      new Option('--state <state>', 'only up, down, or new (up and first seen in the latest pass)').choices(
        CENSUS_HOST_STATES,
      ),
    );
  apiAction<ApiOptions & { state?: 'up' | 'down' | 'new' }>(hosts, io, async (ctx, [id], o) => {
    const found = await ctx.client.censusHosts(id!, o.state);
    ctx.print(found, () => (found.length === 0 ? 'no hosts' : table(hostColumns, found)));
  });

  const host = census
    .command('host <id> <address>')
    .description(
      "one host's record and its history, pass by pass (answered or missed, RTT), with loss and RTT figures",
    )
    .option(
      '--from <time>',
      'start: ISO 8601 (2026-01-02T03:04:05Z) or ns since the epoch (default: as far back as kept)',
    )
    .option('--to <time>', 'end, same forms as --from (default: now)')
    .option(
      '--limit <n>',
      `the newest this many passes (default: ${HOST_HISTORY_LIMITS.default}, at most ${HOST_HISTORY_LIMITS.max})`,
      parsePositiveInteger,
    );
  apiAction<ApiOptions & { from?: string; to?: string; limit?: number }>(
    host,
    io,
    async (ctx, [id, address], o) => {
      const history = await ctx.client.censusHost(id!, address!, { from: o.from, to: o.to, limit: o.limit });
      ctx.print(history, () =>
        [
          details(hostLines(history)),
          history.passes.length === 0 ? 'no passes in range' : table(historyColumns, history.passes),
        ].join('\n\n'),
      );
    },
  );

  const passes = census
    .command('passes <id>')
    .description('list the passes of a census, newest first')
    .option('--limit <n>', 'at most this many (default: 100, at most 1000)', parsePositiveInteger, 100);
  apiAction<ApiOptions & { limit: number }>(passes, io, async (ctx, [id], o) => {
    const found = await ctx.client.censusPasses(id!, o.limit);
    ctx.print(found, () => (found.length === 0 ? 'no passes yet' : table(passColumns, found)));
  });

  const events = census
    .command('events <id>')
    .description('list the hosts that appeared and went, newest first')
    .option('--limit <n>', 'at most this many (default: 100, at most 1000)', parsePositiveInteger, 100);
  apiAction<ApiOptions & { limit: number }>(events, io, async (ctx, [id], o) => {
    const found = await ctx.client.censusEvents(id!, o.limit);
    ctx.print(found, () => (found.length === 0 ? 'no events yet' : table(eventColumns, found)));
  });
}
