/**
 * A minimal control plane for bench/agent/cpu.ts, run as its own process so that none of its CPU is counted as
 * the agent's: `GET /v1/agent/config` (long-poll with If-None-Match, the config a real control plane would send,
 * checked once against the contract) and `POST /v1/agent/results` (gunzipped, counted, answered with a receipt).
 * `POST /bench/touch` changes one destination's `updatedAt` and `ttl` and answers the parked long-polls, as an
 * API write would.
 *
 *   node --import tsx bench/agent/sink.ts <destinations> <interval-ms>   → prints {"url":…} on stdout
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import * as v from 'valibot';
import { type AgentConfig, AgentConfigSchema, type Destination } from '../../contract/index.js';

const N = Number(process.argv[2] ?? 10_000);
const INTERVAL = Number(process.argv[3] ?? 1000);
export const BENCH_TOKEN = 'bench-agent-token';

const created = new Date().toISOString();
const destinations: Destination[] = Array.from({ length: N }, (_, i) => ({
  id: `dst_${i.toString(36).padStart(6, '0')}`,
  active: true,
  // Never sent anywhere: the benchmark's prober is a fake.
  address: `198.18.${64 + (i >> 8)}.${i & 255}`,
  protocol: 'icmp',
  port: null,
  interval: INTERVAL,
  timeout: 1000,
  ttl: 64,
  data: '',
  sources: [],
  labels: {},
  createdAt: created,
  updatedAt: created,
}));
let version = 1;
const config = (): AgentConfig => ({
  version: String(version),
  source: { id: 'src_bench', name: 'bench', sourceid: 4242, location: 0, host: 0 },
  destinations,
});
v.parse(AgentConfigSchema, config());

let results = 0;
let batches = 0;
const parked = new Set<ServerResponse>();
const answerConfig = (res: ServerResponse) =>
  res
    .writeHead(200, { 'content-type': 'application/json', etag: `"${version}"` })
    .end(JSON.stringify(config()));

const server = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const url = new URL(req.url ?? '/', 'http://x');
  if (req.headers.authorization !== `Bearer ${BENCH_TOKEN}` && !url.pathname.startsWith('/bench/')) {
    res.writeHead(401).end();
    return;
  }
  if (req.method === 'GET' && url.pathname === '/v1/agent/config') {
    if (req.headers['if-none-match'] !== `"${version}"`) return answerConfig(res);
    parked.add(res);
    const timer = setTimeout(
      () => {
        parked.delete(res);
        res.writeHead(304).end();
      },
      Number(url.searchParams.get('wait') ?? 25) * 1000,
    );
    res.on('close', () => clearTimeout(timer));
    return;
  }
  if (req.method === 'POST' && url.pathname === '/v1/agent/results') {
    const body = JSON.parse(gunzipSync(Buffer.concat(chunks)).toString('utf8')) as { results: unknown[] };
    results += body.results.length;
    batches++;
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(JSON.stringify({ stored: body.results.length, duplicates: 0 }));
    return;
  }
  if (req.method === 'POST' && url.pathname === '/bench/touch') {
    const i = Number(url.searchParams.get('i') ?? 0) % N;
    const d = destinations[i]!;
    destinations[i] = { ...d, ttl: d.ttl === 64 ? 63 : 64, updatedAt: new Date().toISOString() };
    version++;
    for (const p of parked) answerConfig(p);
    parked.clear();
    res.writeHead(200).end();
    return;
  }
  if (req.method === 'GET' && url.pathname === '/bench/stats') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results, batches }));
    return;
  }
  res.writeHead(404).end();
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(
    `${JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })}\n`,
  );
});
process.on('SIGTERM', () => process.exit(0));
