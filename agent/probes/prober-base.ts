/**
 * What the three probers share: the demux table, sending with the deadline armed at the send time, the
 * canonical form of target addresses (answers name them in canonical form, so keys must too) and settling
 * through a quoted ICMP error.
 */

import { isIP } from 'node:net';
import type { Protocol } from '../../contract/index.js';
import { formatIpv6, parseIpv6 } from '../packets/index.js';
import { dataBytes } from './data-bytes.js';
import { InFlight, InFlightTable } from './in-flight.js';
import { type PreparedTarget, prepare, preparedOf } from './prepared-target.js';
import type { RawChannel } from './raw-channel.js';
import type { SweepFlight } from './sweep-flight.js';
import type { OutcomeCallback, ProbeOutcome, Prober, ProbeTarget } from './types.js';

/** An ICMP error that quoted one of our probes, as the engine hands it to the prober that sent it. */
export interface IcmpError {
  status: 'ttl-exceeded' | 'unreachable';
  /** The router or host that sent the error. */
  from: string;
  type: number;
  code: number;
  /** TTL / hop limit of the error packet (IPv6: from IPV6_RECVHOPLIMIT; null where the socket gave none). */
  ttl: number | null;
  receivedAt: bigint;
  /** The kernel's wall-clock stamp of the arrival; 0n when the process timed it. */
  receivedReal: number;
  /** Destination address of the quoted datagram: the probe's target. */
  quotedDst: string;
}

const canonicalV4 = new Map<string, string>();
const canonicalV6 = new Map<string, string>();

/** Base of the probers; see the module comment. */
export abstract class ProberBase implements Prober {
  readonly table: InFlightTable = new InFlightTable((entry) => this.forget(entry));
  readonly family: 4 | 6;

  constructor(readonly protocol: Protocol) {
    this.family = protocol.endsWith('6') ? 6 : 4;
  }

  send(target: ProbeTarget, seq: number, done: OutcomeCallback, lateness = 0): void {
    this.dispatch(target, seq, done, lateness, undefined);
  }

  sweep(flight: SweepFlight, index: number, target: ProbeTarget): void {
    this.dispatch(target, index, flight.done, 0, flight);
  }

  /**
   * {@link send} and {@link sweep}: builds the probe and hands it to {@link launch}, or with a `flight` to
   * {@link launchSwept}; refuses it through `done` when it cannot be built.
   */
  protected abstract dispatch(
    target: ProbeTarget,
    seq: number,
    done: OutcomeCallback,
    lateness: number,
    flight: SweepFlight | undefined,
  ): void;

  probe(target: ProbeTarget, seq: number): Promise<ProbeOutcome> {
    return new Promise((resolve) => this.send(target, seq, resolve));
  }

  /** A probe left the table (settled): a prober drops it from any index of its own here. */
  protected forget(_entry: InFlight): void {}

  /**
   * Resolves once a probe to each of `addresses` can go out synchronously from {@link send}: sockets open and
   * bound, and (UDP/TCP over IPv4) the source address towards each target known.
   */
  ready(_addresses: readonly string[] = []): Promise<void> {
    return Promise.resolve();
  }

  /**
   * The target in the form answers will name it (`fd00::1`, never `FD00:0::1`), or undefined when it is not an
   * address of this prober's family.
   */
  protected canonical(address: string): string | undefined {
    // Cached per family, also for IPv4: the check runs per probe, and isIP is a regular expression.
    const cache = this.family === 4 ? canonicalV4 : canonicalV6;
    let c = cache.get(address);
    if (c === undefined) {
      if (isIP(address) !== this.family) return undefined;
      c = this.family === 4 ? address : formatIpv6(parseIpv6(address));
      if (cache.size > 100_000) cache.clear();
      cache.set(address, c);
    }
    return c;
  }

  /**
   * What this prober needs of `target` (canonical address, data bytes, key hash), kept on the target between
   * probes (see prepared-target.ts), or undefined when its address is not one of this prober's family.
   */
  protected prepared(target: ProbeTarget): PreparedTarget | undefined {
    const kept = preparedOf(target, this.family);
    if (kept !== undefined) return kept;
    const canonical = this.canonical(target.address);
    return canonical === undefined
      ? undefined
      : prepare(target, this.family, canonical, dataBytes(target.data));
  }

  /**
   * Continues a probe once `pending` settles (its source port bound, its route found): `next` gets the value and
   * a `done` to end in. A rejection, or a throw from `next` before it called `done`, refuses the probe with
   * `why` and the reason — so a probe that waited still yields exactly one outcome, never an unhandled rejection.
   */
  protected after<T>(
    pending: Promise<T>,
    next: (value: T, done: OutcomeCallback) => void,
    target: ProbeTarget,
    seq: number,
    rid: number,
    why: string,
    done: OutcomeCallback,
  ): void {
    continueAfter(pending, next, (reason) => this.refuse(target, seq, rid, `${why}: ${reason}`, done), done);
  }

  /** Settles a probe that could not even be built (bad target) at once: status `error`, nothing sent. */
  protected refuse(
    target: ProbeTarget,
    seq: number,
    rid: number,
    detail: string,
    done: OutcomeCallback,
  ): void {
    const entry = new InFlight(
      0,
      this.protocol,
      target.address,
      target.port,
      seq & 0xffff,
      rid,
      0,
      null,
      done,
    );
    done(entry.failed(detail));
  }

  /**
   * Registers `entry`, sends `packet[0, length)` to `to` (the target's address bytes, see PreparedTarget) and
   * arms its deadline at the send time.
   */
  protected launch(
    channel: RawChannel,
    entry: InFlight,
    to: Uint8Array,
    packet: Buffer,
    ttl: number,
    timeoutMs: number,
    length = packet.length,
  ): void {
    this.table.add(entry);
    if (channel.txTimestamps === 'kernel') entry.txSource = channel;
    channel.send(
      packet,
      entry.target,
      ttl,
      (err, sentAt) => {
        if (err) {
          this.table.fail(entry, err.message);
          return;
        }
        entry.sentAt = sentAt;
        this.table.arm(entry, timeoutMs);
      },
      length,
      to,
      entry,
    );
  }

  /**
   * {@link launch} for probe `index` of a sweep: the probe is kept in the sweep's slot (sweep-flight.ts), not as an
   * object. `check` is what its answer must carry; `rid` its outcome's; `sent` the data an echo returns (null when
   * the protocol echoes none).
   */
  protected launchSwept(
    channel: RawChannel,
    flight: SweepFlight,
    index: number,
    check: bigint | number,
    rid: number,
    sent: Uint8Array | null,
    address: string,
    to: Uint8Array,
    packet: Buffer,
    ttl: number,
    length: number,
  ): void {
    flight.launching(this.table, index, check, rid, sent);
    const source = channel.txTimestamps === 'kernel' ? channel : undefined;
    channel.send(
      packet,
      address,
      ttl,
      (err, sentAt) => flight.sent(index, err, sentAt, source),
      length,
      to,
      source === undefined ? undefined : flight,
      index,
    );
  }

  /** Settles `entry` with an ICMP error about it. */
  protected settleError(entry: InFlight, e: IcmpError): void {
    this.table.settle(entry, {
      status: e.status,
      address: e.from,
      receivedAt: e.receivedAt,
      receivedReal: e.receivedReal,
      rtype: e.type,
      rcode: e.code,
      datamatch: null,
      ttl: e.ttl,
    });
  }
}

/**
 * `next(value, done)` once `pending` fulfils; `refuse(reason)` instead when it rejects, or when `next` throws before
 * it called `done` (a throw after that is `done`'s own and is not retried). See {@link ProberBase.after}.
 */
export function continueAfter<T>(
  pending: Promise<T>,
  next: (value: T, done: OutcomeCallback) => void,
  refuse: (reason: string) => void,
  done: OutcomeCallback,
): void {
  let called = false;
  const once: OutcomeCallback = (outcome) => {
    called = true;
    done(outcome);
  };
  pending
    .then((value) => next(value, once))
    .catch((err: unknown) => {
      if (!called) refuse(err instanceof Error ? err.message : String(err));
    });
}
