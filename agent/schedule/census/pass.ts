/**
 * One census pass: every address of a prefix probed once in a permuted order (permutation.ts), paced at `rate`
 * probes a second, then `retries` more rounds over the addresses that did not answer. The pass ends when its last
 * probe is settled. `pinger probe --sweep` and the agent's census scheduler both run passes through this.
 *
 * - **Pacing** is a credit that grows with the clock at `rate` and is spent a batch per wake-up of a 1 ms timer. The
 *   credit is capped at 20 ms worth: enough to keep the rate when the process is descheduled for a while (on a
 *   loaded machine a 1 ms timer often wakes 5–15 ms late; a 5 ms cap lost up to a third of the rate there), and
 *   small enough that a long stall never turns into a burst (400 probes at 20,000/s, spread over the prefix).
 * - **Sharing the budget**: with a {@link SpareBudget} (the agent's scheduler), each batch takes only the tokens the
 *   ordinary destinations leave (see `Scheduler.spare`), so their probes are not made late by a sweep; the pass
 *   runs slower instead.
 * - **Matching**: the seq of a probe is the index of its address (a prefix has at most 65,536), so one shared
 *   callback knows which address an outcome is about with no per-probe closure; the probers tell retries of one
 *   seq apart by their send time, and a round only ends once all its probes are settled anyway.
 * - **Garbage**: nothing a probe allocates outlives its send while it waits for an answer. Its target is prepared
 *   here (prepared-target.ts) with the address as the space gives it (already canonical), so the prober neither
 *   parses it nor adds it to its cache of canonical addresses (65,534 long-lived strings a pass, which the old
 *   generation then had to collect). In flight, a probe is a slot of the pass's {@link SweepFlight}, not an object:
 *   thousands of probes waiting out their timeout as objects made every young-generation collection copy them,
 *   pausing the loop for 3–10 ms while ordinary probes were due.
 * - **A slice** (`range`, a source's share of a split census) is a pass over those addresses alone: the permutation,
 *   the seqs and the counts are over the slice, and the record's `addresses` is its size.
 * - **Answered** means the probed address itself answered (an echo reply, a SYN-ACK or RST, or an ICMP error it
 *   sent itself — a closed UDP port); a router's error is not an answer. Answers are handed on as ordinary results;
 *   the rest is only counted.
 */
import type { Prefix, Protocol, ResultInput } from '../../../contract/index.js';
import { dataBytes } from '../../probes/data-bytes.js';
import { prepare } from '../../probes/prepared-target.js';
import { SweepFlight } from '../../probes/sweep-flight.js';
import type { OutcomeCallback, ProbeOutcome, Prober, ProbeTarget } from '../../probes/types.js';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import { type AddressSpace, addressSpace, sliceSpace } from './address-space.js';
import { Permutation } from './permutation.js';

/** Where a pass borrows tokens of a shared pps budget: returns how many of `n` it may send now. */
export interface SpareBudget {
  spare(n: number): number;
}

/** The probe fields of the census destination. */
export interface PassDestination {
  id: string;
  protocol: Protocol;
  port: number | null;
  ttl: number;
  timeout: number;
  data: string;
}

export interface PassOptions {
  destination: PassDestination;
  prefix: Prefix;
  /** Probes a second (> 0). */
  rate: number;
  /** Extra rounds over the addresses that did not answer (≥ 0). */
  retries: number;
  /**
   * Only the addresses with index `from` ≤ i < `to` (a source's slice of a split census); the whole prefix when
   * absent. Indexes as address-space.ts numbers them.
   */
  range?: { from: number; to: number };
  /** Sends the probes (the agent's engine prober for the protocol). */
  prober: Pick<Prober, 'sweep'>;
  /** The shared pps budget, when there is one; without it the pass is paced by `rate` alone. */
  budget?: SpareBudget;
  clock?: Clock;
  /** Picks the permuted order; a different seed per pass by default. */
  seed?: number;
  /** Each answer, as a result of the census destination. */
  onAnswer(result: ResultInput): void;
}

/** What a pass did; the agent adds its destination, prefix and skipped slots to make the pass record. */
export interface PassSummary {
  /** Wall clock at the first probe and once the last one settled, ns since the epoch. */
  start: bigint;
  end: bigint;
  addresses: number;
  probed: number;
  answered: number;
  retries: number;
  /** Probes that could not be sent (status error); their addresses count as unanswered. */
  errors: number;
  rate: number;
  /** The pass was stopped before it probed everything. */
  stopped: boolean;
  /** Every address that answered, with the RTT of its first answer (µs; null when the prober had none). */
  answers: [string, number | null][];
}

/** Largest credit, in ms of the rate: a late wake-up sends at most this much at once. */
const MAX_CREDIT_MS = 20;

/** A pass in progress: {@link done} settles with its summary; {@link stop} ends it early. */
export class RunningPass {
  readonly done: Promise<PassSummary>;
  readonly #o: PassOptions;
  readonly #clock: Clock;
  readonly #space: AddressSpace;
  readonly #order: Permutation;
  readonly #answeredAt: Uint8Array;
  /** RTT of each address's first answer; NaN for an answer without one. */
  readonly #rtt: Float64Array;
  readonly #maxCredit: number;
  readonly #family: 4 | 6;
  readonly #data: Uint8Array;
  readonly #flight: SweepFlight;
  #resolve!: (summary: PassSummary) => void;
  #round = 0;
  #cursor = 0;
  #credit = 0;
  #last = 0;
  #inflight = 0;
  #sending = false;
  #stopped = false;
  #finished = false;
  #timer: TimerHandle | undefined;
  #start = 0n;
  #probed = 0;
  #answered = 0;
  #retried = 0;
  #errors = 0;

  constructor(options: PassOptions) {
    if (!(options.rate > 0)) throw new RangeError(`[agent:census] rate must be > 0, got ${options.rate}`);
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    const whole = addressSpace(options.prefix);
    this.#space = options.range ? sliceSpace(whole, options.range.from, options.range.to) : whole;
    this.#order = new Permutation(
      Math.max(1, this.#space.count),
      options.seed ?? (Math.random() * 2 ** 32) >>> 0,
    );
    this.#answeredAt = new Uint8Array(this.#space.count);
    this.#rtt = new Float64Array(this.#space.count);
    this.#maxCredit = Math.max(1, (options.rate * MAX_CREDIT_MS) / 1000);
    this.#family = options.prefix.family;
    this.#data = dataBytes(options.destination.data);
    const d = options.destination;
    const space = this.#space;
    this.#flight = new SweepFlight({
      protocol: d.protocol,
      count: space.count,
      timeoutMs: d.timeout,
      port: d.port,
      address: (i) => space.at(i),
      indexOf: (address) => space.indexOf(address),
      done: this.#settle,
      timedOut: this.#timedOut,
    });
    this.done = new Promise((resolve) => {
      this.#resolve = resolve;
    });
    this.#last = this.#clock.now();
    this.#credit = 1;
    this.#start = this.#clock.wallNs();
    if (this.#space.count === 0) this.#finish();
    else this.#tick();
  }

  /** Stops sending; {@link done} settles once the probes in flight are settled. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    if (this.#inflight === 0) this.#finish();
  }

  /** Probes sent so far. */
  get probed(): number {
    return this.#probed;
  }

  readonly #tick = (): void => {
    this.#timer = undefined;
    if (this.#stopped) return;
    const now = this.#clock.now();
    this.#credit = Math.min(this.#maxCredit, this.#credit + ((now - this.#last) * this.#o.rate) / 1000);
    this.#last = now;
    let n = Math.floor(this.#credit);
    if (n > 0 && this.#o.budget) n = this.#o.budget.spare(n);
    this.#credit -= n;
    this.#sending = true;
    const count = this.#space.count;
    while (n > 0 && this.#cursor < count) {
      const index = this.#order.at(this.#cursor++);
      if (this.#round > 0 && this.#answeredAt[index] === 1) continue;
      n--;
      this.#send(index);
    }
    this.#sending = false;
    if (this.#cursor < count) this.#timer = this.#clock.setTimer(this.#tick, 1);
    else {
      // Tokens taken for addresses skipped at the end of a retry round are simply not spent.
      this.#credit = 0;
      if (this.#inflight === 0) this.#roundDone();
    }
  };

  #send(index: number): void {
    const d = this.#o.destination;
    const address = this.#space.at(index);
    const target: ProbeTarget = {
      protocol: d.protocol,
      address,
      port: d.port,
      ttl: d.ttl,
      timeout: d.timeout,
      data: d.data,
    };
    prepare(target, this.#family, address, this.#data);
    if (this.#probed === 0) this.#start = this.#clock.wallNs();
    this.#probed++;
    if (this.#round > 0) this.#retried++;
    this.#inflight++;
    this.#o.prober.sweep(this.#flight, index, target);
  }

  readonly #settle: OutcomeCallback = (outcome: ProbeOutcome) => {
    this.#inflight--;
    if (outcome.status === 'error') this.#errors++;
    else if (outcome.status !== 'timeout' && outcome.address === outcome.target) {
      const index = outcome.rseq;
      if (this.#answeredAt[index] !== 1) {
        this.#answeredAt[index] = 1;
        this.#rtt[index] = outcome.rtt ?? Number.NaN;
        this.#answered++;
      }
      const result = outcome as ProbeOutcome & { destination: string };
      result.destination = this.#o.destination.id;
      this.#o.onAnswer(result);
    }
    this.#settled();
  };

  /** A probe timed out: only counted (by not being answered). */
  readonly #timedOut = (): void => {
    this.#inflight--;
    this.#settled();
  };

  #settled(): void {
    if (this.#inflight === 0 && !this.#sending && (this.#stopped || this.#cursor >= this.#space.count)) {
      this.#roundDone();
    }
  }

  /** Every probe of the round is sent and settled: another round over the silent addresses, or the end. */
  #roundDone(): void {
    if (this.#stopped || this.#round >= this.#o.retries || this.#answered === this.#space.count) {
      this.#finish();
      return;
    }
    this.#round++;
    this.#cursor = 0;
    this.#last = this.#clock.now();
    this.#credit = 1;
    this.#tick();
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#flight.close();
    const answers: [string, number | null][] = [];
    for (let i = 0; i < this.#space.count; i++) {
      if (this.#answeredAt[i] !== 1) continue;
      const rtt = this.#rtt[i]!;
      answers.push([this.#space.at(i), Number.isNaN(rtt) ? null : rtt]);
    }
    this.#resolve({
      start: this.#start,
      end: this.#clock.wallNs(),
      addresses: this.#space.count,
      probed: this.#probed,
      answered: this.#answered,
      retries: this.#retried,
      errors: this.#errors,
      rate: this.#o.rate,
      stopped: this.#stopped,
      answers,
    });
  }
}

/** Starts a pass; see the module comment. */
export function startPass(options: PassOptions): RunningPass {
  return new RunningPass(options);
}
