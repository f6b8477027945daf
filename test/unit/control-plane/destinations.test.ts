import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DESTINATION_DEFAULTS } from '../../helpers/factories.js';
import { errorOf, type Fixture, makeFixture } from './fixture.js';

describe('/v1/destinations', () => {
  let f: Fixture;
  beforeEach(async () => {
    f = await makeFixture();
  });
  afterEach(() => f.close());

  it('creates with defaults, reads, lists, deletes', async () => {
    const res = await f.request('POST', '/v1/destinations', { body: { address: '198.18.0.1' } });
    expect(res.status).toBe(201);
    const d = (await res.json()) as { id: string };
    expect(d).toMatchObject({ ...DESTINATION_DEFAULTS, address: '198.18.0.1' });
    expect(await (await f.request('GET', `/v1/destinations/${d.id}`)).json()).toEqual(d);
    expect(await (await f.request('GET', '/v1/destinations')).json()).toEqual({ destinations: [d] });
    expect((await f.request('DELETE', `/v1/destinations/${d.id}`)).status).toBe(204);
    expect((await f.request('GET', `/v1/destinations/${d.id}`)).status).toBe(404);
    expect((await f.request('DELETE', `/v1/destinations/${d.id}`)).status).toBe(404);
    expect((await f.request('PATCH', `/v1/destinations/${d.id}`, { body: { ttl: 3 } })).status).toBe(404);
  });

  it('refuses bad fields and broken cross-field rules with 400 naming the field, storing nothing', async () => {
    const a = await f.source('a');
    const cases: [object, string, string][] = [
      [{ address: 'fd00:198:18::1' }, 'address', 'is an IPv6 address but protocol icmp probes over IPv4'],
      [
        { address: '198.18.0.1', protocol: 'icmp6' },
        'address',
        'is an IPv4 address but protocol icmp6 probes over IPv6',
      ],
      [{ address: '198.18.0.1', protocol: 'udp' }, 'port', 'is required for protocol udp'],
      [{ address: '198.18.0.1', port: 80 }, 'port', 'must be null for protocol icmp'],
      [{ address: '198.18.0.1', protocol: 'tcp', port: 0 }, 'port', 'must be at least 1'],
      [{ address: '198.18.0.1', protocol: 'tcp', port: 65_536 }, 'port', 'must be at most 65535'],
      [{ address: '198.18.0.1', ttl: 0 }, 'ttl', 'must be at least 1'],
      [{ address: '198.18.0.1', ttl: 256 }, 'ttl', 'must be at most 255'],
      [{ address: '198.18.0.1', interval: 9 }, 'interval', 'must be at least 10'],
      [{ address: '198.18.0.1', timeout: 0 }, 'timeout', 'must be at least 1'],
      [{ address: '198.18.0.1', data: 'é'.repeat(513) }, 'data', 'must be at most 1024 bytes'],
      [
        { address: '198.18.0.1', protocol: 'sctp' },
        'protocol',
        'must be one of icmp, icmp6, udp, udp6, tcp, tcp6',
      ],
      [{ address: '198.18.0.1', active: 'yes' }, 'active', 'must be true or false'],
      [{ address: '198.18.0.1', sources: [a.id, a.id] }, 'sources', 'must not name a source twice'],
      [{ address: '198.18.0.1', sources: ['src_unknown'] }, 'sources', 'source src_unknown does not exist'],
      [{ address: '198.18.0.1', prot: 'icmp' }, 'prot', 'is not a known field'],
      [{ address: 'not a host!' }, 'address', 'must be an IPv4 address, an IPv6 address or a host name'],
    ];
    for (const [body, path, message] of cases) {
      const res = await f.request('POST', '/v1/destinations', { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      const err = await errorOf(res);
      expect(err.code).toBe('bad_request');
      expect(err.issues, JSON.stringify(body)).toContainEqual({ path, message });
    }
    expect(await f.store.listDestinations()).toEqual([]);
  });

  it('merges a patch and checks the whole result, naming the field at fault', async () => {
    const d = await f.destination({ address: '198.18.0.1' });
    const v6 = await f.request('PATCH', `/v1/destinations/${d.id}`, { body: { address: 'fd00:198:18::1' } });
    expect(v6.status).toBe(400);
    expect((await errorOf(v6)).issues).toContainEqual({
      path: 'address',
      message: 'is an IPv6 address but protocol icmp probes over IPv4',
    });
    const udp = await f.request('PATCH', `/v1/destinations/${d.id}`, { body: { protocol: 'udp' } });
    expect((await errorOf(udp)).issues).toContainEqual({
      path: 'port',
      message: 'is required for protocol udp',
    });
    const unknown = await f.request('PATCH', `/v1/destinations/${d.id}`, { body: { colour: 'red' } });
    expect((await errorOf(unknown)).issues).toContainEqual({
      path: 'colour',
      message: 'is not a known field',
    });
    // Nothing of the refused patches stuck.
    expect(await f.store.getDestination(d.id)).toMatchObject({ address: '198.18.0.1', protocol: 'icmp' });

    const ok = await f.request('PATCH', `/v1/destinations/${d.id}`, {
      body: { address: 'fd00:198:18::1', protocol: 'udp6', port: 33434, ttl: 5 },
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      id: d.id,
      address: 'fd00:198:18::1',
      protocol: 'udp6',
      port: 33434,
      ttl: 5,
      interval: 1000,
    });
  });

  it('filters by active, protocol and source; refuses a bad filter', async () => {
    const a = await f.source('a');
    const b = await f.source('b');
    const all = await f.destination({ address: '198.18.0.1' });
    const onlyA = await f.destination({ address: '198.18.0.2', protocol: 'tcp', port: 443, sources: [a.id] });
    const onlyB = await f.destination({ address: '198.18.0.3', sources: [b.id], active: false });
    const ids = async (query: string) => {
      const res = await f.request('GET', `/v1/destinations?${query}`);
      expect(res.status, query).toBe(200);
      return ((await res.json()) as { destinations: { id: string }[] }).destinations.map((d) => d.id).sort();
    };
    expect(await ids('')).toEqual([all.id, onlyA.id, onlyB.id].sort());
    expect(await ids('active=true')).toEqual([all.id, onlyA.id].sort());
    expect(await ids('active=false')).toEqual([onlyB.id]);
    expect(await ids('protocol=tcp')).toEqual([onlyA.id]);
    expect(await ids(`source=${a.id}`)).toEqual([all.id, onlyA.id].sort());
    expect(await ids(`source=${b.id}&active=true`)).toEqual([all.id]);
    for (const [query, path] of [
      ['active=yes', 'active'],
      ['protocol=sctp', 'protocol'],
      ['colour=red', 'colour'],
    ]) {
      const res = await f.request('GET', `/v1/destinations?${query}`);
      expect(res.status, query).toBe(400);
      expect((await errorOf(res)).issues?.[0]?.path).toBe(path);
    }
  });
});
