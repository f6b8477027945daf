/**
 * What ingest costs in DynamoDB requests (issue 10: ≤ 45 per 1,000 results with rollups), counted as dynalite
 * serves them — the requests DynamoDB would bill — through the store and through the Lambda handler, for the
 * batch shape that costs most: 1,000 results over 1,000 destinations, one each. The rollups those batches
 * wrote are read back, so a cheap write that lost them cannot pass.
 */
import { gzipSync } from 'node:zlib';
import * as v from 'valibot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DestinationCreateSchema, type ResultInput } from '../../contract/index.js';
import { createDynamoStore } from '../../control-plane/store/dynamodb/dynamodb.js';
import type { Store } from '../../control-plane/store/store.js';
import { type DynaliteServer, startDynalite } from '../helpers/dynalite.js';
import { resultInput } from '../helpers/factories.js';
import { type BootedLambda, bootLambda } from '../helpers/lambda-boot.js';
import { type LambdaResult, lambdaContext, lambdaEvent, resultBody } from '../helpers/lambda-events.js';

const GOAL_PER_1000 = 45;
const NS = 1_000_000_000n;
// The start of the previous minute + 1 s: a few batches of 1,000 results 1 ms apart stay inside one minute,
// inside every retention (the Lambda and the store run on the real clock).
const MINUTE = Math.floor(Date.now() / 60_000) * 60 - 60;
const T0 = (BigInt(MINUTE) + 1n) * NS;

let dynalite: DynaliteServer;
let lambda: BootedLambda;
let store: Store;
let sourceId = '';
let agentToken = '';
const wide: string[] = [];
const narrow: string[] = [];
beforeAll(async () => {
  dynalite = await startDynalite();
  lambda = await bootLambda(dynalite);
  store = createDynamoStore({ tableName: lambda.tableName, client: dynalite.client() });
  const source = await invoke('POST', '/v1/sources', lambda.adminToken, { name: 'counted' });
  sourceId = source.body.id;
  agentToken = source.body.token;
  for (let i = 0; i < 1010; i++) {
    const d = await store.createDestination(
      v.parse(DestinationCreateSchema, { address: `198.18.${4 + (i >> 8)}.${i % 256}` }),
    );
    (i < 1000 ? wide : narrow).push(d.id);
  }
}, 120_000);
afterAll(async () => {
  await store?.close();
  await dynalite?.close();
});

async function invoke(method: string, url: string, token: string, body?: unknown) {
  const gzip = url === '/v1/agent/results';
  const json = body === undefined ? undefined : JSON.stringify(body);
  const raw = json === undefined ? undefined : gzip ? new Uint8Array(gzipSync(json)) : json;
  const res = (await lambda.handler(
    lambdaEvent('function-url', {
      method,
      url,
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      },
      ...(raw === undefined ? {} : { body: raw }),
    }),
    lambdaContext(),
  )) as LambdaResult;
  const text = resultBody(res).toString();
  return { status: res.statusCode, body: text ? JSON.parse(text) : null };
}

/** DynamoDB requests `work` makes, by operation. */
async function counted<T>(work: () => Promise<T>) {
  const mark = dynalite.operations.length;
  const value = await work();
  const ops = dynalite.operations.slice(mark);
  const by: Record<string, number> = {};
  for (const op of ops) by[op] = (by[op] ?? 0) + 1;
  return { value, total: ops.length, by };
}

let seq = 0;
/** 1,000 new results, the i-th for `destinations[i % length]`, 1 ms apart. */
function batch(destinations: readonly string[]): ResultInput[] {
  return Array.from({ length: 1000 }, (_, i) => {
    seq++;
    return resultInput(destinations[i % destinations.length]!, {
      rtime: `${T0 + BigInt(seq) * 1_000_000n}`,
      rseq: seq,
      rtt: 300 + (seq % 97),
    });
  });
}

describe('dynamodb ingest requests', () => {
  const owner = () => ({ id: sourceId, location: 0, host: 0 });
  const posted: ResultInput[][] = [];

  it('stores 1,000 results over 1,000 destinations in at most 45 requests, new destinations or known', async () => {
    for (const _ of ['destinations just created', 'destinations known']) {
      const results = batch(wide);
      const put = await counted(() => store.putResults(owner(), results));
      expect(put.value).toEqual({ stored: 1000, duplicates: 0 });
      expect(put.total, JSON.stringify(put.by)).toBeLessThanOrEqual(GOAL_PER_1000);
      posted.push(results);
    }
    const again = await counted(() => store.putResults(owner(), posted.at(-1)!));
    expect(again.value).toEqual({ stored: 0, duplicates: 1000 });
    expect(again.total).toBeLessThanOrEqual(2);
  });

  it('does the same through POST /v1/agent/results on the Lambda handler, once the instance is warm', async () => {
    for (const label of ['first batch of the instance', 'next batch']) {
      const results = batch(wide);
      const post = await counted(() => invoke('POST', '/v1/agent/results', agentToken, { results }));
      expect(post.value.body).toEqual({ stored: 1000, duplicates: 0 });
      // The first batch of an instance also reads the token's source, records lastSeen, and lists the
      // destinations once for the route's cache and once for the store's: 4 more than a warm one.
      const goal = label === 'next batch' ? GOAL_PER_1000 : GOAL_PER_1000 + 4;
      expect(post.total, JSON.stringify(post.by)).toBeLessThanOrEqual(goal);
      posted.push(results);
    }
  });

  it('keeps 1,000 results over 10 destinations at 42 requests', async () => {
    for (const _ of [1, 2, 3]) {
      const put = await counted(() => store.putResults(owner(), batch(narrow)));
      expect(put.total, JSON.stringify(put.by)).toBeLessThanOrEqual(42);
    }
  });

  it('counted every result of those batches once in its pair and minute', async () => {
    const rows = await store.stats!.summary({ to: BigInt(MINUTE + 59) * NS, window: 300, sort: 'loss' });
    const wideRows = rows.filter((r) => wide.includes(r.destination));
    expect(wideRows).toHaveLength(1000);
    expect(new Set(wideRows.map((r) => r.sent))).toEqual(new Set([posted.length]));
    const one = await store.stats!.readStats({
      destination: wide[7]!,
      source: sourceId,
      from: BigInt(MINUTE) * NS,
      to: BigInt(MINUTE + 59) * NS,
      step: 60,
    });
    expect(one.series).toHaveLength(1);
    expect(one.series[0]!.points).toMatchObject([{ t: `${MINUTE}000000000`, sent: posted.length }]);
  });
});
