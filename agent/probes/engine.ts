/**
 * The probe engine: one raw socket per protocol and family, shared by every probe in flight, and a prober per
 * protocol on top. The ICMP sockets are the engine's own, because every protocol's errors (time exceeded,
 * unreachable) arrive there: the engine decodes each ICMP message once and hands it to the prober whose probe
 * it quotes. Sockets open on first use, so an agent that only probes icmp never opens a raw TCP socket.
 *
 * The engine has no timers of its own besides each probe's deadline: when to probe is the caller's business.
 */

import type { Protocol } from '../../contract/index.js';
import {
  decodeIcmpv4Message,
  decodeIcmpv6Message,
  ICMP_HEADER_LENGTH,
  icmpv4ChecksumValid,
  type QuotedTransport,
} from '../packets/index.js';
import { ProbeInputError } from './errors.js';
import { IcmpProber } from './icmp.js';
import type { IcmpError } from './prober-base.js';
import { type ChannelKind, RawChannel } from './raw-channel.js';
import { SourceRoutes } from './source-route.js';
import { TcpProber } from './tcp.js';
import type { Prober } from './types.js';
import { UdpProber } from './udp.js';

/**
 * ICMP types the kernel delivers to the engine (everything else is filtered out in the kernel, before a copy
 * reaches the process): on loopback our own echo requests (8, 128) are dropped there, not here.
 */
const ICMP4_TYPES = [0, 3, 11];
const ICMP6_TYPES = [1, 3, 129];
const ICMP_ECHO_REPLY = 0;
const ICMP6_ECHO_REPLY = 129;

/** Counters of what the engine's sockets received but could not use, for metrics. */
export interface EngineCounters {
  /** ICMP messages that failed to decode (malformed, bad checksum). */
  malformed: number;
}

export interface ProbeEngineOptions {
  /** The source id written into every probe payload (uint16): answers carrying another are not ours. */
  sourceid: number;
  /**
   * Time sends by the kernel's transmit stamps (default true); false keeps the clock read before `sendto`, and
   * every result says `timing.send: 'process'` (for comparison, or a kernel whose stamps misbehave).
   */
  txTimestamps?: boolean;
}

type AnyProber = IcmpProber | UdpProber | TcpProber;

/** See the module comment. */
export class ProbeEngine {
  readonly sourceid: number;
  readonly txTimestamps: boolean;
  readonly counters: EngineCounters = { malformed: 0 };
  readonly #routes = new SourceRoutes();
  readonly #icmp = new Map<4 | 6, RawChannel>();
  readonly #probers = new Map<Protocol, AnyProber>();
  #closed = false;

  constructor(options: ProbeEngineOptions) {
    if (!Number.isInteger(options.sourceid) || options.sourceid < 0 || options.sourceid > 0xffff) {
      throw new ProbeInputError(`[probes] sourceid must be an integer 0–65535, got ${options.sourceid}`);
    }
    this.sourceid = options.sourceid;
    this.txTimestamps = options.txTimestamps ?? true;
  }

  /**
   * The prober for `protocol`, opening the sockets it needs on first use. Throws
   * {@link RawSocketPermissionError} without root or CAP_NET_RAW.
   */
  prober(protocol: Protocol): Prober {
    if (this.#closed) throw new ProbeInputError('[probes] the engine is closed');
    let prober = this.#probers.get(protocol);
    if (!prober) {
      prober = this.#create(protocol);
      this.#probers.set(protocol, prober);
    }
    return prober;
  }

  /**
   * The prober for `protocol` once it is ready to send to `addresses` without waiting: the UDP prober binds its
   * source port (until then a probe waits for it, so its send is later than asked and probes asked for at once
   * leave in a bunch). UDP and TCP over IPv4 also look up the source address towards each target (for their
   * checksums) here rather than at the first probe.
   */
  async open(protocol: Protocol, addresses: readonly string[] = []): Promise<Prober> {
    const prober = this.prober(protocol) as AnyProber;
    await prober.ready(addresses);
    return prober;
  }

  #create(protocol: Protocol): AnyProber {
    switch (protocol) {
      case 'icmp':
        return new IcmpProber('icmp', this.sourceid, this.#icmpChannel(4));
      case 'icmp6':
        return new IcmpProber('icmp6', this.sourceid, this.#icmpChannel(6));
      case 'udp':
      case 'udp6':
        this.#icmpChannel(protocol === 'udp' ? 4 : 6);
        return new UdpProber(protocol, this.sourceid, this.#routes, this.txTimestamps);
      case 'tcp':
      case 'tcp6':
        this.#icmpChannel(protocol === 'tcp' ? 4 : 6);
        return new TcpProber(protocol, this.#routes, this.txTimestamps);
    }
  }

  #icmpChannel(family: 4 | 6): RawChannel {
    let channel = this.#icmp.get(family);
    if (!channel) {
      const options = { txTimestamps: this.txTimestamps };
      channel =
        family === 4
          ? new RawChannel('icmp4', (p, s, t, r) => this.#onIcmp4(p, s, t, r), ICMP4_TYPES, options)
          : new RawChannel('icmp6', (p, s, t, r, h) => this.#onIcmp6(p, s, t, r, h), ICMP6_TYPES, options);
      this.#icmp.set(family, channel);
    }
    return channel;
  }

  #onIcmp4(packet: Buffer, source: string, receivedAt: bigint, receivedReal: number): void {
    // Fast path for echo replies, the bulk of what arrives: read in place, no decoded objects (the type byte sits
    // at the IP header length). Anything unusual (options cut short, fragments, a length that disagrees) takes
    // the full decoder below, which names what is wrong.
    const ihl = (packet[0]! & 0x0f) * 4;
    if (
      packet[ihl] === ICMP_ECHO_REPLY &&
      packet[0]! >> 4 === 4 &&
      ihl >= 20 &&
      packet.length >= ihl + 8 &&
      packet.readUInt16BE(2) === packet.length &&
      (packet.readUInt16BE(6) & 0x3fff) === 0
    ) {
      if (!icmpv4ChecksumValid(packet, ihl, packet.length)) {
        this.counters.malformed++;
        return;
      }
      // A raw IPv4 socket's source address is the IP source: the address that answered.
      (this.#probers.get('icmp') as IcmpProber | undefined)?.onEchoReply(
        source,
        packet,
        ihl,
        packet.length,
        packet[8]!,
        receivedAt,
        receivedReal,
      );
      return;
    }
    let msg: ReturnType<typeof decodeIcmpv4Message>;
    try {
      msg = decodeIcmpv4Message(packet);
    } catch {
      this.counters.malformed++;
      return;
    }
    if (msg.kind === 'echo-reply') {
      (this.#probers.get('icmp') as IcmpProber | undefined)?.onEchoReply(
        msg.ip.src,
        packet,
        msg.ip.payloadOffset,
        msg.ip.payloadEnd,
        msg.ip.ttl,
        receivedAt,
        receivedReal,
      );
    } else if (msg.kind === 'time-exceeded' || msg.kind === 'unreachable') {
      const error: IcmpError = {
        status: msg.kind === 'time-exceeded' ? 'ttl-exceeded' : 'unreachable',
        from: msg.ip.src,
        type: msg.type,
        code: msg.code,
        ttl: msg.ip.ttl,
        receivedAt,
        receivedReal,
        quotedDst: msg.quoted.ip.dst,
      };
      this.#dispatchError(4, error, msg.quoted.transport);
    }
  }

  #onIcmp6(packet: Buffer, source: string, receivedAt: bigint, receivedReal: number, hopLimit: number): void {
    // Raw ICMPv6 sockets deliver the message without the IPv6 header (the hop limit comes beside it, from
    // IPV6_RECVHOPLIMIT), and the kernel has already verified the checksum. Echo replies, the bulk, are read in
    // place (see #onIcmp4).
    const ttl = hopLimit >= 0 ? hopLimit : null;
    if (packet[0] === ICMP6_ECHO_REPLY && packet.length >= ICMP_HEADER_LENGTH) {
      (this.#probers.get('icmp6') as IcmpProber | undefined)?.onEchoReply(
        source,
        packet,
        0,
        packet.length,
        ttl,
        receivedAt,
        receivedReal,
      );
      return;
    }
    let msg: ReturnType<typeof decodeIcmpv6Message>;
    try {
      msg = decodeIcmpv6Message(packet);
    } catch {
      this.counters.malformed++;
      return;
    }
    // Echo replies were taken by the fast path above.
    if (msg.kind === 'time-exceeded' || msg.kind === 'unreachable') {
      const error: IcmpError = {
        status: msg.kind === 'time-exceeded' ? 'ttl-exceeded' : 'unreachable',
        from: source,
        type: msg.type,
        code: msg.code,
        ttl,
        receivedAt,
        receivedReal,
        quotedDst: msg.quoted.ip.dst,
      };
      this.#dispatchError(6, error, msg.quoted.transport);
    }
  }

  #dispatchError(family: 4 | 6, error: IcmpError, transport: QuotedTransport | null): void {
    if (!transport) return;
    const suffix = family === 6 ? '6' : '';
    switch (transport.protocol) {
      case 'icmp':
        (this.#probers.get(`icmp${suffix}` as Protocol) as IcmpProber | undefined)?.onError(
          error,
          transport.id,
          transport.seq,
          transport.payload,
        );
        return;
      case 'udp':
        (this.#probers.get(`udp${suffix}` as Protocol) as UdpProber | undefined)?.onError(error, transport);
        return;
      case 'tcp':
        (this.#probers.get(`tcp${suffix}` as Protocol) as TcpProber | undefined)?.onError(error, transport);
        return;
    }
  }

  /** Probes in flight across all protocols. */
  /**
   * Where each open raw socket's arrival times come from: `kernel` (SO_TIMESTAMPNS: when the packet arrived) or
   * `process` (when the process read it, later by its wake-up delay; see raw-channel.ts), by socket.
   */
  receiveTimestamps(): Partial<Record<ChannelKind, RawChannel['timestamps']>> {
    const sources: Partial<Record<ChannelKind, RawChannel['timestamps']>> = {};
    for (const channel of this.#icmp.values()) sources[channel.kind] = channel.timestamps;
    for (const [protocol, prober] of this.#probers) {
      if (prober instanceof UdpProber) sources[protocol === 'udp' ? 'udp4' : 'udp6'] = prober.timestamps;
      else if (prober instanceof TcpProber) sources[protocol === 'tcp' ? 'tcp4' : 'tcp6'] = prober.timestamps;
    }
    return sources;
  }

  inFlight(): number {
    let n = 0;
    for (const p of this.#probers.values()) n += p.table.size;
    return n;
  }

  /** Closes every socket; probes still in flight settle as `error`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#probers.values()) {
      p.table.failAll('[probes] engine closed');
      if (!(p instanceof IcmpProber)) p.close();
    }
    for (const c of this.#icmp.values()) c.close();
  }
}
