/**
 * The demux table of one prober: probes in flight bucketed by (target address, 16-bit seq), and told apart within
 * a bucket by a check value that every answer carries back — the send time written into the probe payload
 * (echoed by ICMP and UDP replies, quoted by ICMP errors) or the random high half of a TCP sequence number
 * (acknowledged by SYN-ACK and RST, quoted by ICMP errors).
 *
 * A bucket holds several probes at once, on purpose: a user may have several destinations to one address and
 * protocol (different data, TTL, port, interval) whose seqs, all counted from 0, advance in step; and one
 * destination whose timeout spans 65,536 intervals has two sends of one seq in flight. Keying by the check value
 * instead of a per-destination id keeps the prober stateless about destinations, and the check is needed anyway
 * to refuse a late answer to an earlier send of the same seq. The table hands out check values that are unique
 * per bucket ({@link InFlightTable.stamp} for send times; TCP draws nonces until one is free).
 *
 * A bucket is a singly linked list through the entries themselves (almost always one long), so the common case
 * costs no array. Each probe has its own deadline; whatever settles first — answer, timeout, send failure —
 * removes it.
 */
import type { Protocol } from '../../contract/index.js';
import { micros, wallNanos } from './clock.js';
import { IntMap } from './int-map.js';
import type { SweepFlight } from './sweep-flight.js';
import type { OutcomeCallback, ProbeOutcome } from './types.js';

const NEVER = 2n ** 63n;
/**
 * How far (µs) an RTT between two kernel stamps (wall clock) may lie from the same RTT on the monotonic clock (the
 * process's send time to the arrival) and still be taken. The kernel's send is after the process's, by its send
 * path (µs, ms when preempted); more than this either way is a wall-clock step between the two stamps, which
 * would move the RTT by the step: then the monotonic RTT stands.
 */
const CLOCK_STEP_US = 100_000;

/** Where a probe's transmit stamp may be read from when its answer comes first (the channel it left by). */
export interface TxStampSource {
  readonly txTimestamps: 'kernel' | 'process';
  pollTxStamps(): void;
}

/** How an answer settles a probe (the parts the answer knows). */
export interface Answer {
  status: 'reply' | 'ttl-exceeded' | 'unreachable' | 'reset';
  /** Who answered. */
  address: string;
  receivedAt: bigint;
  /** The kernel's stamp of the arrival, wall-clock ns as the addon gives them; 0 when the process timed it. */
  receivedReal: number;
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
  /** The next (younger) probe of the same bucket. */
  next: InFlight | undefined = undefined;
  /** The next (younger) probe of the same group in a prober's own index (UDP: by target and port). */
  nextInIndex: InFlight | undefined = undefined;
  /** In the table: not yet settled. */
  live = false;
  /** The deadline queue holding this probe, and its absolute position there (see {@link InFlightTable.arm}). */
  queue: DeadlineQueue | undefined = undefined;
  slot = 0;
  /** The kernel's transmit stamp, wall-clock ns as the addon gives them (see raw-channel.ts); 0 until read. */
  txReal = 0;
  /** The channel the probe left by, when it gives transmit stamps. */
  txSource: TxStampSource | undefined = undefined;
  /** Microseconds the probe left after its scheduled slot, as the caller of `send` measured it. */
  lateness = 0;
  /** The sweep whose slot this probe is, when it is one (sweep-flight.ts): made only to settle, never tabled. */
  flight: SweepFlight | undefined = undefined;

  constructor(
    /** Its bucket, {@link InFlightTable.key}. */
    readonly key: number,
    readonly protocol: Protocol,
    readonly target: string,
    readonly port: number | null,
    readonly seq: number,
    readonly rid: number,
    /** Proves an answer belongs to this probe (payload send time, TCP nonce). */
    readonly check: bigint | number,
    /**
     * The destination's data, which an echo must return unchanged after the probe header (see `echoesData`),
     * for `datamatch`; null when nothing is echoed.
     */
    readonly sent: Uint8Array | null,
    /** Receives the outcome; the table calls it once, when the probe leaves it (see {@link InFlight.live}). */
    readonly done: OutcomeCallback,
  ) {}

  /** Its kernel transmit stamp (raw-channel.ts). */
  txStamped(real: number): void {
    this.txReal = real;
  }

  // Object literals written out in full (no spread): these run once per probe, tens of thousands a second.
  answered(a: Answer): ProbeOutcome {
    // Between two kernel stamps when both are there and agree with the monotonic clock (see CLOCK_STEP_NS);
    // else from the process's send time, as every probe was timed before transmit stamps.
    let rtt = micros(this.sentAt, a.receivedAt);
    let send: 'kernel' | 'process' = 'process';
    if (this.txReal !== 0 && a.receivedReal !== 0) {
      // Numbers, not BigInts (see raw-channel.ts): whole ns, exact as doubles, so the µs keep their ns fraction.
      const kernel = (a.receivedReal - this.txReal) / 1000;
      if (kernel > 0 && Math.abs(kernel - rtt) < CLOCK_STEP_US) {
        rtt = kernel;
        send = 'kernel';
      }
    }
    return {
      rtime: wallNanos(this.sentAt),
      target: this.target,
      protocol: this.protocol,
      rid: this.rid,
      rseq: this.seq,
      address: a.address,
      rtt,
      rtype: a.rtype,
      rcode: a.rcode,
      datamatch: a.datamatch,
      status: a.status,
      ttl: a.ttl,
      timing: {
        send,
        receive: a.receivedReal !== 0 ? 'kernel' : 'process',
        lateness: this.lateness,
      },
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
      timing: { send: this.txReal !== 0 ? 'kernel' : 'process', receive: null, lateness: this.lateness },
    };
  }

  failed(detail: string): ProbeOutcome {
    const o: ProbeOutcome = this.timedOut();
    o.status = 'error';
    o.detail = detail;
    // Nothing was timed: a probe that never left has no send time of either kind.
    delete o.timing;
    return o;
  }
}

/**
 * Probes sent with one timeout value, in send order: their deadlines only grow, so a FIFO keeps them sorted. A
 * probe that settles early leaves a hole (its item is cleared), so that the queue never keeps an answered probe —
 * and whatever its callback holds — alive until its deadline: at 10,000 probes a second with a 1 s
 * timeout, that kept ~10,000 answered probes reachable at any time, which survived the young generation's
 * collections and filled the old space by several MB a second.
 */
interface DeadlineQueue {
  timeoutNs: bigint;
  items: (InFlight | undefined)[];
  /** Index in `items` of the oldest item still to sweep. */
  head: number;
  /** Absolute position of `items[0]` (items before it were swept and cut off). */
  base: number;
}

/**
 * The probes in flight of one prober, with their deadlines. One timer per table, not one per probe (a Node
 * timer costs microseconds to set and clear, too much at tens of thousands of probes a second): probes wait in
 * a FIFO per timeout value, and the timer wakes for the earliest deadline.
 */
export class InFlightTable {
  /** Oldest probe of each bucket; younger ones hang off {@link InFlight.next}. Not a Map: see int-map.ts. */
  readonly #buckets = new IntMap<InFlight>();
  readonly #queues = new Map<number, DeadlineQueue>();
  readonly #onRemove: ((entry: InFlight) => void) | undefined;
  /** Sweeps sending through this table's prober (sweep-flight.ts): lookups that miss here fall back to them. */
  readonly #flights: SweepFlight[] = [];
  #size = 0;
  #lastStamp = 0n;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = NEVER;

  /** `onRemove` runs whenever a probe leaves the table (for a prober's own secondary index). */
  constructor(onRemove?: (entry: InFlight) => void) {
    this.#onRemove = onRemove;
  }

  /**
   * Bucket of a probe: a 31-bit hash of the address it went to (as the answer will name it) and its seq. An
   * integer, not a `target#seq` string, for the table's sake (see int-map.ts); probes of other (target, seq)
   * pairs may share a bucket, so lookups compare both.
   */
  static key(target: string, seq: number): number {
    return InFlightTable.keyOf(InFlightTable.addressHash(target), seq);
  }

  /** The address's part of {@link key}, which a sender may keep per target (FNV-1a over its characters). */
  static addressHash(target: string): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < target.length; i++) {
      h ^= target.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    return h;
  }

  /** {@link key} from the address's {@link addressHash}: the seq folded in. */
  static keyOf(addressHash: number, seq: number): number {
    return Math.imul(addressHash ^ seq, 0x01000193) >>> 1;
  }

  get size(): number {
    return this.#size;
  }

  /** A sweep starts sending through this table's prober: its probes are found by {@link find} and {@link oldest}. */
  attach(flight: SweepFlight): void {
    if (!this.#flights.includes(flight)) this.#flights.push(flight);
  }

  /** The sweep is over (or stopped waiting): its probes are no longer found. */
  detach(flight: SweepFlight): void {
    const i = this.#flights.indexOf(flight);
    if (i >= 0) this.#flights.splice(i, 1);
  }

  /**
   * A monotonic clock reading (ns) that this table never handed out before: the send time written into a
   * payload, unique so that it tells apart probes of one bucket even when two are stamped within a tick.
   */
  stamp(): bigint {
    let now = process.hrtime.bigint();
    if (now <= this.#lastStamp) now = this.#lastStamp + 1n;
    this.#lastStamp = now;
    return now;
  }

  /**
   * The probe in flight to `target` with `seq` whose check value is `check`, if any. `key` is their
   * {@link InFlightTable.key}, when the caller has it already.
   */
  find(
    target: string,
    seq: number,
    check: bigint | number,
    key = InFlightTable.key(target, seq),
  ): InFlight | undefined {
    for (let e = this.#buckets.get(key); e !== undefined; e = e.next) {
      if (e.check === check && e.seq === seq && e.target === target) return e;
    }
    for (const flight of this.#flights) {
      const e = flight.find(target, seq, check);
      if (e !== undefined) return e;
    }
    return undefined;
  }

  /**
   * The oldest probe sent to `target` with `seq` (for answers that carry no check value, e.g. an 8-byte quote).
   * One still waiting for room in the socket is not sent: no answer can be about it.
   */
  oldest(target: string, seq: number): InFlight | undefined {
    for (let e = this.#buckets.get(InFlightTable.key(target, seq)); e !== undefined; e = e.next) {
      if (e.seq === seq && e.target === target && e.sentAt !== 0n) return e;
    }
    for (const flight of this.#flights) {
      const e = flight.find(target, seq);
      if (e !== undefined) return e;
    }
    return undefined;
  }

  /** A sweep's probe in flight to `target` and `port`, for an answer that names no seq (UDP without our payload). */
  sweptTo(target: string, port: number): InFlight | undefined {
    for (const flight of this.#flights) {
      const e = flight.findByPort(target, port);
      if (e !== undefined) return e;
    }
    return undefined;
  }

  /** Registers a probe about to be sent; its check value must be unique in its bucket (see the module comment). */
  add(entry: InFlight): void {
    if (entry.live) throw new Error(`[probes] bug: ${entry.key} added twice`);
    entry.live = true;
    this.#size++;
    const head = this.#buckets.get(entry.key);
    if (head === undefined) {
      this.#buckets.set(entry.key, entry);
      return;
    }
    let tail = head;
    while (tail.next !== undefined) tail = tail.next;
    tail.next = entry;
  }

  #remove(entry: InFlight): void {
    entry.live = false;
    if (entry.flight !== undefined) {
      entry.flight.release(entry);
      return;
    }
    this.#size--;
    const head = this.#buckets.get(entry.key);
    if (head === entry) {
      if (entry.next === undefined) this.#buckets.delete(entry.key);
      else this.#buckets.set(entry.key, entry.next);
    } else {
      let prev = head;
      while (prev !== undefined && prev.next !== entry) prev = prev.next;
      if (prev !== undefined) prev.next = entry.next;
    }
    entry.next = undefined;
    const queue = entry.queue;
    if (queue !== undefined) {
      queue.items[entry.slot - queue.base] = undefined;
      entry.queue = undefined;
    }
    this.#onRemove?.(entry);
  }

  #expire(entry: InFlight): void {
    // `done` runs synchronously: one that closes the engine mid-sweep fails the rest of the queue (failAll)
    // before the sweep reaches them.
    if (!entry.live) return;
    this.#remove(entry);
    entry.done(entry.timedOut());
  }

  /** Starts the probe's deadline once it is sent: `timeoutMs` after `entry.sentAt` it settles as a timeout. */
  arm(entry: InFlight, timeoutMs: number): void {
    // Settled while its packet waited for room in the socket (engine closing, an error matched by seq alone):
    // queued, the sweep would remove it a second time.
    if (!entry.live) return;
    let queue = this.#queues.get(timeoutMs);
    if (!queue) {
      queue = { timeoutNs: BigInt(timeoutMs) * 1_000_000n, items: [], head: 0, base: 0 };
      this.#queues.set(timeoutMs, queue);
    }
    entry.deadline = entry.sentAt + queue.timeoutNs;
    entry.queue = queue;
    entry.slot = queue.base + queue.items.length;
    queue.items.push(entry);
    if (entry.deadline < this.#timerAt) this.#schedule(entry.deadline);
  }

  #schedule(at: bigint): void {
    clearTimeout(this.#timer);
    this.#timerAt = at;
    const ms = Math.ceil(Number(at - process.hrtime.bigint()) / 1e6);
    this.#timer = setTimeout(this.#sweep, Math.max(1, ms));
  }

  /** Times out every probe past its deadline, then sleeps until the next deadline. */
  readonly #sweep = (): void => {
    this.#timer = undefined;
    this.#timerAt = NEVER;
    const now = process.hrtime.bigint();
    let next = NEVER;
    for (const [timeoutMs, queue] of this.#queues) {
      const { items } = queue;
      while (queue.head < items.length) {
        const entry = items[queue.head];
        if (entry === undefined) {
          queue.head++; // settled before its deadline
          continue;
        }
        if (entry.deadline > now) {
          if (entry.deadline < next) next = entry.deadline;
          break;
        }
        queue.head++;
        this.#expire(entry);
      }
      if (queue.head === items.length) {
        this.#queues.delete(timeoutMs);
      } else if (queue.head > 4096 && queue.head * 2 > items.length) {
        queue.items = items.slice(queue.head);
        queue.base += queue.head;
        queue.head = 0;
      }
    }
    if (next !== NEVER) this.#schedule(next);
  };

  /**
   * Settles a probe with an answer and removes it. An answer received after the deadline (the timer was late)
   * is a timeout all the same: the outcome must not depend on how busy the loop was.
   */
  settle(entry: InFlight, answer: Answer): void {
    if (!entry.live) return;
    // The answer came before its probe's transmit stamp was read (both in one wake-up, the answer's socket
    // first): read the stamps now, once. One still missing has not come in time; the send time is the process's.
    if (entry.txReal === 0 && entry.txSource !== undefined) entry.txSource.pollTxStamps();
    // Kernel stamps are wall-clock times moved onto the monotonic clock (raw-channel.ts): a wall-clock step while
    // the reply waited can put one before its own send. Then the time it is handled is the bound left; an RTT is
    // never negative.
    if (answer.receivedAt <= entry.sentAt) answer.receivedAt = process.hrtime.bigint();
    if (answer.receivedAt > entry.deadline) {
      this.#expire(entry);
      return;
    }
    this.#remove(entry);
    entry.done(entry.answered(answer));
  }

  /** Settles a probe whose send failed and removes it. */
  fail(entry: InFlight, detail: string): void {
    if (!entry.live) return;
    this.#remove(entry);
    entry.done(entry.failed(detail));
  }

  /** Settles everything still in flight as failed and stops the timer (engine closing). */
  failAll(detail: string): void {
    const all: InFlight[] = [];
    for (const head of this.#buckets.values())
      for (let e: InFlight | undefined = head; e; e = e.next) all.push(e);
    for (const entry of all) this.fail(entry, detail);
    for (const flight of [...this.#flights]) flight.failAll(detail);
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = NEVER;
    this.#queues.clear();
  }
}
