/**
 * `pinger dest …`: what to probe and how. Help texts take ranges and defaults from the contract's LIMITS and
 * DEFAULTS; the server's schema judges the values.
 */
import { type Command, Option } from 'commander';
import {
  DEFAULTS,
  type Destination,
  type DestinationPatch,
  LIMITS,
  PROTOCOLS,
  type Protocol,
} from '../../contract/index.js';
import { type ApiOptions, apiAction, type Io } from '../api-command.js';
import { collectLabel, parseBoolean, parseIdList, parseInteger } from '../arguments.js';
import { CliError } from '../errors.js';
import { type Column, details, formatLabels, orEmpty, table } from '../format.js';

interface DestinationFieldOptions extends ApiOptions {
  address?: string;
  protocol?: Protocol;
  /** `false` from `--no-port` (icmp has none). */
  port?: number | false;
  interval?: number;
  timeout?: number;
  ttl?: number;
  data?: string;
  sources?: string[];
  allSources?: boolean;
  label?: Record<string, string>;
  /** `dest set --active true|false`. */
  active?: boolean;
  /** `dest add --inactive`. */
  inactive?: boolean;
}

interface ListOptions extends ApiOptions {
  active?: boolean;
  protocol?: Protocol;
  source?: string;
}

const allOrList = (ids: readonly string[]) => (ids.length === 0 ? 'all' : ids.join(','));

const columns: Column<Destination>[] = [
  { heading: 'ID', cell: (d) => d.id },
  { heading: 'ACTIVE', cell: (d) => (d.active ? 'yes' : 'no') },
  { heading: 'PROTOCOL', cell: (d) => d.protocol },
  { heading: 'ADDRESS', cell: (d) => d.address },
  { heading: 'PORT', cell: (d) => orEmpty(d.port), align: 'right' },
  { heading: 'INTERVAL', cell: (d) => `${d.interval} ms`, align: 'right' },
  { heading: 'TIMEOUT', cell: (d) => `${d.timeout} ms`, align: 'right' },
  { heading: 'TTL', cell: (d) => String(d.ttl), align: 'right' },
  { heading: 'SOURCES', cell: (d) => allOrList(d.sources) },
  { heading: 'LABELS', cell: (d) => formatLabels(d.labels) },
];

/** One destination in full, as `key: value` lines. */
export function destinationDetails(d: Destination): string {
  return details([
    ['id', d.id],
    ['active', d.active ? 'yes' : 'no'],
    ['address', d.address],
    ['protocol', d.protocol],
    ['port', orEmpty(d.port)],
    ['interval', `${d.interval} ms`],
    ['timeout', `${d.timeout} ms`],
    ['ttl', String(d.ttl)],
    ['data', d.data === '' ? '-' : JSON.stringify(d.data)],
    ['sources', allOrList(d.sources)],
    ['labels', formatLabels(d.labels)],
    ['created', d.createdAt],
    ['updated', d.updatedAt],
  ]);
}

const range = (r: { min: number; max: number }) => `${r.min}–${r.max}`;

/** Adds the options that set a destination's fields; on `add` the help names the server's defaults. */
function fieldOptions(cmd: Command, forCreate: boolean): Command {
  const dflt = (value: string | number) => (forCreate ? `, default: ${value}` : '');
  return cmd
    .addOption(
      new Option(
        '--protocol <protocol>',
        `probe protocol${forCreate ? ` (default: ${DEFAULTS.protocol})` : ''}`,
      ).choices(PROTOCOLS),
    )
    .option('--port <n>', `port, for udp and tcp only (${range(LIMITS.port)})`, parseInteger)
    .option(
      '--interval <ms>',
      `milliseconds between probes (${range(LIMITS.intervalMs)}${dflt(DEFAULTS.interval)})`,
      parseInteger,
    )
    .option(
      '--timeout <ms>',
      `milliseconds to wait for an answer; may exceed the interval (${range(LIMITS.timeoutMs)}${dflt(DEFAULTS.timeout)})`,
      parseInteger,
    )
    .option(
      '--ttl <n>',
      `IPv4 TTL / IPv6 hop limit (${range(LIMITS.ttl)}${dflt(DEFAULTS.ttl)})`,
      parseInteger,
    )
    .option(
      '--data <text>',
      `payload text sent in each probe, checked in the echo (at most ${LIMITS.dataBytes} bytes${forCreate ? ', default: none' : ''})`,
    )
    .option(
      '--sources <ids>',
      `comma-separated source ids that probe it${forCreate ? ' (default: every source)' : ''}`,
      parseIdList,
    )
    .option(
      '--label <key=value>',
      `a label; repeat for more${forCreate ? '' : ' (replaces all labels)'}`,
      collectLabel,
    );
}

/** The request fields the options name; absent options stay absent (PATCH changes only those). */
function destinationFields(o: DestinationFieldOptions): DestinationPatch {
  const fields: DestinationPatch = {};
  if (o.address !== undefined) fields.address = o.address;
  if (o.protocol !== undefined) fields.protocol = o.protocol;
  if (o.port !== undefined) fields.port = o.port === false ? null : o.port;
  if (o.interval !== undefined) fields.interval = o.interval;
  if (o.timeout !== undefined) fields.timeout = o.timeout;
  if (o.ttl !== undefined) fields.ttl = o.ttl;
  if (o.data !== undefined) fields.data = o.data;
  if (o.allSources) fields.sources = [];
  else if (o.sources !== undefined) fields.sources = o.sources;
  if (o.label !== undefined) fields.labels = o.label;
  if (o.inactive) fields.active = false;
  else if (o.active !== undefined) fields.active = o.active;
  return fields;
}

/** Registers `pinger dest add|list|show|set|rm`. */
export function register(program: Command, io: Io): void {
  const dest = program.command('dest').description('manage destinations: what the sources probe');

  const add = dest
    .command('add <address>')
    .description('add a destination (IPv4, IPv6 or host name)')
    .option('--inactive', 'store it without probing it yet');
  apiAction<DestinationFieldOptions>(fieldOptions(add, true), io, async (ctx, [address], o) => {
    const d = await ctx.client.createDestination({ ...destinationFields(o), address: address! });
    ctx.print(d, () => destinationDetails(d));
  });

  const list = dest
    .command('list')
    .description('list destinations')
    .option('--active <bool>', 'only active (true) or inactive (false) ones', parseBoolean)
    .addOption(new Option('--protocol <protocol>', 'only this protocol').choices(PROTOCOLS))
    .option('--source <id>', 'only those this source probes');
  apiAction<ListOptions>(list, io, async (ctx, _args, o) => {
    const filter = { active: o.active, protocol: o.protocol, source: o.source };
    const found = await ctx.client.listDestinations(filter);
    ctx.print(found, () => (found.length === 0 ? 'no destinations' : table(columns, found)));
  });

  apiAction(dest.command('show <id>').description('show one destination'), io, async (ctx, [id]) => {
    const d = await ctx.client.getDestination(id!);
    ctx.print(d, () => destinationDetails(d));
  });

  const set = dest
    .command('set <id>')
    .description('change the given fields of a destination, leaving the others')
    .option('--active <bool>', 'probe it (true) or pause it (false)', parseBoolean)
    .option('--address <address>', 'IPv4, IPv6 or host name to probe');
  fieldOptions(set, false)
    .option('--no-port', 'clear the port (when switching to icmp)')
    .addOption(new Option('--all-sources', 'let every source probe it').conflicts('sources'));
  apiAction<DestinationFieldOptions>(set, io, async (ctx, [id], o) => {
    const patch = destinationFields(o);
    if (Object.keys(patch).length === 0) {
      throw new CliError('nothing to change: give at least one field option (see pinger dest set --help)');
    }
    const d = await ctx.client.updateDestination(id!, patch);
    ctx.print(d, () => destinationDetails(d));
  });

  const rm = dest.command('rm <id>').description('delete a destination (its results stay)');
  apiAction(rm, io, async (ctx, [id]) => {
    await ctx.client.deleteDestination(id!);
    ctx.print({ id, deleted: true }, () => `deleted destination ${id}`);
  });
}
