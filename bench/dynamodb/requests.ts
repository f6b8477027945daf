/**
 * Counts the DynamoDB requests the serverless control plane makes, as DynamoDB would bill them: every request
 * dynalite serves is counted by operation. Drives `control-plane/lambda.ts` with Function URL events, and the
 * store directly, so the store's own cost and the whole HTTP request's cost show apart.
 *
 *   npx tsx bench/dynamodb/requests.ts            # writes nothing; prints a Markdown table
 *
 * Goals: <= 45 requests per 1,000 results ingested with rollups (issue 10; 41 before them, issue 5), <= 1
 * request per idle long-poll second. Also: batches of 1,000 results over 1,000 destinations (one result
 * each), through the store and through the Lambda handler, and the Queries of stats reads once prune has
 * compacted the tiers.
 *
 * Results are sent "now" (the machine's clock): rollups are written only for minutes inside retention, so an
 * old fixed rtime would leave them out and understate the cost.
 */
import { gzipSync } from 'node:zlib';
import * as v from 'valibot';
import { DestinationCreateSchema, MAX_WAIT_SECONDS, type ResultInput } from '../../contract/index.js';
import { LAMBDA_MAX_WAIT_SECONDS } from '../../control-plane/lambda-limits.js';
import { createDynamoStore } from '../../control-plane/store/dynamodb/dynamodb.js';
import { startDynalite } from '../../test/helpers/dynalite.js';
import { bootLambda } from '../../test/helpers/lambda-boot.js';
import {
  type LambdaResult,
  lambdaContext,
  lambdaEvent,
  resultBody,
} from '../../test/helpers/lambda-events.js';

const DESTINATIONS = 10;
const destinationDefaults = v.parse(DestinationCreateSchema, { address: '198.18.0.1' });
// A whole minute a little before now, so that a batch of 5,000 results (5 s) stays inside one minute.
const T0 = (BigInt(Math.floor(Date.now() / 60_000) - 1) * 60n + 1n) * 1_000_000_000n;

const dynalite = await startDynalite();
const lambda = await bootLambda(dynalite);

async function invoke(
  method: string,
  url: string,
  token: string,
  body?: unknown,
  headers: Record<string, string> = {},
) {
  const raw =
    body === undefined
      ? undefined
      : headers['content-encoding'] === 'gzip'
        ? new Uint8Array(gzipSync(JSON.stringify(body)))
        : JSON.stringify(body);
  const res = (await lambda.handler(
    lambdaEvent('function-url', {
      method,
      url,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      ...(raw === undefined ? {} : { body: raw }),
    }),
    lambdaContext(),
  )) as LambdaResult;
  const text = resultBody(res).toString();
  if (res.statusCode >= 400) throw new Error(`${method} ${url}: ${res.statusCode} ${text}`);
  return { status: res.statusCode, headers: res.headers ?? {}, body: text ? JSON.parse(text) : null };
}

/** Runs `work` and returns how many DynamoDB requests it made, by operation. */
async function counted(work: () => Promise<unknown>) {
  const mark = dynalite.operations.length;
  const started = performance.now();
  await work();
  const ms = performance.now() - started;
  const ops = dynalite.operations.slice(mark);
  const by: Record<string, number> = {};
  for (const op of ops) by[op] = (by[op] ?? 0) + 1;
  return { total: ops.length, by, ms };
}

const fmt = (by: Record<string, number>) =>
  Object.entries(by)
    .sort()
    .map(([op, n]) => `${op} ${n}`)
    .join(', ');

const admin = lambda.adminToken;
const source = (await invoke('POST', '/v1/sources', admin, { name: 'bench' })).body;
const destinations: string[] = [];
for (let i = 0; i < DESTINATIONS; i++) {
  destinations.push(
    (await invoke('POST', '/v1/destinations', admin, { address: `198.18.0.${i + 1}` })).body.id,
  );
}

let seq = 0;
function batch(n: number): ResultInput[] {
  return Array.from({ length: n }, (_, i) => {
    seq++;
    return {
      destination: destinations[i % DESTINATIONS]!,
      rtime: (T0 + BigInt(seq) * 1_000_000n).toString(),
      target: '198.18.0.1',
      protocol: 'icmp',
      address: '198.18.0.1',
      rtt: 500 + (i % 100),
      rtype: 0,
      rcode: 0,
      rid: 4242,
      rseq: seq % 65_536,
      datamatch: true,
      status: 'reply',
      ttl: 64,
    };
  });
}

const rows: string[] = [];
rows.push(
  '| what | results | DynamoDB requests | per 1,000 results | by operation |',
  '|---|---:|---:|---:|---|',
);

// The store alone: what putResults costs.
const store = createDynamoStore({ tableName: lambda.tableName, client: dynalite.client() });
const owner = { id: source.id as string, location: 0, host: 0 };
for (const size of [100, 1000, 5000]) {
  const results = batch(size);
  const fresh = await counted(() => store.putResults(owner, results));
  rows.push(
    `| store.putResults, new batch (${DESTINATIONS} destinations) | ${size} | ${fresh.total} | ${((fresh.total * 1000) / size).toFixed(1)} | ${fmt(fresh.by)} |`,
  );
  const replay = await counted(() => store.putResults(owner, results));
  rows.push(
    `| store.putResults, same batch again | ${size} | ${replay.total} | ${((replay.total * 1000) / size).toFixed(1)} | ${fmt(replay.by)} |`,
  );
}

// The whole request, as an agent posts it (gzip) to the Function URL. The first batch of an instance reads the
// source and destinations; later ones find them cached under the same config version.
for (const [size, label] of [
  [1000, 'first batch of the instance'],
  [1000, 'next batch'],
  [5000, 'next batch'],
] as const) {
  const results = batch(size);
  const post = await counted(() =>
    invoke('POST', '/v1/agent/results', source.token, { results }, { 'content-encoding': 'gzip' }),
  );
  rows.push(
    `| POST /v1/agent/results via the Lambda handler, ${label} | ${size} | ${post.total} | ${((post.total * 1000) / size).toFixed(1)} | ${fmt(post.by)} |`,
  );
}

// Idle long-polls asking for the longest wait the API allows (60 s): nothing changes, the Lambda holds each for
// its own cap (20 s) and answers 304. The first poll of a warm instance
// also records lastSeen; the second shows the steady state.
const config = await invoke('GET', '/v1/agent/config', source.token);
const pollRows: string[] = [
  '| what | seconds held | DynamoDB requests | per second | by operation |',
  '|---|---:|---:|---:|---|',
];
for (const label of ['first idle long-poll', 'next idle long-poll']) {
  let status = 0;
  const poll = await counted(async () => {
    status = (
      await invoke('GET', `/v1/agent/config?wait=${MAX_WAIT_SECONDS}`, source.token, undefined, {
        'if-none-match': config.headers.etag!,
      })
    ).status;
  });
  if (status !== 304) throw new Error(`expected 304 from an idle poll, got ${status}`);
  const seconds = poll.ms / 1000;
  pollRows.push(
    `| ${label} (wait=${MAX_WAIT_SECONDS}, capped at ${LAMBDA_MAX_WAIT_SECONDS}) | ${seconds.toFixed(1)} | ${poll.total} | ${(poll.total / seconds).toFixed(2)} | ${fmt(poll.by)} |`,
  );
}

// A batch of 1,000 results over 1,000 destinations, one each: a fragment per pair.
const many: string[] = [];
for (let i = 0; i < 1000; i++) {
  many.push(
    (await store.createDestination({ ...destinationDefaults, address: `198.18.${4 + (i >> 8)}.${i % 256}` }))
      .id,
  );
}
// Batches of 1,000 results over those 1,000 destinations, one each: the shape that costs most. The first
// right after the destinations were created (both the store's and the route's caches of them start over).
const spread = () => batch(1000).map((r, i) => ({ ...r, destination: many[i]! }));
for (const label of ['destinations just created', 'destinations known']) {
  const results = spread();
  const wide = await counted(() => store.putResults(owner, results));
  rows.push(
    `| store.putResults, new batch (1,000 destinations, one result each; ${label}) | 1000 | ${wide.total} | ${wide.total.toFixed(1)} | ${fmt(wide.by)} |`,
  );
  if (label === 'destinations known') {
    const replay = await counted(() => store.putResults(owner, results));
    rows.push(
      `| store.putResults, same batch again | 1000 | ${replay.total} | ${replay.total.toFixed(1)} | ${fmt(replay.by)} |`,
    );
  }
}
for (const label of ['first batch after they were created', 'next batch']) {
  const results = spread();
  const post = await counted(() =>
    invoke('POST', '/v1/agent/results', source.token, { results }, { 'content-encoding': 'gzip' }),
  );
  rows.push(
    `| POST /v1/agent/results via the Lambda handler (1,000 destinations), ${label} | 1000 | ${post.total} | ${post.total.toFixed(1)} | ${fmt(post.by)} |`,
  );
}

// Stats reads once the tiers are compacted: 30 days of one pair (one probe a minute on destination 0), and the
// 24-hour summary of the 10 destinations (one probe every 5 minutes each, the last day). A store whose clock
// runs ahead lets prune find the slots quiet.
let ahead = 0;
const maintained = createDynamoStore({
  tableName: lambda.tableName,
  client: dynalite.client(),
  now: () => new Date(Date.now() + ahead),
});
const nowNs = BigInt(Date.now()) * 1_000_000n;
const history: ResultInput[] = [];
for (let m = 30 * 1440; m > 0; m--) {
  history.push({
    ...batch(1)[0]!,
    destination: destinations[0]!,
    rtime: `${nowNs - BigInt(m) * 60_000_000_000n}`,
    rseq: m % 65_536,
  });
}
for (let k = 288; k > 0; k--) {
  for (const [i, d] of destinations.entries()) {
    if (i === 0) continue;
    history.push({
      ...batch(1)[0]!,
      destination: d,
      rtime: `${nowNs - BigInt(k) * 300_000_000_000n}`,
      rseq: k,
    });
  }
}
for (let i = 0; i < history.length; i += 5000) await maintained.putResults(owner, history.slice(i, i + 5000));
let passes = 0;
const compaction = await counted(async () => {
  for (const _ of [1, 2]) {
    ahead += 120_000;
    while ((await maintained.stats!.prune(new Date(Date.now() + ahead))).more) passes++;
    passes++;
  }
});
const statsRows = [
  '| what | DynamoDB requests | by operation | ms (dynalite) |',
  '|---|---:|---|---:|',
  `| prune: compact ${history.length} results' hours and days (${passes} passes) | ${compaction.total} | ${fmt(compaction.by)} | ${compaction.ms.toFixed(0)} |`,
];
const readThirty = await counted(() =>
  maintained.stats!.readStats({
    destination: destinations[0]!,
    source: owner.id,
    from: nowNs - 30n * 86_400_000_000_000n,
    to: nowNs,
  }),
);
statsRows.push(
  `| stats, one pair, 30 days (step 1h, tiers compacted) | ${readThirty.total} | ${fmt(readThirty.by)} | ${readThirty.ms.toFixed(0)} |`,
);
const summary = await counted(() => maintained.stats!.summary({ to: nowNs, window: 86_400, sort: 'loss' }));
statsRows.push(
  `| summary, 24 h, every pair (${DESTINATIONS + many.length} destinations, ${DESTINATIONS} with results in the window) | ${summary.total} | ${fmt(summary.by)} | ${summary.ms.toFixed(0)} |`,
);

await maintained.close();
await store.close();
await dynalite.close();
console.log([...rows, '', ...pollRows, '', ...statsRows].join('\n'));
process.exit(0);
