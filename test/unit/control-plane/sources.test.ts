import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorOf, type Fixture, makeFixture } from './fixture.js';

describe('/v1/sources', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await makeFixture();
  });
  afterEach(() => f.close());

  it('creates a source, shows its agent token once, and reads it back', async () => {
    const res = await f.request('POST', '/v1/sources', {
      body: { name: ' ams1 ', location: 3, host: 4, address: '198.18.0.10', labels: { dc: 'ams' } },
    });
    expect(res.status).toBe(201);
    const created = (await res.json()) as Record<string, unknown> & { id: string; token: string };
    expect(created).toMatchObject({ name: 'ams1', location: 3, host: 4, sourceid: 0, lastSeen: null });
    expect(created.token).toMatch(/^pgr_agent_/);
    expect(res.headers.get('location')).toBe(`/v1/sources/${created.id}`);
    const { token: _token, ...source } = created;
    const got = await f.request('GET', `/v1/sources/${created.id}`);
    expect(await got.json()).toEqual(source);
    const list = (await (await f.request('GET', '/v1/sources')).json()) as { sources: unknown[] };
    expect(list.sources).toEqual([source]);
    expect(JSON.stringify(list)).not.toContain('pgr_agent_');
  });

  it('assigns sourceids and refuses a taken one with 409 naming sourceid', async () => {
    const a = await f.source('a');
    const b = await f.source('b', { sourceid: 7 });
    expect([(await f.store.getSource(a.id))?.sourceid, (await f.store.getSource(b.id))?.sourceid]).toEqual([
      0, 7,
    ]);
    const res = await f.request('POST', '/v1/sources', { body: { name: 'c', sourceid: 7 } });
    expect(res.status).toBe(409);
    const err = await errorOf(res);
    expect(err.code).toBe('conflict');
    expect(err.issues?.[0]?.path).toBe('sourceid');
    expect(err.message).not.toContain('[store');
    const patch = await f.request('PATCH', `/v1/sources/${a.id}`, { body: { sourceid: 7 } });
    expect(patch.status).toBe(409);
  });

  it('patches and deletes; 404 for an unknown id', async () => {
    const a = await f.source('a');
    const res = await f.request('PATCH', `/v1/sources/${a.id}`, { body: { name: 'renamed', address: null } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id: a.id, name: 'renamed', address: null });
    expect((await f.request('DELETE', `/v1/sources/${a.id}`)).status).toBe(204);
    for (const [method, path, body] of [
      ['GET', `/v1/sources/${a.id}`],
      ['PATCH', `/v1/sources/${a.id}`, { name: 'x' }],
      ['DELETE', `/v1/sources/${a.id}`],
      ['POST', `/v1/sources/${a.id}/token`],
    ] as const) {
      const r = await f.request(method, path, { body });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect((await errorOf(r)).code).toBe('not_found');
    }
    // Its agent token went with it.
    expect((await f.request('GET', '/v1/agent/config', { token: a.token })).status).toBe(401);
  });

  it('rotates the agent token: the old one stops working at once', async () => {
    const a = await f.source('a');
    const res = await f.request('POST', `/v1/sources/${a.id}/token`);
    expect(res.status).toBe(200);
    const rotated = (await res.json()) as { id: string; token: string };
    expect(rotated.id).toBe(a.id);
    expect(rotated.token).not.toBe(a.token);
    expect((await f.request('GET', '/v1/agent/config', { token: a.token })).status).toBe(401);
    expect((await f.request('GET', '/v1/agent/config', { token: rotated.token })).status).toBe(200);
  });

  it('refuses every class of bad input with 400 naming the field, storing nothing', async () => {
    const cases: [unknown, string, string][] = [
      [{ name: 'a', colour: 'red' }, 'colour', 'is not a known field'],
      [{ name: 5 }, 'name', 'must be a string'],
      [{}, 'name', 'is required'],
      [{ name: '' }, 'name', 'must not be empty'],
      [{ name: 'a', sourceid: 65_536 }, 'sourceid', 'must be at most 65535'],
      [{ name: 'a', location: -1 }, 'location', 'must be at least 0'],
      [{ name: 'a', host: 1.5 }, 'host', 'must be an integer'],
      [
        { name: 'a', address: '300.1.1.1' },
        'address',
        'must be an IPv4 address, an IPv6 address or a host name',
      ],
      [
        { name: 'a', labels: { 'bad key!': 'x' } },
        'labels.bad key!',
        'label keys are 1–63 letters, digits, _ . or -',
      ],
      [[{ name: 'a' }], 'body', 'must be a JSON object'],
      [null, 'body', 'must be a JSON object'],
    ];
    for (const [body, path, message] of cases) {
      const res = await f.request('POST', '/v1/sources', {
        body: JSON.stringify(body),
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status, JSON.stringify(body)).toBe(400);
      const err = await errorOf(res);
      expect(err.code).toBe('bad_request');
      expect(err.issues, JSON.stringify(body)).toContainEqual({ path, message });
      expect(err.message).toContain(path);
    }
    expect(await f.store.listSources()).toEqual([]);
  });

  it('refuses invalid JSON, an empty body, another content type and an oversized body', async () => {
    const invalid = await f.request('POST', '/v1/sources', {
      body: '{"name": "a",',
      headers: { 'content-type': 'application/json' },
    });
    expect(invalid.status).toBe(400);
    expect((await errorOf(invalid)).code).toBe('invalid_json');
    const empty = await f.request('POST', '/v1/sources', { body: '' });
    expect(empty.status).toBe(400);
    expect((await errorOf(empty)).code).toBe('invalid_json');
    const form = await f.request('POST', '/v1/sources', {
      body: 'name=a',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
    expect((await errorOf(form)).code).toBe('unsupported_media_type');
    const big = await f.request('POST', '/v1/sources', {
      body: { name: 'a', labels: { x: 'y'.repeat(300_000) } },
    });
    expect(big.status).toBe(413);
    expect((await errorOf(big)).code).toBe('payload_too_large');
    const gz = await f.request('POST', '/v1/sources', {
      body: { name: 'a' },
      headers: { 'content-encoding': 'gzip' },
    });
    expect(gz.status).toBe(415);
    expect(await f.store.listSources()).toEqual([]);
  });
});
