/**
 * Micro-benchmark of a raw channel's send: ns per `RawChannel.send` through raw-socket's send (address as a
 * string) against the addon's sendTo (address as bytes), in alternating rounds in one process. The packets are
 * ICMP timestamp replies (type 14) to 127.0.0.1, which the kernel takes and drops without answering, and which
 * the channel's own ICMP filter keeps out of its receive queue: what differs between the two is user space.
 * Root (raw sockets); loopback only.
 *
 *   node --import tsx bench/probe/channel-send.ts [--batch 20000] [--rounds 20]
 *
 * Prints one JSON line: ns per send for each way (median of the rounds after a warm-up of a quarter of them).
 */
import { parseArgs } from 'node:util';
import { RawChannel } from '../../agent/probes/raw-channel.js';

const { values } = parseArgs({
  options: {
    batch: { type: 'string', default: '20000' },
    rounds: { type: 'string', default: '20' },
  },
});
const BATCH = Number(values.batch);
const ROUNDS = Number(values.rounds);
if (!(BATCH >= 1 && BATCH <= 1_000_000 && ROUNDS >= 4 && ROUNDS <= 200)) {
  throw new Error('[bench] batch 1–1,000,000, rounds 4–200');
}

// Echo replies only are delivered to the channel: the timestamp replies sent here never queue on it.
const channel = new RawChannel('icmp4', () => {}, [0]);
if (channel.timestamps !== 'kernel') throw new Error('[bench] the channel has no descriptor: no addon send');
const packet = Buffer.alloc(20);
packet[0] = 14; // timestamp reply; the checksum does not matter to a host that drops it either way
const to = new Uint8Array([127, 0, 0, 1]);
let failed = 0;
const done = (err: Error | null) => {
  if (err) failed++;
};

const ns: Record<'raw-socket' | 'addon', number[]> = { 'raw-socket': [], addon: [] };
for (let round = 0; round < ROUNDS; round++) {
  for (const way of ['raw-socket', 'addon'] as const) {
    const bytes = way === 'addon' ? to : undefined;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) channel.send(packet, '127.0.0.1', 64, done, packet.length, bytes);
    ns[way].push(Number(process.hrtime.bigint() - t0) / BATCH);
  }
}
channel.close();
if (failed > 0) throw new Error(`[bench] ${failed} sends failed`);

const median = (xs: number[]) => {
  const s = xs.slice(Math.floor(ROUNDS / 4)).sort((a, b) => a - b);
  return Math.round(s[s.length >> 1]!);
};
process.stdout.write(
  `${JSON.stringify({ sends: BATCH * ROUNDS * 2, nsPerSendRawSocket: median(ns['raw-socket']), nsPerSendAddon: median(ns.addon) })}\n`,
);
