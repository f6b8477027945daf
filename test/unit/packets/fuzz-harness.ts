/**
 * The fuzzing harness behind fuzz.test.ts, also runnable alone:
 *   npx tsx test/unit/packets/fuzz-harness.ts [inputs] [seed]
 *
 * Inputs are random buffers of varied lengths (15%) and mutations of seed packets (85%): bit flips, byte
 * overwrites with edge values, truncations, corruption of version/length/header-length fields (also inside
 * quoted datagrams), appended garbage. The seeds are every captured packet, its upper layer alone, and packets
 * our encoders build. A decoder may throw PacketError and nothing else. On one input in WINDOW_CHECK_EVERY it
 * also checks that nothing is read outside [offset, end): the same bytes followed by 0x00s or by 0xffs must
 * decode identically (a read past the buffer would see `undefined`, i.e. 0, silently).
 *
 * Seeded (mulberry32) so that a failure replays; the failure message carries the seed, input index and bytes.
 */
import {
  decodeIcmpv4,
  decodeIcmpv4Message,
  decodeIcmpv6Message,
  decodeIpv4Header,
  decodeIpv4Packet,
  decodeIpv6Header,
  decodeIpv6Packet,
  decodeProbePayload,
  decodeQuotedIpv4,
  decodeQuotedIpv6,
  decodeTcp,
  decodeTcpOptions,
  decodeUdp,
  encodeIcmpv4Echo,
  encodeIcmpv6Echo,
  encodeIpv4Header,
  encodeProbePayload,
  encodeTcp,
  encodeTcpSyn,
  encodeUdp,
  ipv4HeaderLength,
  isProbePayload,
  PacketError,
  type PacketErrorCode,
  parseIp,
} from '../../../agent/packets/index.js';
import { mulberry32 } from '../../helpers/prng.js';
import { CAPTURES, capturedPackets } from './fixture.js';

type Decoder = (buf: Uint8Array, offset: number, end: number) => unknown;

/**
 * Inputs come in four layers, and each input goes to every decoder of its layer (a TCP decoder fed whole IP
 * packets would only ever exercise its first length check):
 * - `ip4`, `ip6`: whole IPv4/IPv6 packets, as a raw IPv4 socket or a capture delivers them;
 * - `l4`: ICMP, ICMPv6, TCP and UDP messages alone, as a raw IPv6 socket delivers them (or after the IP header);
 * - `payload`: echo and UDP data, where the probe payload lives.
 */
export type Layer = 'ip4' | 'ip6' | 'l4' | 'payload';

export const DECODERS: Record<Layer, Record<string, Decoder>> = {
  ip4: {
    decodeIcmpv4Message: (b, o, e) => decodeIcmpv4Message(b, o, e, { verifyChecksum: false }),
    decodeIcmpv4MessageVerified: (b, o, e) => decodeIcmpv4Message(b, o, e),
    decodeIpv4Packet: (b, o, e) => decodeIpv4Packet(b, o, e),
    decodeIpv4HeaderVerified: (b, o, e) => decodeIpv4Header(b, o, e, { verifyChecksum: true }),
    ipv4HeaderLength: (b, o, e) => ipv4HeaderLength(b, o, e),
    decodeQuotedIpv4: (b, o, e) => decodeQuotedIpv4(b, o, e),
  },
  ip6: {
    decodeIpv6Packet: (b, o, e) => decodeIpv6Packet(b, o, e),
    decodeIpv6Header: (b, o, e) => decodeIpv6Header(b, o, e),
    decodeQuotedIpv6: (b, o, e) => decodeQuotedIpv6(b, o, e),
  },
  l4: {
    decodeIcmpv4: (b, o, e) => decodeIcmpv4(b, o, e, { verifyChecksum: false }),
    decodeIcmpv6Message: (b, o, e) => decodeIcmpv6Message(b, o, e),
    decodeTcp: (b, o, e) => decodeTcp(b, o, e),
    // Options start after the fixed 20-byte TCP header; the function takes a plain view, no window.
    decodeTcpOptions: (b, o, e) => decodeTcpOptions(b.subarray(o + 20, e)),
    decodeUdp: (b, o, e) => decodeUdp(b, o, e),
    decodeUdpQuoted: (b, o, e) => decodeUdp(b, o, e, { allowTruncated: true }),
  },
  payload: {
    decodeProbePayload: (b, o, e) => decodeProbePayload(b, o, e),
    isProbePayload: (b, o, e) => isProbePayload(b, o, e),
  },
};

const LAYER_SHARE: [Layer, number][] = [
  ['ip4', 0.25],
  ['ip6', 0.2],
  ['l4', 0.4],
  ['payload', 0.15],
];

const WINDOW_CHECK_EVERY = 256;

/** Offsets of version, length and header-length fields in an IP packet and in what an ICMP error quotes. */
const LENGTH_FIELDS = [
  0, 2, 3, 4, 5, 12, 24, 28, 30, 32, 33, 40, 44, 45, 48, 52, 53, 60, 68, 72, 80, 84, 88, 92,
];
const INTERESTING = [0x00, 0x01, 0x05, 0x06, 0x0f, 0x3a, 0x40, 0x45, 0x4f, 0x60, 0x7f, 0x80, 0xfe, 0xff];

export interface DecoderStats {
  calls: number;
  ok: number;
  errors: Partial<Record<PacketErrorCode, number>>;
}

export interface FuzzReport {
  seed: number;
  inputs: number;
  seconds: number;
  stats: Record<string, DecoderStats>;
  /** ICMP messages decoded, by family, kind and quoted transport ("v6 unreachable udp"). */
  kinds: Record<string, number>;
}

/** Seed packets per layer: every captured packet, its upper layer and echo/UDP data, plus our encoders' output. */
function corpus(): Record<Layer, Uint8Array[]> {
  const out: Record<Layer, Uint8Array[]> = { ip4: [], ip6: [], l4: [], payload: [] };
  for (const name of CAPTURES) {
    for (const p of capturedPackets(name)) {
      const v4 = p[0]! >> 4 === 4;
      const l4 = p.subarray(v4 ? (p[0]! & 0x0f) * 4 : 40);
      const protocol = v4 ? p[9] : p[6];
      out[v4 ? 'ip4' : 'ip6'].push(p);
      out.l4.push(l4);
      // Echo data (after 8 bytes of ICMP header) or UDP data (after 8 bytes of UDP header).
      if (protocol === 1 || protocol === 58 || protocol === 17) out.payload.push(l4.subarray(8));
    }
  }
  const v4 = { src: parseIp('198.18.0.2'), dst: parseIp('198.18.1.1') };
  const v6 = { src: parseIp('fd00:198:18:1::2'), dst: parseIp('fd00:198:18:2::1') };
  // Several probe payloads: the payload layer should mostly be ours, as after a prober's early filter.
  for (const data of ['', 'x', 'PINGER!', 'PINGER!'.repeat(20), '\u0000\u00ff'.repeat(40)]) {
    const payload = encodeProbePayload({
      sourceid: 513,
      seq: 65535,
      sentNs: 2n ** 60n,
      data: Buffer.from(data),
    });
    const icmp = encodeIcmpv4Echo({ id: 1, seq: 2, payload });
    const udp = encodeUdp({ srcPort: 40000, dstPort: 33434, payload }, v4);
    out.payload.push(payload, payload, payload);
    out.l4.push(icmp, encodeIcmpv6Echo({ id: 1, seq: 2, payload }, v6), udp);
    out.ip4.push(
      Buffer.concat([encodeIpv4Header({ totalLength: 20 + icmp.length, ttl: 1, protocol: 1, ...v4 }), icmp]),
    );
  }
  out.l4.push(
    encodeTcpSyn({ srcPort: 1, dstPort: 2, seq: 3 }, v6),
    encodeTcp(
      {
        srcPort: 1,
        dstPort: 2,
        seq: 3,
        flags: 0x12,
        options: { mss: 1400, sackPermitted: true, timestamps: { value: 1, echo: 2 }, windowScale: 7 },
      },
      v4,
    ),
  );
  return out;
}

class InputMaker {
  constructor(
    private readonly rand: () => number,
    private readonly seeds: Record<Layer, Uint8Array[]>,
  ) {}

  private pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.rand() * xs.length)]!;
  }

  private randomBytes(len: number): Uint8Array {
    const b = new Uint8Array(len);
    for (let i = 0; i < len; i++) b[i] = (this.rand() * 256) | 0;
    return b;
  }

  next(layer: Layer): Uint8Array {
    const rand = this.rand;
    if (rand() < 0.15) {
      // Mostly short; half start like an IP packet so that decoders get past the version check.
      const b = this.randomBytes(rand() < 0.8 ? Math.floor(rand() * 96) : Math.floor(rand() * 1600));
      if (b.length > 0 && rand() < 0.5 && (layer === 'ip4' || layer === 'ip6'))
        b[0] = layer === 'ip4' ? 0x45 : 0x60;
      return b;
    }
    let out = new Uint8Array(this.pick(this.seeds[layer]));
    const rounds = 1 + Math.floor(rand() * 3);
    for (let k = 0; k < rounds && out.length > 0; k++) {
      const m = rand();
      if (m < 0.3) {
        const flips = 1 + Math.floor(rand() * 4);
        for (let i = 0; i < flips; i++) out[Math.floor(rand() * out.length)]! ^= 1 << Math.floor(rand() * 8);
      } else if (m < 0.5) {
        out = out.subarray(0, Math.floor(rand() * (out.length + 1)));
      } else if (m < 0.75) {
        const at = this.pick(LENGTH_FIELDS);
        if (at < out.length) out[at] = rand() < 0.6 ? this.pick(INTERESTING) : (rand() * 256) | 0;
      } else if (m < 0.9) {
        out[Math.floor(rand() * out.length)] = this.pick(INTERESTING);
      } else {
        const extra = this.randomBytes(Math.floor(rand() * 64));
        const joined = new Uint8Array(out.length + extra.length);
        joined.set(out);
        joined.set(extra, out.length);
        out = joined;
      }
    }
    return out;
  }
}

/** A comparable rendering of a decoder's result: byte views by content, bigints as text. */
function render(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (v instanceof Uint8Array)
      return `bytes:${Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex')}`;
    return v;
  });
}

function outcome(decode: Decoder, buf: Uint8Array, offset: number, end: number): string {
  try {
    return `ok ${render(decode(buf, offset, end))}`;
  } catch (err) {
    if (err instanceof PacketError) return `error ${err.code} ${err.message}`;
    throw err;
  }
}

/** Throws when `decode` gives a different result for `input` than for the same bytes with padding after. */
function checkNoReadOutside(
  name: string,
  decode: Decoder,
  input: Uint8Array,
  offset: number,
  end: number,
): string | null {
  const zeros = new Uint8Array(input.length + 64);
  const ones = new Uint8Array(input.length + 64).fill(0xff);
  zeros.set(input);
  ones.set(input);
  const exact = outcome(decode, input, offset, end);
  const a = outcome(decode, zeros, offset, end);
  const b = outcome(decode, ones, offset, end);
  return exact === a && exact === b
    ? null
    : `${name} read outside [${offset}, ${end}):\n${exact}\n${a}\n${b}`;
}

/**
 * Generates `inputs` inputs and feeds each to every decoder of its layer. Throws, naming the seed and the
 * input, on any error other than PacketError or on a read outside the window.
 */
export function runFuzz(inputs: number, seed: number): FuzzReport {
  const rand = mulberry32(seed);
  const maker = new InputMaker(rand, corpus());
  const layers = Object.fromEntries(
    Object.entries(DECODERS).map(([layer, decoders]) => [
      layer,
      Object.entries(decoders).map(([name, decode]) => ({
        name,
        decode,
        stats: { calls: 0, ok: 0, errors: {} } as DecoderStats,
      })),
    ]),
  ) as Record<Layer, { name: string; decode: Decoder; stats: DecoderStats }[]>;
  const kinds = new Map<string, number>();
  const started = performance.now();

  for (let i = 0; i < inputs; i++) {
    let pick = rand();
    let layer: Layer = 'payload';
    for (const [l, share] of LAYER_SHARE) {
      if (pick < share) {
        layer = l;
        break;
      }
      pick -= share;
    }
    const input = maker.next(layer);
    // Mostly the whole buffer; sometimes a window inside it, or one reaching past it (must be refused).
    let offset = 0;
    let end = input.length;
    const w = rand();
    if (w < 0.05) {
      offset = Math.floor(rand() * (input.length + 1));
      end = offset + Math.floor(rand() * (input.length - offset + 1));
    } else if (w < 0.06) {
      end = input.length + 1 + Math.floor(rand() * 4);
    }
    const windowCheck = i % WINDOW_CHECK_EVERY === 0 && end <= input.length;
    for (const d of layers[layer]) {
      d.stats.calls++;
      let result: unknown;
      try {
        result = d.decode(input, offset, end);
        d.stats.ok++;
      } catch (err) {
        if (!(err instanceof PacketError)) {
          throw new Error(
            `${d.name} threw ${String(err)} — replay: PACKETS_FUZZ_SEED=${seed}, input #${i}, offset ${offset}, end ${end}, bytes ${Buffer.from(input).toString('hex')}`,
            { cause: err },
          );
        }
        d.stats.errors[err.code] = (d.stats.errors[err.code] ?? 0) + 1;
        continue;
      }
      if (d.name === 'decodeIcmpv4Message' || d.name === 'decodeIcmpv6Message') {
        const r = result as { kind: string; quoted?: { transport: { protocol: string } | null } };
        const key = `${d.name === 'decodeIcmpv6Message' ? 'v6' : 'v4'} ${r.kind}${r.quoted?.transport ? ` ${r.quoted.transport.protocol}` : ''}`;
        kinds.set(key, (kinds.get(key) ?? 0) + 1);
      }
      if (windowCheck) {
        const problem = checkNoReadOutside(d.name, d.decode, input, offset, end);
        if (problem) {
          throw new Error(
            `${problem}\nreplay: PACKETS_FUZZ_SEED=${seed}, input #${i}, bytes ${Buffer.from(input).toString('hex')}`,
          );
        }
      }
    }
  }
  const all = Object.values(layers).flat();
  return {
    seed,
    inputs,
    seconds: (performance.now() - started) / 1000,
    stats: Object.fromEntries(all.map((d) => [d.name, d.stats])),
    kinds: Object.fromEntries([...kinds].sort()),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const report = runFuzz(Number(process.argv[2] ?? 100_000), Number(process.argv[3] ?? 1));
  console.log(JSON.stringify(report, null, 1));
}
