/**
 * icmp / icmp6: an echo request whose data is the probe payload (magic, sourceid, seq, send time, then the
 * destination's data). Answers are matched by that payload, not by the ICMP id, which some kernels rewrite;
 * the send time in it tells a reply to this probe from one to a probe 65,536 seqs earlier, or to a probe of
 * another destination to the same address with the same seq (see in-flight.ts).
 *
 * Per probe, nothing is allocated for the packet: it is written into one scratch buffer (the channel copies it
 * only when it must wait for room), and replies are read in place from the channel's receive buffer.
 */
import {
  echoesData,
  ICMP_HEADER_LENGTH,
  isProbePayload,
  probeSentNs,
  probeSeq,
  probeSourceid,
  writeIcmpv4Echo,
  writeIcmpv6Echo,
  writeProbePayload,
} from '../packets/index.js';
import { InFlight, InFlightTable } from './in-flight.js';
import { type IcmpError, ProberBase } from './prober-base.js';
import type { RawChannel } from './raw-channel.js';
import type { SweepFlight } from './sweep-flight.js';
import type { OutcomeCallback, ProbeTarget } from './types.js';

/** The icmp or icmp6 prober of an engine. */
export class IcmpProber extends ProberBase {
  /** Every echo request is written here, then sent from here (see the module comment). */
  readonly #scratch = Buffer.allocUnsafe(65_536);

  constructor(
    protocol: 'icmp' | 'icmp6',
    readonly sourceid: number,
    readonly channel: RawChannel,
  ) {
    super(protocol);
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
      this.refuse(target, seq, this.sourceid, `not an IPv${this.family} address: ${target.address}`, done);
      return;
    }
    const data = prepared.bytes;
    const sentNs = this.table.stamp();
    const scratch = this.#scratch;
    let length: number;
    try {
      const payloadEnd = writeProbePayload(scratch, ICMP_HEADER_LENGTH, {
        sourceid: this.sourceid,
        seq,
        sentNs,
        data,
      });
      const fields = { id: this.sourceid, seq };
      const inPlace = payloadEnd - ICMP_HEADER_LENGTH;
      // The kernel computes ICMPv6 checksums on raw ICMPv6 sockets (no pseudo-header needed here); ICMPv4's is ours.
      length =
        this.family === 4
          ? writeIcmpv4Echo(scratch, 0, fields, inPlace)
          : writeIcmpv6Echo(scratch, 0, fields, inPlace);
    } catch (err) {
      this.refuse(target, seq, this.sourceid, (err as Error).message, done);
      return;
    }
    if (flight !== undefined) {
      const { canonical, addressBytes } = prepared;
      this.launchSwept(
        this.channel,
        flight,
        seq,
        sentNs,
        this.sourceid,
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
      null,
      seq,
      this.sourceid,
      sentNs,
      data,
      done,
    );
    entry.lateness = lateness;
    this.launch(this.channel, entry, prepared.addressBytes, scratch, target.ttl, target.timeout, length);
  }

  /**
   * An echo reply reached the engine's socket, its ICMP message in `buf[offset, end)` (checksum verified):
   * settle the probe it answers, if it is one of ours. Read in place: `buf` is only valid during the call.
   */
  onEchoReply(
    from: string,
    buf: Uint8Array,
    offset: number,
    end: number,
    ttl: number | null,
    receivedAt: bigint,
    receivedReal: number,
  ): void {
    const start = offset + ICMP_HEADER_LENGTH;
    const entry = this.#match(from, buf, start, end);
    if (!entry) return;
    this.table.settle(entry, {
      status: 'reply',
      address: from,
      receivedAt,
      receivedReal,
      rtype: buf[offset]!,
      rcode: buf[offset + 1]!,
      datamatch: entry.sent !== null && echoesData(buf, start, end, entry.sent),
      ttl,
    });
  }

  /** An ICMP error quoted an echo request: settle the probe it names. */
  onError(error: IcmpError, id: number, seq: number, quotedPayload: Uint8Array): void {
    let entry: InFlight | undefined;
    if (isProbePayload(quotedPayload)) {
      entry = this.#match(error.quotedDst, quotedPayload, 0, quotedPayload.length);
    } else if (id === this.sourceid) {
      // A router that quotes only 8 bytes (RFC 792): id and seq are all there is, so of several probes with
      // this seq to this target (several destinations to one address), the oldest is the best guess.
      entry = this.table.oldest(error.quotedDst, seq);
    }
    if (entry) this.settleError(entry, error);
  }

  /** The probe in flight the payload in `buf[start, end)` (echoed or quoted) names, if ours and this exact send. */
  #match(target: string, buf: Uint8Array, start: number, end: number): InFlight | undefined {
    if (!isProbePayload(buf, start, end) || probeSourceid(buf, start) !== this.sourceid) return undefined;
    return this.table.find(target, probeSeq(buf, start), probeSentNs(buf, start));
  }
}
