/**
 * A census through a real agent and a real control plane in the lab: `pinger serve` and `pinger agent` both run in
 * the agent namespace (the control plane on its loopback), the agent sweeps the lab's /16, where an nft set in the
 * target lets only a seeded subset answer. The control plane's hosts API must list exactly that subset after a
 * pass; after the subset changes, the passes that follow must report exactly the hosts that appeared and went
 * (goneAfter 1). The API is read with the `pinger census` CLI, run in the same namespace. Needs root.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  CensusEvent,
  CensusHost,
  CensusPassRecord,
  Destination,
  SourceWithToken,
} from '../../contract/index.js';
import type { PingerProcess } from '../helpers/pinger-process.js';
import { until } from '../helpers/until.js';
import { allowOnly, existingHosts, replaceHosts } from './census-hosts.js';
import { CENSUS_PREFIX, Lab } from './lab.js';
import { labCli, spawnInLab } from './pinger-in-lab.js';

const isRoot = process.getuid?.() === 0;
const ADMIN = 'lab-census-admin-token-0123456789abcdefghij';

const numeric = (a: string) => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const sorted = (list: Iterable<string>) => [...list].sort((a, b) => numeric(a) - numeric(b));

describe.skipIf(!isRoot)('census with a control plane in the lab (root)', () => {
  let lab: Lab;
  let dir: string;
  let serve: PingerProcess | undefined;
  let agent: PingerProcess | undefined;
  let url: string;

  const cli = <T>(...args: string[]) => labCli<T>(lab, url, ADMIN, ...args);
  const inNs = (args: string[], env: Record<string, string> = {}) => spawnInLab(lab, args, env);

  beforeAll(async () => {
    lab = await Lab.create({ census: true });
    dir = await mkdtemp(join(tmpdir(), 'pinger-lab-census-cp-'));
    serve = inNs(['serve', '--host', '127.0.0.1', '--port', '0', '--db', join(dir, 'pinger.db')], {
      PINGER_ADMIN_TOKEN: ADMIN,
    });
    url = (await serve.waitForLine('stdout', /listening on (\S+)/, { timeoutMs: 20_000 }))[1]!;
  }, 60_000);

  afterAll(async () => {
    agent?.kill('SIGKILL');
    serve?.kill('SIGTERM');
    await Promise.all([agent?.exited, serve?.exited]);
    await lab?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('a pass finds exactly the hosts that exist; a changed subset shows as appeared and gone events', async () => {
    const before = existingHosts(4242);
    // 20 hosts go, 20 addresses that did not answer appear.
    const goneHosts = before.slice(5, 25);
    const taken = new Set(before);
    const appearedHosts: string[] = [];
    for (let i = 300; appearedHosts.length < 20; i += 97) {
      const address = `198.19.${i >> 8}.${i & 255}`;
      if (!taken.has(address) && (i & 255) !== 0 && (i & 255) !== 255) appearedHosts.push(address);
    }
    const after = [...before.filter((h) => !goneHosts.includes(h)), ...appearedHosts];
    await allowOnly(lab, before);

    const source = await cli<SourceWithToken>('source', 'add', '--name', 'lab');
    const census = await cli<Destination>(
      'census',
      'add',
      CENSUS_PREFIX,
      '--every',
      '15s',
      '--rate',
      '20000',
      // One retry round: on a loaded machine a lost answer would make a host flap (gone, then back) at goneAfter 1.
      '--retries',
      '1',
      '--gone-after',
      '1',
      '--timeout',
      '500',
    );
    agent = inNs(['agent', '--url', url, '--spool', join(dir, 'spool')], { PINGER_TOKEN: source.token });

    const passes = () => cli<CensusPassRecord[]>('census', 'passes', census.id);
    let first: CensusPassRecord | undefined;
    await until(
      'the first pass stored',
      async () => {
        [first] = (await passes()).slice(-1);
        return first !== undefined;
      },
      60_000,
    );
    expect(first).toMatchObject({ addresses: 65_534, answered: before.length, rate: 20_000 });
    const up = await cli<CensusHost[]>('census', 'hosts', census.id, '--state', 'up');
    // Hosts up after the first pass (a second pass changes nothing yet: the subset is the same).
    expect(up.map((h) => h.address)).toEqual(sorted(before));

    await replaceHosts(lab, after);
    const changedAt = BigInt(Date.now()) * 1_000_000n;
    // The pass running at the change may see part of it; the first pass that starts after it sees all of it.
    await until(
      'a pass after the change stored',
      async () => (await passes()).some((p) => BigInt(p.start) > changedAt),
      60_000,
    );
    const hosts = await cli<CensusHost[]>('census', 'hosts', census.id, '--state', 'up');
    expect(hosts.map((h) => h.address)).toEqual(sorted(after));
    const events = await cli<CensusEvent[]>('census', 'events', census.id, '--limit', '1000');
    const since = events.filter((e) => BigInt(e.at) > BigInt(first!.start));
    expect(sorted(since.filter((e) => e.kind === 'appeared').map((e) => e.address))).toEqual(
      sorted(appearedHosts),
    );
    expect(sorted(since.filter((e) => e.kind === 'gone').map((e) => e.address))).toEqual(sorted(goneHosts));
    const fresh = await cli<CensusHost[]>('census', 'hosts', census.id, '--state', 'down');
    expect(fresh.map((h) => h.address)).toEqual(sorted(goneHosts));
  }, 180_000);
});
