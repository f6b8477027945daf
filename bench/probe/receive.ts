/**
 * Micro-benchmark of the addon's read (agent/native receive.c): ns per `native.receive` call, the recvmsg with
 * its receive timestamp and the source address made a string. A raw ICMP socket is filled with `batch` echo
 * replies written with a hand-built IP header (IPPROTO_RAW) to 127.0.0.1 from sources spread over 198.18.0.0/15
 * (as replies from many destinations are), then drained in a tight loop with no event-loop turn in between;
 * repeated `rounds` times. Root (raw sockets); loopback only.
 *
 *   node --import tsx bench/probe/receive.ts [--batch 5000] [--rounds 20]
 *
 * Prints one JSON line: ns per receive (median and best round, after a warm-up of a quarter of the rounds).
 */
import { parseArgs } from 'node:util';
import raw from 'raw-socket';
import native from '../../agent/native/index.cjs';
import { RawChannel } from '../../agent/probes/raw-channel.js';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '20' },
  },
});
const BATCH = Number(values.batch);
const ROUNDS = Number(values.rounds);
if (!(BATCH >= 1 && BATCH <= 8000 && ROUNDS >= 4 && ROUNDS <= 200)) {
  throw new Error('[bench] batch 1–8000 (what the 8 MB receive buffer holds), rounds 4–200');
}
const AF_INET = 2;
const IPPROTO_ICMP = 1;

// The channel only opens the socket (8 MB receive buffer, timestamps on, echo replies only); this script reads
// it itself, synchronously, so the channel's own handler never runs.
const channel = new RawChannel('icmp4', () => {}, [0]);
const fds = native.rawSocketFds(AF_INET, IPPROTO_ICMP);
if (fds.length !== 1 || channel.timestamps !== 'kernel') throw new Error('[bench] cannot find the socket');
const fd = fds[0]!;
const out = raw.createSocket({ protocol: 255, addressFamily: raw.AddressFamily.IPv4 });
const id = process.pid & 0xffff;

const packets = Array.from({ length: BATCH }, (_, i) => {
  const p = Buffer.alloc(28);
  p[0] = 0x45;
  p.writeUInt16BE(28, 2);
  p[8] = 64;
  p[9] = 1;
  p.set([198, 18 + ((i >> 16) & 1), (i >> 8) & 0xff, i & 0xff], 12);
  p.set([127, 0, 0, 1], 16);
  p.writeUInt16BE(id, 24);
  p.writeUInt16BE(i & 0xffff, 26);
  return p;
});

const buffer = Buffer.allocUnsafe(65_536);
const meta = new BigInt64Array(3);
const extra = new Float64Array(2);
const perReceiveNs: number[] = [];
let received = 0;
for (let round = 0; round < ROUNDS; round++) {
  for (const p of packets) out.wrap.send(p, 0, p.length, '127.0.0.1', () => {});
  let n = 0;
  const t0 = process.hrtime.bigint();
  while (native.receive(fd, buffer, meta, extra) !== undefined) n++;
  const ns = Number(process.hrtime.bigint() - t0);
  if (n < BATCH * 0.99) throw new Error(`[bench] only ${n} of ${BATCH} packets arrived`);
  received += n;
  perReceiveNs.push(ns / n);
}
channel.close();
out.close();

const measured = perReceiveNs.slice(Math.floor(ROUNDS / 4)).sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    received,
    nsPerReceiveMedian: Math.round(measured[measured.length >> 1]!),
    nsPerReceiveBest: Math.round(measured[0]!),
  })}\n`,
);
