import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { constantTimeEqual, generateToken, hashToken, TOKEN_PREFIXES } from '../../../control-plane/auth.js';
import { errorOf, type Fixture, makeFixture } from './fixture.js';

describe('tokens', () => {
  it('are 256-bit random with a recognisable prefix, kept as SHA-256 hex', async () => {
    const seen = new Set<string>();
    for (const kind of ['admin', 'read', 'agent'] as const) {
      const { token, hash } = await generateToken(kind);
      expect(token.startsWith(TOKEN_PREFIXES[kind])).toBe(true);
      // 43 base64url characters carry 258 bits, of which 256 are the random bytes.
      expect(token.slice(TOKEN_PREFIXES[kind].length)).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(hash).toMatch(/^[0-9a-f]{64}$/);
      expect(await hashToken(token)).toBe(hash);
      seen.add(token);
    }
    expect(seen.size).toBe(3);
    // The known SHA-256 of "abc" pins the hash function.
    expect(await hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  it('compare equal only when equal', () => {
    expect(constantTimeEqual('abcd', 'abcd')).toBe(true);
    expect(constantTimeEqual('abcd', 'abce')).toBe(false);
    expect(constantTimeEqual('abcd', 'abc')).toBe(false);
  });
});

describe('authentication', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await makeFixture();
  });
  afterEach(() => f.close());

  it('answers 401 without a token, with a malformed header, or with an unknown token', async () => {
    const cases: Record<string, string>[] = [
      {},
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: 'Bearer' },
      { authorization: `Bearer ${f.admin}x` },
      { authorization: `Bearer ${(await generateToken('admin')).token}` },
      { authorization: 'Bearer pgr_admin_short' },
    ];
    for (const headers of cases) {
      const res = await f.request('GET', '/v1/sources', { token: null, headers });
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await errorOf(res)).code).toBe('unauthorized');
    }
  });

  it('answers 403 for a token of the wrong kind', async () => {
    const src = await f.source('a');
    const read = (await (await f.request('POST', '/v1/tokens', { body: { name: 'r' } })).json()) as {
      token: string;
    };
    const cases: [string, string, string][] = [
      ['POST', '/v1/sources', read.token],
      ['DELETE', `/v1/sources/${src.id}`, read.token],
      ['GET', '/v1/tokens', read.token],
      ['GET', '/v1/sources', src.token],
      ['GET', '/v1/results', src.token],
      ['GET', '/v1/destinations', src.token],
      ['GET', '/v1/agent/config', f.admin],
      ['POST', '/v1/agent/results', read.token],
    ];
    for (const [method, path, token] of cases) {
      const res = await f.request(method, path, {
        token,
        body: method === 'POST' ? { name: 'x' } : undefined,
      });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect((await errorOf(res)).code).toBe('forbidden');
    }
    // Nothing was changed by the refused calls.
    expect(await f.store.getSource(src.id)).toBeDefined();
    expect(await f.store.listSources()).toHaveLength(1);
  });

  it('lets a read token list but not change', async () => {
    const read = (await (await f.request('POST', '/v1/tokens', { body: { name: 'r' } })).json()) as {
      token: string;
    };
    for (const path of ['/v1/sources', '/v1/destinations', '/v1/results']) {
      expect((await f.request('GET', path, { token: read.token })).status, path).toBe(200);
    }
  });

  it('with an operator admin token, accepts only it as admin', async () => {
    const secret = 'operator-chosen-secret-of-enough-length-0123';
    const g = await makeFixture({ adminTokenHash: await hashToken(secret) });
    try {
      expect((await g.request('GET', '/v1/sources', { token: secret })).status).toBe(200);
      // The admin token kept in the store (as a generated one would be) no longer works.
      expect((await g.request('GET', '/v1/sources', { token: g.admin })).status).toBe(401);
      expect((await g.request('GET', '/v1/sources', { token: `${secret}x` })).status).toBe(401);
    } finally {
      await g.close();
    }
  });
});
