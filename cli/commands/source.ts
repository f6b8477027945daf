/**
 * `pinger source …`: the hosts that run an agent. Creating a source (or rotating its token) is the one time its
 * agent token is shown.
 */
import type { Command } from 'commander';
import type { Source, SourcePatch, SourceWithToken } from '../../contract/index.js';
import { type ApiContext, type ApiOptions, apiAction, type Io } from '../api-command.js';
import { collectLabel, parseInteger } from '../arguments.js';
import { CliError } from '../errors.js';
import { type Column, details, formatLabels, orEmpty, table } from '../format.js';

interface SourceFieldOptions extends ApiOptions {
  name?: string;
  location?: number;
  host?: number;
  sourceid?: number;
  /** `false` from `--no-address` (clear it). */
  address?: string | false;
  label?: Record<string, string>;
}

const columns: Column<Source>[] = [
  { heading: 'ID', cell: (s) => s.id },
  { heading: 'NAME', cell: (s) => s.name },
  { heading: 'SOURCEID', cell: (s) => String(s.sourceid), align: 'right' },
  { heading: 'LOCATION', cell: (s) => String(s.location), align: 'right' },
  { heading: 'HOST', cell: (s) => String(s.host), align: 'right' },
  { heading: 'ADDRESS', cell: (s) => orEmpty(s.address) },
  { heading: 'LABELS', cell: (s) => formatLabels(s.labels) },
  { heading: 'LAST SEEN', cell: (s) => orEmpty(s.lastSeen) },
];

/** One source in full, as `key: value` lines. */
export function sourceDetails(s: Source | SourceWithToken): string {
  const entries: [string, string][] = [
    ['id', s.id],
    ['name', s.name],
    ['sourceid', String(s.sourceid)],
    ['location', String(s.location)],
    ['host', String(s.host)],
    ['address', orEmpty(s.address)],
    ['labels', formatLabels(s.labels)],
    ['last seen', s.lastSeen ?? 'never'],
    ['created', s.createdAt],
  ];
  if ('token' in s) entries.push(['agent token', s.token]);
  return details(entries);
}

/** Adds the options that set a source's fields; `forCreate` adds what only makes sense there. */
function sourceFieldOptions(cmd: Command, forCreate: boolean): Command {
  const dflt = forCreate ? ', default: 0' : '';
  cmd
    .option('--location <n>', `site number, stored in results as rsite (0–65535${dflt})`, parseInteger)
    .option('--host <n>', `host number within the site, stored as rhost (0–65535${dflt})`, parseInteger)
    .option(
      '--sourceid <n>',
      `id carried in every probe packet, unique (0–65535${forCreate ? ', default: lowest free' : ''})`,
      parseInteger,
    )
    .option('--address <address>', "the source host's own address (IPv4, IPv6 or host name)")
    .option(
      '--label <key=value>',
      `a label; repeat for more${forCreate ? '' : ' (replaces all labels)'}`,
      collectLabel,
    );
  if (!forCreate) cmd.option('--no-address', 'clear the address');
  return cmd;
}

function sourceFields(o: SourceFieldOptions): SourcePatch {
  const patch: SourcePatch = {};
  if (o.name !== undefined) patch.name = o.name;
  if (o.location !== undefined) patch.location = o.location;
  if (o.host !== undefined) patch.host = o.host;
  if (o.sourceid !== undefined) patch.sourceid = o.sourceid;
  if (o.address !== undefined) patch.address = o.address === false ? null : o.address;
  if (o.label !== undefined) patch.labels = o.label;
  return patch;
}

function printWithToken(ctx: ApiContext, s: SourceWithToken, what: string): void {
  ctx.print(s, () => sourceDetails(s));
  ctx.note(
    `${what}: the agent token above is shown only this once; store it now (the agent's --token).\n` +
      `Lost it? \`pinger source rotate-token ${s.id}\` makes a new one and revokes the old.`,
  );
}

/** Registers `pinger source add|list|show|set|rm|rotate-token`. */
export function register(program: Command, io: Io): void {
  const source = program.command('source').description('manage sources: the hosts that run an agent');

  const add = source
    .command('add')
    .description('add a source; prints its agent token (shown this once)')
    .requiredOption('--name <name>', 'display name (1–64 characters)');
  apiAction<SourceFieldOptions>(sourceFieldOptions(add, true), io, async (ctx, _args, o) => {
    const created = await ctx.client.createSource({ ...sourceFields(o), name: o.name! });
    printWithToken(ctx, created, `created source ${created.id}`);
  });

  apiAction(source.command('list').description('list sources'), io, async (ctx) => {
    const sources = await ctx.client.listSources();
    ctx.print(sources, () => (sources.length === 0 ? 'no sources' : table(columns, sources)));
  });

  apiAction(source.command('show <id>').description('show one source'), io, async (ctx, [id]) => {
    const s = await ctx.client.getSource(id!);
    ctx.print(s, () => sourceDetails(s));
  });

  const set = source
    .command('set <id>')
    .description('change the given fields of a source, leaving the others')
    .option('--name <name>', 'display name (1–64 characters)');
  apiAction<SourceFieldOptions>(sourceFieldOptions(set, false), io, async (ctx, [id], o) => {
    const patch = sourceFields(o);
    if (Object.keys(patch).length === 0) {
      throw new CliError(
        'nothing to change: give at least one of --name, --location, --host, --sourceid, --address, --no-address, --label',
      );
    }
    const s = await ctx.client.updateSource(id!, patch);
    ctx.print(s, () => sourceDetails(s));
  });

  const rm = source.command('rm <id>').description('delete a source and its tokens (its results stay)');
  apiAction(rm, io, async (ctx, [id]) => {
    await ctx.client.deleteSource(id!);
    ctx.print({ id, deleted: true }, () => `deleted source ${id}`);
  });

  const rotate = source
    .command('rotate-token <id>')
    .description("replace a source's agent token; the old one stops working at once");
  apiAction(rotate, io, async (ctx, [id]) => {
    const s = await ctx.client.rotateSourceToken(id!);
    printWithToken(ctx, s, `new token for source ${s.id}`);
  });
}
