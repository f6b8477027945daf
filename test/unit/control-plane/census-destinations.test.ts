/** A census prefix through the HTTP API: a too-large prefix is a 400 naming the field and the limit, nothing stored. */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorOf, type Fixture, makeFixture } from './fixture.js';

describe('/v1/destinations with a prefix', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await makeFixture();
  });
  afterEach(() => f.close());

  it('refuses a /8 naming the limit, and stores nothing', async () => {
    const res = await f.request('POST', '/v1/destinations', { body: { address: '10.0.0.0/8' } });
    expect(res.status).toBe(400);
    const err = await errorOf(res);
    expect(err.code).toBe('bad_request');
    expect(err.issues).toContainEqual({
      path: 'address',
      message: 'is a /8 of 16,777,216 addresses; a census sweeps at most 65,536 (IPv4 /16 or longer)',
    });
    expect(await (await f.request('GET', '/v1/destinations')).json()).toEqual({ destinations: [] });
  });

  it('refuses census settings out of range, naming the nested field', async () => {
    const res = await f.request('POST', '/v1/destinations', {
      body: { address: '198.19.0.0/16', census: { retries: 9 } },
    });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).issues).toContainEqual({
      path: 'census.retries',
      message: 'must be at most 5',
    });
  });

  it('stores a /16 with the census interval', async () => {
    const res = await f.request('POST', '/v1/destinations', { body: { address: '198.19.0.0/16' } });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({ address: '198.19.0.0/16', interval: 1_800_000 });
  });
});
