import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorOf, type Fixture, makeFixture } from './fixture.js';

describe('/v1/tokens', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await makeFixture();
  });
  afterEach(() => f.close());

  it('creates a read-only token shown once, lists it without the secret, deletes it', async () => {
    const res = await f.request('POST', '/v1/tokens', { body: { name: 'grafana' } });
    expect(res.status).toBe(201);
    const created = (await res.json()) as { id: string; token: string; kind: string; name: string };
    expect(created).toMatchObject({ kind: 'read', name: 'grafana', sourceId: null });
    expect(created.token).toMatch(/^pgr_read_/);
    expect(created.id).toMatch(/^[0-9a-f]{16}$/);
    expect((await f.request('GET', '/v1/results', { token: created.token })).status).toBe(200);

    await f.source('a');
    const list = await (await f.request('GET', '/v1/tokens')).text();
    expect(list).not.toContain('pgr_');
    const tokens = (JSON.parse(list) as { tokens: { id: string; kind: string }[] }).tokens;
    expect(tokens.map((t) => t.kind).sort()).toEqual(['agent', 'read']);
    expect(tokens.find((t) => t.kind === 'read')?.id).toBe(created.id);

    expect((await f.request('DELETE', `/v1/tokens/${created.id}`)).status).toBe(204);
    expect((await f.request('GET', '/v1/results', { token: created.token })).status).toBe(401);
    const again = await f.request('DELETE', `/v1/tokens/${created.id}`);
    expect(again.status).toBe(404);
    expect((await errorOf(again)).code).toBe('not_found');
  });

  it('tells a dashboard or CLI token what it is, and refuses agent tokens and strangers', async () => {
    const self = (token?: string | null) => f.request('GET', '/v1/tokens/self', { token });
    expect(await (await self()).json()).toEqual({ kind: 'admin' });
    const read = (await (await f.request('POST', '/v1/tokens', { body: { name: 'r' } })).json()) as {
      token: string;
    };
    expect(await (await self(read.token)).json()).toEqual({ kind: 'read' });
    expect((await self((await f.source('a')).token)).status).toBe(403);
    expect((await self(null)).status).toBe(401);
    expect((await self('pgr_read_nope')).status).toBe(401);
  });

  it('does not delete agent tokens here, and refuses a bad name', async () => {
    await f.source('a');
    const agent = ((await (await f.request('GET', '/v1/tokens')).json()) as { tokens: { id: string }[] })
      .tokens[0]!;
    expect((await f.request('DELETE', `/v1/tokens/${agent.id}`)).status).toBe(404);
    for (const body of [{}, { name: '' }, { name: 'x', kind: 'admin' }]) {
      const res = await f.request('POST', '/v1/tokens', { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
    }
  });
});
