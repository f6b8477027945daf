import { afterEach, describe, expect, it } from 'vitest';
import { type Store, UnavailableError } from '../../../control-plane/store/store.js';
import { errorOf, type Fixture, makeFixture } from './fixture.js';

describe('app', () => {
  let f: Fixture;
  afterEach(() => f.close());

  it('answers /healthz without a token', async () => {
    f = await makeFixture();
    const res = await f.request('GET', '/healthz', { token: null });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true, store: 'sqlite' });
  });

  it('serves an OpenAPI document generated from the contract schemas', async () => {
    f = await makeFixture();
    const res = await f.request('GET', '/openapi.json', { token: null });
    expect(res.status).toBe(200);
    const doc = (await res.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, { properties?: Record<string, { maximum?: number }> }> };
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/sources',
        '/v1/destinations/{id}',
        '/v1/agent/config',
        '/v1/agent/results',
        '/v1/results',
      ]),
    );
    // Ranges come from the schemas themselves.
    expect(doc.components.schemas.DestinationCreate?.properties?.ttl?.maximum).toBe(255);
    expect(doc.components.schemas.Source?.properties?.sourceid?.maximum).toBe(65_535);
    // Each operation lists the errors it can give, not every error there is.
    const errorCodes = (path: string, method: string) =>
      Object.keys((doc.paths[path]![method] as { responses: object }).responses).filter((s) => s >= '400');
    expect(errorCodes('/healthz', 'get')).toEqual(['500']);
    expect(errorCodes('/v1/sources', 'get')).toEqual(['401', '403', '500', '503']);
    expect(errorCodes('/v1/sources', 'post')).toEqual(['400', '401', '403', '409', '413', '500', '503']);
    expect(errorCodes('/v1/destinations/{id}', 'delete')).toEqual(['401', '403', '404', '500', '503']);
    expect(errorCodes('/v1/results', 'get')).toEqual(['400', '401', '403', '500', '503']);
    expect(errorCodes('/v1/stats', 'get')).toEqual(['400', '401', '403', '404', '500', '501', '503']);
    expect(errorCodes('/metrics', 'get')).toEqual(['401', '403', '500', '501', '503']);
    const statsQuery = (doc.paths['/v1/stats']!.get as { parameters: { name: string }[] }).parameters;
    expect(statsQuery.map((p) => p.name).sort()).toEqual([
      'destination',
      'from',
      'label',
      'source',
      'step',
      'to',
    ]);
  });

  it('answers an unknown route with 404 in the error body', async () => {
    f = await makeFixture();
    const res = await f.request('GET', '/v1/nothing-here');
    expect(res.status).toBe(404);
    expect(await errorOf(res)).toEqual({ code: 'not_found', message: 'no route for GET /v1/nothing-here' });
  });

  it('answers 500 without leaking internals, and 503 when the store is unavailable', async () => {
    const logged: unknown[] = [];
    f = await makeFixture({
      wrapStore: (s): Store => ({
        ...s,
        kind: s.kind,
        listSources: () => Promise.reject(new Error('SQLITE_CORRUPT at /secret/path/pinger.db')),
        listDestinations: () => Promise.reject(new UnavailableError('[store:test] throttled')),
      }),
      logger: { debug() {}, info() {}, warn() {}, error: (obj) => logged.push(obj) },
    });
    const res = await f.request('GET', '/v1/sources');
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('secret');
    expect(JSON.parse(text)).toEqual({ error: { code: 'internal', message: 'internal error' } });
    expect(JSON.stringify(logged.map((o) => String((o as { err: Error }).err)))).toContain('/secret/path');
    const busy = await f.request('GET', '/v1/destinations');
    expect(busy.status).toBe(503);
    expect((await errorOf(busy)).code).toBe('unavailable');
  });
});
