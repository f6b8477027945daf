/**
 * End to end: a real `pinger serve` process with a SQLite file, driven by real `pinger` CLI processes, with a
 * result batch posted by an agent token over HTTP (undici), and the server stopped with SIGTERM by pid.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Destination, ResultInput } from '../../../contract/index.js';
import { resultInput, TIMED_OUT } from '../../helpers/factories.js';
import { runPinger as pinger } from '../../helpers/pinger-process.js';
import { pingerFirstLine, type ServeProcess, startServe } from './pinger-process.js';

let dir: string;
let server: ServeProcess | undefined;
let env: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pinger-e2e-cli-'));
  server = await startServe(join(dir, 'pinger.db'));
  env = { PINGER_URL: server.url, PINGER_TOKEN: server.adminToken };
}, 30_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('pinger CLI against pinger serve', () => {
  let sourceId: string;
  let agentToken: string;
  let dest: Destination;

  it('source add prints the source and its agent token, saying it is shown once', async () => {
    const run = await pinger(
      ['source', 'add', '--name', 'e2e-src', '--location', '5', '--label', 'dc=lab'],
      env,
    );
    expect(run.stderr).toContain('shown only this once');
    expect(run.code).toBe(0);
    sourceId = /^id: +(src_\S+)$/m.exec(run.stdout)?.[1] ?? '';
    agentToken = /^agent token: +(pgr_agent_\S+)$/m.exec(run.stdout)?.[1] ?? '';
    expect(sourceId).not.toBe('');
    expect(agentToken).not.toBe('');
    expect(run.stdout).toMatch(/^labels: +dc=lab$/m);
  });

  it('a bad value exits 2 with the server message naming the field, and stores nothing', async () => {
    const run = await pinger(['dest', 'add', '198.18.0.1', '--ttl', '300'], env);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/^ {2}ttl: must be at most 255$/m);
    const list = await pinger(['dest', 'list', '--json'], env);
    expect(JSON.parse(list.stdout)).toEqual([]);
  });

  it('dest add, set (only the given fields) and list', async () => {
    const add = await pinger(
      ['dest', 'add', '198.18.0.1', '--sources', sourceId, '--data', 'e2e', '--json'],
      env,
    );
    expect(add.code).toBe(0);
    dest = JSON.parse(add.stdout);
    expect(dest).toMatchObject({
      address: '198.18.0.1',
      protocol: 'icmp',
      ttl: 64,
      data: 'e2e',
      sources: [sourceId],
    });

    const set = await pinger(
      ['dest', 'set', dest.id, '--interval', '500', '--active', 'false', '--json'],
      env,
    );
    expect(set.code).toBe(0);
    const { updatedAt: _a, ...before } = dest;
    const { updatedAt: _b, ...after } = JSON.parse(set.stdout) as Destination;
    expect(after).toEqual({ ...before, interval: 500, active: false });

    const list = await pinger(['dest', 'list', '--active', 'false'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(
      new RegExp(`^${dest.id} +no +icmp +198\\.18\\.0\\.1 +- +500 ms +1000 ms +64 +${sourceId} +-$`, 'm'),
    );
  });

  it('results lists a batch the agent posted, newest first, as a table and as NDJSON', async () => {
    const base = 1_795_000_000_000_000_000n;
    const result = (i: number, extra: Partial<ResultInput>): ResultInput =>
      resultInput(dest.id, {
        rtime: `${base + BigInt(i) * 1_000_000_000n + 123_456_789n}`,
        rseq: i,
        rtt: 41.7,
        rid: 9,
        ttl: 64,
        ...extra,
      });
    const results = [
      result(0, {}),
      result(1, TIMED_OUT),
      result(2, {
        status: 'ttl-exceeded',
        address: '198.18.1.1',
        rtt: 1234.5,
        rtype: 11,
        datamatch: null,
        ttl: 254,
      }),
    ];
    const posted = await request(`${server!.url}/v1/agent/results`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agentToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ results }),
    });
    expect(posted.statusCode).toBe(200);
    expect(await posted.body.json()).toEqual({ stored: 3, duplicates: 0 });

    const table = await pinger(['results', '--destination', dest.id], env);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME +SOURCE +DESTINATION +TARGET +STATUS +RTT +FROM +TTL +TIMED +LATE$/);
    // Posted without a timing mark (as an agent older than the mark sends them): TIMED and LATE say nothing.
    const row = (time: string, status: string, rtt: string, from: string, ttl: string) =>
      new RegExp(
        `^${time} +${sourceId} +${dest.id} +198\\.18\\.0\\.1 +${status} +${rtt} +${from} +${ttl} +- +-$`,
      );
    expect(lines.slice(1)).toHaveLength(3);
    expect(lines[1]).toMatch(
      row('2026-11-18T11:06:42\\.123456Z', 'ttl-exceeded', '1\\.235 ms', '198\\.18\\.1\\.1', '254'),
    );
    expect(lines[2]).toMatch(row('2026-11-18T11:06:41\\.123456Z', 'timeout', '-', '-', '-'));
    expect(lines[3]).toMatch(
      row('2026-11-18T11:06:40\\.123456Z', 'reply', '0\\.042 ms', '198\\.18\\.0\\.1', '64'),
    );

    const json = await pinger(['results', '--json', '--limit', '2', '--url', server!.url], {
      PINGER_TOKEN: server!.adminToken,
    });
    expect(json.code).toBe(0);
    const rows = json.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows.map((r) => [r.rseq, r.status, r.source, r.rsite])).toEqual([
      [2, 'ttl-exceeded', sourceId, 5],
      [1, 'timeout', sourceId, 5],
    ]);
  });

  it('results --json into a pipe closed after the first line stops quietly with exit 0', async () => {
    // 3,000 lines (~1 MB) cannot all sit in a pipe's buffer: the CLI must still be writing when the reader goes.
    const results = Array.from({ length: 3000 }, (_, i) =>
      resultInput(dest.id, {
        rtime: `${1_796_000_000_000_000_000n + BigInt(i) * 1_000_000n}`,
        rid: 9,
        rseq: i,
        ...TIMED_OUT,
      }),
    );
    const posted = await request(`${server!.url}/v1/agent/results`, {
      method: 'POST',
      headers: { authorization: `Bearer ${agentToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ results }),
    });
    expect(await posted.body.json()).toEqual({ stored: 3000, duplicates: 0 });

    const run = await pingerFirstLine(['results', '--json', '--status', 'timeout', '--limit', '3000'], env);
    expect(JSON.parse(run.firstLine)).toMatchObject({ rseq: 2999, status: 'timeout' });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('dest rm deletes; showing it then is a 404 with exit 2', async () => {
    expect((await pinger(['dest', 'rm', dest.id], env)).stdout).toBe(`deleted destination ${dest.id}\n`);
    const show = await pinger(['dest', 'show', dest.id], env);
    expect(show.code).toBe(2);
    expect(show.stderr).toContain(`destination ${dest.id} does not exist (HTTP 404 not_found)`);
  });

  it('without a token the server refuses (exit 2); with the server gone the CLI names the URL (exit 1)', async () => {
    const anonymous = await pinger(['source', 'list'], { PINGER_URL: server!.url });
    expect(anonymous.code).toBe(2);
    expect(anonymous.stderr).toContain('HTTP 401 unauthorized');

    const ended = await server!.stop();
    expect(ended.signal === null || ended.signal === 'SIGTERM').toBe(true);
    const gone = await pinger(['source', 'list'], env);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain(`cannot reach the control plane at ${server!.url}: connection refused`);
  });
});
