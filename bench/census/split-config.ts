/**
 * What deciding a split census's members costs an agent's config poll (control-plane/census/split-members.ts):
 * `buildAgentConfig` for a source of a /16 split between two sources with 48 passes stored, on SQLite (a file)
 * and DynamoDB (dynalite, requests counted as DynamoDB would bill them), in three cases that alternate within
 * each run:
 *
 * - **not split**: the same census without `split` (no slices, no pass read): the baseline;
 * - **healthy**: both sources delivered the newest passes — the newest 4 passes decide (one quick read);
 * - **failing**: one source's last 6 slices all had every probe fail (it is left out) — the quick read does not
 *   decide, so the whole 48-pass window is read too.
 *
 * Wall and process CPU (user + system) per config, medians over the runs; DynamoDB requests per config (exact).
 *
 *   node --import tsx bench/census/split-config.ts [--runs 9] [--polls 50]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as v from 'valibot';
import { type CensusPass, CensusPassReportSchema, DestinationCreateSchema } from '../../contract/index.js';
import { buildAgentConfig } from '../../control-plane/agent-config.js';
import { createDynamoStore } from '../../control-plane/store/dynamodb/dynamodb.js';
import { createSqliteStore } from '../../control-plane/store/sqlite/sqlite.js';
import type { Store } from '../../control-plane/store/store.js';
import { startDynalite } from '../../test/helpers/dynalite.js';
import { sourceInput } from '../../test/helpers/factories.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const RUNS = arg('--runs', 9);
const POLLS = arg('--polls', 50);
const PASSES = 48;
const HALF = 32_767;
const T = BigInt(Date.now() - PASSES * 60_000) * 1_000_000n;

type Case = 'not split' | 'healthy' | 'failing';
const CASES: Case[] = ['not split', 'healthy', 'failing'];

/** One store with a source pair and three /16 censuses (one per case), their passes stored. */
async function fill(store: Store) {
  const [a, b] = [
    await store.createSource(sourceInput({ name: 'a' }), 'a'.repeat(64)),
    await store.createSource(sourceInput({ name: 'b' }), 'b'.repeat(64)),
  ];
  const now = new Date();
  await store.touchSource(a.id, now, 10_000);
  await store.touchSource(b.id, now, 10_000);
  const members = [a.id, b.id].sort();
  const ids = {} as Record<Case, string>;
  for (const c of CASES) {
    const d = await store.createDestination(
      v.parse(DestinationCreateSchema, {
        address: '198.19.0.0/16',
        census: { split: c !== 'not split' },
        sources: [a.id, b.id],
      }),
    );
    ids[c] = d.id;
    if (c === 'not split') continue;
    for (let i = 0; i < PASSES; i++) {
      const slot = T + BigInt(i) * 60_000_000_000n;
      for (const [who, from, to] of [
        [members[0]!, 0, HALF],
        [members[1]!, HALF, 65_534],
      ] as const) {
        const failing = c === 'failing' && who === members[1] && i >= PASSES - 6;
        const pass: CensusPass = v.parse(CensusPassReportSchema, {
          destination: d.id,
          prefix: d.address,
          start: slot.toString(),
          end: (slot + 5_000_000_000n).toString(),
          addresses: to - from,
          probed: to - from,
          answered: 0,
          retries: 0,
          errors: failing ? to - from : 0,
          skipped: 0,
          rate: 10_000,
          slice: { slot: slot.toString(), from, to, of: 65_534, members },
        });
        await store.census.putPass(who, pass, 2);
      }
    }
  }
  return { source: a.id, ids };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
};

const dynalite = await startDynalite();
const dir = mkdtempSync(join(tmpdir(), 'pinger-bench-split-config-'));
const stores: [string, Store][] = [
  ['sqlite', createSqliteStore({ path: join(dir, 'pinger.db') })],
  ['dynamodb', createDynamoStore({ tableName: await dynalite.createTable(), client: dynalite.client() })],
];
const rows = [
  '| store | case | wall ms per config (median of runs) | CPU ms per config | vs not split (CPU) | DynamoDB requests per config |',
  '|---|---|---:|---:|---:|---|',
];
try {
  for (const [kind, store] of stores) {
    const { source, ids } = await fill(store);
    const samples = new Map<Case, { wall: number[]; cpu: number[]; requests: string }>(
      CASES.map((c) => [c, { wall: [], cpu: [], requests: '' }]),
    );
    for (let run = 0; run < RUNS; run++) {
      for (const c of CASES) {
        // Only this case's census is active, so the config holds it alone.
        for (const other of CASES)
          await store.replaceDestination(ids[other], {
            ...(await store.getDestination(ids[other]))!,
            active: other === c,
          });
        const mark = dynalite.operations.length;
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        for (let i = 0; i < POLLS; i++)
          await buildAgentConfig(store, source, { now: new Date(), silentAfterMs: 180_000 });
        const wall = (performance.now() - t0) / POLLS;
        const used = process.cpuUsage(cpu0);
        const s = samples.get(c)!;
        s.wall.push(wall);
        s.cpu.push((used.user + used.system) / 1000 / POLLS);
        if (kind === 'dynamodb') {
          const by: Record<string, number> = {};
          for (const op of dynalite.operations.slice(mark)) by[op] = (by[op] ?? 0) + 1;
          s.requests = Object.entries(by)
            .sort()
            .map(([op, n]) => `${op} ${n / POLLS}`)
            .join(', ');
        }
      }
    }
    const base = median(samples.get('not split')!.cpu);
    for (const c of CASES) {
      const s = samples.get(c)!;
      rows.push(
        `| ${kind} | ${c} | ${median(s.wall).toFixed(2)} | ${median(s.cpu).toFixed(2)} | ${(median(s.cpu) / base).toFixed(2)} | ${s.requests || '–'} |`,
      );
    }
  }
} finally {
  for (const [, store] of stores) await store.close();
  await dynalite.close();
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(`${rows.join('\n')}\n`);
