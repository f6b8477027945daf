/**
 * The admin commands against the real control plane in this process (control-plane/node.ts: Hono app over
 * @hono/node-server, a SQLite file in a temp directory): the server's schema is the authority on values, its
 * cursors drive paging, and its tokens decide who may do what.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiClient } from '../../../cli/client.js';
import type { Destination, ResultInput, SourceWithToken, TokenWithSecret } from '../../../contract/index.js';
import { type ServerHandle, serve } from '../../../control-plane/node.js';
import { resultInput } from '../../helpers/factories.js';
import { runCli } from './run-cli.js';

const ADMIN = `pgr_admin_${'a'.repeat(40)}`;
const silent = { debug() {}, info() {}, warn() {}, error() {} };
let dir: string;
let server: ServerHandle;
const admin = (...args: string[]) => runCli(args, { url: server.url, token: ADMIN });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pinger-cli-'));
  server = await serve({ port: 0, dbPath: join(dir, 'pinger.db'), adminToken: ADMIN, logger: silent });
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `count` replies one millisecond apart, the newest at `newest` ns. */
function replies(destination: string, count: number, newest: bigint): ResultInput[] {
  return Array.from({ length: count }, (_, i) =>
    resultInput(destination, {
      rtime: `${newest - BigInt(i) * 1_000_000n}`,
      rtt: 41 + i / 1000,
      rid: 7,
      rseq: i % 65_536,
    }),
  );
}

describe('admin commands against the control plane', () => {
  let source: SourceWithToken;
  let dest: Destination;

  it('source add prints a working agent token; list and show find the source', async () => {
    const add = await admin('source', 'add', '--name', 'ams-1', '--location', '3', '--host', '7', '--json');
    expect(add.code).toBe(0);
    source = JSON.parse(add.stdout);
    expect(source).toMatchObject({ name: 'ams-1', location: 3, host: 7, sourceid: expect.any(Number) });
    expect(source.token).toMatch(/^pgr_agent_/);

    const list = await admin('source', 'list');
    expect(list.stdout).toMatch(new RegExp(`^${source.id} +ams-1 +${source.sourceid} +3 +7 +- +- +-$`, 'm'));
    expect((await admin('source', 'show', source.id)).stdout).toMatch(/^last seen: +never$/m);
  });

  it('dest add, set and list: a patch changes only its fields; the server judges ranges and rules', async () => {
    const add = await admin(
      'dest',
      'add',
      '198.18.0.1',
      '--sources',
      source.id,
      '--interval',
      '250',
      '--json',
    );
    expect(add.code).toBe(0);
    dest = JSON.parse(add.stdout);
    expect(dest).toMatchObject({
      protocol: 'icmp',
      interval: 250,
      timeout: 1000,
      ttl: 64,
      sources: [source.id],
    });

    const set = await admin('dest', 'set', dest.id, '--ttl', '32', '--json');
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ ttl: 32, interval: 250, sources: [source.id] });

    const ttl = await admin('dest', 'set', dest.id, '--ttl', '300');
    expect(ttl.code).toBe(2);
    expect(ttl.stderr).toMatch(/^ {2}ttl: must be at most 255$/m);

    const family = await admin('dest', 'set', dest.id, '--protocol', 'icmp6');
    expect(family.code).toBe(2);
    expect(family.stderr).toMatch(/^ {2}address: is an IPv4 address but protocol icmp6 probes over IPv6$/m);

    const port = await admin('dest', 'add', '198.18.0.2', '--protocol', 'tcp');
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/^ {2}port: is required for protocol tcp$/m);

    const listed = await admin('dest', 'list', '--source', source.id, '--json');
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ id: dest.id, ttl: 32 })]);
    expect(JSON.parse((await admin('dest', 'list', '--active', 'false', '--json')).stdout)).toEqual([]);

    const missing = await admin('dest', 'show', 'dst_nothere');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('(HTTP 404 not_found)');
  });

  it('results follows the server cursors past one page, newest first, and prints a table', async () => {
    const agent = new ApiClient({ url: server.url, token: source.token });
    const newest = 1_795_000_000_000_000_000n;
    // Two batches, so the newest results are not simply the last inserted.
    expect(await agent.postResults(replies(dest.id, 1500, newest - 1_500_000_000n))).toEqual({
      stored: 1500,
      duplicates: 0,
    });
    expect(await agent.postResults(replies(dest.id, 1500, newest))).toEqual({ stored: 1500, duplicates: 0 });

    const json = await admin('results', '--destination', dest.id, '--limit', '2200', '--json');
    expect(json.code).toBe(0);
    const rows = json.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(rows).toHaveLength(2200);
    expect(rows[0]).toMatchObject({ rtime: `${newest}`, source: source.id, rsite: 3, rhost: 7 });
    const times = rows.map((r) => BigInt(r.rtime));
    expect(times.every((t, i) => i === 0 || t < times[i - 1]!)).toBe(true);
    expect(times[2199]).toBe(newest - 2199n * 1_000_000n);

    const all = await admin('results', '--source', source.id, '--limit', '10000', '--json');
    expect(all.stdout.trimEnd().split('\n')).toHaveLength(3000);

    const table = await admin('results', '--limit', '2', '--status', 'reply');
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toMatch(
      new RegExp(
        `^2026-11-18T11:06:40\\.000000Z +${source.id} +${dest.id} +198\\.18\\.0\\.1 +reply +0\\.041 ms +198\\.18\\.0\\.1 +63 +- +-$`,
      ),
    );

    const bad = await admin('results', '--from', 'yesterday');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^ {2}from: /m);
  });

  it('a read-only token made by token add may read but not change; token rm revokes it', async () => {
    const add = await admin('token', 'add', '--name', 'grafana', '--json');
    expect(add.code).toBe(0);
    const read: TokenWithSecret = JSON.parse(add.stdout);
    expect(read).toMatchObject({ name: 'grafana', kind: 'read', token: expect.stringMatching(/^pgr_read_/) });

    const list = await admin('token', 'list');
    expect(list.stdout).toMatch(new RegExp(`^${read.id} +read +grafana +- `, 'm'));
    expect(list.stdout).toMatch(new RegExp(` agent .* ${source.id} `));

    const reader = (...args: string[]) => runCli(args, { url: server.url, token: read.token });
    expect((await reader('results', '--limit', '1')).code).toBe(0);
    const refused = await reader('source', 'add', '--name', 'x');
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('(HTTP 403 forbidden)');

    expect((await admin('token', 'rm', read.id)).code).toBe(0);
    const revoked = await reader('results', '--limit', '1');
    expect(revoked.code).toBe(2);
    expect(revoked.stderr).toContain('(HTTP 401 unauthorized)');
  });

  it('rotate-token replaces the agent token; rm deletes destination and source', async () => {
    const rotated: SourceWithToken = JSON.parse(
      (await admin('source', 'rotate-token', source.id, '--json')).stdout,
    );
    expect(rotated.token).not.toBe(source.token);
    const old = new ApiClient({ url: server.url, token: source.token });
    await expect(old.postResults([])).rejects.toMatchObject({ status: 401 });

    expect((await admin('dest', 'rm', dest.id)).stdout).toBe(`deleted destination ${dest.id}\n`);
    expect((await admin('source', 'rm', source.id)).code).toBe(0);
    expect((await admin('source', 'list')).stdout).toBe('no sources\n');
    expect((await admin('source', 'rm', source.id)).code).toBe(2);
  });
});
