/**
 * Argument → request mapping of the admin commands, and how each kind of answer becomes output and an exit code.
 * The server is a real HTTP server on loopback that records requests and answers what each test scripts.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Result } from '../../../contract/index.js';
import { TIMED_OUT } from '../../helpers/factories.js';
import { destination, reply, source, sourceWithToken } from './fixtures.js';
import { type RecordingServer, startRecordingServer } from './recording-server.js';
import { runCli } from './run-cli.js';

const TOKEN = 'pgr_admin_test';
let server: RecordingServer;
const cli = (...args: string[]) => runCli(args, { url: server.url, token: TOKEN });

beforeAll(async () => {
  server = await startRecordingServer();
});
afterAll(() => server.close());
beforeEach(() => {
  server.requests.length = 0;
  server.respond(() => ({ status: 500, body: 'unscripted' }));
});

describe('source', () => {
  it('add sends only the given fields with the bearer token, prints the token and says it is shown once', async () => {
    server.respond(() => ({ status: 201, body: sourceWithToken }));
    const run = await cli(
      'source',
      'add',
      '--name',
      'ams-1',
      '--location',
      '3',
      '--label',
      'dc=ams',
      '--label',
      'rack=2',
    );
    expect(run.code).toBe(0);
    expect(server.requests).toHaveLength(1);
    const [req] = server.requests;
    expect(req).toMatchObject({ method: 'POST', path: '/v1/sources' });
    expect(req!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.body).toEqual({ name: 'ams-1', location: 3, labels: { dc: 'ams', rack: '2' } });
    expect(run.stdout).toMatch(/^agent token: +pgr_agent_secretsecretsecret$/m);
    expect(run.stdout).toMatch(/^id: +src_0123456789abcdef$/m);
    expect(run.stderr).toContain('shown only this once');
  });

  it('add --json prints the source with its token as JSON, and the warning only on stderr', async () => {
    server.respond(() => ({ status: 201, body: sourceWithToken }));
    const run = await cli('source', 'add', '--name', 'ams-1', '--json');
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(sourceWithToken);
    expect(run.stderr).toContain('shown only this once');
  });

  it('add without --name is a usage error and sends nothing', async () => {
    const run = await cli('source', 'add', '--location', '1');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("required option '--name <name>' not specified");
    expect(server.requests).toHaveLength(0);
  });

  it('list prints a table with a row per source', async () => {
    server.respond(() => ({
      status: 200,
      body: { sources: [source, { ...source, id: 'src_2', name: 'fra-1' }] },
    }));
    const run = await cli('source', 'list');
    expect(run.code).toBe(0);
    expect(server.requests[0]).toMatchObject({ method: 'GET', path: '/v1/sources' });
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^ID +NAME +SOURCEID +LOCATION +HOST +ADDRESS +LABELS +LAST SEEN$/);
    expect(lines[1]).toMatch(/^src_0123456789abcdef +ams-1 +42 +3 +7 +- +dc=ams +-$/);
    expect(lines[2]).toMatch(/^src_2 +fra-1 /);
  });

  it('set patches only the given fields; --no-address sends null', async () => {
    server.respond(() => ({ status: 200, body: source }));
    expect((await cli('source', 'set', source.id, '--host', '9', '--no-address')).code).toBe(0);
    expect(server.requests[0]).toMatchObject({
      method: 'PATCH',
      path: `/v1/sources/${source.id}`,
      body: { host: 9, address: null },
    });
  });

  it('set with nothing to change exits 2 without a request', async () => {
    const run = await cli('source', 'set', source.id);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('nothing to change');
    expect(server.requests).toHaveLength(0);
  });

  it('rm deletes, rotate-token posts and prints the new token', async () => {
    server.respond((r) => (r.method === 'DELETE' ? { status: 204 } : { status: 200, body: sourceWithToken }));
    const rm = await cli('source', 'rm', source.id);
    expect(rm).toMatchObject({ code: 0, stdout: `deleted source ${source.id}\n` });
    const rotate = await cli('source', 'rotate-token', source.id);
    expect(rotate.code).toBe(0);
    expect(rotate.stdout).toContain(sourceWithToken.token);
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      `DELETE /v1/sources/${source.id}`,
      `POST /v1/sources/${source.id}/token`,
    ]);
  });

  it('escapes an id so it stays one path segment', async () => {
    server.respond(() => ({
      status: 404,
      body: { error: { code: 'not_found', message: 'no such source' } },
    }));
    await cli('source', 'show', '../tokens');
    expect(server.requests[0]!.path).toBe('/v1/sources/..%2Ftokens');
  });
});

describe('dest', () => {
  it('add sends the address and only the options given (the server owns the defaults)', async () => {
    server.respond(() => ({ status: 201, body: destination }));
    const run = await cli(
      'dest',
      'add',
      '198.18.0.1',
      '--protocol',
      'tcp',
      '--port',
      '443',
      '--sources',
      'src_a, src_b',
      '--data',
      'hello',
      '--inactive',
    );
    expect(run.code).toBe(0);
    expect(server.requests[0]).toMatchObject({ method: 'POST', path: '/v1/destinations' });
    expect(server.requests[0]!.body).toEqual({
      address: '198.18.0.1',
      protocol: 'tcp',
      port: 443,
      sources: ['src_a', 'src_b'],
      data: 'hello',
      active: false,
    });
    expect(run.stdout).toMatch(/^id: +dst_0123456789abcdef$/m);
    expect(run.stdout).toMatch(/^sources: +all$/m);
  });

  it('add refuses a number that is not a number, and a protocol not in the contract, locally', async () => {
    const ttl = await cli('dest', 'add', '198.18.0.1', '--ttl', '6x');
    expect(ttl.code).toBe(2);
    expect(ttl.stderr).toContain("option '--ttl <n>' argument '6x' is invalid");
    const protocol = await cli('dest', 'add', '198.18.0.1', '--protocol', 'sctp');
    expect(protocol.code).toBe(2);
    expect(protocol.stderr).toContain('Allowed choices are icmp, icmp6, udp, udp6, tcp, tcp6');
    expect(server.requests).toHaveLength(0);
  });

  it('set patches only the given fields', async () => {
    server.respond(() => ({ status: 200, body: destination }));
    await cli('dest', 'set', destination.id, '--interval', '500');
    await cli(
      'dest',
      'set',
      destination.id,
      '--active',
      'false',
      '--all-sources',
      '--no-port',
      '--protocol',
      'icmp',
    );
    await cli('dest', 'set', destination.id, '--label', 'a=1', '--ttl', '3');
    expect(server.requests.map((r) => [r.method, r.path, r.body])).toEqual([
      ['PATCH', `/v1/destinations/${destination.id}`, { interval: 500 }],
      [
        'PATCH',
        `/v1/destinations/${destination.id}`,
        { active: false, sources: [], port: null, protocol: 'icmp' },
      ],
      ['PATCH', `/v1/destinations/${destination.id}`, { labels: { a: '1' }, ttl: 3 }],
    ]);
  });

  it('set refuses --sources with --all-sources, and --active that is not a boolean', async () => {
    expect((await cli('dest', 'set', destination.id, '--sources', 'a', '--all-sources')).code).toBe(2);
    const active = await cli('dest', 'set', destination.id, '--active', 'yes');
    expect(active.code).toBe(2);
    expect(active.stderr).toContain('must be true or false');
    expect(server.requests).toHaveLength(0);
  });

  it('list passes the filters as query parameters and prints a table', async () => {
    server.respond(() => ({ status: 200, body: { destinations: [destination] } }));
    const run = await cli('dest', 'list', '--active', 'false', '--protocol', 'udp6', '--source', 'src_x');
    expect(run.code).toBe(0);
    expect(server.requests[0]).toMatchObject({
      method: 'GET',
      path: '/v1/destinations',
      query: { active: 'false', protocol: 'udp6', source: 'src_x' },
    });
    expect(run.stdout).toMatch(
      /^dst_0123456789abcdef +yes +icmp +198\.18\.0\.1 +- +1000 ms +1000 ms +64 +all +-$/m,
    );
  });

  it('list --json prints the array', async () => {
    server.respond(() => ({ status: 200, body: { destinations: [destination] } }));
    const run = await cli('dest', 'list', '--json');
    expect(JSON.parse(run.stdout)).toEqual([destination]);
  });
});

describe('results', () => {
  /** Serves `total` results newest first in pages, with the offset as the cursor. */
  function serveResults(total: number) {
    server.respond((r) => {
      const offset = Number(r.query.cursor ?? 0);
      const limit = Number(r.query.limit);
      const end = Math.min(total, offset + limit);
      const results = Array.from({ length: end - offset }, (_, i) => reply(offset + i));
      return { status: 200, body: { results, cursor: end < total ? String(end) : null } };
    });
  }

  it('--limit beyond one page follows the cursors and stops at the limit (NDJSON with --json)', async () => {
    serveResults(10_000);
    const run = await cli(
      'results',
      '--destination',
      destination.id,
      '--status',
      'reply',
      '--limit',
      '2500',
      '--json',
    );
    expect(run.code).toBe(0);
    expect(server.requests.map((r) => r.query)).toEqual([
      { destination: destination.id, status: 'reply', limit: '1000' },
      { destination: destination.id, status: 'reply', limit: '1000', cursor: '1000' },
      { destination: destination.id, status: 'reply', limit: '500', cursor: '2000' },
    ]);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(2500);
    expect(JSON.parse(lines[0]!)).toEqual(reply(0));
    expect(JSON.parse(lines[2499]!)).toEqual(reply(2499));
  });

  it('stops at the last page when fewer results exist than the limit', async () => {
    serveResults(1500);
    const run = await cli('results', '--limit', '5000', '--json');
    expect(server.requests).toHaveLength(2);
    expect(run.stdout.trimEnd().split('\n')).toHaveLength(1500);
  });

  it('prints a table: ISO time with µs, rtt in ms, and - for what a timeout lacks', async () => {
    const timeout = { ...reply(1), ...TIMED_OUT };
    server.respond(() => ({ status: 200, body: { results: [reply(0), timeout], cursor: null } }));
    const run = await cli('results', '--from', '2026-11-18T00:00:00Z', '--to', '1795000000000000000');
    expect(run.code).toBe(0);
    expect(server.requests[0]!.query).toEqual({
      from: '2026-11-18T00:00:00Z',
      to: '1795000000000000000',
      limit: '100',
    });
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME +SOURCE +DESTINATION +TARGET +STATUS +RTT +FROM +TTL +TIMED +LATE$/);
    expect(lines[1]).toMatch(
      /^2026-11-18T11:06:40\.000000Z +src_0123456789abcdef +dst_0123456789abcdef +198\.18\.0\.1 +reply +0\.041 ms +198\.18\.0\.1 +64 +- +-$/,
    );
    expect(lines[2]).toMatch(/^2026-11-18T11:06:39\.000000Z .* timeout +- +- +- +- +-$/);
  });

  it('shows how each result was timed and how late it left', async () => {
    const timed = (i: number, timing: Result['timing']) => ({ ...reply(i), timing });
    server.respond(() => ({
      status: 200,
      body: {
        results: [
          timed(0, { send: 'kernel', receive: 'kernel', lateness: 0 }),
          timed(1, { send: 'process', receive: 'kernel', lateness: 1_500 }),
          timed(2, { send: 'kernel', receive: 'process', lateness: 12 }),
          { ...timed(3, { send: 'kernel', receive: null, lateness: 3 }), ...TIMED_OUT },
        ],
        cursor: null,
      },
    }));
    const lines = (await cli('results')).stdout.trimEnd().split('\n');
    expect(lines[1]).toMatch(/ 64 +kernel +0\.000 ms$/);
    expect(lines[2]).toMatch(/ 64 +process send +1\.500 ms$/);
    expect(lines[3]).toMatch(/ 64 +process receive +0\.012 ms$/);
    expect(lines[4]).toMatch(/ timeout +- +- +- +- +0\.003 ms$/);
  });

  it('says so when there are none', async () => {
    server.respond(() => ({ status: 200, body: { results: [], cursor: null } }));
    expect((await cli('results')).stdout).toBe('no results\n');
  });

  it('refuses --limit 0 locally', async () => {
    expect((await cli('results', '--limit', '0')).code).toBe(2);
    expect(server.requests).toHaveLength(0);
  });
});

describe('token', () => {
  const made = {
    id: '0123456789abcdef',
    name: 'grafana',
    kind: 'read',
    sourceId: null,
    createdAt: '2026-11-22T04:00:00.000Z',
  };

  it('add posts the name and prints the secret once; list and rm use the id', async () => {
    server.respond((r) =>
      r.method === 'POST'
        ? { status: 201, body: { ...made, token: 'pgr_read_secret' } }
        : r.method === 'GET'
          ? { status: 200, body: { tokens: [made] } }
          : { status: 204 },
    );
    const add = await cli('token', 'add', '--name', 'grafana');
    expect(add.code).toBe(0);
    expect(add.stdout).toMatch(/^token: +pgr_read_secret$/m);
    expect(add.stderr).toContain('shown only this once');
    const list = await cli('token', 'list');
    expect(list.stdout).toMatch(/^0123456789abcdef +read +grafana +- +2026-11-22T04:00:00\.000Z$/m);
    expect((await cli('token', 'rm', made.id)).stdout).toBe(`deleted token ${made.id}\n`);
    expect(server.requests.map((r) => [r.method, r.path, r.body])).toEqual([
      ['POST', '/v1/tokens', { name: 'grafana' }],
      ['GET', '/v1/tokens', undefined],
      ['DELETE', `/v1/tokens/${made.id}`, undefined],
    ]);
  });
});

describe('failures', () => {
  it('a 400 exits 2 with the server message and each field at fault', async () => {
    server.respond(() => ({
      status: 400,
      body: {
        error: {
          code: 'bad_request',
          message: 'invalid destination',
          issues: [
            { path: 'ttl', message: 'must be at most 255' },
            { path: 'port', message: 'must be null for protocol icmp' },
          ],
        },
      },
    }));
    const run = await cli('dest', 'add', '198.18.0.1', '--ttl', '300', '--port', '9');
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'pinger: invalid destination (HTTP 400 bad_request)\n  ttl: must be at most 255\n  port: must be null for protocol icmp\n',
    );
  });

  it('a 401 without a token says how to give one', async () => {
    server.respond(() => ({
      status: 401,
      body: { error: { code: 'unauthorized', message: 'a bearer token is required' } },
    }));
    const saved = process.env.PINGER_TOKEN;
    delete process.env.PINGER_TOKEN;
    try {
      const run = await runCli(['source', 'list'], { url: server.url });
      expect(run.code).toBe(2);
      expect(server.requests[0]!.headers.authorization).toBeUndefined();
      expect(run.stderr).toContain('a bearer token is required (HTTP 401 unauthorized)');
      expect(run.stderr).toContain('--token or PINGER_TOKEN');
    } finally {
      if (saved !== undefined) process.env.PINGER_TOKEN = saved;
    }
  });

  it('a 5xx exits 1; a body that is not the error shape is quoted', async () => {
    server.respond(() => ({ status: 502, body: '<html>bad gateway</html>' }));
    const run = await cli('source', 'list');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('HTTP 502: <html>bad gateway</html>');
  });

  it('an answer outside the contract exits 1 naming the field', async () => {
    server.respond(() => ({ status: 200, body: { sources: [{ ...source, sourceid: 'x' }] } }));
    const run = await cli('source', 'list');
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/unexpected answer: .*sources\.0\.sourceid/);
  });

  it('a refused connection exits 1 naming the URL', async () => {
    const probe = createServer().listen(0, '127.0.0.1');
    await once(probe, 'listening');
    const { port } = probe.address() as { port: number };
    probe.close();
    await once(probe, 'close');
    const run = await runCli(['source', 'list'], { url: `http://127.0.0.1:${port}`, token: TOKEN });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `cannot reach the control plane at http://127.0.0.1:${port}: connection refused`,
    );
  });

  it('a --url that is not a URL exits 2', async () => {
    const run = await runCli(['source', 'list'], { url: 'localhost:8080/x y' });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('is not');
  });
});
