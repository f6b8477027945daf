/**
 * `pinger results`: stored results, newest first. A table for people; NDJSON for scripts (one result per
 * line exactly as the API returns it, printed page by page so a large export starts at once and never sits
 * whole in memory).
 */
import { type Command, Option } from 'commander';
import { type Result, STATUSES, type Status } from '../../contract/index.js';
import { type ApiOptions, apiAction, type Io } from '../api-command.js';
import { parsePositiveInteger } from '../arguments.js';
import { RESULTS_PAGE_SIZE, type ResultFilterInput } from '../client.js';
import { type Column, EMPTY, formatRtime, formatRtt, orEmpty, table } from '../format.js';

/** How many results `pinger results` shows without `--limit`. */
export const DEFAULT_RESULTS_LIMIT = 100;

interface ResultsOptions extends ApiOptions {
  destination?: string;
  source?: string;
  status?: Status;
  from?: string;
  to?: string;
  limit: number;
}

/** The result table's columns: when, who probed what, what came back, how fast. */
export const resultColumns: Column<Result>[] = [
  { heading: 'TIME', cell: (r) => formatRtime(r.rtime) },
  { heading: 'SOURCE', cell: (r) => r.source },
  { heading: 'DESTINATION', cell: (r) => r.destination },
  { heading: 'TARGET', cell: (r) => r.target },
  { heading: 'STATUS', cell: (r) => r.status },
  { heading: 'RTT', cell: (r) => formatRtt(r.rtt), align: 'right' },
  { heading: 'FROM', cell: (r) => orEmpty(r.address) },
  { heading: 'TTL', cell: (r) => orEmpty(r.ttl), align: 'right' },
  { heading: 'TIMED', cell: (r) => formatTiming(r.timing) },
  { heading: 'LATE', cell: (r) => (r.timing ? formatRtt(r.timing.lateness) : EMPTY), align: 'right' },
];

/**
 * Where a result's RTT was timed: `kernel` on both ends, else which ends the process timed (its RTT includes
 * the agent's own delay there). `-` for a result without a mark (an older agent) or without an answer.
 */
export function formatTiming(timing: Result['timing']): string {
  if (timing === undefined || timing.receive === null) return EMPTY;
  if (timing.send === 'kernel' && timing.receive === 'kernel') return 'kernel';
  if (timing.send === 'process' && timing.receive === 'process') return 'process';
  return timing.send === 'process' ? 'process send' : 'process receive';
}

/** Registers `pinger results`. */
export function register(program: Command, io: Io): void {
  const results = program
    .command('results')
    .description('list stored results, newest first')
    .option('--destination <id>', 'only results for this destination')
    .option('--source <id>', 'only results from this source')
    .addOption(new Option('--status <status>', 'only results with this status').choices(STATUSES))
    .option('--from <time>', 'oldest send time: ISO 8601 (2026-01-02T03:04:05Z) or ns since the epoch')
    .option('--to <time>', 'newest send time, same forms as --from')
    .option(
      '--limit <n>',
      `at most this many results; more than one page (${RESULTS_PAGE_SIZE}) follows the server's cursors`,
      parsePositiveInteger,
      DEFAULT_RESULTS_LIMIT,
    )
    .addHelpText(
      'after',
      '\nWith --json, prints NDJSON: one result per line as the API returns it (rtime in ns as a string, rtt in µs).',
    );
  apiAction<ResultsOptions>(results, io, async (ctx, _args, o) => {
    const { destination, source, status, from, to } = o;
    const filter: ResultFilterInput = { destination, source, status, from, to };
    const rows: Result[] = [];
    for await (const page of ctx.client.results(filter, o.limit)) {
      if (ctx.json) ctx.io.stdout(page.map((r) => `${JSON.stringify(r)}\n`).join(''));
      else rows.push(...page);
    }
    if (!ctx.json) ctx.io.stdout(`${rows.length === 0 ? 'no results' : table(resultColumns, rows)}\n`);
  });
}
