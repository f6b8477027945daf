/**
 * Census routes through `app.request()` on a real SQLite store: an agent reports a pass (stored once, answers
 * applied to the hosts, bad fields named), operators read hosts, passes and events, and the agent config carries
 * the census settings.
 */
import { gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorOf, type Fixture, makeFixture } from './fixture.js';

const T = 1_763_780_000_000_000_000n;
const at = (i: number) => (T + BigInt(i) * 60_000_000_000n).toString();

function report(destination: string, i: number, answers: [string, number | null][]) {
  return {
    destination,
    prefix: '198.18.0.0/24',
    start: at(i),
    end: (BigInt(at(i)) + 2_000_000_000n).toString(),
    addresses: 254,
    probed: 254,
    answered: answers.length,
    retries: 0,
    errors: 0,
    skipped: 0,
    rate: 20_000,
    answers,
  };
}

describe('census routes', () => {
  let f: Fixture;
  let census: { id: string };
  let agent: { id: string; token: string };
  beforeEach(async () => {
    f = await makeFixture();
    agent = await f.source('a');
    census = await f.destination({
      address: '198.18.0.0/24',
      census: { rate: 20_000, retries: 0, goneAfter: 1 },
    });
  });
  afterEach(() => f.close());

  const post = (body: unknown, token = agent.token) =>
    f.request('POST', '/v1/agent/census/passes', { token, body });

  it('gives the agent the census settings in its config', async () => {
    const res = await f.request('GET', '/v1/agent/config', { token: agent.token });
    const config = (await res.json()) as { destinations: { id: string; census?: object }[] };
    expect(config.destinations.find((d) => d.id === census.id)?.census).toEqual({
      rate: 20_000,
      retries: 0,
      split: false,
      goneAfter: 1,
    });
  });

  it('stores a pass once, applies it to the hosts, and lists hosts, passes and events', async () => {
    const first = await post(
      report(census.id, 0, [
        ['198.18.0.7', 500],
        ['198.18.0.9', null],
      ]),
    );
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ stored: true, duplicate: false });
    const again = await post(
      report(census.id, 0, [
        ['198.18.0.7', 500],
        ['198.18.0.9', null],
      ]),
    );
    expect(await again.json()).toEqual({ stored: false, duplicate: true });
    // gzip is accepted like a result batch.
    const zipped = await f.request('POST', '/v1/agent/census/passes', {
      token: agent.token,
      body: gzipSync(
        JSON.stringify(
          report(census.id, 1, [
            ['198.18.0.7', 400],
            ['198.18.0.20', 3],
          ]),
        ),
      ),
      headers: { 'content-encoding': 'gzip' },
    });
    expect(zipped.status).toBe(200);

    const hosts = await (await f.request('GET', `/v1/census/${census.id}/hosts`)).json();
    expect(hosts).toMatchObject({
      hosts: [
        { address: '198.18.0.7', state: 'up', lastRtt: 400, passesAnswered: 2 },
        { address: '198.18.0.9', state: 'down', missed: 1 },
        { address: '198.18.0.20', state: 'up', firstSeen: at(1) },
      ],
    });
    const fresh = await (await f.request('GET', `/v1/census/${census.id}/hosts?state=new`)).json();
    expect(fresh).toMatchObject({ hosts: [{ address: '198.18.0.20' }] });
    const passes = (await (await f.request('GET', `/v1/census/${census.id}/passes`)).json()) as {
      passes: { start: string; durationMs: number; source: string }[];
    };
    expect(passes.passes.map((p) => [p.start, p.durationMs, p.source])).toEqual([
      [at(1), 2000, agent.id],
      [at(0), 2000, agent.id],
    ]);
    const events = await (await f.request('GET', `/v1/census/${census.id}/events`)).json();
    expect(events).toEqual({
      events: [
        { at: at(1), address: '198.18.0.9', kind: 'gone' },
        { at: at(1), address: '198.18.0.20', kind: 'appeared' },
        { at: at(0), address: '198.18.0.9', kind: 'appeared' },
        { at: at(0), address: '198.18.0.7', kind: 'appeared' },
      ],
    });
  });

  it('refuses a bad report naming the field, storing nothing', async () => {
    const res = await post({ ...report(census.id, 0, [['198.18.0.7', 1]]), answered: 2 });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).issues).toContainEqual({
      path: 'answers',
      message: 'must list exactly the 2 answered addresses',
    });
    const bad = await post({ ...report(census.id, 0, [['not-an-ip', 1]]) });
    expect((await errorOf(bad)).issues?.[0]?.path).toBe('answers.0.0');
    const early = await post({ ...report(census.id, 0, []), end: '1' });
    expect((await errorOf(early)).issues).toContainEqual({
      path: 'end',
      message: 'must not be before start',
    });
    const single = await f.destination({ address: '198.18.0.1' });
    const notCensus = await post(report(single.id, 0, []));
    expect(notCensus.status).toBe(400);
    expect((await errorOf(notCensus)).issues?.[0]?.path).toBe('destination');
    expect(await (await f.request('GET', `/v1/census/${census.id}/passes`)).json()).toEqual({ passes: [] });
  });

  it('refuses a report from a source the census does not name (403) and without an agent token (401/403)', async () => {
    const other = await f.source('b');
    const mine = await f.destination({ address: '198.18.1.0/24', sources: [agent.id] });
    const res = await post(report(mine.id, 0, []), other.token);
    expect(res.status).toBe(403);
    expect((await post(report(mine.id, 0, []), f.admin)).status).toBe(403);
    expect((await post(report(mine.id, 0, []), 'nope')).status).toBe(401);
  });

  it('answers 404 naming `destination` for an unknown or non-census destination, 400 for a bad state', async () => {
    const unknown = await f.request('GET', '/v1/census/dst_nope/hosts');
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).issues).toEqual([
      { path: 'destination', message: 'dst_nope does not exist' },
    ]);
    const single = await f.destination({ address: '198.18.0.1' });
    for (const what of ['hosts', 'passes', 'events']) {
      const res = await f.request('GET', `/v1/census/${single.id}/${what}`);
      expect(res.status).toBe(404);
      expect((await errorOf(res)).issues?.[0]?.path).toBe('destination');
    }
    const state = await f.request('GET', `/v1/census/${census.id}/hosts?state=sleeping`);
    expect(state.status).toBe(400);
    expect((await errorOf(state)).issues).toEqual([
      { path: 'state', message: 'must be one of up, down, new' },
    ]);
  });

  it('gives one host’s history: its record, the passes that probed it, answered or missed, and figures', async () => {
    // Recent passes (history is kept as long as raw results: 14 days back from the store's real clock).
    const base = (BigInt(Date.now()) - 3_600_000n) * 1_000_000n;
    const start = (i: number) => base + BigInt(i) * 60_000_000_000n;
    const rtts = [900, 300, null, 600];
    for (let i = 0; i < 4; i++) {
      const answers: [string, number | null][] = rtts[i] === null ? [] : [['198.18.0.7', rtts[i]!]];
      const res = await post({
        ...report(census.id, 0, answers),
        start: `${start(i)}`,
        end: `${start(i) + 1n}`,
      });
      expect(res.status).toBe(200);
    }
    // A duplicate post of pass 1 doubles nothing.
    await post({
      ...report(census.id, 0, [['198.18.0.7', 300]]),
      start: `${start(1)}`,
      end: `${start(1) + 1n}`,
    });
    const res = await f.request('GET', `/v1/census/${census.id}/hosts/198.18.0.7`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.host).toMatchObject({ address: '198.18.0.7', state: 'up', passesAnswered: 3, lastRtt: 600 });
    expect(body.passes).toEqual([
      { at: `${start(0)}`, answered: true, rtt: 900 },
      { at: `${start(1)}`, answered: true, rtt: 300 },
      { at: `${start(2)}`, answered: false, rtt: null },
      { at: `${start(3)}`, answered: true, rtt: 600 },
    ]);
    expect(body.summary).toEqual({
      passes: 4,
      answered: 3,
      loss: 0.25,
      rttMin: 300,
      rttMedian: 600,
      rttP90: 900,
      rttMax: 900,
    });
    // A range in ISO 8601 and a limit; the read token may read it.
    const read = await f.request('POST', '/v1/tokens', { body: { kind: 'read', name: 'r' } });
    const token = ((await read.json()) as { token: string }).token;
    const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();
    const ranged = await f.request(
      'GET',
      `/v1/census/${census.id}/hosts/198.18.0.7?from=${iso(start(1))}&to=${start(3)}&limit=2`,
      { token },
    );
    expect(ranged.status).toBe(200);
    const r = (await ranged.json()) as { passes: { at: string }[]; more: boolean; from: string };
    expect(r.passes.map((p) => p.at)).toEqual([`${start(2)}`, `${start(3)}`]);
    expect(r.more).toBe(true);
    expect(r.from).toBe(`${start(1)}`);
  });

  it('finds an IPv6 host however its address is spelled in the URL', async () => {
    const v6 = await f.destination({ address: 'fd00:198:18::/120', protocol: 'icmp6' });
    const start = (BigInt(Date.now()) - 60_000n) * 1_000_000n;
    const res = await post({
      ...report(v6.id, 0, [['fd00:198:18::7', 250]]),
      prefix: 'fd00:198:18::/120',
      addresses: 256,
      probed: 256,
      start: `${start}`,
      end: `${start + 1n}`,
    });
    expect(res.status).toBe(200);
    for (const spelled of ['fd00:198:18::7', 'FD00:0198:0018:0:0:0:0:0007']) {
      const got = await f.request('GET', `/v1/census/${v6.id}/hosts/${encodeURIComponent(spelled)}`);
      expect(got.status, spelled).toBe(200);
      const body = (await got.json()) as { host: { address: string }; summary: { answered: number } };
      expect(body.host.address).toBe('fd00:198:18::7');
      expect(body.summary.answered).toBe(1);
    }
  });

  it('finds an IPv4-mapped host in its dotted form, as agents report it, however it is spelled', async () => {
    const mapped = await f.destination({ address: '::ffff:198.18.0.0/120', protocol: 'icmp6' });
    const start = (BigInt(Date.now()) - 60_000n) * 1_000_000n;
    const res = await post({
      ...report(mapped.id, 0, [['::ffff:198.18.0.5', 250]]),
      prefix: '::ffff:198.18.0.0/120',
      addresses: 256,
      probed: 256,
      start: `${start}`,
      end: `${start + 1n}`,
    });
    expect(res.status).toBe(200);
    for (const spelled of ['::ffff:198.18.0.5', '::FFFF:c612:5', '0:0:0:0:0:ffff:c612:0005']) {
      const got = await f.request('GET', `/v1/census/${mapped.id}/hosts/${encodeURIComponent(spelled)}`);
      expect(got.status, spelled).toBe(200);
      const body = (await got.json()) as { host: { address: string } };
      expect(body.host.address).toBe('::ffff:198.18.0.5');
    }
  });

  it('refuses a host read naming what was wrong: census, address, range', async () => {
    await post(report(census.id, 0, [['198.18.0.7', 5]]));
    const cases: [string, number, { path: string; message: string }[]][] = [
      [
        '/v1/census/dst_nope/hosts/198.18.0.7',
        404,
        [{ path: 'destination', message: 'dst_nope does not exist' }],
      ],
      [
        `/v1/census/${census.id}/hosts/nope`,
        400,
        [{ path: 'address', message: 'must be an IPv4 or IPv6 address' }],
      ],
      [
        `/v1/census/${census.id}/hosts/198.18.1.7`,
        400,
        [
          {
            path: 'address',
            message: `must be an address census ${census.id} probes: in 198.18.0.0/24, not its network or broadcast address`,
          },
        ],
      ],
      [
        `/v1/census/${census.id}/hosts/198.18.0.255`,
        400,
        [
          {
            path: 'address',
            message: `must be an address census ${census.id} probes: in 198.18.0.0/24, not its network or broadcast address`,
          },
        ],
      ],
      [
        `/v1/census/${census.id}/hosts/198.18.0.8`,
        404,
        [{ path: 'address', message: `198.18.0.8 never answered a pass of ${census.id}` }],
      ],
      [
        `/v1/census/${census.id}/hosts/198.18.0.7?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`,
        400,
        [{ path: 'from', message: 'must not be after to' }],
      ],
      [
        `/v1/census/${census.id}/hosts/198.18.0.7?from=8000000000000000000`,
        400,
        [{ path: 'from', message: 'must not be after to' }],
      ],
      [
        `/v1/census/${census.id}/hosts/198.18.0.7?from=yesterday`,
        400,
        [
          {
            path: 'from',
            message: 'must be an ISO 8601 time (2026-01-02T03:04:05Z) or nanoseconds since the epoch',
          },
        ],
      ],
      [
        `/v1/census/${census.id}/hosts/198.18.0.7?limit=0`,
        400,
        [{ path: 'limit', message: 'must be at least 1' }],
      ],
      [
        `/v1/census/${census.id}/hosts/198.18.0.7?step=60`,
        400,
        [{ path: 'step', message: expect.any(String) }],
      ],
    ];
    for (const [path, status, issues] of cases) {
      const res = await f.request('GET', path);
      expect(res.status, path).toBe(status);
      expect((await errorOf(res)).issues, path).toEqual(issues);
    }
  });

  it('lists the routes in the OpenAPI document', async () => {
    const doc = (await (await f.request('GET', '/openapi.json', { token: null })).json()) as {
      paths: Record<string, unknown>;
    };
    for (const path of [
      '/v1/agent/census/passes',
      '/v1/census/{destination}/hosts',
      '/v1/census/{destination}/hosts/{address}',
      '/v1/census/{destination}/passes',
      '/v1/census/{destination}/events',
    ]) {
      expect(doc.paths[path]).toBeDefined();
    }
  });
});
