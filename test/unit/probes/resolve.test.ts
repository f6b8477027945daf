import { describe, expect, it } from 'vitest';
import {
  type DnsFunctions,
  FALLBACK_TTL_S,
  RETRY_S,
  ResolveError,
  Resolver,
} from '../../../agent/schedule/resolve.js';

/** A DNS that answers from a table and counts its queries. */
function fakeDns(
  records: Record<string, { address: string; ttl: number }[]>,
  hosts: Record<string, string> = {},
) {
  const calls: string[] = [];
  const dns: DnsFunctions = {
    async resolve4(name) {
      calls.push(`A ${name}`);
      const r = records[`A ${name}`];
      if (!r) throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
      return r;
    },
    async resolve6(name) {
      calls.push(`AAAA ${name}`);
      const r = records[`AAAA ${name}`];
      if (!r) throw Object.assign(new Error('ENODATA'), { code: 'ENODATA' });
      return r;
    },
    async lookup(name, { family }) {
      calls.push(`lookup${family} ${name}`);
      const address = hosts[`${family} ${name}`];
      if (!address) throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
      return { address };
    },
  };
  return { dns, calls };
}

describe('Resolver', () => {
  it('passes IP literals through, and refuses one of the other family', async () => {
    const { dns, calls } = fakeDns({});
    const r = new Resolver({ dns });
    await expect(r.resolve('198.18.0.1', 4)).resolves.toBe('198.18.0.1');
    await expect(r.resolve('fd00:198:18::1', 6)).resolves.toBe('fd00:198:18::1');
    await expect(r.resolve('198.18.0.1', 6)).rejects.toBeInstanceOf(ResolveError);
    expect(calls).toEqual([]);
  });

  it('asks A for v4 and AAAA for v6, and re-resolves when the record TTL expires', async () => {
    let now = 0;
    const { dns, calls } = fakeDns({
      'A probe.example': [{ address: '198.18.0.10', ttl: 30 }],
      'AAAA probe.example': [{ address: 'fd00:198:18::10', ttl: 300 }],
    });
    const r = new Resolver({ dns, now: () => now });
    expect(await r.resolve('probe.example', 4)).toBe('198.18.0.10');
    expect(await r.resolve('probe.example', 6)).toBe('fd00:198:18::10');
    now = 29_000;
    await r.resolve('probe.example', 4);
    expect(calls).toEqual(['A probe.example', 'AAAA probe.example']);
    now = 30_001;
    await r.resolve('probe.example', 4);
    await r.resolve('probe.example', 6);
    expect(calls).toEqual(['A probe.example', 'AAAA probe.example', 'A probe.example']);
  });

  it('falls back to the system resolver (/etc/hosts) for names the DNS does not know, cached for a minute', async () => {
    let now = 0;
    const { dns, calls } = fakeDns({}, { '4 localhost': '127.0.0.1' });
    const r = new Resolver({ dns, now: () => now });
    expect(await r.resolve('localhost', 4)).toBe('127.0.0.1');
    now = FALLBACK_TTL_S * 1000 - 1;
    await r.resolve('localhost', 4);
    expect(calls).toEqual(['A localhost', 'lookup4 localhost']);
    await expect(r.resolve('localhost', 6)).rejects.toThrow(/\[resolve\] localhost has no IPv6 address/);
  });

  it('keeps the last address when a re-resolution fails, and shares one query between concurrent callers', async () => {
    let now = 0;
    const records: Record<string, { address: string; ttl: number }[]> = {
      'A flaky.example': [{ address: '198.18.0.20', ttl: 10 }],
    };
    const { dns, calls } = fakeDns(records);
    const r = new Resolver({ dns, now: () => now });
    const [a, b] = await Promise.all([r.resolve('flaky.example', 4), r.resolve('flaky.example', 4)]);
    expect([a, b]).toEqual(['198.18.0.20', '198.18.0.20']);
    expect(calls).toHaveLength(1);
    delete records['A flaky.example'];
    now = 60_000;
    expect(await r.resolve('flaky.example', 4)).toBe('198.18.0.20');
  });

  it('remembers a failure for RETRY_S: no query per probe while a name does not resolve', async () => {
    let now = 0;
    const records: Record<string, { address: string; ttl: number }[]> = {
      'A gone.example': [{ address: '198.18.0.30', ttl: 10 }],
    };
    const { dns, calls } = fakeDns(records);
    const r = new Resolver({ dns, now: () => now });
    expect(await r.resolve('gone.example', 4)).toBe('198.18.0.30');
    delete records['A gone.example'];
    now = 10_001;
    // The first probe after expiry tries again (A, then the system resolver) and keeps the last address...
    expect(await r.resolve('gone.example', 4)).toBe('198.18.0.30');
    const afterRetry = calls.length;
    // ...and the probes during the next RETRY_S seconds ask nobody.
    for (let i = 0; i < 100; i++) expect(await r.resolve('gone.example', 4)).toBe('198.18.0.30');
    expect(calls).toHaveLength(afterRetry);

    // A name that never resolved fails at once until RETRY_S has passed, then is tried again.
    await expect(r.resolve('never.example', 4)).rejects.toBeInstanceOf(ResolveError);
    const afterFailure = calls.length;
    for (let i = 0; i < 100; i++)
      await expect(r.resolve('never.example', 4)).rejects.toBeInstanceOf(ResolveError);
    expect(calls).toHaveLength(afterFailure);
    now += RETRY_S * 1000 + 1;
    records['A never.example'] = [{ address: '198.18.0.31', ttl: 10 }];
    expect(await r.resolve('never.example', 4)).toBe('198.18.0.31');
  });

  it('cached() answers without a query: a literal of the family, or an address while its TTL lasts', async () => {
    let now = 0;
    const records: Record<string, { address: string; ttl: number }[]> = {
      'A Probe.Example': [{ address: '198.18.0.40', ttl: 10 }],
    };
    const { dns, calls } = fakeDns(records);
    const r = new Resolver({ dns, now: () => now });
    expect(r.cached('198.18.0.1', 4)).toBe('198.18.0.1');
    expect(r.cached('fd00:198:18::1', 6)).toBe('fd00:198:18::1');
    expect(r.cached('198.18.0.1', 6)).toBeUndefined();
    // Not resolved yet: only resolve() can tell, and cached() starts no query.
    expect(r.cached('Probe.Example', 4)).toBeUndefined();
    expect(calls).toEqual([]);
    expect(await r.resolve('Probe.Example', 4)).toBe('198.18.0.40');
    expect(r.cached('probe.example', 4)).toBe('198.18.0.40');
    expect(r.cached('probe.example', 6)).toBeUndefined();
    // Due again: undefined until resolve() has re-resolved it.
    now = 10_001;
    expect(r.cached('probe.example', 4)).toBeUndefined();
    records['A Probe.Example'] = [{ address: '198.18.0.41', ttl: 10 }];
    expect(await r.resolve('Probe.Example', 4)).toBe('198.18.0.41');
    expect(r.cached('probe.example', 4)).toBe('198.18.0.41');
    // A remembered failure is not an address.
    await expect(r.resolve('never.example', 4)).rejects.toBeInstanceOf(ResolveError);
    expect(r.cached('never.example', 4)).toBeUndefined();
    expect(calls).toHaveLength(1 + 1 + 2);
  });
});
