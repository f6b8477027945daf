/**
 * A split census (`census.split`) in the lab with two real agents: `pinger serve` (with a 3 s silence bound) and
 * two `pinger agent` processes, budgets 30,000 and 10,000 pps, all in the agent namespace, sweep the lab's /16,
 * where an nft set in the target lets only a seeded subset answer. Passes must be made of two slices, disjoint,
 * covering the 65,534 addresses and sized 3:1, and find exactly the hosts that exist. Then one agent is killed
 * (SIGKILL, by pid): a later pass must be the survivor's alone, covering the whole prefix and finding every host,
 * and no host of the dead agent's slice may be reported down meanwhile. The API is read with the `pinger census`
 * CLI in the same namespace. Needs root.
 *
 * Meanwhile a second split census, a /24 every 2 s, shows a source that polls but cannot probe: the small agent
 * runs as an unprivileged user with CAP_NET_RAW, and an nft rule in the agent namespace drops that user's packets
 * to the /24 on output, so every probe of its slice there fails in `sendto` (EPERM) while its config polls and its
 * /16 slice carry on. After its failed slices it must be left out (the /24 swept by the big agent alone, whole,
 * while the small one still polls), and once the rule is gone it must be let back in and cover its slice again.
 * This runs beside the /16's first passes, so it adds little to the test's time.
 */
import { chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  CensusHost,
  CensusPassRecord,
  Destination,
  Source,
  SourceWithToken,
} from '../../contract/index.js';
import type { PingerProcess } from '../helpers/pinger-process.js';
import { until } from '../helpers/until.js';
import { allowOnly, existingHosts } from './census-hosts.js';
import { CENSUS_PREFIX, Lab } from './lab.js';
import { type LabUser, labCli, spawnInLab } from './pinger-in-lab.js';
import { runIn } from './shell.js';

const isRoot = process.getuid?.() === 0;
const ADMIN = 'lab-census-split-admin-token-0123456789abcdef';
const ADDRESSES = 65_534;
/** The split census whose small-agent probes fail, and the unprivileged user the small agent runs as. */
const FAILING_PREFIX = '198.19.77.0/24';
const NOBODY: LabUser = { uid: 65_534, gid: 65_534 };
const NFT_TABLE = 'pinger_split_failing';

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
  const inNs = (args: string[], env: Record<string, string> = {}, user?: LabUser) =>
    spawnInLab(lab, args, env, user);

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
    const failing = await cli<Destination>(
      'census',
      'add',
      FAILING_PREFIX,
      '--split',
      '--every',
      '2s',
      '--rate',
      '5000',
      '--retries',
      '0',
      '--timeout',
      '300',
    );
    // The small agent's packets to the /24 are dropped on output: its sendto fails there, and only there.
    await runIn(
      lab.agent,
      ['nft', '-f', '-'],
      `table inet ${NFT_TABLE} {
  chain out {
    type filter hook output priority 0; policy accept;
    meta skuid ${NOBODY.uid} ip daddr ${FAILING_PREFIX} drop
  }
}
`,
    );
    const start = async (source: SourceWithToken, pps: string, user?: LabUser) => {
      const spool = join(dir, `spool-${source.name}`);
      if (user) {
        // Its spool is its own; the test's directory only lets it through.
        await mkdir(spool);
        await chmod(dir, 0o711);
        await chmod(spool, 0o777);
      }
      const agent = inNs(
        ['agent', '--url', url, '--spool', spool, '--pps', pps],
        { PINGER_TOKEN: source.token },
        user,
      );
      agents.push(agent);
      return agent;
    };
    await start(big, '30000');
    const victim = await start(small, '10000', NOBODY);

    let passes: CensusPassRecord[] = [];
    const read = async () => {
      passes = await cli<CensusPassRecord[]>('census', 'passes', census.id);
      return passes;
    };
    // The /24, beside the /16's first passes (both must be done before the kill): small's slices there had every
    // probe fail; then it is left out and big sweeps it whole, alone, while small still polls. Read every 2 s: each
    // read is a CLI process, and two readers at 500 ms slow the agents on a small machine.
    const failingPhase = (async () => {
      const in24 = hosts.filter((h) => h.startsWith('198.19.77.'));
      let passes24: CensusPassRecord[] = [];
      const failedBySmall = (p: CensusPassRecord) =>
        p.slices?.some((x) => x.source === small.id && x.probed > 0 && x.errors === x.probed) ?? false;
      let alone: CensusPassRecord | undefined;
      await until(
        () => `a /24 pass of big alone after small's failed slices: ${JSON.stringify(passes24.slice(0, 4))}`,
        async () => {
          passes24 = await cli<CensusPassRecord[]>('census', 'passes', failing.id);
          const failed = passes24.filter(failedBySmall);
          alone =
            failed.length >= 2
              ? passes24.find(
                  (p) => BigInt(p.slot!) > BigInt(failed[0]!.slot!) && p.complete && p.sources.length === 1,
                )
              : undefined;
          return alone !== undefined;
        },
        60_000,
        2000,
      );
      expect(alone).toMatchObject({
        sources: [big.id],
        members: [big.id],
        covered: 254,
        answered: in24.length,
      });
      const polled = (await cli<Source[]>('source', 'list')).find((x) => x.id === small.id)!.lastSeen;
      expect(Date.now() - Date.parse(polled!)).toBeLessThan(10_000);
      // Its agent recovers: back on probation within a few passes, and its slice covered by it again.
      await runIn(lab.agent, ['nft', 'delete', 'table', 'inet', NFT_TABLE]);
      const recoveredAt = BigInt(Date.now()) * 1_000_000n;
      let shared: CensusPassRecord | undefined;
      await until(
        () => `a /24 pass of both after the recovery: ${JSON.stringify(passes24.slice(0, 4))}`,
        async () => {
          passes24 = await cli<CensusPassRecord[]>('census', 'passes', failing.id);
          shared = passes24.find(
            (p) => BigInt(p.slot!) > recoveredAt && p.complete && p.sources.length === 2 && !failedBySmall(p),
          );
          return shared !== undefined;
        },
        60_000,
        2000,
      );
      expect(shared).toMatchObject({ covered: 254, answered: in24.length, errors: 0, missing: [] });
    })();
    // Its failure is reported where it is awaited, not as an unhandled rejection if the /16 fails first.
    failingPhase.catch(() => undefined);

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

    await failingPhase;

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
