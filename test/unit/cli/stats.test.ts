/**
 * `pinger stats` against the real control plane in this process (a SQLite file in a temp directory): the
 * figures in its tables are those of the results posted, and the server's refusals reach the operator.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../cli/client.js';
import { register } from '../../../cli/commands/stats.js';
import type { Destination, ResultInput, SourceWithToken } from '../../../contract/index.js';
import { type ServerHandle, serve } from '../../../control-plane/node.js';
import { resultInput, TIMED_OUT } from '../../helpers/factories.js';
import { runCli } from './run-cli.js';

const ADMIN = `pgr_admin_${'s'.repeat(40)}`;
const silent = { debug() {}, info() {}, warn() {}, error() {} };
let dir: string;
let server: ServerHandle;
let source: SourceWithToken;
let dest: Destination;
let slow: Destination;
const stats = (...args: string[]) => runCli(['stats', ...args], { url: server.url, token: ADMIN });

// 12 probes in the minute two minutes ago, 1 s apart: replies of 1.000–1.900 ms, the 4th and 9th timed out.
const MINUTE = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
const RTTS = [1000, 1100, 1200, null, 1300, 1400, 1500, 1600, null, 1700, 1800, 1900];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pinger-cli-stats-'));
  server = await serve({ port: 0, dbPath: join(dir, 'pinger.db'), adminToken: ADMIN, logger: silent });
  const client = new ApiClient({ url: server.url, token: ADMIN });
  source = await client.createSource({ name: 'ams-1' });
  dest = await client.createDestination({ address: '198.18.0.7', labels: { site: 'lab' } });
  await client.createDestination({ address: '198.18.0.9' });
  await client.createDestination({ address: '198.18.0.9', protocol: 'tcp', port: 80 });
  const results: ResultInput[] = RTTS.map((rtt, i) =>
    resultInput(dest.id, {
      rtime: `${BigInt(MINUTE + i * 1000) * 1_000_000n}`,
      rseq: i,
      ...(rtt === null
        ? { ...TIMED_OUT, timing: { send: 'kernel', receive: null, lateness: 0 } }
        : { rtt, timing: { send: 'kernel', receive: 'kernel', lateness: 0 } }),
    }),
  );
  // 198.18.0.8: 4 answers, the first timed by the agent's clock on send, the second unmarked (an older agent).
  slow = await client.createDestination({ address: '198.18.0.8' });
  for (let i = 0; i < 4; i++) {
    const timing =
      i === 0
        ? ({ send: 'process', receive: 'kernel', lateness: 80 } as const)
        : i === 1
          ? undefined
          : ({ send: 'kernel', receive: 'kernel', lateness: 0 } as const);
    results.push(
      resultInput(slow.id, {
        rtime: `${BigInt(MINUTE + i * 1000) * 1_000_000n}`,
        rseq: i,
        rtt: 2000,
        ...(timing && { timing }),
      }),
    );
  }
  await new ApiClient({ url: server.url, token: source.token }).postResults(results);
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The cells of the table row that mentions `text`. */
function rowOf(stdout: string, text: string): string[] {
  const line = stdout.split('\n').find((l) => l.includes(text));
  if (!line) throw new Error(`no row with ${text} in:\n${stdout}`);
  return line.trim().split(/\s+/);
}

describe('pinger stats', () => {
  it('prints a row per step with loss, counts, RTT figures and jitter, naming the destination by address', async () => {
    const run = await stats('--destination', '198.18.0.7', '--step', '1m');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(
      /^TIME +DESTINATION +SOURCE +LOSS +SENT +RECV +MIN +AVG +P50 +P90 +P99 +MAX +JITTER$/m,
    );
    const time = new Date(MINUTE).toISOString().replace(/\.000Z$/, 'Z');
    const cells = rowOf(run.stdout, '198.18.0.7');
    // Loss 2/12; mean 1.450; jitter: 9 Δ of 0.1 ms (a timeout in between is skipped over).
    expect(cells.slice(0, 9)).toEqual([
      time,
      '198.18.0.7',
      'ams-1',
      '16.7%',
      '12',
      '10',
      '1.000',
      '1.450',
      cells[8],
    ]);
    expect(cells[11]).toBe('1.900');
    expect(cells[12]).toBe('0.100');
    // Percentiles within the sketch's 1 %.
    expect(Math.abs(Number(cells[8]) - 1.4) / 1.4).toBeLessThanOrEqual(0.01);
    expect(run.stdout).toContain('(step 60 s; times in ms)');
    // Every RTT kernel-timed: no PROC column, no note.
    expect(run.stdout).not.toContain('PROC');
  });

  it('adds a PROC column and its note only when some answers are not kernel-timed on both ends', async () => {
    const run = await stats('--destination', '198.18.0.8', '--step', '1m');
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^TIME +DESTINATION +SOURCE +LOSS +SENT +RECV .* +JITTER +PROC$/m);
    expect(rowOf(run.stdout, '198.18.0.8').slice(4, 6)).toEqual(['4', '4']);
    expect(rowOf(run.stdout, '198.18.0.8').at(-1)).toBe('2');
    expect(run.stdout).toContain("PROC: answers timed by the agent's clock");
    const summary = await stats('--summary', '--window', '1h');
    expect(summary.stdout).toMatch(/ +JITTER +PROC +LAST$/m);
    // The kernel-timed pair shows its 0 in the column the other needs.
    expect(rowOf(summary.stdout, '198.18.0.7').at(-3)).toBe('0');
    expect(rowOf(summary.stdout, '198.18.0.8').at(-3)).toBe('2');
    const json = JSON.parse((await stats('--destination', slow.id, '--json')).stdout) as {
      series: { points: { processTimed: number }[] }[];
    };
    expect(json.series[0]!.points[0]!.processTimed).toBe(2);
  });

  it('prints the API answer with --json, filters by label, and says when nothing is in range', async () => {
    const run = await stats('--destination', dest.id, '--since', '1h', '--json');
    expect(run.code, run.stderr).toBe(0);
    const answer = JSON.parse(run.stdout) as { step: number; series: { points: Record<string, number>[] }[] };
    expect(answer.step).toBe(60);
    expect(answer.series[0]!.points[0]).toMatchObject({ sent: 12, received: 10, min: 1000, max: 1900 });
    expect(answer.series[0]!.points[0]!.loss).toBeCloseTo(2 / 12, 12);

    expect(rowOf((await stats('--label', 'site:lab')).stdout, 'ams-1')[1]).toBe('198.18.0.7');
    expect((await stats('--label', 'site:elsewhere')).stdout).toMatch(/^no results in range/);
  });

  it('--summary prints one row per pair, worst first, with the last result', async () => {
    const run = await stats('--summary', '--window', '1h', '--sort', 'p50');
    expect(run.code, run.stderr).toBe(0);
    const cells = rowOf(run.stdout, '198.18.0.7');
    expect(cells.slice(0, 6)).toEqual(['198.18.0.7', 'ams-1', '16.7%', '12', '10', '1.000']);
    expect(cells.at(-2)).toBe('reply');
    expect(run.stdout).toContain('(last 3600 s; times in ms)');
  });

  it('--watch prints again every step until its count', async () => {
    let stdout = '';
    let stderr = '';
    const waits: number[] = [];
    const program = new Command('pinger').exitOverride();
    register(
      program,
      {
        stdout: (s) => {
          stdout += s;
        },
        stderr: (s) => {
          stderr += s;
        },
      },
      { sleep: async (ms) => void waits.push(ms) },
    );
    const connection = ['--url', server.url, '--token', ADMIN];
    await program.parseAsync(['stats', '--watch', '--count', '3', '--step', '5m', ...connection], {
      from: 'user',
    });
    expect(stdout.match(/^TIME +DESTINATION/gm)).toHaveLength(3);
    expect(waits).toEqual([300_000, 300_000]);
    expect(stderr).toContain('again in 300 s; Ctrl-C stops');

    stdout = '';
    await program.parseAsync(['stats', '--summary', '--watch', '--count', '2', '--json', ...connection], {
      from: 'user',
    });
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1]!)).toMatchObject({ window: 3600 });
    expect(waits.at(-1)).toBe(60_000);
  });

  it('refuses bad arguments and reports the server’s refusals, exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['--destination', '198.18.0.99'], /no destination has address 198\.18\.0\.99/],
      [
        ['--destination', '198.18.0.9'],
        /several destinations have address 198\.18\.0\.9: dst_\w+ \(icmp\), dst_\w+ \(tcp port 80\)/,
      ],
      [
        ['--destination', 'dst_0000000000000000'],
        /destination dst_0000000000000000 does not exist \(HTTP 404/,
      ],
      [['--since', '1h', '--from', '2026-01-01T00:00:00Z'], /--since cannot be combined with --from/],
      [['--since', 'soon'], /--since.*must be a duration/],
      [['--step', '30s'], /step: must be at least 1m/],
      [['--from', '2026-12-01T00:00:00Z', '--to', '2026-11-01T00:00:00Z'], /from: must not be after to/],
      [['--window', '1h'], /--window applies to --summary only/],
      [['--summary', '--step', '1m'], /--step does not apply to --summary/],
      [['--summary', '--window', '2h'], /--window.*Allowed choices are 5m, 1h, 24h/],
      [['--count', '2'], /--count applies to --watch only/],
    ];
    for (const [args, message] of cases) {
      const run = await stats(...args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toMatch(message);
    }
  });
});
