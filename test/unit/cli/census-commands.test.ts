/**
 * `pinger census add|show|hosts` against the real control plane in this process (serve() on a SQLite file), with
 * pass records posted by an agent token like an agent's uploader does.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Destination, SourceWithToken } from '../../../contract/index.js';
import { type ServerHandle, serve } from '../../../control-plane/node.js';
import { runCli } from './run-cli.js';

const ADMIN = `pgr_admin_${'c'.repeat(40)}`;
const silent = { debug() {}, info() {}, warn() {}, error() {} };
const T = 1_763_780_000_000_000_000n;
let dir: string;
let server: ServerHandle;
const admin = (...args: string[]) => runCli(args, { url: server.url, token: ADMIN });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pinger-cli-census-'));
  server = await serve({ port: 0, dbPath: join(dir, 'pinger.db'), adminToken: ADMIN, logger: silent });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function report(token: string, destination: string, i: number, answers: [string, number][], base = T) {
  const start = base + BigInt(i) * 60_000_000_000n;
  const res = await fetch(`${server.url}/v1/agent/census/passes`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      destination,
      prefix: '198.19.0.0/16',
      start: start.toString(),
      end: (start + 3_990_000_000n).toString(),
      addresses: 65_534,
      probed: 65_534,
      answered: answers.length,
      retries: 0,
      errors: 0,
      skipped: 0,
      rate: 20_000,
      answers,
    }),
  });
  expect(res.status).toBe(200);
}

describe('pinger census', () => {
  it('add with every setting, show and hosts --state new', async () => {
    const add = await admin(
      'census',
      'add',
      '198.19.0.0/16',
      '--every',
      '30m',
      '--rate',
      '20000',
      '--retries',
      '0',
      '--gone-after',
      '1',
      '--split',
      '--json',
    );
    expect(add.code).toBe(0);
    const census = JSON.parse(add.stdout) as Destination;
    expect(census).toMatchObject({
      address: '198.19.0.0/16',
      interval: 1_800_000,
      census: { rate: 20_000, retries: 0, goneAfter: 1, split: true },
    });
    const source = JSON.parse(
      (await admin('source', 'add', '--name', 'a', '--json')).stdout,
    ) as SourceWithToken;
    await report(source.token, census.id, 0, [
      ['198.19.0.1', 100],
      ['198.19.3.4', 200],
    ]);
    await report(source.token, census.id, 1, [
      ['198.19.0.1', 110],
      ['198.19.9.9', 50],
    ]);

    const show = await admin('census', 'show', census.id);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^hosts up: +2$/m);
    expect(show.stdout).toMatch(/^hosts down: +1$/m);
    expect(show.stdout).toMatch(/^new in last pass: +1$/m);
    expect(show.stdout).toMatch(/^gone in last pass: +1$/m);
    expect(show.stdout).toMatch(/^last pass: .*\(3\.99 s, source src_/m);
    expect(show.stdout).toMatch(/^ {2}answered: +2$/m);

    const fresh = await admin('census', 'hosts', census.id, '--state', 'new');
    expect(fresh.stdout).toMatch(/^ADDRESS +STATE/);
    expect(fresh.stdout).toMatch(/^198\.19\.9\.9 +up /m);
    expect(fresh.stdout.trim().split('\n')).toHaveLength(2);
    const all = JSON.parse((await admin('census', 'hosts', census.id, '--json')).stdout) as {
      address: string;
    }[];
    expect(all.map((h) => h.address)).toEqual(['198.19.0.1', '198.19.3.4', '198.19.9.9']);
  });

  it('host: a host’s record, figures and passes, as a table or JSON; an address outside the prefix exits 2', async () => {
    const census = JSON.parse(
      (await admin('census', 'add', '198.19.0.0/16', '--json')).stdout,
    ) as Destination;
    const source = JSON.parse(
      (await admin('source', 'add', '--name', 'h', '--json')).stdout,
    ) as SourceWithToken;
    // Recent passes: history is kept as long as raw results (14 days by default).
    const base = (BigInt(Date.now()) - 600_000n) * 1_000_000n;
    await report(source.token, census.id, 0, [['198.19.4.4', 1500]], base);
    await report(source.token, census.id, 1, [], base);
    await report(source.token, census.id, 2, [['198.19.4.4', 500]], base);
    const shown = await admin('census', 'host', census.id, '198.19.4.4');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^passes: +3, answered 2$/m);
    expect(shown.stdout).toMatch(/^loss: +33\.3 %$/m);
    expect(shown.stdout).toMatch(/^PASS +ANSWERED +RTT$/m);
    const rows = shown.stdout.split('\n').filter((l) => /^\d{4}-/.test(l));
    expect(rows.map((l) => l.split(/ {2,}/)[1])).toEqual(['yes', 'no', 'yes']);
    const from = new Date(Number(base / 1_000_000n) + 30_000).toISOString();
    const json = JSON.parse(
      (await admin('census', 'host', census.id, '198.19.4.4', '--from', from, '--json')).stdout,
    ) as { passes: { answered: boolean; rtt: number | null }[]; summary: { rttMax: number } };
    expect(json.passes).toEqual([
      { at: `${base + 60_000_000_000n}`, answered: false, rtt: null },
      { at: `${base + 120_000_000_000n}`, answered: true, rtt: 500 },
    ]);
    expect(json.summary.rttMax).toBe(500);
    const outside = await admin('census', 'host', census.id, '10.1.2.3');
    expect(outside.code).toBe(2);
    expect(outside.stderr).toMatch(/address: must be an address census .* probes: in 198\.19\.0\.0\/16/);
    const never = await admin('census', 'host', census.id, '198.19.4.5');
    expect(never.code).not.toBe(0);
    expect(never.stderr).toMatch(/address: 198\.19\.4\.5 never answered a pass/);
  });

  it('refuses a /8 naming the field, exit 2; an unknown census is a 404 naming destination', async () => {
    const big = await admin('census', 'add', '10.0.0.0/8');
    expect(big.code).toBe(2);
    expect(big.stderr).toMatch(/address: is a \/8/);
    const bad = await admin('census', 'add', '198.19.0.0/16', '--every', 'soon');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--every/);
    const unknown = await admin('census', 'hosts', 'dst_nope');
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toMatch(/destination: dst_nope does not exist/);
  });
});
