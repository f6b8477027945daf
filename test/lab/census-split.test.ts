/**
 * A split census (`census.split`) in the lab with two real agents: `pinger serve` (with a 3 s silence bound) and
 * two `pinger agent` processes, budgets 30,000 and 10,000 pps, all in the agent namespace, sweep the lab's /16,
 * where an nft set in the target lets only a seeded subset answer. Passes must be made of two slices, disjoint,
 * covering the 65,534 addresses and sized 3:1, and find exactly the hosts that exist. Then one agent is killed
 * (SIGKILL, by pid): a later pass must be the survivor's alone, covering the whole prefix and finding every host,
 * and no host of the dead agent's slice may be reported down meanwhile. The API is read with the `pinger census`
 * CLI in the same namespace. Needs root.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CensusHost, CensusPassRecord, Destination, SourceWithToken } from '../../contract/index.js';
import type { PingerProcess } from '../helpers/pinger-process.js';
import { until } from '../helpers/until.js';
import { allowOnly, existingHosts } from './census-hosts.js';
import { CENSUS_PREFIX, Lab } from './lab.js';
import { labCli, spawnInLab } from './pinger-in-lab.js';

const isRoot = process.getuid?.() === 0;
const ADMIN = 'lab-census-split-admin-token-0123456789abcdef';
const ADDRESSES = 65_534;

const numeric = (a: string) => a.split('.').reduce((n, o) => n * 256 + Number(o), 0);
const sorted = (list: Iterable<string>) => [...list].sort((a, b) => numeric(a) - numeric(b));

/** The slices of a pass, by `from`: disjoint and covering [0, ADDRESSES) when `from` of each is `to` of the last. */
function gapsAndOverlaps(p: CensusPassRecord): string[] {
  const problems: string[] = [];
  let reach = 0;
  for (const s of p.slices ?? []) {
    if (s.from !== reach)
      problems.push(`${s.from < reach ? 'overlap' : 'gap'} at ${Math.min(s.from, reach)}`);
    reach = Math.max(reach, s.to);
  }
  if (reach !== ADDRESSES) problems.push(`ends at ${reach}`);
  return problems;
}

describe.skipIf(!isRoot)('split census with two agents in the lab (root)', () => {
  let lab: Lab;
  let dir: string;
  let serve: PingerProcess | undefined;
  const agents: PingerProcess[] = [];
  let url: string;

  const cli = <T>(...args: string[]) => labCli<T>(lab, url, ADMIN, ...args);
  const inNs = (args: string[], env: Record<string, string> = {}) => spawnInLab(lab, args, env);

  beforeAll(async () => {
    lab = await Lab.create({ census: true });
    dir = await mkdtemp(join(tmpdir(), 'pinger-lab-census-split-'));
    serve = inNs(
      [
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--db',
        join(dir, 'pinger.db'),
        '--census-silent-after',
        '3s',
      ],
      { PINGER_ADMIN_TOKEN: ADMIN },
    );
    url = (await serve.waitForLine('stdout', /listening on (\S+)/, { timeoutMs: 20_000 }))[1]!;
  }, 60_000);

  afterAll(async () => {
    for (const a of agents) a.kill('SIGKILL');
    serve?.kill('SIGTERM');
    await Promise.all([...agents.map((a) => a.exited), serve?.exited]);
    await lab?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('two slices, disjoint and covering the prefix, find every host; a killed agent’s slice is covered next', async () => {
    const hosts = existingHosts(1717);
    await allowOnly(lab, hosts);
    const big = await cli<SourceWithToken>('source', 'add', '--name', 'big');
    const small = await cli<SourceWithToken>('source', 'add', '--name', 'small');
    const census = await cli<Destination>(
      'census',
      'add',
      CENSUS_PREFIX,
      '--split',
      '--every',
      '8s',
      '--rate',
      '20000',
      '--retries',
      '1',
      '--timeout',
      '500',
    );
    const start = (source: SourceWithToken, pps: string) => {
      const agent = inNs(
        ['agent', '--url', url, '--spool', join(dir, `spool-${source.name}`), '--pps', pps],
        {
          PINGER_TOKEN: source.token,
        },
      );
      agents.push(agent);
      return agent;
    };
    start(big, '30000');
    const victim = start(small, '10000');

    let passes: CensusPassRecord[] = [];
    const read = async () => {
      passes = await cli<CensusPassRecord[]>('census', 'passes', census.id);
      return passes;
    };
    // Until both agents hold slices of two, a pass may be cut for one; judge the passes after the first of two.
    let firstOfTwo: CensusPassRecord | undefined;
    await until(
      () => `a pass of two sources: ${JSON.stringify(passes.slice(0, 3))}`,
      async () => {
        firstOfTwo = (await read()).findLast((p) => p.sources.length === 2);
        return firstOfTwo !== undefined;
      },
      90_000,
      500,
    );
    let judged: CensusPassRecord[] = [];
    await until(
      () => `a complete pass after ${firstOfTwo!.slot}: ${JSON.stringify(passes.slice(0, 3))}`,
      async () => {
        judged = (await read()).filter((p) => BigInt(p.slot!) > BigInt(firstOfTwo!.slot!) && p.complete);
        return judged.length > 0;
      },
      60_000,
      500,
    );
    for (const p of judged) {
      expect(p.sources).toEqual([big.id, small.id].sort());
      expect(gapsAndOverlaps(p)).toEqual([]);
      const bigSlice = p.slices!.find((s) => s.source === big.id)!;
      // In proportion to the budgets, 3:1, within one address.
      expect(Math.abs(bigSlice.to - bigSlice.from - (ADDRESSES * 3) / 4)).toBeLessThan(1);
      expect(p).toMatchObject({ addresses: ADDRESSES, covered: ADDRESSES, answered: hosts.length });
    }
    const up = await cli<CensusHost[]>('census', 'hosts', census.id, '--state', 'up');
    expect(up.map((h) => h.address)).toEqual(sorted(hosts));

    // SIGKILL by pid: no goodbye, the control plane only sees it go quiet.
    process.kill(victim.child.pid!, 'SIGKILL');
    await victim.exited;
    const killedAt = BigInt(Date.now()) * 1_000_000n;
    let whole: CensusPassRecord | undefined;
    await until(
      () => `a pass of the survivor alone after the kill: ${JSON.stringify(passes.slice(0, 3))}`,
      async () => {
        whole = (await read()).find(
          (p) => BigInt(p.slot!) > killedAt && p.sources.length === 1 && p.complete,
        );
        return whole !== undefined;
      },
      60_000,
      500,
    );
    expect(whole).toMatchObject({
      sources: [big.id],
      addresses: ADDRESSES,
      covered: ADDRESSES,
      answered: hosts.length,
      slices: [{ source: big.id, from: 0, to: ADDRESSES }],
    });
    // Passes after the kill and before the reassignment miss the dead agent's slice: counted as not probed.
    for (const p of passes.filter(
      (x) => BigInt(x.slot!) > killedAt && BigInt(x.slot!) < BigInt(whole!.slot!),
    )) {
      expect(p).toMatchObject({ sources: [big.id], complete: false });
      expect(p.covered).toBeLessThan(ADDRESSES);
    }
    // No host of the missing slice was taken for down: every host is up, none down.
    expect(
      (await cli<CensusHost[]>('census', 'hosts', census.id, '--state', 'up')).map((h) => h.address),
    ).toEqual(sorted(hosts));
    expect(await cli<CensusHost[]>('census', 'hosts', census.id, '--state', 'down')).toEqual([]);
  }, 300_000);
});
