/**
 * The Prober interface: send one probe, resolve what became of it. Timing (intervals, stagger, rate) belongs to
 * the caller — the agent's scheduler or `pinger probe` — never to a prober (STYLE §5).
 */
import type { Protocol, ResultInput } from '../../contract/index.js';
import type { SweepFlight } from './sweep-flight.js';

/** What to probe: a destination with its address already resolved to an IP literal of the protocol's family. */
export interface ProbeTarget {
  protocol: Protocol;
  /** IP literal to send to (IPv4 for icmp/udp/tcp, IPv6 for the `6` protocols). */
  address: string;
  /** Destination port (udp, tcp); ignored for icmp. */
  port: number | null;
  /** TTL / hop limit of the probe packet, 1–255. */
  ttl: number;
  /** Milliseconds to wait for an answer. */
  timeout: number;
  /** Payload text carried after the probe header and checked in the echo. */
  data: string;
}

/**
 * What became of one probe: a {@link ResultInput} without the destination id (the caller knows it), plus why a
 * probe could not be sent when `status` is `error`.
 */
export type ProbeOutcome = Omit<ResultInput, 'destination'> & { detail?: string };

/** Receives a probe's outcome, exactly once. */
export type OutcomeCallback = (outcome: ProbeOutcome) => void;

/** One protocol's prober. Any number of probes may be in flight at once, also to one target. */
export interface Prober {
  readonly protocol: Protocol;
  /**
   * Sends one probe with sequence number `seq` (16 bits; the caller counts per destination and lets it wrap) and
   * calls `done` exactly once with its outcome — synchronously when the probe cannot leave (a bad target, a
   * `sendto` that fails at once), later otherwise (an answer, the timeout, the engine closing). Never throws for a
   * probe that fails: a failed send is status `error`. `done` must not throw: it runs inside the engine's packet
   * and timer handlers. This is the agent's per-probe path (tens of thousands a second), so it allocates no promise.
   * `lateness` (µs the probe leaves after its scheduled slot, 0 by default) is carried into the outcome's timing.
   */
  send(target: ProbeTarget, seq: number, done: OutcomeCallback, lateness?: number): void;
  /**
   * Sends probe `index` of a sweep (a census pass) to `target`, with `index` as its seq: as {@link send} with the
   * sweep's `done`, but while it is in flight it is a slot of the sweep's arrays, not an object (sweep-flight.ts).
   * All of a sweep's probes go through one prober, with the sweep's timeout.
   */
  sweep(flight: SweepFlight, index: number, target: ProbeTarget): void;
  /** {@link send} as a promise: resolves with the outcome, never rejects. */
  probe(target: ProbeTarget, seq: number): Promise<ProbeOutcome>;
}

/** The outcome of a probe that never left: nothing answered, nothing timed; `detail` says why. */
export function unsentOutcome(
  fields: Pick<ProbeOutcome, 'rtime' | 'target' | 'protocol' | 'rseq'>,
  detail?: string,
): ProbeOutcome {
  const outcome: ProbeOutcome = {
    ...fields,
    address: null,
    rtt: null,
    rtype: null,
    rcode: null,
    rid: 0,
    datamatch: null,
    status: 'error',
    ttl: null,
  };
  if (detail !== undefined) outcome.detail = detail;
  return outcome;
}
