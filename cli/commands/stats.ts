/**
 * `pinger stats`: loss, RTT figures and jitter per (destination, source) from the control plane's rollups, as
 * an fping/mtr-like table (`--json`: the API's answer as is). A point per step over a range, or with
 * `--summary` one row per pair over a window; `--watch` prints it again every step until Ctrl-C (or `--count`
 * tables). A destination may be named by its address: it is looked up in `GET /v1/destinations`.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import {
  type Destination,
  parseDuration,
  type Source,
  type StatsPoint,
  type StatsResponse,
  type SummaryResponse,
  type SummaryRow,
} from '../../contract/index.js';
import { type ApiContext, type ApiOptions, apiAction, type Io } from '../api-command.js';
import { parsePositiveInteger } from '../arguments.js';
import { CliError } from '../errors.js';
import { type Column, EMPTY, formatRtime, table } from '../format.js';

interface StatsOptions extends ApiOptions {
  destination?: string;
  source?: string;
  since?: number;
  from?: string;
  to?: string;
  step?: string;
  label: string[];
  summary?: boolean;
  window?: string;
  sort?: string;
  watch?: boolean;
  count?: number;
}

/** How `--watch` waits between tables; tests pass one that does not wait. */
export interface WatchTimers {
  /** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

const realTimers: WatchTimers = {
  async sleep(ms, signal) {
    await delay(ms, undefined, { signal }).catch(() => {});
  },
};

/** Figures shared by a point and a summary row, and where they came from, for one table row. */
type Row = (StatsPoint | SummaryRow) & { time?: string; pair: { destination: string; source: string } };

/** A µs figure in ms with µs precision, without the unit (the table says it once). */
export function formatMs(micros: number | null): string {
  if (micros === null) return EMPTY;
  const us = Math.round(micros);
  return `${Math.floor(us / 1000)}.${String(us % 1000).padStart(3, '0')}`;
}

/** Loss as a percentage with one decimal, as mtr shows it. */
export function formatLoss(loss: number): string {
  return `${(loss * 100).toFixed(1)}%`;
}

const figureColumns: Column<Row>[] = [
  { heading: 'LOSS', cell: (r) => formatLoss(r.loss), align: 'right' },
  { heading: 'SENT', cell: (r) => String(r.sent), align: 'right' },
  { heading: 'RECV', cell: (r) => String(r.received), align: 'right' },
  { heading: 'MIN', cell: (r) => formatMs(r.min), align: 'right' },
  { heading: 'AVG', cell: (r) => formatMs(r.mean), align: 'right' },
  { heading: 'P50', cell: (r) => formatMs(r.p50), align: 'right' },
  { heading: 'P90', cell: (r) => formatMs(r.p90), align: 'right' },
  { heading: 'P99', cell: (r) => formatMs(r.p99), align: 'right' },
  { heading: 'MAX', cell: (r) => formatMs(r.max), align: 'right' },
  { heading: 'JITTER', cell: (r) => formatMs(r.jitter), align: 'right' },
];

/**
 * Answers not timed by the kernel on both ends: a column only when some row has any, so that the usual table
 * (every RTT kernel-timed) stays the fmt/mtr-like one; {@link PROCESS_TIMED_NOTE} says what it counts.
 */
function processTimedColumns(rows: readonly Row[]): Column<Row>[] {
  if (!rows.some((r) => r.processTimed > 0)) return [];
  return [{ heading: 'PROC', cell: (r) => String(r.processTimed), align: 'right' }];
}

/** The line under a table that shows {@link processTimedColumns}. */
export const PROCESS_TIMED_NOTE =
  "PROC: answers timed by the agent's clock (not the kernel's) on one end or both; their RTT includes its delay";

const pairColumns: Column<Row>[] = [
  { heading: 'DESTINATION', cell: (r) => r.pair.destination },
  { heading: 'SOURCE', cell: (r) => r.pair.source },
];

function parseSince(value: string): number {
  const seconds = parseDuration(value);
  if (seconds === undefined || seconds === 0) {
    throw new InvalidArgumentError('must be a duration like 15m, 1h, 2d.');
  }
  return seconds;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

/** Registers `pinger stats`. */
export function register(program: Command, io: Io, timers: WatchTimers = realTimers): void {
  const stats = program
    .command('stats')
    .description('loss, RTT percentiles and jitter per destination and source, from the rollups')
    .option('--destination <id|address>', 'one destination, by id or by address')
    .option('--source <id>', 'one source')
    .option('--label <k:v>', 'destinations whose labels hold k:v (repeat for several)', collect, [])
    .option('--since <duration>', 'from this long ago until now (15m, 1h, 7d); default 1h', parseSince)
    .option('--from <time>', 'start: ISO 8601 (2026-01-02T03:04:05Z) or ns since the epoch')
    .option('--to <time>', 'end, same forms as --from (default now)')
    .option('--step <duration>', 'one row per step (1m, 5m, 1h, 1d); chosen by the server when absent')
    .option('--summary', 'one row per destination and source over --window instead')
    .addOption(new Option('--window <window>', 'window of --summary').choices(['5m', '1h', '24h']))
    .addOption(new Option('--sort <figure>', 'order of --summary, worst first').choices(['loss', 'p50']))
    .option('--watch', 'print again every step (every minute with --summary) until Ctrl-C')
    .option('--count <n>', 'with --watch: stop after this many tables', parsePositiveInteger)
    .addHelpText(
      'after',
      '\nTimes in the table are ms. LOSS is the share of probes without a reply; JITTER the mean difference ' +
        'between\nconsecutive replies. PROC (shown only when not 0) counts answers not timed by the kernel on both ' +
        'ends.\n--json prints the API answer (one per line with --watch).',
    );
  apiAction<StatsOptions>(stats, io, async (ctx, _args, o) => {
    checkCombinations(o);
    const destination = o.destination && (await destinationId(ctx, o.destination));
    const names = await namesOf(ctx, o.json === true);
    const once = async () => {
      if (o.summary) {
        const answer = await ctx.client.summary({
          destination,
          source: o.source,
          window: o.window,
          sort: o.sort,
          label: o.label,
        });
        ctx.io.stdout(ctx.json ? `${JSON.stringify(answer)}\n` : `${summaryTable(answer, names)}\n`);
        return 60;
      }
      const answer = await ctx.client.stats({
        destination,
        source: o.source,
        from: o.since === undefined ? o.from : new Date(Date.now() - o.since * 1000).toISOString(),
        to: o.to,
        step: o.step,
        label: o.label,
      });
      ctx.io.stdout(ctx.json ? `${JSON.stringify(answer)}\n` : `${statsTable(answer, names)}\n`);
      return answer.step;
    };
    if (!o.watch) {
      await once();
      return;
    }
    await watch(ctx, once, timers, o.count);
  });
}

/** Prints a table, then again every step, until Ctrl-C or `count` tables. */
async function watch(ctx: ApiContext, once: () => Promise<number>, timers: WatchTimers, count?: number) {
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  try {
    for (let printed = 1; ; printed++) {
      const step = await once();
      if (stop.signal.aborted || (count !== undefined && printed >= count)) return;
      if (!ctx.json) ctx.note(`(again in ${step} s; Ctrl-C stops)`);
      await timers.sleep(step * 1000, stop.signal);
      if (stop.signal.aborted) return;
      if (!ctx.json) ctx.io.stdout('\n');
    }
  } finally {
    process.removeListener('SIGINT', onSignal);
  }
}

function checkCombinations(o: StatsOptions): void {
  if (o.since !== undefined && (o.from !== undefined || o.to !== undefined)) {
    throw new CliError('--since cannot be combined with --from or --to');
  }
  if (o.summary) {
    for (const [given, name] of [
      [o.since, '--since'],
      [o.from, '--from'],
      [o.to, '--to'],
      [o.step, '--step'],
    ] as const) {
      if (given !== undefined) throw new CliError(`${name} does not apply to --summary (it takes --window)`);
    }
  } else {
    if (o.window !== undefined) throw new CliError('--window applies to --summary only');
    if (o.sort !== undefined) throw new CliError('--sort applies to --summary only');
  }
  if (o.count !== undefined && !o.watch) throw new CliError('--count applies to --watch only');
}

/** An id as given, or the one destination with that address. */
async function destinationId(ctx: ApiContext, given: string): Promise<string> {
  if (/^dst_/.test(given)) return given;
  const matches = (await ctx.client.listDestinations()).filter((d) => d.address === given);
  if (matches.length === 1) return matches[0]!.id;
  if (matches.length === 0)
    throw new CliError(`no destination has address ${given} (give an id or an address)`);
  const list = matches.map((d) => `${d.id} (${d.protocol}${d.port === null ? '' : ` port ${d.port}`})`);
  throw new CliError(`several destinations have address ${given}: ${list.join(', ')}; give one id`);
}

interface Names {
  destination(id: string): string;
  source(id: string): string;
}

/** Addresses and source names for the table (ids where gone); nothing is fetched for --json. */
async function namesOf(ctx: ApiContext, json: boolean): Promise<Names> {
  if (json) return { destination: (id) => id, source: (id) => id };
  const [destinations, sources] = await Promise.all([
    ctx.client.listDestinations(),
    ctx.client.listSources(),
  ]);
  const address = new Map(destinations.map((d: Destination) => [d.id, d.address]));
  const name = new Map(sources.map((s: Source) => [s.id, s.name]));
  return { destination: (id) => address.get(id) ?? id, source: (id) => name.get(id) ?? id };
}

/** Stats as one table: a row per point, pairs one after another, oldest first within a pair. */
export function statsTable(answer: StatsResponse, names: Names): string {
  const rows: Row[] = answer.series.flatMap((series) =>
    series.points.map((point) => ({
      ...point,
      time: formatRtime(point.t).replace(/\.\d+Z$/, 'Z'),
      pair: { destination: names.destination(series.destination), source: names.source(series.source) },
    })),
  );
  if (rows.length === 0) return `no results in range (step ${answer.step} s)`;
  const extra = processTimedColumns(rows);
  const columns = [
    { heading: 'TIME', cell: (r: Row) => r.time ?? EMPTY },
    ...pairColumns,
    ...figureColumns,
    ...extra,
  ];
  return `${table(columns, rows)}\n(step ${answer.step} s; times in ms)${noteOf(extra)}`;
}

/** The summary as one table, worst first, with each pair's last result. */
export function summaryTable(answer: SummaryResponse, names: Names): string {
  const rows: Row[] = answer.rows.map((row) => ({
    ...row,
    pair: { destination: names.destination(row.destination), source: names.source(row.source) },
  }));
  if (rows.length === 0) return `no results in the last ${answer.window} s`;
  const last: Column<Row>[] = [
    {
      heading: 'LAST',
      cell: (r) => ('lastStatus' in r ? `${r.lastStatus} ${formatRtime(r.lastResult).slice(11, 19)}` : EMPTY),
    },
  ];
  const extra = processTimedColumns(rows);
  return `${table([...pairColumns, ...figureColumns, ...extra, ...last], rows)}\n(last ${answer.window} s; times in ms)${noteOf(extra)}`;
}

function noteOf(processTimed: readonly Column<Row>[]): string {
  return processTimed.length > 0 ? `\n${PROCESS_TIMED_NOTE}` : '';
}
