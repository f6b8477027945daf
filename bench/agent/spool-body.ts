/**
 * CPU of `Spool.body` alone: one sealed segment of 1,000 results (a default batch, ~230 kB) turned into the POST
 * body again and again, as the outbox does once per batch before gzip. The figure is the median of several
 * rounds of µs of CPU (`process.cpuUsage`, every thread: the reads run in the libuv pool) per body.
 *
 *   node --import tsx bench/agent/spool-body.ts [--rounds 9] [--bodies 300]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Spool } from '../../agent/delivery/spool.js';

const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '9' }, bodies: { type: 'string', default: '300' } },
});
const ROUNDS = Number(args.rounds);
const BODIES = Number(args.bodies);

const lines = Array.from(
  { length: 1000 },
  (_, i) =>
    `${JSON.stringify({
      rtime: `${1_795_000_000_000_000_000n + BigInt(i) * 1_000_003n}`,
      target: `198.18.${64 + (i >> 8)}.${i & 255}`,
      protocol: 'icmp',
      rid: 4242,
      rseq: i,
      address: `198.18.${64 + (i >> 8)}.${i & 255}`,
      rtt: (180_000 + ((i * 7919) % 900_000)) / 1000,
      rtype: 0,
      rcode: 0,
      datamatch: true,
      status: 'reply',
      ttl: 63,
      destination: `dst_${i.toString(36).padStart(6, '0')}`,
    })}\n`,
).join('');

const dir = await mkdtemp(join(tmpdir(), 'pinger-bench-spool-body-'));
try {
  const spool = await Spool.open(dir);
  await spool.append(Buffer.from(lines), 1000);
  await spool.seal();
  const seg = spool.sealed[0]!;
  const parsed = JSON.parse((await spool.body(seg)).toString('utf8')) as { results: unknown[] };
  if (parsed.results.length !== 1000) throw new Error('[bench:spool-body] the body does not hold the batch');
  const rounds: number[] = [];
  for (let r = 0; r <= ROUNDS; r++) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < BODIES; i++) await spool.body(seg);
    const c = process.cpuUsage(c0);
    if (r > 0) rounds.push((c.user + c.system) / BODIES); // round 0 warms up
  }
  const sorted = [...rounds].sort((a, b) => a - b);
  process.stdout.write(
    `${JSON.stringify({
      bodyBytes: seg.bytes,
      medianCpuUsPerBody: Math.round(sorted[Math.floor(sorted.length / 2)]!),
      roundsUs: rounds.map(Math.round),
    })}\n`,
  );
  await spool.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}
