/**
 * tcp / tcp6: a hand-built SYN (MSS option only) on a raw TCP socket. SYN-ACK → `reply` (port open), RST →
 * `reset` (host up, port closed); ICMP errors are matched through the quoted TCP header. Our kernel answers the
 * SYN-ACK with a RST of its own (it knows no such connection), which closes the half-open connection on the
 * target at once — the polite outcome for a probe.
 *
 * The SYN's 32-bit sequence number is (16 random bits << 16) | seq: the answer acknowledges it + 1 and an ICMP
 * error quotes it (RFC 792's 8 bytes are enough), so the seq comes back either way and the random half proves
 * the answer is for this send, not one 65,536 seqs earlier nor one of another destination to the same address
 * with the same seq (nonces are unique among the probes in flight with one (target, seq); see in-flight.ts). A raw TCP socket sees every TCP segment of the
 * host: the destination port and flags are checked before anything is decoded.
 */

import { randomInt } from 'node:crypto';
import {
  decodeIpv4Header,
  decodeTcp,
  type QuotedTcp,
  TCP_FLAGS,
  TCP_SYN_LENGTH,
  writeTcpSyn,
} from '../packets/index.js';
import { InFlight, InFlightTable } from './in-flight.js';
import type { PreparedTarget } from './prepared-target.js';
import { type IcmpError, ProberBase } from './prober-base.js';
import { RawChannel } from './raw-channel.js';
import { NoRouteError, type SourceRoutes } from './source-route.js';
import type { SweepFlight } from './sweep-flight.js';
import type { OutcomeCallback, ProbeTarget } from './types.js';

const IPPROTO_IPV6 = 41;
const IPV6_CHECKSUM = 7;
/** Offset of the checksum in a TCP header, for the kernel to fill in on IPv6 (IPV6_CHECKSUM). */
const TCP_CHECKSUM_OFFSET = 16;
const SYN_ACK = TCP_FLAGS.SYN | TCP_FLAGS.ACK;
/** On IPv6 the kernel computes the checksum: the pseudo-header addresses here are placeholders. */
const ANY_V6 = new Uint8Array(16);
const V6_ADDRESSES = { src: ANY_V6, dst: ANY_V6 };

/** The tcp or tcp6 prober of an engine. */
export class TcpProber extends ProberBase {
  readonly #channel: RawChannel;
  /** Where this prober's answers' arrival times come from (see RawChannel.timestamps). */
  get timestamps(): RawChannel['timestamps'] {
    return this.#channel.timestamps;
  }
  /** Every SYN is written here, then sent from here. */
  readonly #scratch = Buffer.allocUnsafe(TCP_SYN_LENGTH);
  /**
   * Source port of every SYN (the `rid`). Not reserved with a socket (a listening one would be an open port on
   * the agent host); a collision with a local connection is harmless, since answers must acknowledge our
   * random sequence numbers.
   */
  readonly srcPort = randomInt(33_000, 60_000);

  constructor(
    protocol: 'tcp' | 'tcp6',
    readonly routes: SourceRoutes,
    txTimestamps = true,
  ) {
    super(protocol);
    this.#channel = new RawChannel(
      this.family === 4 ? 'tcp4' : 'tcp6',
      (p, s, t, r, h) => this.#onPacket(p, s, t, r, h),
      undefined,
      { txTimestamps },
    );
    if (this.family === 6) this.#channel.setOption(IPPROTO_IPV6, IPV6_CHECKSUM, TCP_CHECKSUM_OFFSET);
  }

  override async ready(addresses: readonly string[] = []): Promise<void> {
    if (this.family === 4) this.routes.warm(addresses);
  }

  protected dispatch(
    target: ProbeTarget,
    seq: number,
    done: OutcomeCallback,
    lateness: number,
    flight: SweepFlight | undefined,
  ): void {
    const prepared = this.prepared(target);
    if (prepared === undefined) {
      this.refuse(target, seq, this.srcPort, `not an IPv${this.family} address: ${target.address}`, done);
      return;
    }
    const dstPort = target.port;
    if (dstPort === null) {
      this.refuse(target, seq, this.srcPort, 'tcp needs a destination port', done);
      return;
    }
    // The seq becomes the low half of the SYN's sequence number: one out of range would corrupt the nonce.
    if ((seq & 0xffff) !== seq) {
      this.refuse(target, seq, this.srcPort, `seq must be an integer 0–65535, got ${seq}`, done);
      return;
    }
    if (this.family === 6) {
      this.#send(target, seq, done, prepared, dstPort, V6_ADDRESSES, lateness, flight);
      return;
    }
    // IPv4 raw sockets leave the TCP checksum to us, over a pseudo-header with our source address.
    const pseudo = this.routes.pseudoHeader(prepared, flight === undefined);
    if (pseudo instanceof NoRouteError) {
      this.refuse(target, seq, this.srcPort, pseudo.message, done);
      return;
    }
    this.#send(target, seq, done, prepared, dstPort, pseudo, lateness, flight);
  }

  /** Builds and sends a SYN whose target checked out. */
  #send(
    target: ProbeTarget,
    seq: number,
    done: OutcomeCallback,
    prepared: PreparedTarget,
    dstPort: number,
    pseudo: { src: Uint8Array; dst: Uint8Array },
    lateness: number,
    flight: SweepFlight | undefined,
  ): void {
    // Synchronous from here on: a free nonce is drawn and taken in one go. Several probes with this seq may be in
    // flight to this address (several destinations to it, or a timeout spanning the seq space): the nonce tells
    // their answers apart, so it must be unique among them.
    const address = prepared.canonical;
    const key = InFlightTable.keyOf(prepared.addressHash, seq);
    let nonce = randomNonce();
    while (this.table.find(address, seq, nonce, key) !== undefined) nonce = randomNonce();
    const isn = ((nonce << 16) | seq) >>> 0;
    // Written into the scratch buffer in place (no Buffer per probe; the channel copies only a packet that waits).
    let length: number;
    try {
      length = writeTcpSyn(this.#scratch, 0, { srcPort: this.srcPort, dstPort, seq: isn }, pseudo);
    } catch (err) {
      this.refuse(target, seq, this.srcPort, (err as Error).message, done);
      return;
    }
    if (flight !== undefined) {
      const to = prepared.addressBytes;
      this.launchSwept(
        this.#channel,
        flight,
        seq,
        nonce,
        this.srcPort,
        null,
        address,
        to,
        this.#scratch,
        target.ttl,
        length,
      );
      return;
    }
    const entry = new InFlight(key, this.protocol, address, dstPort, seq, this.srcPort, nonce, null, done);
    entry.lateness = lateness;
    this.launch(
      this.#channel,
      entry,
      prepared.addressBytes,
      this.#scratch,
      target.ttl,
      target.timeout,
      length,
    );
  }

  #onPacket(
    packet: Buffer,
    source: string,
    receivedAt: bigint,
    receivedReal: number,
    hopLimit: number,
  ): void {
    // Cheap filter first: our port, and SYN-ACK or RST.
    const offset = this.family === 4 ? (packet[0]! & 0x0f) * 4 : 0;
    if (packet.length < offset + 20 || packet.readUInt16BE(offset + 2) !== this.srcPort) return;
    const flags = packet[offset + 13]!;
    const reset = (flags & TCP_FLAGS.RST) !== 0;
    if (!reset && (flags & SYN_ACK) !== SYN_ACK) return;
    if ((flags & TCP_FLAGS.ACK) === 0) return; // without an ACK there is no sequence number of ours to match
    let from = source;
    let ttl: number | null = hopLimit >= 0 ? hopLimit : null;
    let tcp: ReturnType<typeof decodeTcp>;
    try {
      if (this.family === 4) {
        const ip = decodeIpv4Header(packet);
        from = ip.src;
        ttl = ip.ttl;
        tcp = decodeTcp(packet, ip.payloadOffset, ip.payloadEnd);
      } else {
        tcp = decodeTcp(packet);
      }
    } catch {
      return;
    }
    const isn = (tcp.ack - 1) >>> 0;
    const entry = this.#match(from, tcp.srcPort, isn);
    if (!entry) return;
    this.table.settle(entry, {
      status: reset ? 'reset' : 'reply',
      address: from,
      receivedAt,
      receivedReal,
      rtype: null,
      rcode: null,
      datamatch: null,
      ttl,
    });
  }

  /** An ICMP error quoted a TCP segment: settle the probe it names, if ours. */
  onError(error: IcmpError, quoted: QuotedTcp): void {
    if (quoted.srcPort !== this.srcPort) return;
    const entry = this.#match(error.quotedDst, quoted.dstPort, quoted.seq);
    if (entry) this.settleError(entry, error);
  }

  #match(target: string, port: number, isn: number): InFlight | undefined {
    const entry = this.table.find(target, isn & 0xffff, isn >>> 16);
    return entry !== undefined && entry.port === port ? entry : undefined;
  }

  close(): void {
    this.#channel.close();
  }
}

/** 16 random bits. Not secret (an on-path observer sees them anyway): they only tell sends apart. */
function randomNonce(): number {
  return (Math.random() * 0x10000) | 0;
}
