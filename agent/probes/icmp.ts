/**
 * icmp / icmp6: an echo request whose data is the probe payload (magic, sourceid, seq, send time, then the
 * destination's data). Answers are matched by that payload, not by the ICMP id, which some kernels rewrite;
 * the send time in it tells a reply to this probe from one to a probe 65,536 seqs earlier, or to a probe of
 * another destination to the same address with the same seq (see in-flight.ts).
 */
import {
  decodeProbePayload,
  encodeIcmpv4Echo,
  encodeIcmpv6Echo,
  encodeProbePayload,
  isProbePayload,
  sameBytes,
} from '../packets/index.js';
import { dataBytes } from './data-bytes.js';
import { InFlight, InFlightTable } from './in-flight.js';
import { type IcmpError, ProberBase } from './prober-base.js';
import type { RawChannel } from './raw-channel.js';
import type { ProbeOutcome, ProbeTarget } from './types.js';

/** An echo reply as the engine's ICMP socket decoded it. */
export interface EchoReply {
  from: string;
  type: number;
  code: number;
  /** The echoed data: our probe payload if the reply is ours. */
  payload: Uint8Array;
  ttl: number | null;
  receivedAt: bigint;
}

/** The icmp or icmp6 prober of an engine. */
export class IcmpProber extends ProberBase {
  constructor(
    protocol: 'icmp' | 'icmp6',
    readonly sourceid: number,
    readonly channel: RawChannel,
  ) {
    super(protocol);
  }

  probe(target: ProbeTarget, seq: number): Promise<ProbeOutcome> {
    const address = this.canonical(target.address);
    if (address === undefined) {
      return this.refuse(target, seq, this.sourceid, `not an IPv${this.family} address: ${target.address}`);
    }
    const key = InFlightTable.key(address, seq);
    const sentNs = this.table.stamp();
    const payload = encodeProbePayload({
      sourceid: this.sourceid,
      seq,
      sentNs,
      data: dataBytes(target.data),
    });
    // The kernel computes ICMPv6 checksums on raw ICMPv6 sockets (no pseudo-header needed here); ICMPv4's is ours.
    const packet =
      this.family === 4
        ? encodeIcmpv4Echo({ id: this.sourceid, seq, payload })
        : encodeIcmpv6Echo({ id: this.sourceid, seq, payload });
    return new Promise<ProbeOutcome>((resolve) => {
      const entry = new InFlight(
        key,
        this.protocol,
        address,
        null,
        seq,
        this.sourceid,
        sentNs,
        payload,
        resolve,
      );
      this.launch(this.channel, entry, packet, target.ttl, target.timeout);
    });
  }

  /** An echo reply reached the engine's socket: settle the probe it answers, if it is one of ours. */
  onEchoReply(reply: EchoReply): void {
    const entry = this.#match(reply.from, reply.payload);
    if (!entry) return;
    this.table.settle(entry, {
      status: 'reply',
      address: reply.from,
      receivedAt: reply.receivedAt,
      rtype: reply.type,
      rcode: reply.code,
      datamatch: entry.sent !== null && sameBytes(reply.payload, entry.sent),
      ttl: reply.ttl,
    });
  }

  /** An ICMP error quoted an echo request: settle the probe it names. */
  onError(error: IcmpError, id: number, seq: number, quotedPayload: Uint8Array): void {
    let entry: InFlight | undefined;
    if (isProbePayload(quotedPayload)) {
      entry = this.#match(error.quotedDst, quotedPayload);
    } else if (id === this.sourceid) {
      // A router that quotes only 8 bytes (RFC 792): id and seq are all there is, so of several probes with
      // this seq to this target (several destinations to one address), the oldest is the best guess.
      entry = this.table.oldest(InFlightTable.key(error.quotedDst, seq));
    }
    if (entry) this.settleError(entry, error);
  }

  /** The probe in flight a payload (echoed or quoted) names, if it is ours and this exact send. */
  #match(target: string, payload: Uint8Array): InFlight | undefined {
    if (!isProbePayload(payload)) return undefined;
    const p = decodeProbePayload(payload);
    if (p.sourceid !== this.sourceid) return undefined;
    return this.table.find(InFlightTable.key(target, p.seq), p.sentNs);
  }
}
