/**
 * The scheduler owns all probe timing. Probers only send and match (STYLE §5); nothing below them owns a timer.
 *
 * Design:
 * - **One timer per destination, kept in one heap.** Every destination has exactly one pending tick (its own
 *   timer) in a binary min-heap; a single native timer is armed for the earliest. Compared with one `setTimeout`
 *   chain per destination this costs one native timer instead of 10,000, measures lateness in one place, and lets
 *   the pps budget serve due ticks strictly in slot order. Cancelling is O(1) (lazy deletion), so retiming or
 *   removing one destination never disturbs the others.
 * - **Stagger.** A destination's slots sit at a fixed phase within its interval, derived from a hash of its id, so
 *   10,000 destinations at 1 s spread evenly instead of firing together, and the phase is stable across config
 *   changes of other destinations. A new destination's first probe comes sooner, at the same phase within
 *   `startSpreadMs` (default 500 ms), so that an API write shows on the wire within a second even for long
 *   intervals; its second probe then joins the regular slots at least half an interval later.
 * - **Slots, not sleeps.** The next slot is the previous slot plus the interval (never "now plus interval"), so the
 *   schedule does not drift. A tick that runs late is sent late and its lateness observed; a tick more than one
 *   interval late is skipped and counted, so a stalled event loop never produces a burst of catch-up probes.
 * - **Global pps budget.** A token bucket; a due tick without a token waits for one (and that wait is lateness).
 * - **Sequence numbers** per destination run 0, 1, 2, … (16-bit wrap) and advance only when a probe is sent, and
 *   every probe sent yields exactly one result (a prober failure becomes an `error` result), so per destination
 *   the stored seqs have no gaps.
 * - **Diffs.** {@link Scheduler.apply} takes the whole desired set: new destinations start, an interval change
 *   retimes, other probe-field changes take effect on the next tick without touching the schedule, removed or
 *   inactive ones stop — and their in-flight probes still finish and are recorded.
 * - **A lean per-probe path** (10,000 destinations at 1 s is 10,000 ticks a second): a tick re-keys the heap's top
 *   in one sift, hands the sender the destination's own state object (with a memo slot for the sender) and one
 *   shared result callback — no promise, no closure, no hash lookup — and counts in plain numbers that the
 *   metrics export when scraped.
 */
import { type Destination, kernelTimed, type Protocol, type ResultInput } from '../../contract/index.js';
import { type AgentMetrics, createAgentMetrics, type ProbeCounts } from '../metrics/metrics.js';
import { type Clock, systemClock, type TimerHandle } from './clock.js';
import { errorResult } from './error-result.js';
import { type HeapEntry, TimerHeap } from './timer-heap.js';
import { TokenBucket } from './token-bucket.js';

/** A scheduled destination as the sender sees it: the same object for every probe of that destination. */
export interface ScheduledDestination {
  /** The destination as configured now; replaced (never mutated) when its configuration changes. */
  readonly destination: Destination;
  /**
   * The sender's own memo for this destination (what it derives from `destination` once rather than per probe).
   * The scheduler never reads it and resets it to undefined whenever `destination` is replaced.
   */
  memo: unknown;
}

/** Receives a probe's result, exactly once. */
export type ResultCallback = (result: ResultInput) => void;

/**
 * Sends probe `seq` to `target.destination` and calls `done` exactly once with its result (reply, timeout, …, or
 * an `error` result when it could not be sent), possibly before returning. Throwing instead means the probe was not
 * sent and `done` will not be called: the scheduler records the error result. Called per probe (tens of thousands
 * a second), so a sender allocates no promise on its common path; it must not own a timer loop.
 */
export type SendProbe = (
  target: ScheduledDestination,
  seq: number,
  done: ResultCallback,
  /** Microseconds the probe leaves after its slot (whole; 0 when not given), for the result's timing mark. */
  lateness?: number,
) => void;

/** Minimal logger surface (pino's). */
export interface SchedulerLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface SchedulerOptions {
  send: SendProbe;
  /** Receives every result, including those of destinations removed while their probe was in flight. */
  onResult: (result: ResultInput) => void;
  clock?: Clock;
  /** Global packets-per-second budget. Default 20,000. */
  pps?: number;
  /** Largest burst the budget allows. Default pps/20 (50 ms worth), at least 1. */
  burst?: number;
  /**
   * A tick may run up to this many ms before its slot (default 0.5): Node timers have millisecond granularity and
   * never fire early, so serving ticks that are within half a millisecond halves the mean lateness.
   */
  earlyMs?: number;
  /** A new destination's first probe leaves within this many ms (at its phase); default 500. */
  startSpreadMs?: number;
  metrics?: AgentMetrics;
  logger?: SchedulerLogger;
}

/** What {@link Scheduler.apply} changed. */
export interface ApplySummary {
  added: number;
  retimed: number;
  reconfigured: number;
  removed: number;
  unchanged: number;
}

/**
 * One scheduled destination, and its one pending tick: the heap holds the state itself (keyed by `slot`), so a
 * tick touches this one object. Retiming or removing bumps `gen`, which turns the pending heap slot stale.
 */
interface DestinationState extends ScheduledDestination, HeapEntry {
  destination: Destination;
  /** `destination.interval` and `.protocol`, copied here so that a tick reads no other object. */
  interval: number;
  protocol: Protocol;
  /** Next sequence number to send. */
  seq: number;
  /** Phase of the slots within the interval, as a fraction in [0, 1). */
  phase: number;
  /** The slot of the pending tick (monotonic ms); the probe may leave later while it waits for the pps budget. */
  slot: number;
  /** The pending tick is the early first probe of a new destination (see the module comment). */
  first: boolean;
}

/** Fields whose change alters the probes a destination sends (labels and timestamps do not). */
const PROBE_FIELDS = ['address', 'protocol', 'port', 'timeout', 'ttl', 'data'] as const;

const silentLogger: SchedulerLogger = { debug() {}, info() {}, warn() {} };

/**
 * A stable, well-spread phase in [0, 1) from the id: FNV-1a, then murmur3's 32-bit finaliser, because FNV alone
 * leaves ids that differ only in their last character (`dst_1`, `dst_2`, …) close together in the high bits.
 */
export function phaseOf(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 2 ** 32;
}

/** The first slot at or after `now` for a destination with this interval and phase. */
export function nextSlot(now: number, interval: number, phase: number): number {
  const offset = phase * interval;
  const k = Math.ceil((now - offset) / interval);
  return k * interval + offset;
}

/** The per-destination probe scheduler. Create, {@link apply} a destination set, {@link stop} to drain. */
export class Scheduler {
  readonly #send: SendProbe;
  readonly #onResult: (result: ResultInput) => void;
  readonly #clock: Clock;
  readonly #bucket: TokenBucket;
  readonly #earlyMs: number;
  readonly #startSpreadMs: number;
  readonly #metrics: AgentMetrics;
  readonly #log: SchedulerLogger;
  readonly #states = new Map<string, DestinationState>();
  readonly #heap = new TimerHeap<DestinationState>();
  /** Probes sent and not yet resolved; {@link stop} waits for this to reach 0 (through `#drained`). */
  #inflight = 0;
  #drained: (() => void) | undefined;
  /** Per-probe counts as plain numbers; the metrics export them when scraped. */
  readonly #counts: ProbeCounts;
  #timer: TimerHandle | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #stopped = false;
  #sent = 0;
  #skipped = 0;
  #lastSkipLog = Number.NEGATIVE_INFINITY;

  constructor(options: SchedulerOptions) {
    this.#send = options.send;
    this.#onResult = options.onResult;
    this.#clock = options.clock ?? systemClock;
    const pps = options.pps ?? 20_000;
    this.#bucket = new TokenBucket(
      pps,
      options.burst ?? Math.max(1, Math.floor(pps / 20)),
      this.#clock.now(),
    );
    this.#earlyMs = options.earlyMs ?? 0.5;
    this.#startSpreadMs = options.startSpreadMs ?? 500;
    this.#metrics = options.metrics ?? createAgentMetrics();
    this.#counts = this.#metrics.probeCounts;
    this.#log = options.logger ?? silentLogger;
  }

  /** Destinations currently scheduled. */
  get size(): number {
    return this.#states.size;
  }

  /**
   * Lends up to `n` tokens of the pps budget to a lower-priority sender (census passes, see census/). It never takes
   * the last half of the burst: ordinary ticks keep first call on the budget, so a sweep cannot make them wait for a
   * token (their lateness); the sweep gets what they leave.
   */
  spare(n: number): number {
    return this.#bucket.takeUpTo(n, this.#clock.now(), this.#bucket.burst / 2);
  }

  /** Probes sent, ticks skipped for lateness, probes in flight. */
  stats(): { sent: number; skipped: number; inflight: number } {
    return { sent: this.#sent, skipped: this.#skipped, inflight: this.#inflight };
  }

  /** The next sequence number a destination will send, or undefined when it is not scheduled. */
  nextSeq(id: string): number | undefined {
    return this.#states.get(id)?.seq;
  }

  /**
   * Makes the scheduled set equal to the active destinations given, touching only what differs. Inactive
   * destinations count as absent.
   */
  apply(destinations: readonly Destination[]): ApplySummary {
    if (this.#stopped) throw new Error('[agent:scheduler] apply() after stop()');
    const summary: ApplySummary = { added: 0, retimed: 0, reconfigured: 0, removed: 0, unchanged: 0 };
    const wanted = new Map<string, Destination>();
    for (const d of destinations) if (d.active) wanted.set(d.id, d);
    const now = this.#clock.now();

    for (const [id, state] of this.#states) {
      if (wanted.has(id)) continue;
      state.gen++;
      this.#states.delete(id);
      summary.removed++;
    }
    for (const destination of wanted.values()) {
      const state = this.#states.get(destination.id);
      if (state?.destination === destination) {
        // The same object: the config reader hands back a destination unchanged since the last config as is.
        summary.unchanged++;
      } else if (state === undefined) {
        const phase = phaseOf(destination.id);
        const fresh: DestinationState = {
          destination,
          memo: undefined,
          interval: destination.interval,
          protocol: destination.protocol,
          seq: 0,
          phase,
          gen: 0,
          slot: 0,
          first: true,
        };
        this.#schedule(fresh, now + phase * Math.min(destination.interval, this.#startSpreadMs), true);
        this.#states.set(destination.id, fresh);
        summary.added++;
      } else if (state.interval !== destination.interval) {
        this.#reconfigure(state, destination);
        state.gen++;
        this.#schedule(state, nextSlot(now, destination.interval, state.phase), false);
        summary.retimed++;
      } else {
        // Takes effect on the next tick; the schedule (and the other destinations) stay as they are.
        const changed = PROBE_FIELDS.some((f) => state.destination[f] !== destination[f]);
        this.#reconfigure(state, destination);
        if (changed) summary.reconfigured++;
        else summary.unchanged++;
      }
    }
    this.#metrics.destinations.set(this.#states.size);
    this.#arm();
    return summary;
  }

  /**
   * Stops scheduling, then waits up to `drainMs` for the probes in flight to resolve (their results still reach
   * `onResult`). Resolves with the number of probes that were still unresolved at the deadline.
   */
  async stop(drainMs = 5000): Promise<{ abandoned: number }> {
    this.#stopped = true;
    if (this.#timer !== undefined) this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
    this.#heap.clear();
    this.#states.clear();
    this.#metrics.destinations.set(0);
    if (this.#inflight === 0) return { abandoned: 0 };
    let timer: TimerHandle | undefined;
    await new Promise<void>((resolve) => {
      this.#drained = resolve;
      timer = this.#clock.setTimer(resolve, drainMs);
    });
    this.#drained = undefined;
    if (timer !== undefined) this.#clock.clearTimer(timer);
    const abandoned = this.#inflight;
    if (abandoned > 0)
      this.#log.warn({ abandoned, drainMs }, '[agent:scheduler] probes still in flight at stop');
    return { abandoned };
  }

  /** Pushes the destination's next tick (after its previous one was cancelled, if it had one). */
  #schedule(state: DestinationState, slot: number, first: boolean): void {
    state.slot = slot;
    state.first = first;
    this.#heap.push(state, slot);
  }

  /** A new object for a scheduled destination: the sender's memo of the old one goes. */
  #reconfigure(state: DestinationState, destination: Destination): void {
    state.destination = destination;
    state.interval = destination.interval;
    state.protocol = destination.protocol;
    state.memo = undefined;
  }

  /** Arms the one native timer for the earliest tick (or for the pps budget, whichever is later). */
  #arm(notBefore = 0): void {
    if (this.#stopped) return;
    const top = this.#heap.peekAt();
    if (top === Number.POSITIVE_INFINITY) return;
    const at = Math.max(top, notBefore);
    if (this.#timer !== undefined) {
      if (this.#timerAt <= at) return;
      this.#clock.clearTimer(this.#timer);
    }
    this.#timerAt = at;
    this.#timer = this.#clock.setTimer(this.#onTimer, Math.max(0, at - this.#clock.now()));
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    let budgetAt = 0;
    for (;;) {
      const state = this.#heap.peek();
      if (state === undefined) break;
      const now = this.#clock.now();
      if (state.slot > now + this.#earlyMs) break;
      const interval = state.interval;
      let late = now - state.slot;
      if (late >= interval) {
        // More than one interval behind: skip the missed slots (counted) instead of bunching them.
        const missed = Math.floor(late / interval);
        this.#skipped += missed;
        this.#metrics.lateSkipped.inc(missed);
        this.#reportSkips(now, late);
        state.slot += missed * interval;
        late -= missed * interval;
      }
      if (!this.#bucket.take(now)) {
        // Out of budget: everything still due waits, in slot order, for the next token.
        budgetAt = now + this.#bucket.waitMs(now);
        break;
      }
      // Rescheduled before the send, so the heap is consistent whatever the sender does.
      state.slot = state.first
        ? nextSlot(state.slot + interval / 2, interval, state.phase)
        : state.slot + interval;
      state.first = false;
      this.#heap.retimeTop(state.slot);
      this.#metrics.lateness.observe(Math.max(0, late) / 1000);
      this.#fire(state, late);
    }
    this.#arm(budgetAt);
  };

  /** One log line a minute at most while ticks are being skipped (the counter has the exact figure). */
  #reportSkips(now: number, lateMs: number): void {
    if (now - this.#lastSkipLog < 60_000) return;
    this.#log.warn(
      { skippedTotal: this.#skipped, lateMs: Math.round(lateMs), destinations: this.#states.size },
      '[agent:scheduler] probes more than one interval late were skipped (event loop or pps budget overloaded)',
    );
    this.#lastSkipLog = now;
  }

  #fire(state: DestinationState, lateMs: number): void {
    const seq = state.seq;
    state.seq = (seq + 1) & 0xffff;
    this.#sent++;
    this.#counts.sent[state.protocol]++;
    this.#counts.inflight = ++this.#inflight;
    try {
      // One shared callback for every probe: the result names its destination and seq, so nothing per probe.
      this.#send(state, seq, this.#settle, lateMs > 0 ? Math.round(lateMs * 1000) : 0);
    } catch (err) {
      this.#log.debug(
        { err, destination: state.destination.id, seq },
        '[agent:scheduler] probe failed; recorded as error',
      );
      this.#settle(errorResult(state.destination, seq, this.#clock.wallNs().toString()));
    }
  }

  /** Every probe ends here exactly once, with its result or its error result. */
  readonly #settle = (result: ResultInput): void => {
    try {
      this.#counts.results[result.status]++;
      if (result.rtt !== null && !kernelTimed(result)) this.#counts.processTimed++;
      this.#onResult(result);
    } catch (err) {
      this.#log.warn({ err }, '[agent:scheduler] result sink threw');
    }
    this.#counts.inflight = --this.#inflight;
    if (this.#inflight === 0) this.#drained?.();
  };
}
