/**
 * The probes in flight of one sweep (a census pass), kept in typed arrays indexed by the probe's place in the
 * sweep rather than as an {@link InFlight} object per probe.
 *
 * Why: a census pass at 5,000 probes a second with a 1 s timeout has ~5,000 probes in flight at any time, nearly
 * all to addresses that never answer. As objects (the entry, its BigInt send time, deadline and check, the
 * address string) each one lived through one or two young-generation collections and was copied each time: the
 * scavenges of the agent's heap went from under 1 ms to 3–10 ms during a sweep, and every ordinary probe due in
 * one of them left late (the lab's lateness test, BENCHMARKS.md). Here a probe in flight is a few array slots; what
 * a send allocates (the target, its address string, the callback) is garbage by the end of the send, which a
 * scavenge does not copy. An object is made only for a probe that settles — an answer, a timeout, a failure — and
 * only for as long as its outcome is handed on.
 *
 * A sweep's probe number `index` (0 ≤ index < count ≤ 65,536) is its seq, so an answer's seq names its slot; the
 * slot's address, check value (the payload's send time, or TCP's nonce) and state prove the answer is for this
 * very send. A slot holds one probe at a time: a sweep sends an index again only after its last send settled
 * (the next round of a pass). The sweep is registered with the table of the prober that sends it
 * ({@link InFlightTable.attach}), whose lookups fall back to it; its deadlines, all the same length, wait in one
 * FIFO of slot numbers with one timer.
 */
import type { Protocol } from '../../contract/index.js';
import { InFlight, type InFlightTable, type TxStampSource } from './in-flight.js';
import type { TxStamped } from './raw-channel.js';
import type { OutcomeCallback } from './types.js';

/** A slot's state: free, handed to the socket (no send time yet), sent with its deadline running. */
const FREE = 0;
const SENDING = 1;
const SENT = 2;

export interface SweepFlightOptions {
  protocol: Protocol;
  /** Probes of the sweep: indexes 0 ≤ i < count; at most 65,536 (an index is a 16-bit seq). */
  count: number;
  /** Milliseconds each probe waits for an answer (one value for the whole sweep). */
  timeoutMs: number;
  /** The destination port of every probe (udp, tcp); null for icmp. */
  port: number | null;
  /** Probe `i`'s address in canonical form, as answers name it. */
  address(i: number): string;
  /** The index of a canonical address, or -1 when the sweep has none such (an answer to no probe of it). */
  indexOf(address: string): number;
  /** Every probe's outcome, exactly once: as {@link Prober.send}'s `done` (timeouts: see {@link timedOut}). */
  done: OutcomeCallback;
  /**
   * When given, a probe that times out is reported here by its index instead of as an outcome through `done`: a
   * census only counts its silent addresses, and most of a prefix is silent — no object is made for them at all.
   */
  timedOut?(index: number): void;
}

/** See the module comment. */
export class SweepFlight implements TxStamped {
  readonly protocol: Protocol;
  readonly count: number;
  readonly timeoutMs: number;
  readonly port: number | null;
  readonly done: OutcomeCallback;
  readonly #o: SweepFlightOptions;
  readonly #timeoutNs: bigint;
  readonly #state: Uint8Array;
  /** Monotonic ns just before `sendto`. */
  readonly #sentAt: BigInt64Array;
  /** The check value the answer must carry (payload send time; TCP nonce). */
  readonly #check: BigInt64Array;
  /** The kernel's transmit stamp, wall-clock ns as raw-channel.ts gives them; 0 until read. */
  readonly #txReal: Float64Array;
  /** Slot numbers in send order, from {@link #head} to {@link #tail} (a slot answered early stays until swept). */
  #fifo: Int32Array;
  #head = 0;
  #tail = 0;
  /** Absolute FIFO position of `#fifo[0]` (positions count every push since the sweep began). */
  #base = 0;
  /** Each slot's absolute FIFO position for its current send: an older place of the slot is stale. */
  readonly #queuedAt: Float64Array;
  /** Probes handed to the socket and not settled. */
  #live = 0;
  /** The `rid` of the sweep's outcomes (the prober's ICMP id or source port), from its sends. */
  #rid = 0;
  /** What an echo must return after the probe header (InFlight.sent), from its sends; null when nothing is. */
  #sent: Uint8Array | null = null;
  #table: InFlightTable | undefined;
  #txSource: TxStampSource | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: SweepFlightOptions) {
    if (!(Number.isInteger(options.count) && options.count >= 0 && options.count <= 0x10000)) {
      throw new RangeError(`[probes] a sweep has 0–65,536 probes, got ${options.count}`);
    }
    this.#o = options;
    this.protocol = options.protocol;
    this.count = options.count;
    this.timeoutMs = options.timeoutMs;
    this.port = options.port;
    this.done = options.done;
    this.#timeoutNs = BigInt(options.timeoutMs) * 1_000_000n;
    this.#state = new Uint8Array(options.count);
    this.#sentAt = new BigInt64Array(options.count);
    this.#check = new BigInt64Array(options.count);
    this.#txReal = new Float64Array(options.count);
    this.#queuedAt = new Float64Array(options.count);
    this.#fifo = new Int32Array(Math.min(Math.max(options.count, 16), 4096));
  }

  /** Probes in flight now. */
  get size(): number {
    return this.#live;
  }

  /**
   * Probe `index` is about to go out through a prober whose table is `table` (the sweep registers with it on the
   * first send), with `check` in it, `rid` as its outcome's and `sent` the data an echo returns (null when the
   * protocol echoes none). Throws when the slot still holds a probe: a caller bug that would make two sends
   * answer to one slot.
   */
  launching(
    table: InFlightTable,
    index: number,
    check: bigint | number,
    rid: number,
    sent: Uint8Array | null,
  ): void {
    if (this.#state[index] !== FREE) {
      throw new Error(`[probes] bug: sweep probe ${index} sent again while in flight`);
    }
    if (this.#table !== undefined && this.#table !== table) {
      throw new Error('[probes] bug: one sweep sent through two probers');
    }
    if (this.#table === undefined || this.#closed) {
      // The first send, or one after close() (the engine closed under the sweep): answers are looked for again.
      this.#table = table;
      this.#closed = false;
      table.attach(this);
    }
    this.#rid = rid;
    this.#sent = sent;
    this.#state[index] = SENDING;
    this.#check[index] = typeof check === 'bigint' ? check : BigInt(check);
    this.#sentAt[index] = 0n;
    this.#txReal[index] = 0;
    this.#live++;
  }

  /** The socket took probe `index` at monotonic `sentAt` (or failed: `error`); its deadline starts now. */
  sent(index: number, error: Error | null, sentAt: bigint, txSource: TxStampSource | undefined): void {
    if (this.#state[index] !== SENDING) return; // settled while it waited for room (engine closing)
    if (error !== null) {
      this.done(this.#settle(index).failed(error.message));
      return;
    }
    this.#txSource = txSource;
    this.#sentAt[index] = sentAt;
    this.#state[index] = SENT;
    this.#push(index);
    if (this.#timer === undefined) this.#arm();
  }

  /** A transmit stamp for probe `tag` (raw-channel.ts). */
  txStamped(real: number, tag: number): void {
    if (tag >= 0 && tag < this.count && this.#state[tag] !== FREE) this.#txReal[tag] = real;
  }

  /**
   * The probe in flight to `target` with `seq` and check value `check`, as a settling {@link InFlight}, or
   * undefined. Without `check` (an answer that carries none), the probe sent with that seq to that target.
   */
  find(target: string, seq: number, check?: bigint | number): InFlight | undefined {
    if (seq >= this.count || this.#state[seq] === FREE) return undefined;
    if (check !== undefined && this.#check[seq] !== (typeof check === 'bigint' ? check : BigInt(check))) {
      return undefined;
    }
    if (check === undefined && this.#state[seq] !== SENT) return undefined;
    return this.#o.address(seq) === target ? this.#entry(seq, true, target) : undefined;
  }

  /** The probe in flight to `target` and `port` (an answer that names no seq: UDP without our payload). */
  findByPort(target: string, port: number): InFlight | undefined {
    if (port !== this.port) return undefined;
    const index = this.#o.indexOf(target);
    return index >= 0 && this.#state[index] === SENT ? this.#entry(index, true, target) : undefined;
  }

  /**
   * A settling entry for slot `index`: the table settles it, and {@link release} frees the slot. For an answer
   * (`answered`), a transmit stamp not yet read is read first, as the table does for its own entries; it lands in
   * the slot. A timeout or failure needs none: a system call per timed-out probe would be most of a sweep's cost.
   */
  #entry(index: number, answered: boolean, address = this.#o.address(index)): InFlight {
    if (answered && this.#txReal[index] === 0 && this.#txSource !== undefined) this.#txSource.pollTxStamps();
    const entry = new InFlight(
      0,
      this.protocol,
      address,
      this.port,
      index,
      this.#rid,
      this.#check[index]!,
      this.#sent,
      this.done,
    );
    entry.sentAt = this.#sentAt[index]!;
    entry.deadline = entry.sentAt === 0n ? 2n ** 63n : entry.sentAt + this.#timeoutNs;
    entry.txReal = this.#txReal[index]!;
    entry.live = true;
    entry.flight = this;
    return entry;
  }

  /** The table settled `entry` (one of {@link #entry}'s): its slot is free again. */
  release(entry: InFlight): void {
    if (this.#state[entry.seq] === FREE || this.#check[entry.seq] !== BigInt(entry.check)) return;
    this.#free(entry.seq);
  }

  /** Settles every probe in flight as failed (the engine is closing) and detaches. */
  failAll(detail: string): void {
    for (let i = 0; i < this.count && this.#live > 0; i++) {
      if (this.#state[i] !== FREE) this.done(this.#settle(i).failed(detail));
    }
    this.close();
  }

  /**
   * Detaches from the prober's table and stops the timer: probes still in flight are no longer answered nor timed
   * out (a send after this attaches again).
   */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#table?.detach(this);
  }

  /** Frees slot `index` and returns an entry to build its outcome from. */
  #settle(index: number): InFlight {
    const entry = this.#entry(index, false);
    entry.live = false;
    this.#free(index);
    return entry;
  }

  #free(index: number): void {
    this.#state[index] = FREE;
    this.#live--;
  }

  #push(index: number): void {
    if (this.#tail === this.#fifo.length) {
      // Full at the end: slide the live part down, into an array twice as long when it fills more than half.
      const used = this.#tail - this.#head;
      if (used * 2 > this.#fifo.length) {
        const grown = new Int32Array(this.#fifo.length * 2);
        grown.set(this.#fifo.subarray(this.#head, this.#tail));
        this.#fifo = grown;
      } else {
        this.#fifo.copyWithin(0, this.#head, this.#tail);
      }
      this.#base += this.#head;
      this.#head = 0;
      this.#tail = used;
    }
    this.#queuedAt[index] = this.#base + this.#tail;
    this.#fifo[this.#tail++] = index;
  }

  /**
   * Times out the probes past their deadline, oldest first, then sleeps until the next one. Slots answered since
   * they were queued are dropped from the front on the way, and so is the older place of a slot queued twice
   * (answered, then sent again in a later round: {@link #queuedAt} names its current place).
   */
  readonly #sweep = (): void => {
    this.#timer = undefined;
    const now = process.hrtime.bigint();
    while (this.#dropSettledFront()) {
      const index = this.#fifo[this.#head]!;
      if (this.#sentAt[index]! + this.#timeoutNs > now) break;
      this.#head++;
      if (this.#o.timedOut === undefined) this.done(this.#settle(index).timedOut());
      else {
        this.#free(index);
        this.#o.timedOut(index);
      }
    }
    this.#arm();
  };

  /** Drops settled and stale slots from the FIFO's front; false when it is empty. */
  #dropSettledFront(): boolean {
    while (this.#head < this.#tail) {
      const index = this.#fifo[this.#head]!;
      if (this.#state[index] === SENT && this.#queuedAt[index] === this.#base + this.#head) return true;
      this.#head++;
    }
    this.#base += this.#head;
    this.#head = 0;
    this.#tail = 0;
    return false;
  }

  #arm(): void {
    if (this.#closed || this.#timer !== undefined || !this.#dropSettledFront()) return;
    const due = this.#sentAt[this.#fifo[this.#head]!]! + this.#timeoutNs;
    const ms = Math.ceil(Number(due - process.hrtime.bigint()) / 1e6);
    this.#timer = setTimeout(this.#sweep, Math.max(1, ms));
  }
}
