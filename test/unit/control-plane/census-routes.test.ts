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

  it('lists the routes in the OpenAPI document', async () => {
    const doc = (await (await f.request('GET', '/openapi.json', { token: null })).json()) as {
      paths: Record<string, unknown>;
    };
    for (const path of [
      '/v1/agent/census/passes',
      '/v1/census/{destination}/hosts',
      '/v1/census/{destination}/passes',
      '/v1/census/{destination}/events',
    ]) {
      expect(doc.paths[path]).toBeDefined();
    }
  });
});
