/**
 * Micro-benchmark of the prober's per-probe JavaScript (issue 4): `Prober.send` and the answer that settles it,
 * with the socket taken out. An ICMP prober is given a stand-in channel whose `send` copies the packet and
 * returns at once; every `batch` sends, each copied request is turned into its echo reply in place and handed to
 * `onEchoReply`, as the engine does with what it reads. What is timed is thus what the prober itself costs per
 * probe — target checks, payload and header writing, the in-flight table, the outcome and its callback — without
 * the `sendto`/`recvmsg` system calls and the kernel's echo, which dominate (and blur) a run on real sockets
 * (`many.ts`). No privileges needed, no packet sent.
 *
 * Targets are `count` stable ProbeTarget objects, one per destination, probed round-robin as the agent does;
 * each reply names its source in a string of its own (as the addon returns a fresh one per packet).
 *
 *   node --import tsx bench/probe/send-path.ts [--count 10000] [--rounds 40] [--batch 1000] [--fresh]
 *
 * `--fresh` passes a new ProbeTarget object literal per probe (as `pinger probe` does). Prints one JSON line:
 * ns per probe (median and best round, after a warm-up of a quarter of the rounds) and the outcomes' statuses.
 */
import { parseArgs } from 'node:util';
import { IcmpProber } from '../../agent/probes/icmp.js';
import type { RawChannel, SendDone, TxStamped } from '../../agent/probes/raw-channel.js';
import type { ProbeOutcome, ProbeTarget } from '../../agent/probes/types.js';

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '40' },
    batch: { type: 'string', default: '1000' },
    fresh: { type: 'boolean', default: false },
  },
});
const COUNT = Number(values.count);
const ROUNDS = Number(values.rounds);
const BATCH = Number(values.batch);
if (!(COUNT >= 1 && COUNT <= 65_000 && ROUNDS >= 4 && ROUNDS <= 1000 && BATCH >= 1 && BATCH <= COUNT)) {
  throw new Error('[bench] count 1–65000, rounds 4–1000, batch 1–count');
}

/** A sent request, kept until its reply is handed back. */
interface Copied {
  bytes: Buffer;
  length: number;
  from: string;
}
const copies: Copied[] = Array.from({ length: BATCH }, () => ({
  bytes: Buffer.alloc(256),
  length: 0,
  from: '',
}));
let copied = 0;
/** The reply source of the probe being sent, set by the loop below. */
let currentFrom = '';

/** The kernel's transmit stamp every send gets, and its reply's receive stamp (as the addon gives them): 20 µs apart. */
const TX_REAL = 3_600_000_000_000;
const RX_REAL = TX_REAL + 20_000;
const channel = {
  // A channel with kernel transmit stamps, as the engine's are: the per-probe work of matching them is charged.
  txTimestamps: 'kernel',
  pollTxStamps(): void {},
  send(
    packet: Buffer,
    _address: string,
    _ttl: number,
    done: SendDone,
    length = packet.length,
    _to: Uint8Array | undefined = undefined,
    stamped: TxStamped | undefined = undefined,
  ): void {
    const c = copies[copied++]!;
    packet.copy(c.bytes, 0, 0, length);
    c.length = length;
    c.from = currentFrom;
    done(null, process.hrtime.bigint());
    if (stamped) stamped.txStamped(TX_REAL, 0);
  },
};
const prober = new IcmpProber('icmp', 4242, channel as unknown as RawChannel);

const addresses = Array.from({ length: COUNT }, (_, i) => `127.1.${(i + 1) >> 8}.${(i + 1) & 0xff}`);
// Built apart from the targets' strings: equal text, other objects, as a reply's source is.
const sources = addresses.map((a) => a.split('.').join('.'));
const stable: ProbeTarget[] = addresses.map((address) => ({
  protocol: 'icmp',
  address,
  port: null,
  ttl: 64,
  timeout: 1000,
  data: '',
}));

const statuses: Record<string, number> = {};
let mismatched = 0;
const done = (o: ProbeOutcome): void => {
  statuses[o.status] = (statuses[o.status] ?? 0) + 1;
  if (o.datamatch !== true) mismatched++;
};

/**
 * Hands every copied request back as its echo reply (type 0, the rest echoed unchanged), then lets the loop turn
 * (microtasks run, as after every socket event in the engine): a prober that settles through promises is
 * charged for them.
 */
async function answer(): Promise<void> {
  const at = process.hrtime.bigint();
  for (let i = 0; i < copied; i++) {
    const c = copies[i]!;
    c.bytes[0] = 0;
    prober.onEchoReply(c.from, c.bytes, 0, c.length, 64, at, RX_REAL);
  }
  copied = 0;
  await new Promise(setImmediate);
}

const seqs = new Uint16Array(COUNT);
const perProbeNs: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < COUNT; i++) {
    currentFrom = sources[i]!;
    const s = stable[i]!;
    const t = values.fresh
      ? {
          protocol: s.protocol,
          address: s.address,
          port: s.port,
          ttl: s.ttl,
          timeout: s.timeout,
          data: s.data,
        }
      : s;
    prober.send(t, seqs[i]!++, done);
    if (copied === BATCH) await answer();
  }
  await answer();
  perProbeNs.push(Number(process.hrtime.bigint() - t0) / COUNT);
}
if (prober.table.size !== 0) throw new Error(`[bench] ${prober.table.size} probes left in flight`);
prober.table.failAll('done');

const measured = perProbeNs.slice(Math.floor(ROUNDS / 4)).sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    probes: COUNT * ROUNDS,
    targets: values.fresh ? 'fresh' : 'stable',
    nsPerProbeMedian: Math.round(measured[measured.length >> 1]!),
    nsPerProbeBest: Math.round(measured[0]!),
    statuses,
    mismatched,
  })}\n`,
);
