/**
 * The demux table of one prober: probes in flight keyed by (target address, 16-bit seq), each with the check
 * value that proves an answer is for this probe and not for one sent 65,536 sequence numbers earlier (the send
 * time carried in the payload, or the random half of a TCP sequence number). Each probe has its own deadline;
 * whatever settles first — answer, timeout, send failure — removes it.
 */
import type { Protocol } from '../../contract/index.js';
import { micros, wallNanos } from './clock.js';
import type { ProbeOutcome } from './types.js';

const NEVER = 2n ** 63n;

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
  deadline = NEVER;

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

  // Object literals written out in full (no spread): these run once per probe, tens of thousands a second.
  answered(a: Answer): ProbeOutcome {
    return {
      rtime: wallNanos(this.sentAt),
      target: this.target,
      protocol: this.protocol,
      rid: this.rid,
      rseq: this.seq,
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
      rtime: wallNanos(this.sentAt === 0n ? process.hrtime.bigint() : this.sentAt),
      target: this.target,
      protocol: this.protocol,
      rid: this.rid,
      rseq: this.seq,
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

/** Probes sent with one timeout value, in send order: their deadlines only grow, so a FIFO keeps them sorted. */
interface DeadlineQueue {
  timeoutNs: bigint;
  items: (InFlight | undefined)[];
  head: number;
}

/**
 * The probes in flight of one prober, with their deadlines. One timer per table, not one per probe (a Node
 * timer costs microseconds to set and clear, too much at tens of thousands of probes a second): probes wait in
 * a FIFO per timeout value, and the timer wakes for the earliest deadline.
 */
export class InFlightTable {
  readonly #byKey = new Map<string, InFlight>();
  readonly #queues = new Map<number, DeadlineQueue>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = NEVER;

  /** Demux key of a probe: the address it went to (as the answer will name it) and its seq. */
  static key(target: string, seq: number): string {
    return `${target}#${seq}`;
  }

  get size(): number {
    return this.#byKey.size;
  }

  get(key: string): InFlight | undefined {
    return this.#byKey.get(key);
  }

  /**
   * Whether a probe with `key` is still in flight. One whose deadline has passed while the timer has not fired
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
    entry.resolve(entry.timedOut());
  }

  /**
   * Registers a probe about to be sent. The caller checks {@link occupied} first, with no `await` in between:
   * a key is never overwritten, since the probe holding it would then never settle.
   */
  add(entry: InFlight): void {
    if (this.#byKey.has(entry.key)) throw new Error(`[probes] bug: ${entry.key} added twice`);
    this.#byKey.set(entry.key, entry);
  }

  /** Starts the probe's deadline once it is sent: `timeoutMs` after `entry.sentAt` it settles as a timeout. */
  arm(entry: InFlight, timeoutMs: number): void {
    let queue = this.#queues.get(timeoutMs);
    if (!queue) {
      queue = { timeoutNs: BigInt(timeoutMs) * 1_000_000n, items: [], head: 0 };
      this.#queues.set(timeoutMs, queue);
    }
    entry.deadline = entry.sentAt + queue.timeoutNs;
    queue.items.push(entry);
    if (entry.deadline < this.#timerAt) this.#schedule(entry.deadline);
  }

  #schedule(at: bigint): void {
    clearTimeout(this.#timer);
    this.#timerAt = at;
    const ms = Math.ceil(Number(at - process.hrtime.bigint()) / 1e6);
    this.#timer = setTimeout(() => this.#sweep(), Math.max(1, ms));
  }

  /** Times out every probe past its deadline, then sleeps until the next deadline. */
  #sweep(): void {
    this.#timer = undefined;
    this.#timerAt = NEVER;
    const now = process.hrtime.bigint();
    let next = NEVER;
    for (const [timeoutMs, queue] of this.#queues) {
      const { items } = queue;
      while (queue.head < items.length) {
        const entry = items[queue.head]!;
        if (entry.deadline > now) {
          if (entry.deadline < next) next = entry.deadline;
          break;
        }
        items[queue.head++] = undefined;
        if (this.#byKey.get(entry.key) === entry) this.#expire(entry);
      }
      if (queue.head === items.length) {
        this.#queues.delete(timeoutMs);
      } else if (queue.head > 4096 && queue.head * 2 > items.length) {
        queue.items = items.slice(queue.head);
        queue.head = 0;
      }
    }
    if (next !== NEVER) this.#schedule(next);
  }

  /**
   * Settles a probe with an answer and removes it. An answer received after the deadline (the timer was late)
   * is a timeout all the same: the outcome must not depend on how busy the loop was.
   */
  settle(entry: InFlight, answer: Answer): void {
    if (this.#byKey.get(entry.key) !== entry) return;
    if (answer.receivedAt > entry.deadline) {
      this.#expire(entry);
      return;
    }
    this.#byKey.delete(entry.key);
    entry.resolve(entry.answered(answer));
  }

  /** Settles a probe whose send failed and removes it. */
  fail(entry: InFlight, detail: string): void {
    if (this.#byKey.get(entry.key) !== entry) return;
    this.#byKey.delete(entry.key);
    entry.resolve(entry.failed(detail));
  }

  /** Every probe in flight, oldest first (for matching answers that carry no seq). */
  values(): IterableIterator<InFlight> {
    return this.#byKey.values();
  }

  /** Settles everything still in flight as failed and stops the timer (engine closing). */
  failAll(detail: string): void {
    for (const entry of [...this.#byKey.values()]) this.fail(entry, detail);
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = NEVER;
    this.#queues.clear();
  }
}
