/**
 * The outbox's per-result serialisation alone: `JSON.stringify` + `LineBuffer.push` (the string, then its UTF-8
 * copy) against `LineBuffer.pushEncoded(result, writeResultJson)` (bytes written in place). Results are shaped
 * as the probe engine makes them (its key order, `destination` added last; nine replies to one timeout), and the
 * buffer is taken and drained every 1,000 lines as the outbox's flush does. The two ways alternate, several
 * rounds each; the figure is the median ns per result, CPU time of this process (`process.cpuUsage`).
 *
 *   node --import tsx bench/agent/result-line.ts [--results 200000] [--rounds 7]
 */
import { parseArgs } from 'node:util';
import { LineBuffer } from '../../agent/delivery/line-buffer.js';
import { writeResultJson } from '../../agent/delivery/result-line.js';
import type { ResultInput } from '../../contract/index.js';

const { values: args } = parseArgs({
  options: {
    results: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '7' },
  },
});
const N = Number(args.results);
const ROUNDS = Number(args.rounds);

/** As agent/probes/in-flight.ts builds an outcome and agent/schedule/send-probe.ts stamps it. */
function engineResult(i: number): ResultInput {
  const address = `198.18.${(i >> 8) & 0xff}.${i & 0xff}`;
  const outcome =
    i % 10 === 9
      ? {
          rtime: `${1_795_000_000_000_000_000n + BigInt(i) * 100_003n}`,
          target: address,
          protocol: 'icmp' as const,
          rid: 4321,
          rseq: i & 0xffff,
          address: null,
          rtt: null,
          rtype: null,
          rcode: null,
          datamatch: null,
          status: 'timeout' as const,
          ttl: null,
        }
      : {
          rtime: `${1_795_000_000_000_000_000n + BigInt(i) * 100_003n}`,
          target: address,
          protocol: 'icmp' as const,
          rid: 4321,
          rseq: i & 0xffff,
          address: address as string | null,
          // As micros() makes it: whole nanoseconds / 1000.
          rtt: (180_000 + ((i * 7919) % 900_000)) / 1000,
          rtype: 0 as number | null,
          rcode: 0 as number | null,
          datamatch: true as boolean | null,
          status: 'reply' as const,
          ttl: 63 as number | null,
        };
  return Object.assign(outcome, { destination: `dst_${(i * 2654435761) >>> 0}` }) as ResultInput;
}

const results = Array.from({ length: N }, (_, i) => engineResult(i));

function run(push: (buf: LineBuffer, r: ResultInput) => void): { nsPerResult: number; bytes: number } {
  const buf = new LineBuffer();
  let bytes = 0;
  const c0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    push(buf, results[i]!);
    if (buf.length === 1000) {
      bytes += buf.take(1000).length;
      buf.drop(1000);
    }
  }
  const c = process.cpuUsage(c0);
  return { nsPerResult: ((c.user + c.system) * 1000) / N, bytes };
}

const ways = {
  stringify: (buf: LineBuffer, r: ResultInput) => buf.push(JSON.stringify(r)),
  encoded: (buf: LineBuffer, r: ResultInput) => buf.pushEncoded(r, writeResultJson),
};

// Same bytes, or the comparison means nothing.
{
  const a = new LineBuffer();
  const b = new LineBuffer();
  for (const r of results.slice(0, 5000)) {
    ways.stringify(a, r);
    ways.encoded(b, r);
  }
  if (!a.take(5000).equals(b.take(5000)))
    throw new Error('[bench:result-line] the two ways wrote different bytes');
}

const times: Record<keyof typeof ways, number[]> = { stringify: [], encoded: [] };
for (let round = 0; round < ROUNDS + 1; round++) {
  for (const name of round % 2 ? (['encoded', 'stringify'] as const) : (['stringify', 'encoded'] as const)) {
    const { nsPerResult } = run(ways[name]);
    if (round > 0) times[name].push(nsPerResult); // round 0 warms the JIT
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const [name, xs] of Object.entries(times)) {
  process.stdout.write(
    `${JSON.stringify({ way: name, results: N, rounds: ROUNDS, medianNsPerResult: Math.round(median(xs)), allNs: xs.map(Math.round) })}\n`,
  );
}
