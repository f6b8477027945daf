/**
 * The agent's census destinations (those whose address is a prefix): one pass per slot, never two at once.
 *
 * - **Slots** sit at a fixed phase within the interval (the scheduler's `phaseOf`), the first one within
 *   `startSpreadMs` of the destination's arrival, like an ordinary destination's first probe.
 * - **No overlap**: a slot that comes due while the previous pass still runs is skipped — the next pass waits for
 *   the slot after the running one ends — and the skip is counted, in the running pass's record (`skipped`) and in
 *   `pinger_agent_census_passes_skipped_total`. A pass slower than its interval thus runs back to back on every
 *   other slot (or sparser), never twice at once.
 * - **Budget**: a pass is paced at its rate, held to the agent's pps budget, and borrows only the tokens ordinary
 *   destinations leave ({@link SpareBudget}).
 * - **Split censuses** (`census.split`): the control plane gives each source a slice of the addresses (in its
 *   config, `censusSlices`); a pass probes the slice held when it starts (the whole prefix when the config has
 *   none). Slots are then at the same wall-clock times on every source — multiples of the interval, offset by the
 *   destination's phase — and the record names its slot and the slice's members, so the control plane puts the
 *   slices of one pass together and sees whose slice is missing. A source the config leaves out of the split (it
 *   failed to deliver its recent slices) runs no pass until it is given a slice again; its slots are not counted as
 *   skipped, and each is logged.
 * - **Records**: each pass ends with a {@link CensusPass} record (with the answering addresses and their RTTs),
 *   logged (without the answers) and exported as metrics, and handed to `onPass` — the agent's pass uploader.
 *   Answers also reach the outbox as ordinary results.
 */
import {
  type Census,
  type CensusPass,
  type CensusSliceAssignment,
  censusAddressCount,
  type Destination,
  defaultCensus,
  type Prefix,
  type Protocol,
  parsePrefix,
  type ResultInput,
} from '../../../contract/index.js';
import { type AgentMetrics, createAgentMetrics } from '../../metrics/metrics.js';
import type { Prober } from '../../probes/types.js';
import { type Clock, systemClock, type TimerHandle } from '../clock.js';
import { nextSlot, phaseOf, type SchedulerLogger } from '../scheduler.js';
import { type RunningPass, type SpareBudget, startPass } from './pass.js';

export interface CensusSchedulerOptions {
  /** The prober of a protocol (the agent's engine); may throw when the engine is closed or cannot open. */
  prober(protocol: Protocol): Pick<Prober, 'sweep'>;
  /** Every answer of every pass, as a result. */
  onResult(result: ResultInput): void;
  /** Every pass record, once its pass ends. */
  onPass?(record: CensusPass): void;
  /** The agent's shared pps budget (its scheduler). */
  budget?: SpareBudget;
  /** The agent's pps budget: a census rate above it is held to it. */
  pps: number;
  clock?: Clock;
  /** A new census's first pass starts within this many ms (at its phase); default 500. */
  startSpreadMs?: number;
  metrics?: AgentMetrics;
  logger?: SchedulerLogger;
}

interface CensusState {
  destination: Destination;
  prefix: Prefix;
  census: Census;
  phase: number;
  /** The next slot, on the process clock. */
  slot: number;
  /** The same slot on the wall clock (ms since the epoch): the identity of a split pass across sources. */
  slotWall: number;
  /** This source's slice of a split census (or that it is left out), from the last config. */
  slice: CensusSliceAssignment | undefined;
  timer: TimerHandle | undefined;
  running: RunningPass | undefined;
  /** Slots skipped while the running pass ran; goes into its record. */
  skipped: number;
  removed: boolean;
}

const silentLogger: SchedulerLogger = { debug() {}, info() {}, warn() {} };

/** Whether a destination is a census (its address a prefix) rather than one host. */
export function isCensus(destination: Pick<Destination, 'address'>): boolean {
  return destination.address.includes('/');
}

/** See the module comment. */
export class CensusScheduler {
  readonly #o: CensusSchedulerOptions;
  readonly #clock: Clock;
  readonly #metrics: AgentMetrics;
  readonly #log: SchedulerLogger;
  readonly #states = new Map<string, CensusState>();
  /** Passes still running, removed destinations' included, for {@link stop}. */
  readonly #running = new Set<RunningPass>();
  #stopped = false;

  constructor(options: CensusSchedulerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#metrics = options.metrics ?? createAgentMetrics();
    this.#log = options.logger ?? silentLogger;
  }

  get size(): number {
    return this.#states.size;
  }

  /** Passes running now. */
  get running(): number {
    return this.#running.size;
  }

  /**
   * Makes the census set equal to the active census destinations given (others are ignored). A change of probe
   * fields or census settings applies from the next pass; an interval change retimes; a removed census stops its
   * pass (the probes in flight still settle and their answers are still delivered).
   */
  apply(
    destinations: readonly Destination[],
    slices?: Readonly<Record<string, CensusSliceAssignment>>,
  ): { added: number; removed: number; changed: number } {
    if (this.#stopped) throw new Error('[agent:census] apply() after stop()');
    const summary = { added: 0, removed: 0, changed: 0 };
    const wanted = new Map<string, Destination>();
    for (const d of destinations) if (d.active && isCensus(d)) wanted.set(d.id, d);
    for (const [id, state] of this.#states) {
      if (wanted.has(id)) continue;
      this.#remove(state);
      summary.removed++;
    }
    const now = this.#clock.now();
    for (const d of wanted.values()) {
      const state = this.#states.get(d.id);
      if (state) state.slice = slices?.[d.id];
      if (state?.destination === d) continue;
      const parsed = parsePrefix(d.address);
      if ('issue' in parsed) {
        // The contract refuses these; a config that has one anyway is logged, not fatal to the others.
        this.#log.warn({ destination: d.id, address: d.address }, `[agent:census] address ${parsed.issue}`);
        if (state) this.#remove(state);
        continue;
      }
      const census = d.census ?? defaultCensus();
      if (state === undefined) {
        const phase = phaseOf(d.id);
        const fresh: CensusState = {
          destination: d,
          prefix: parsed.prefix,
          census,
          phase,
          slot: now + phase * Math.min(d.interval, this.#o.startSpreadMs ?? 500),
          slotWall: 0,
          slice: slices?.[d.id],
          timer: undefined,
          running: undefined,
          skipped: 0,
          removed: false,
        };
        this.#states.set(d.id, fresh);
        if (census.split) this.#alignSlot(fresh, now);
        else fresh.slotWall = this.#wallMs() + (fresh.slot - now);
        this.#arm(fresh);
        summary.added++;
        continue;
      }
      const retime = state.destination.interval !== d.interval || state.census.split !== census.split;
      state.destination = d;
      state.prefix = parsed.prefix;
      state.census = census;
      if (retime) {
        if (census.split) this.#alignSlot(state, now);
        else {
          state.slot = nextSlot(now, d.interval, state.phase);
          state.slotWall = this.#wallMs() + (state.slot - now);
        }
        this.#arm(state);
      }
      summary.changed++;
    }
    return summary;
  }

  /** Stops every timer and pass, and waits up to `drainMs` for the passes' probes in flight to settle. */
  async stop(drainMs = 5000): Promise<void> {
    this.#stopped = true;
    for (const state of this.#states.values()) this.#remove(state);
    if (this.#running.size === 0) return;
    let timer: TimerHandle | undefined;
    await Promise.race([
      Promise.all([...this.#running].map((p) => p.done)),
      new Promise<void>((resolve) => {
        timer = this.#clock.setTimer(resolve, drainMs);
      }),
    ]);
    if (timer !== undefined) this.#clock.clearTimer(timer);
  }

  #remove(state: CensusState): void {
    state.removed = true;
    if (state.timer !== undefined) this.#clock.clearTimer(state.timer);
    state.timer = undefined;
    state.running?.stop();
    this.#states.delete(state.destination.id);
  }

  #wallMs(): number {
    return Number(this.#clock.wallNs() / 1_000_000n);
  }

  /**
   * Puts a split census's next slot on the wall-clock grid every source shares: whole milliseconds, so that every
   * source names the slot with the same number however long it has been running.
   */
  #alignSlot(state: CensusState, now: number): void {
    const wall = this.#wallMs();
    const interval = state.destination.interval;
    const offset = Math.floor(state.phase * interval);
    state.slotWall = Math.ceil((wall - offset) / interval) * interval + offset;
    state.slot = now + (state.slotWall - wall);
  }

  #arm(state: CensusState): void {
    if (state.timer !== undefined) this.#clock.clearTimer(state.timer);
    state.timer = this.#clock.setTimer(() => this.#due(state), Math.max(0, state.slot - this.#clock.now()));
  }

  #due(state: CensusState): void {
    state.timer = undefined;
    if (state.removed) return;
    const now = this.#clock.now();
    const interval = state.destination.interval;
    if (state.running !== undefined) {
      state.skipped++;
      this.#metrics.censusSkipped.inc({ destination: state.destination.id });
      this.#log.warn(
        { destination: state.destination.id, probed: state.running.probed, skipped: state.skipped },
        '[agent:census] the previous pass is still running: this slot is skipped, not overlapped',
      );
    } else {
      this.#start(state);
    }
    // Slots missed while the loop was stalled are skipped too, and counted, rather than run back to back.
    state.slot += interval;
    state.slotWall += interval;
    if (state.slot <= now) {
      const missed = Math.floor((now - state.slot) / interval) + 1;
      state.skipped += missed;
      this.#metrics.censusSkipped.inc({ destination: state.destination.id }, missed);
      state.slot += missed * interval;
      state.slotWall += missed * interval;
    }
    this.#arm(state);
  }

  #start(state: CensusState): void {
    const d = state.destination;
    let prober: Pick<Prober, 'sweep'>;
    try {
      prober = this.#o.prober(d.protocol);
    } catch (err) {
      this.#log.warn({ err, destination: d.id }, '[agent:census] no prober for the pass; it is skipped');
      return;
    }
    if (state.census.split && state.slice !== undefined && 'leftOut' in state.slice) {
      this.#log.warn(
        { destination: d.id, failed: state.slice.failed, probationIn: state.slice.probationIn },
        '[agent:census] left out of this split census for now (its last slices went unreported or every probe failed): no pass',
      );
      return;
    }
    const rate = Math.min(state.census.rate, this.#o.pps);
    const metrics = this.#metrics;
    const labels = { destination: d.id };
    const whole = censusAddressCount(state.prefix);
    // A slice cut for another prefix (a config caught mid-change) is not trusted: the pass probes everything.
    const held = state.slice && 'of' in state.slice && state.slice.of === whole ? state.slice : undefined;
    const slice = state.census.split
      ? {
          slot: (BigInt(Math.round(state.slotWall)) * 1_000_000n).toString(),
          from: held?.from ?? 0,
          to: held?.to ?? whole,
          of: whole,
          ...(held?.members ? { members: held.members } : {}),
        }
      : undefined;
    const pass = startPass({
      destination: d,
      prefix: state.prefix,
      rate,
      retries: state.census.retries,
      ...(slice ? { range: { from: slice.from, to: slice.to } } : {}),
      prober,
      clock: this.#clock,
      onAnswer: this.#o.onResult,
      ...(this.#o.budget ? { budget: this.#o.budget } : {}),
    });
    state.running = pass;
    state.skipped = 0;
    this.#running.add(pass);
    const prefix = state.prefix.text;
    void pass.done.then((summary) => {
      this.#running.delete(pass);
      if (state.running === pass) state.running = undefined;
      const record: CensusPass = {
        destination: d.id,
        prefix,
        start: summary.start.toString(),
        end: summary.end.toString(),
        addresses: summary.addresses,
        probed: summary.probed,
        answered: summary.answered,
        retries: summary.retries,
        errors: summary.errors,
        skipped: state.skipped,
        rate: summary.rate,
        ...(slice ? { slice } : {}),
        answers: summary.answers,
      };
      state.skipped = 0;
      metrics.censusPasses.inc(labels);
      metrics.censusProbes.inc(labels, summary.probed);
      metrics.censusLastPassSeconds.set(labels, Number(summary.end - summary.start) / 1e9);
      metrics.censusLastPassAnswered.set(labels, summary.answered);
      metrics.censusLastPassAddresses.set(labels, summary.addresses);
      const { answers: _answers, ...logged } = record;
      this.#log.info(
        { ...logged, stopped: summary.stopped, ms: Math.round(Number(summary.end - summary.start) / 1e6) },
        '[agent:census] pass done',
      );
      try {
        this.#o.onPass?.(record);
      } catch (err) {
        this.#log.warn({ err }, '[agent:census] pass sink threw');
      }
    });
  }
}
