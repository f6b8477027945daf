/**
 * udp / udp6: a datagram carrying the probe payload to the destination port, built by hand and sent on a raw
 * UDP socket so that the TTL is set per probe and the send time is taken at the `sendto`. The source port is
 * held by an ordinary bound UDP socket, so that the kernel neither hands it to anyone else nor answers our
 * replies with port-unreachable; the raw socket sees the replies too and matches them.
 *
 * Answers: a UDP datagram back from the target is `reply` (datamatch: the echo equals what was sent); an ICMP
 * port unreachable quoting the probe is `unreachable` — the host is up, the port closed; time exceeded is
 * `ttl-exceeded`. Matching is by the probe payload (in the reply, or quoted in the error); a reply without our
 * payload (a service that answers with its own bytes) or a quote cut at 8 bytes is matched to the oldest probe
 * in flight to that address and port.
 */

import dgram from 'node:dgram';
import {
  decodeIpv4Header,
  decodeUdp,
  echoesData,
  isProbePayload,
  probeSentNs,
  probeSeq,
  probeSourceid,
  type QuotedUdp,
  UDP_HEADER_LENGTH,
  writeProbePayload,
  writeUdp,
} from '../packets/index.js';
import { InFlight, InFlightTable } from './in-flight.js';
import { IntMap } from './int-map.js';
import type { PreparedTarget } from './prepared-target.js';
import { type IcmpError, ProberBase } from './prober-base.js';
import { RawChannel } from './raw-channel.js';
import { NoRouteError, type SourceRoutes } from './source-route.js';
import type { SweepFlight } from './sweep-flight.js';
import type { OutcomeCallback, ProbeTarget } from './types.js';

const IPPROTO_IPV6 = 41;
const IPV6_CHECKSUM = 7;
/** Offset of the checksum in a UDP header, for the kernel to fill in on IPv6 (IPV6_CHECKSUM). */
const UDP_CHECKSUM_OFFSET = 6;

/** The udp or udp6 prober of an engine. */
export class UdpProber extends ProberBase {
  readonly #channel: RawChannel;
  /** Where this prober's answers' arrival times come from (see RawChannel.timestamps). */
  get timestamps(): RawChannel['timestamps'] {
    return this.#channel.timestamps;
  }
  readonly #holder: dgram.Socket;
  /** Every datagram is written here, then sent from here. */
  readonly #scratch = Buffer.allocUnsafe(65_536);
  readonly #ready: Promise<number>;
  #port = 0;
  /**
   * Probes in flight per (target, port), oldest first, for replies that do not carry our payload: a list through
   * {@link InFlight.nextInIndex} from the head kept here under an integer hash of the pair (see int-map.ts; a
   * `target#port` string key cost a string and its internalization per probe). Pairs may share a hash: compare.
   */
  readonly #byPort = new IntMap<InFlight>();

  constructor(
    protocol: 'udp' | 'udp6',
    readonly sourceid: number,
    readonly routes: SourceRoutes,
    txTimestamps = true,
  ) {
    super(protocol);
    this.#channel = new RawChannel(
      this.family === 4 ? 'udp4' : 'udp6',
      (p, s, t, r, h) => this.#onPacket(p, s, t, r, h),
      undefined,
      { txTimestamps },
    );
    if (this.family === 6) this.#channel.setOption(IPPROTO_IPV6, IPV6_CHECKSUM, UDP_CHECKSUM_OFFSET);
    this.#holder = dgram.createSocket({
      type: this.family === 4 ? 'udp4' : 'udp6',
      ipv6Only: this.family === 6,
    });
    // Replies land in the holder too; drop them there, the raw socket already matched them.
    this.#holder.on('message', () => undefined);
    this.#ready = new Promise((resolve, reject) => {
      this.#holder.once('error', reject);
      this.#holder.bind(0, () => {
        this.#port = this.#holder.address().port;
        resolve(this.#port);
      });
    });
  }

  /** The source port every probe of this prober carries (its `rid`). */
  port(): Promise<number> {
    return this.#ready;
  }

  override async ready(addresses: readonly string[] = []): Promise<void> {
    await this.#ready;
    if (this.family === 4) this.routes.warm(addresses);
  }

  protected dispatch(
    target: ProbeTarget,
    seq: number,
    done: OutcomeCallback,
    lateness: number,
    flight: SweepFlight | undefined,
  ): void {
    const port = this.#port;
    if (port === 0) {
      // Before the source port is bound (a probe sent without awaiting ready()): wait for it, once.
      this.after(
        this.#ready,
        (_port, then) => this.dispatch(target, seq, then, lateness, flight),
        target,
        seq,
        0,
        '[probes] cannot bind a UDP source port',
        done,
      );
      return;
    }
    const prepared = this.prepared(target);
    if (prepared === undefined) {
      this.refuse(target, seq, port, `not an IPv${this.family} address: ${target.address}`, done);
      return;
    }
    const dstPort = target.port;
    if (dstPort === null) {
      this.refuse(target, seq, port, 'udp needs a destination port', done);
      return;
    }
    if (this.family === 6) {
      this.#send(target, seq, done, prepared, port, dstPort, undefined, lateness, flight);
      return;
    }
    // IPv4 raw sockets leave the UDP checksum to us, over a pseudo-header with our source address.
    const pseudo = this.routes.pseudoHeader(prepared, flight === undefined);
    if (pseudo instanceof NoRouteError) {
      this.refuse(target, seq, port, pseudo.message, done);
      return;
    }
    this.#send(target, seq, done, prepared, port, dstPort, pseudo, lateness, flight);
  }

  /** Builds and sends a probe whose target checked out; `pseudo` is the IPv4 checksum's (undefined on IPv6). */
  #send(
    target: ProbeTarget,
    seq: number,
    done: OutcomeCallback,
    prepared: PreparedTarget,
    port: number,
    dstPort: number,
    pseudo: { src: Uint8Array; dst: Uint8Array } | undefined,
    lateness: number,
    flight: SweepFlight | undefined,
  ): void {
    const sentNs = this.table.stamp();
    const data = prepared.bytes;
    // Written into the scratch buffer in place (no Buffer per probe; the channel copies only a packet that waits).
    const scratch = this.#scratch;
    let length: number;
    try {
      const payloadEnd = writeProbePayload(scratch, UDP_HEADER_LENGTH, {
        sourceid: this.sourceid,
        seq,
        sentNs,
        data,
      });
      length = writeUdp(scratch, 0, { srcPort: port, dstPort }, pseudo, payloadEnd - UDP_HEADER_LENGTH);
    } catch (err) {
      this.refuse(target, seq, port, (err as Error).message, done);
      return;
    }
    if (flight !== undefined) {
      const { canonical, addressBytes } = prepared;
      this.launchSwept(
        this.#channel,
        flight,
        seq,
        sentNs,
        port,
        data,
        canonical,
        addressBytes,
        scratch,
        target.ttl,
        length,
      );
      return;
    }
    const key = InFlightTable.keyOf(prepared.addressHash, seq);
    const entry = new InFlight(
      key,
      this.protocol,
      prepared.canonical,
      dstPort,
      seq,
      port,
      sentNs,
      data,
      done,
    );
    entry.lateness = lateness;
    this.#index(entry, prepared.addressHash);
    this.launch(this.#channel, entry, prepared.addressBytes, scratch, target.ttl, target.timeout, length);
  }

  #index(entry: InFlight, addressHash: number): void {
    const k = InFlightTable.keyOf(addressHash, entry.port!);
    const head = this.#byPort.get(k);
    if (head === undefined) {
      this.#byPort.set(k, entry);
      return;
    }
    let tail = head;
    while (tail.nextInIndex !== undefined) tail = tail.nextInIndex;
    tail.nextInIndex = entry;
  }

  protected override forget(entry: InFlight): void {
    const k = InFlightTable.key(entry.target, entry.port!);
    const head = this.#byPort.get(k);
    if (head === entry) {
      if (entry.nextInIndex === undefined) this.#byPort.delete(k);
      else this.#byPort.set(k, entry.nextInIndex);
    } else {
      let prev = head;
      while (prev !== undefined && prev.nextInIndex !== entry) prev = prev.nextInIndex;
      if (prev !== undefined) prev.nextInIndex = entry.nextInIndex;
    }
    entry.nextInIndex = undefined;
  }

  /** Every UDP datagram to this host passes here: only those to our port are looked at. */
  #onPacket(
    packet: Buffer,
    source: string,
    receivedAt: bigint,
    receivedReal: number,
    hopLimit: number,
  ): void {
    let offset = 0;
    let ttl: number | null = hopLimit >= 0 ? hopLimit : null;
    let from = source;
    if (this.family === 4) {
      // Cheap filter before any decoding: the destination port at IHL + 2.
      offset = (packet[0]! & 0x0f) * 4;
      if (packet.length < offset + 8 || packet.readUInt16BE(offset + 2) !== this.#port) return;
      try {
        const ip = decodeIpv4Header(packet);
        ttl = ip.ttl;
        from = ip.src;
      } catch {
        return;
      }
    } else if (packet.length < 8 || packet.readUInt16BE(2) !== this.#port) {
      return;
    }
    let udp: ReturnType<typeof decodeUdp>;
    try {
      udp = decodeUdp(packet, offset);
    } catch {
      return;
    }
    const entry = this.#match(from, udp.srcPort, udp.payload);
    if (!entry) return;
    // A reply matched by our payload (the exact send) echoes it unchanged or not; one matched without it does not.
    const ours = this.#ours(udp.payload);
    this.table.settle(entry, {
      status: 'reply',
      address: from,
      receivedAt,
      receivedReal,
      rtype: null,
      rcode: null,
      datamatch: ours && entry.sent !== null && echoesData(udp.payload, 0, udp.payload.length, entry.sent),
      ttl,
    });
  }

  /** An ICMP error quoted a UDP datagram: settle the probe it names, if ours. */
  onError(error: IcmpError, quoted: QuotedUdp): void {
    if (quoted.srcPort !== this.#port) return;
    const entry = this.#match(error.quotedDst, quoted.dstPort, quoted.payload);
    if (entry) this.settleError(entry, error);
  }

  /** The probe a payload names (exactly, by seq and send time) or, without our payload, the oldest to `port`. */
  #match(target: string, port: number, payload: Uint8Array): InFlight | undefined {
    if (this.#ours(payload)) {
      return this.table.find(target, probeSeq(payload, 0), probeSentNs(payload, 0));
    }
    for (let e = this.#byPort.get(InFlightTable.key(target, port)); e !== undefined; e = e.nextInIndex) {
      if (e.sentAt !== 0n && e.target === target && e.port === port) return e;
    }
    return this.table.sweptTo(target, port);
  }

  /** Whether `payload` is a probe payload of this engine. */
  #ours(payload: Uint8Array): boolean {
    return isProbePayload(payload) && probeSourceid(payload, 0) === this.sourceid;
  }

  close(): void {
    this.#channel.close();
    this.#holder.close();
  }
}
