/**
 * What per-host census history costs (issue 11): reading one host's history of a /16 census with `hosts` hosts up
 * and `passes` passes every 30 minutes, and what keeping it adds to applying a pass — a store that writes the
 * answers (`censusHistory`, the default) against one that does not (the baseline), alternating pass by pass on
 * the same data. Wall and process CPU (user + system), medians.
 *
 * SQLite (a real file in a temp dir): the history of all but the last `2 × measure` passes is written straight
 * into the store's tables in its layout (migration 10) — putPass for 700 passes of 18,000 answers would take
 * minutes of mostly host updates, the same with or without history — then the last passes go through putPass,
 * alternating the two stores (two connections on the one file), and `reads` random hosts' histories are read
 * (limit 1,000: every pass kept), beside one `listHosts` of the census as a reference read. Each host answers a
 * pass with probability 0.9, in a shuffled order like an agent's permuted sweep.
 *
 * DynamoDB (dynalite, in this process: its CPU counts too, so its wall times say little about AWS): a smaller
 * census through putPass only, the requests each pass and read makes — what DynamoDB bills — and wall time.
 *
 *   node --import tsx bench/census/host-history.ts [--hosts 20000] [--passes 700] [--measure 8] [--reads 200]
 *     [--dynamo-hosts 1000] [--dynamo-passes 12]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import * as v from 'valibot';
import {
  type CensusPass,
  DEFAULT_RETENTION,
  DestinationCreateSchema,
  SourceCreateSchema,
} from '../../contract/index.js';
import { createDynamoStore } from '../../control-plane/store/dynamodb/dynamodb.js';
import { createSqliteStore } from '../../control-plane/store/sqlite/sqlite.js';
import type { Store } from '../../control-plane/store/store.js';
import { startDynalite } from '../../test/helpers/dynalite.js';
import { mulberry32 } from '../../test/helpers/prng.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const HOSTS = arg('hosts', 20_000);
const PASSES = arg('passes', 700);
const MEASURE = arg('measure', 8);
const READS = arg('reads', 200);
const DYNAMO_HOSTS = arg('dynamo-hosts', 1000);
const DYNAMO_PASSES = arg('dynamo-passes', 12);

const INTERVAL_NS = 1_800_000_000_000n;
const PREFIX = '198.18.0.0/16';
// Every pass of the run kept: raw retention a day longer than the passes span.
const RETENTION = { ...DEFAULT_RETENTION, raw: Math.ceil((PASSES * 1800) / 86_400 + 1) * 86_400 };
const random = mulberry32(11);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number, digits = 2) => +x.toFixed(digits);

/** `n` distinct addresses of the /16 (not its network or broadcast address), seeded. */
function hostsOf(n: number): string[] {
  const picked = new Set<number>();
  while (picked.size < n) picked.add(1 + Math.floor(random() * 65_534));
  return [...picked].map((i) => `198.18.${i >> 8}.${i & 255}`);
}

/** Who answers a pass (each host with probability 0.9) and their RTTs, in a shuffled order. */
function answersOf(hosts: readonly string[]): [string, number][] {
  const out: [string, number][] = [];
  for (const h of hosts) if (random() < 0.9) out.push([h, round(200 + random() * 800, 1)]);
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function passOf(destination: string, start: bigint, answers: [string, number][]): CensusPass {
  return {
    destination,
    prefix: PREFIX,
    start: start.toString(),
    end: (start + 4_000_000_000n).toString(),
    addresses: 65_534,
    probed: 65_534,
    answered: answers.length,
    retries: 0,
    errors: 0,
    skipped: 0,
    rate: 20_000,
    answers,
  };
}

async function setUp(store: Store) {
  const source = await store.createSource(v.parse(SourceCreateSchema, { name: 'bench' }), 'b'.repeat(64));
  const census = await store.createDestination(v.parse(DestinationCreateSchema, { address: PREFIX }));
  return { source: source.id, census: census.id };
}

/** Wall and CPU ms of `work`. */
async function timed<T>(work: () => Promise<T>): Promise<{ value: T; wall: number; cpu: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await work();
  const wall = performance.now() - t0;
  const c = process.cpuUsage(cpu0);
  return { value, wall, cpu: (c.user + c.system) / 1000 };
}

async function sqlite() {
  const dir = mkdtempSync(join(tmpdir(), 'pinger-bench-host-history-'));
  const path = join(dir, 'pinger.db');
  const firstStart = (BigInt(Date.now()) - 600_000n) * 1_000_000n - BigInt(PASSES - 1) * INTERVAL_NS;
  const startOf = (i: number) => firstStart + BigInt(i) * INTERVAL_NS;
  const withHistory = createSqliteStore({ path, retention: RETENTION });
  try {
    const { source, census } = await setUp(withHistory);
    const hosts = hostsOf(HOSTS);
    await withHistory.census.putPass(source, passOf(census, startOf(0), answersOf(hosts)), 2);
    const filled = PASSES - 2 * MEASURE;
    const db = new Database(path);
    const size = () =>
      (db.pragma('page_count', { simple: true }) as number) *
      (db.pragma('page_size', { simple: true }) as number);
    const num = (db.prepare('SELECT num FROM result_keys WHERE id = ?').get(census) as { num: number }).num;
    const insertPass =
      db.prepare(`INSERT INTO census_passes (destination, source, start, end, prefix, addresses,
      probed, answered, retries, errors, skipped, rate) VALUES (?, ?, ?, ?, ?, 65534, 65534, ?, 0, 0, 0, 20000)`);
    const insertAnswer = db.prepare(
      'INSERT OR IGNORE INTO census_host_passes (at, census, address, rtt) VALUES (?, ?, ?, ?)',
    );
    const before = size();
    let rows = 0;
    const fill = timed(async () => {
      for (let i = 1; i < filled; i++) {
        const answers = answersOf(hosts);
        db.transaction(() => {
          insertPass.run(census, source, startOf(i), startOf(i) + 4_000_000_000n, PREFIX, answers.length);
          for (const [a, rtt] of answers) insertAnswer.run(startOf(i), num, a, rtt);
        })();
        rows += answers.length;
      }
    });
    const filledIn = (await fill).wall;
    const bytesPerAnswer = (size() - before) / rows;
    // The part history adds to a pass on its own, at the table's full size: one pass's answers (shuffled, as an
    // agent reports them) inserted in one transaction by the statement the store runs, rolled back so the
    // passes measured below find the table as it was. Less noisy than the difference of two whole passes.
    const inserts: { wall: number; cpu: number }[] = [];
    const after = startOf(PASSES) + INTERVAL_NS;
    for (let k = 0; k < MEASURE; k++) {
      const answers = answersOf(hosts);
      const at = after + BigInt(k);
      inserts.push(
        await timed(async () => {
          db.exec('BEGIN IMMEDIATE');
          for (const [a, rtt] of answers) insertAnswer.run(at, num, a, rtt);
          db.exec('ROLLBACK');
        }),
      );
    }
    db.close();

    // The last passes through putPass, alternating: history kept (the store as shipped) and not (baseline).
    const baseline = createSqliteStore({ path, retention: RETENTION, censusHistory: false });
    const apply = {
      history: [] as { wall: number; cpu: number }[],
      baseline: [] as { wall: number; cpu: number }[],
    };
    for (let i = filled; i < PASSES; i++) {
      const store = (i - filled) % 2 === 0 ? withHistory : baseline;
      const pass = passOf(census, startOf(i), answersOf(hosts));
      const t = await timed(() => store.census.putPass(source, pass, 2));
      if (!t.value.stored) throw new Error('bench: a pass was not stored');
      apply[store === withHistory ? 'history' : 'baseline'].push(t);
    }
    await baseline.close();

    const reads: { wall: number; cpu: number }[] = [];
    const warm: { wall: number; cpu: number }[] = [];
    let passesRead = 0;
    for (let r = 0; r < READS; r++) {
      const host = hosts[Math.floor(random() * hosts.length)]!;
      const t = await timed(() => withHistory.census.hostHistory(census, host, { limit: 1000 }));
      if (!t.value) throw new Error(`bench: ${host} has no history`);
      passesRead = t.value.summary.passes;
      reads.push(t);
      // The same host again at once: its pages now in SQLite's cache.
      if (r < 20) warm.push(await timed(() => withHistory.census.hostHistory(census, host, { limit: 1000 })));
    }
    const lists: { wall: number; cpu: number }[] = [];
    for (let r = 0; r < 5; r++) lists.push(await timed(() => withHistory.census.listHosts(census)));

    const applyHistory = median(apply.history.map((t) => t.wall));
    const applyBase = median(apply.baseline.map((t) => t.wall));
    return {
      store: 'sqlite',
      hosts: HOSTS,
      passes: PASSES,
      answersStored: rows,
      fillSeconds: round(filledIn / 1000, 1),
      bytesPerAnswer: round(bytesPerAnswer, 1),
      applyPass: {
        answers: Math.round(HOSTS * 0.9),
        historyMs: { wall: round(applyHistory), cpu: round(median(apply.history.map((t) => t.cpu))) },
        baselineMs: { wall: round(applyBase), cpu: round(median(apply.baseline.map((t) => t.cpu))) },
        ratio: round(applyHistory / applyBase),
        runsEach: apply.history.length,
        answerInsertsAloneMs: {
          wall: round(median(inserts.map((t) => t.wall))),
          cpu: round(median(inserts.map((t) => t.cpu))),
        },
      },
      hostHistoryRead: {
        passesListed: passesRead,
        ms: { wall: round(median(reads.map((t) => t.wall))), cpu: round(median(reads.map((t) => t.cpu))) },
        reads: READS,
        sameHostAgainMs: {
          wall: round(median(warm.map((t) => t.wall))),
          cpu: round(median(warm.map((t) => t.cpu))),
        },
      },
      listHostsReference: {
        ms: { wall: round(median(lists.map((t) => t.wall))), cpu: round(median(lists.map((t) => t.cpu))) },
      },
    };
  } finally {
    await withHistory.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function dynamo() {
  const server = await startDynalite();
  try {
    const tableName = await server.createTable();
    const retention = { ...DEFAULT_RETENTION, raw: 30 * 86_400 };
    const withHistory = createDynamoStore({ tableName, client: server.client(), retention });
    const baseline = createDynamoStore({
      tableName,
      client: server.client(),
      retention,
      censusHistory: false,
    });
    const { source, census } = await setUp(withHistory);
    const hosts = hostsOf(DYNAMO_HOSTS);
    const firstStart = (BigInt(Date.now()) - 600_000n) * 1_000_000n - BigInt(DYNAMO_PASSES) * INTERVAL_NS;
    await withHistory.census.putPass(source, passOf(census, firstStart, answersOf(hosts)), 2);
    const apply = { history: [] as number[], baseline: [] as number[] };
    const requests = { history: [] as number[], baseline: [] as number[] };
    for (let i = 1; i <= DYNAMO_PASSES; i++) {
      const kind = i % 2 === 1 ? 'history' : 'baseline';
      const store = kind === 'history' ? withHistory : baseline;
      const pass = passOf(census, firstStart + BigInt(i) * INTERVAL_NS, answersOf(hosts));
      const mark = server.operations.length;
      const t = await timed(() => store.census.putPass(source, pass, 2));
      apply[kind].push(t.wall);
      requests[kind].push(server.operations.length - mark);
    }
    const reads: number[] = [];
    const readRequests: number[] = [];
    for (let r = 0; r < 20; r++) {
      const host = hosts[Math.floor(random() * hosts.length)]!;
      const mark = server.operations.length;
      const t = await timed(() => withHistory.census.hostHistory(census, host, { limit: 1000 }));
      if (!t.value) throw new Error(`bench: ${host} has no history`);
      reads.push(t.wall);
      readRequests.push(server.operations.length - mark);
    }
    await withHistory.close();
    await baseline.close();
    return {
      store: 'dynamodb (dynalite)',
      hosts: DYNAMO_HOSTS,
      passes: DYNAMO_PASSES + 1,
      applyPass: {
        answers: Math.round(DYNAMO_HOSTS * 0.9),
        history: { wallMs: round(median(apply.history)), requests: median(requests.history) },
        baseline: { wallMs: round(median(apply.baseline)), requests: median(requests.baseline) },
        ratio: round(median(apply.history) / median(apply.baseline)),
      },
      hostHistoryRead: { wallMs: round(median(reads)), requests: median(readRequests) },
    };
  } finally {
    await server.close();
  }
}

console.log(JSON.stringify({ startedAt: new Date().toISOString(), load: loadavg().map((x) => round(x)) }));
console.log(JSON.stringify(await sqlite(), null, 2));
console.log(JSON.stringify(await dynamo(), null, 2));
console.log(JSON.stringify({ endedAt: new Date().toISOString(), load: loadavg().map((x) => round(x)) }));
