/**
 * The demux table of one prober: probes in flight keyed by (target address, 16-bit seq), each with the check
 * value that proves an answer is for this probe and not for one sent 65,536 sequence numbers earlier (the send
 * time carried in the payload, or the random half of a TCP sequence number). Each probe has its own deadline;
 * whatever settles first — answer, timeout, send failure — removes it.
 */
import type { Protocol } from '../../contract/index.js';
import { micros, wallNanos } from './clock.js';
import type { ProbeOutcome } from './types.js';

/** How an answer settles a probe (the parts the answer knows). */
export interface Answer {
  status: 'reply' | 'ttl-exceeded' | 'unreachable' | 'reset';
  /** Who answered. */
  address: string;
  receivedAt: bigint;
  rtype: number | null;
  rcode: number | null;
  datamatch: boolean | null;
  ttl: number | null;
}

/** One probe in flight. */
export class InFlight {
  /** Monotonic time just before `sendto`; 0 until sent. */
  sentAt = 0n;
  /** Monotonic time after which no answer counts; set when sent. */
  deadline = BigInt(Number.MAX_SAFE_INTEGER) * 1_000_000n;
  timer: NodeJS.Timeout | undefined;

  constructor(
    readonly key: string,
    readonly protocol: Protocol,
    readonly target: string,
    readonly port: number | null,
    readonly seq: number,
    readonly rid: number,
    /** Proves an answer belongs to this probe (payload send time, TCP nonce). */
    readonly check: bigint | number,
    /** The payload an echo must return unchanged, for `datamatch`; null when nothing is echoed. */
    readonly sent: Uint8Array | null,
    readonly resolve: (outcome: ProbeOutcome) => void,
  ) {}

  #base(): Pick<ProbeOutcome, 'rtime' | 'target' | 'protocol' | 'rid' | 'rseq'> {
    return {
      rtime: wallNanos(this.sentAt === 0n ? process.hrtime.bigint() : this.sentAt),
      target: this.target,
      protocol: this.protocol,
      rid: this.rid,
      rseq: this.seq,
    };
  }

  answered(a: Answer): ProbeOutcome {
    return {
      ...this.#base(),
      address: a.address,
      rtt: micros(this.sentAt, a.receivedAt),
      rtype: a.rtype,
      rcode: a.rcode,
      datamatch: a.datamatch,
      status: a.status,
      ttl: a.ttl,
    };
  }

  timedOut(): ProbeOutcome {
    return {
      ...this.#base(),
      address: null,
      rtt: null,
      rtype: null,
      rcode: null,
      datamatch: null,
      status: 'timeout',
      ttl: null,
    };
  }

  failed(detail: string): ProbeOutcome {
    return { ...this.timedOut(), status: 'error', detail };
  }
}

/** The probes in flight of one prober. */
export class InFlightTable {
  readonly #byKey = new Map<string, InFlight>();

  /** Demux key of a probe: the address it went to (as the answer will name it) and its seq. */
  static key(target: string, seq: number): string {
    return `${target}#${seq}`;
  }

  get size(): number {
    return this.#byKey.size;
  }

  /**
   * Whether a probe with `key` is still in flight. One whose deadline has passed while its timer has not fired
   * yet (a busy loop runs timers late) settles as a timeout here, so that its seq can be sent again.
   */
  occupied(key: string): boolean {
    const entry = this.#byKey.get(key);
    if (entry === undefined) return false;
    if (process.hrtime.bigint() <= entry.deadline) return true;
    this.#expire(entry);
    return false;
  }

  #expire(entry: InFlight): void {
    this.#byKey.delete(entry.key);
    clearTimeout(entry.timer);
    entry.resolve(entry.timedOut());
  }

  get(key: string): InFlight | undefined {
    return this.#byKey.get(key);
  }

  /**
   * Registers a probe about to be sent. The caller checks {@link occupied} first, with no `await` in between:
   * a key is never overwritten, since the probe holding it would then never settle.
   */
  add(entry: InFlight): void {
    if (this.#byKey.has(entry.key)) throw new Error(`[probes] bug: ${entry.key} added twice`);
    this.#byKey.set(entry.key, entry);
  }

  /** Starts the probe's deadline once it is sent: after `timeoutMs` it settles as a timeout. */
  arm(entry: InFlight, timeoutMs: number): void {
    entry.deadline = entry.sentAt + BigInt(timeoutMs) * 1_000_000n;
    entry.timer = setTimeout(() => {
      if (this.#byKey.get(entry.key) === entry) this.#expire(entry);
    }, timeoutMs);
  }

  /**
   * Settles a probe with an answer and removes it. An answer received after the deadline (its timer was late)
   * is a timeout all the same: the outcome must not depend on how busy the loop was.
   */
  settle(entry: InFlight, answer: Answer): void {
    if (this.#byKey.get(entry.key) !== entry) return;
    if (answer.receivedAt > entry.deadline) {
      this.#expire(entry);
      return;
    }
    this.#byKey.delete(entry.key);
    clearTimeout(entry.timer);
    entry.resolve(entry.answered(answer));
  }

  /** Settles a probe whose send failed and removes it. */
  fail(entry: InFlight, detail: string): void {
    if (this.#byKey.get(entry.key) !== entry) return;
    this.#byKey.delete(entry.key);
    clearTimeout(entry.timer);
    entry.resolve(entry.failed(detail));
  }

  /** Every probe in flight, oldest first (for matching answers that carry no seq). */
  values(): IterableIterator<InFlight> {
    return this.#byKey.values();
  }

  /** Settles everything still in flight as failed (engine closing). */
  failAll(detail: string): void {
    for (const entry of [...this.#byKey.values()]) this.fail(entry, detail);
  }
}
