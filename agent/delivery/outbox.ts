/**
 * The outbox: where every result goes after its probe, and the only place delivery happens (STYLE §7, a sink that
 * never blocks the producer). {@link Outbox.push} is synchronous and O(1): it never waits on disk or network.
 *
 *   push ─▶ memory (bounded) ─▶ open spool segment (append, fsync every `flushMs`) ─▶ sealed segment (a batch, by
 *   count or age) ─▶ POST gzip, retry with exponential backoff and full jitter ─▶ delete on a receipt for the batch.
 *
 * Guarantees and their limits:
 * - A result is on disk (fsynced) before it is ever sent, and its segment is deleted only after the control plane
 *   answered with a receipt accounting for every result of it; a restart replays what is left. Re-sends are safe: results are idempotent on the server.
 * - The control plane's own refusal of a batch (see results-client.ts) means it can never be stored; it (or only
 *   the results named) moves to `rejected/` with a log line, counted. `rejected/` has a byte bound of its own.
 * - Bounded: the spool to `maxBytes` (oldest sealed segments dropped first, counted), memory to `maxMemoryResults`
 *   (oldest dropped, counted). A full disk (ENOSPC) is logged once per episode; results wait in memory (bounded)
 *   and the write is retried on the next flush, while sending goes on and frees space. Spooled data is never
 *   deleted to make room on a full disk (only the byte bound drops spooled data).
 */
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import type { ResultInput } from '../../contract/index.js';
import { fullJitterDelay } from '../http/backoff.js';
import { type AgentMetrics, createAgentMetrics } from '../metrics/metrics.js';
import { type Clock, systemClock, type TimerHandle } from '../schedule/clock.js';
import { LineBuffer } from './line-buffer.js';
import { writeResultJson } from './result-line.js';
import type { Deliver, DeliveryOutcome } from './results-client.js';
import { type Segment, Spool, SpoolError } from './spool.js';

const gzip = promisify(gzipCb);
/**
 * Level 1: on a batch of 1,000 results (~240 kB of JSON) it takes half the time of the default level 6 for a body
 * ~10 % larger (≈31 kB against ≈28 kB), and the agent sends ten batches a second at 10,000 probes/s.
 */
const GZIP = { level: 1 };

export interface OutboxLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface OutboxOptions {
  /** Spool directory (created if missing; segments left there by a previous run are replayed). */
  spoolDir: string;
  deliver: Deliver;
  /** Results per batch (segment); default 1,000 (the API takes up to 5,000). */
  batchSize?: number;
  /** Oldest result's age at which a partial batch is sealed and sent; default 1,000 ms. */
  batchAgeMs?: number;
  /** How often memory is written to the spool and fsynced; default 200 ms. */
  flushMs?: number;
  /** Spool bound in bytes; default 256 MiB. */
  maxBytes?: number;
  /** Bound of `rejected/` (refused batches kept for an operator) in bytes, oldest deleted; default 32 MiB. */
  maxRejectedBytes?: number;
  /** Results held in memory when the spool cannot take them (e.g. ENOSPC); default 100,000. */
  maxMemoryResults?: number;
  /** Retry backoff: full jitter between 0 and min(cap, base·2^n); default 250 ms … 30 s. */
  backoff?: { baseMs: number; capMs: number; random?: () => number };
  clock?: Clock;
  metrics?: AgentMetrics;
  logger?: OutboxLogger;
}

const silent: OutboxLogger = { info() {}, warn() {}, error() {} };

/** Delivery counters since open. */
export interface OutboxStats {
  delivered: number;
  duplicates: number;
  rejected: number;
  dropped: number;
  retries: number;
  /** Results in memory plus on disk, not yet confirmed. */
  pending: number;
}

export class Outbox {
  readonly #spool: Spool;
  readonly #deliver: Deliver;
  readonly #batchSize: number;
  readonly #batchAgeMs: number;
  readonly #flushMs: number;
  readonly #maxBytes: number;
  readonly #maxMemory: number;
  readonly #backoff: { baseMs: number; capMs: number; random?: () => number };
  readonly #clock: Clock;
  readonly #metrics: AgentMetrics;
  readonly #log: OutboxLogger;
  readonly #abort = new AbortController();
  /** Serialised results not yet in the spool, oldest first, as the bytes to write. */
  readonly #memory = new LineBuffer();
  /**
   * Lines at the front of `#memory` being appended right now, and how many more of that append a memory trim
   * already cut off (still written: they are counted dropped only if the append fails).
   */
  #writing = 0;
  #trimmedWhileWriting = 0;
  /** When the open segment received its first result (monotonic ms). */
  #openSince: number | undefined;
  #flushTimer: TimerHandle | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #flushSoon = false;
  #diskFailing: string | undefined;
  #sending: Segment | undefined;
  #wake: (() => void) | undefined;
  #pump: Promise<void> | undefined;
  #closing = false;
  #stopped = false;
  readonly #stats = { delivered: 0, duplicates: 0, rejected: 0, dropped: 0, retries: 0 };

  private constructor(spool: Spool, options: OutboxOptions) {
    this.#spool = spool;
    this.#deliver = options.deliver;
    this.#batchSize = options.batchSize ?? 1000;
    this.#batchAgeMs = options.batchAgeMs ?? 1000;
    this.#flushMs = options.flushMs ?? 200;
    this.#maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
    this.#maxMemory = options.maxMemoryResults ?? 100_000;
    this.#backoff = options.backoff ?? { baseMs: 250, capMs: 30_000 };
    this.#clock = options.clock ?? systemClock;
    this.#metrics = options.metrics ?? createAgentMetrics();
    this.#log = options.logger ?? silent;
  }

  /** Opens the spool (replaying what a previous run left) and starts flushing and sending. */
  static async open(options: OutboxOptions): Promise<Outbox> {
    const spool = await Spool.open(options.spoolDir, {
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.maxRejectedBytes !== undefined ? { maxRejectedBytes: options.maxRejectedBytes } : {}),
    });
    const outbox = new Outbox(spool, options);
    outbox.#gauges();
    outbox.#flushTimer = outbox.#clock.setTimer(outbox.#onFlushTimer, outbox.#flushMs);
    outbox.#pump = outbox.#runPump();
    return outbox;
  }

  /** Accepts one result. Never blocks and never throws: past every bound the oldest result is dropped, counted. */
  push(result: ResultInput): void {
    if (this.#stopped) {
      this.#drop(1, 'memory_full', 'outbox already closed');
      return;
    }
    // The JSON.stringify bytes, written in place: no string per result (see result-line.ts).
    this.#memory.pushEncoded(result, writeResultJson);
    if (this.#memory.length > this.#maxMemory) this.#trimMemory();
    if (this.#memory.length >= this.#batchSize && !this.#flushSoon) {
      // A full batch waits for no timer; the flush itself runs off this call stack.
      this.#flushSoon = true;
      setImmediate(() => {
        this.#flushSoon = false;
        void this.#flush();
      });
    }
  }

  stats(): OutboxStats {
    return { ...this.#stats, pending: this.#memory.length + this.#spool.pendingResults };
  }

  /**
   * Graceful stop: writes what is in memory to the spool (fsynced), then keeps sending until everything is
   * confirmed or `deadlineMs` passes, then aborts the request in flight. Whatever is left stays in the spool for
   * the next start.
   */
  async close(deadlineMs = 3000): Promise<OutboxStats> {
    if (this.#closing) return this.stats();
    this.#closing = true;
    if (this.#flushTimer !== undefined) this.#clock.clearTimer(this.#flushTimer);
    await this.#flush(true);
    let timer: TimerHandle | undefined;
    await Promise.race([
      this.#drained(),
      new Promise<void>((resolve) => {
        timer = this.#clock.setTimer(resolve, deadlineMs);
      }),
    ]);
    if (timer !== undefined) this.#clock.clearTimer(timer);
    this.#stopped = true;
    this.#abort.abort(new Error('[agent:outbox] closing'));
    this.#wake?.();
    await this.#pump;
    await this.#spool.close().catch(() => undefined);
    if (this.#memory.length > 0) {
      this.#log.error(
        { results: this.#memory.length, dir: this.#spool.dir, reason: this.#diskFailing },
        '[agent:outbox] results could not be written to the spool before exit and are lost',
      );
      this.#drop(this.#memory.length, 'memory_full');
      this.#memory.clear();
    }
    // After the drop: what is lost is counted dropped, and `pending` is only what the spool keeps for the next start.
    return this.stats();
  }

  readonly #onFlushTimer = (): void => {
    void this.#flush().finally(() => {
      if (!this.#closing) this.#flushTimer = this.#clock.setTimer(this.#onFlushTimer, this.#flushMs);
    });
  };

  /** Runs one flush after the previous one (flushes never overlap). */
  #flush(final = false): Promise<void> {
    this.#flushing = this.#flushing.then(() => this.#flushNow(final));
    return this.#flushing;
  }

  async #flushNow(final: boolean): Promise<void> {
    const spool = this.#spool;
    // Lines per append; halved on ENOSPC, since a disk with less room than one batch still takes fewer lines.
    let chunk = this.#batchSize;
    while (this.#memory.length > 0) {
      const count = Math.min(chunk, this.#batchSize - spool.openCount, this.#memory.length);
      // The lines are the bytes to write already (JSON from push()).
      const data = this.#memory.take(count);
      this.#writing = count;
      this.#trimmedWhileWriting = 0;
      await this.#makeRoom(data.length);
      try {
        await spool.append(data, count);
      } catch (err) {
        this.#writing = 0;
        if (this.#trimmedWhileWriting > 0) {
          this.#drop(
            this.#trimmedWhileWriting,
            'memory_full',
            `more than ${this.#maxMemory} results waiting for the spool`,
          );
        }
        // A failed append writes nothing: without the smaller retry, a backlog of one batch or more on a disk with
        // less free space than a batch would never be written again (every flush retries the same whole batch).
        if (count > 1 && err instanceof SpoolError && err.code === 'ENOSPC') {
          chunk = Math.ceil(count / 2);
          continue;
        }
        await this.#diskFailed(err);
        break;
      }
      // Only what a trim left of the lines written: dropping `count` would take unwritten lines with them.
      this.#memory.drop(this.#writing);
      this.#writing = 0;
      this.#openSince ??= this.#clock.now();
      if (spool.openCount >= this.#batchSize) {
        spool.rotate();
        this.#openSince = undefined;
      }
    }
    const age = this.#openSince === undefined ? 0 : this.#clock.now() - this.#openSince;
    if (spool.openCount > 0 && (final || age >= this.#batchAgeMs)) {
      spool.rotate();
      this.#openSince = undefined;
    }
    // One fsync round for everything this flush wrote; full segments join the send queue only after it.
    try {
      if ((await spool.sync()) > 0) this.#wake?.();
      if (this.#diskFailing !== undefined && this.#memory.length === 0) {
        this.#log.info({ dir: spool.dir }, '[agent:outbox] spool writable again');
        this.#diskFailing = undefined;
      }
    } catch (err) {
      this.#wake?.(); // rotated segments are queued even when their fsync failed
      await this.#diskFailed(err);
    }
    this.#gauges();
  }

  /** Drops the oldest sealed segments (never the one being sent) until `bytes` more fit under the bound. */
  async #makeRoom(bytes: number): Promise<void> {
    while (this.#spool.bytes + bytes > this.#maxBytes) {
      const victim = this.#spool.sealed.find((s) => s !== this.#sending);
      if (victim === undefined) return;
      await this.#spool.remove(victim).catch(() => undefined);
      this.#drop(victim.count, 'spool_full', `spool over its bound of ${this.#maxBytes} bytes`);
    }
  }

  async #diskFailed(err: unknown): Promise<void> {
    const code = err instanceof SpoolError ? (err.code ?? err.message) : String(err);
    if (this.#diskFailing === undefined) {
      this.#log.error(
        {
          err,
          code,
          dir: this.#spool.dir,
          memoryResults: this.#memory.length,
          maxMemoryResults: this.#maxMemory,
        },
        `[agent:outbox] cannot write the spool (${code}); holding results in memory up to ${this.#maxMemory} ` +
          `(oldest dropped and counted beyond that), retrying every ${this.#flushMs} ms; probing continues`,
      );
    }
    this.#diskFailing = code;
    // Ship what is already on disk: a confirmed segment frees space for the next write.
    if (this.#spool.openCount > 0) {
      this.#openSince = undefined;
      await this.#spool
        .seal()
        .catch(() => 1)
        .then((queued) => queued > 0 && this.#wake?.());
    }
    if (this.#memory.length > this.#maxMemory) this.#trimMemory();
  }

  #trimMemory(): void {
    // Drop at least 1% of the bound at once: splicing one result off the front of a 100,000-entry array per push
    // would cost O(n) per probe while the disk is full.
    const excess = Math.min(
      this.#memory.length,
      Math.max(this.#memory.length - this.#maxMemory, Math.ceil(this.#maxMemory / 100)),
    );
    this.#memory.drop(excess);
    // The oldest lines may be the ones an append is writing: they are not lost unless it fails (see #flushNow).
    const writing = Math.min(excess, this.#writing);
    this.#writing -= writing;
    this.#trimmedWhileWriting += writing;
    if (excess > writing) {
      this.#drop(
        excess - writing,
        'memory_full',
        `more than ${this.#maxMemory} results waiting for the spool`,
      );
    }
  }

  #lastDropLog = 0;
  #dropsSinceLog = 0;

  #drop(count: number, reason: 'spool_full' | 'memory_full' | 'rejected', why?: string): void {
    this.#stats.dropped += count;
    this.#metrics.dropped.inc({ reason }, count);
    // One line per drop event, at most one a second for memory drops (they can happen per result).
    this.#dropsSinceLog += count;
    const now = this.#clock.now();
    if (reason !== 'memory_full' || now - this.#lastDropLog >= 1000) {
      this.#log.warn(
        { reason, dropped: this.#dropsSinceLog, totalDropped: this.#stats.dropped, why },
        '[agent:outbox] dropped results',
      );
      this.#lastDropLog = now;
      this.#dropsSinceLog = 0;
    }
  }

  #gauges(): void {
    this.#metrics.spoolBytes.set(this.#spool.bytes);
    this.#metrics.spoolSegments.set(this.#spool.sealed.length + (this.#spool.openCount > 0 ? 1 : 0));
    this.#metrics.memoryResults.set(this.#memory.length);
  }

  /** Resolves once nothing is left to send. */
  async #drained(): Promise<void> {
    while (!this.#stopped && this.#spool.sealed.length > 0) {
      await new Promise<void>((resolve) => {
        this.#idle = resolve;
      });
    }
  }

  #idle: (() => void) | undefined;

  /** The one sender: oldest sealed segment first, one request at a time, retried until confirmed or refused. */
  async #runPump(): Promise<void> {
    let attempt = 0;
    while (!this.#stopped) {
      const seg = this.#spool.sealed[0];
      if (seg === undefined) {
        this.#idle?.();
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      // In flight from here until it is confirmed, refused or retried: the byte bound never drops this segment
      // meanwhile (it would be counted dropped and then delivered, or its split rewrite would resurrect it).
      this.#sending = seg;
      let outcome: DeliveryOutcome;
      try {
        outcome = await this.#send(seg);
      } catch (err) {
        this.#sending = undefined;
        // Gone from disk (deleted from outside): nothing left to send from it.
        if (this.#spool.sealed.includes(seg)) {
          this.#log.error(
            { err, path: seg.path },
            '[agent:outbox] a spool segment vanished; its results are lost',
          );
          this.#spool.forget(seg);
          this.#drop(seg.count, 'spool_full', 'segment file vanished');
        }
        continue;
      }
      if (outcome.kind === 'stored') {
        // Counted before the unlink's await, so that stats never show a batch neither pending nor delivered.
        this.#stats.delivered += seg.count;
        this.#stats.duplicates += outcome.duplicates;
        this.#metrics.delivered.inc(seg.count);
        await this.#spool
          .remove(seg)
          .catch((err: unknown) =>
            this.#log.warn({ err, path: seg.path }, '[agent:outbox] cannot delete a delivered segment'),
          );
        if (attempt > 0) this.#log.info({ attempts: attempt + 1 }, '[agent:outbox] delivering again');
        attempt = 0;
      } else if (outcome.kind === 'rejected' && (await this.#refused(seg, outcome))) {
        attempt = 0;
      } else {
        this.#sending = undefined;
        if (this.#stopped) break;
        this.#stats.retries++;
        this.#metrics.deliveryFailures.inc();
        const delay = fullJitterDelay(attempt, this.#backoff);
        // One line for the first failure and then every 10th, not one per retry.
        if (attempt % 10 === 0 && outcome.kind === 'retry') {
          this.#log.warn(
            { status: outcome.status, message: outcome.message, attempt: attempt + 1, retryInMs: delay },
            '[agent:outbox] delivery failed; retrying with backoff',
          );
        }
        attempt++;
        await this.#sleep(delay);
      }
      this.#sending = undefined;
      this.#gauges();
    }
    this.#idle?.();
  }

  /**
   * Reads, compresses and posts one segment. A read failure other than ENOENT (EIO, EMFILE, …) is not proof
   * that the results are gone: it becomes a retry, and the segment stays. Throws only on ENOENT.
   */
  async #send(seg: Segment): Promise<DeliveryOutcome> {
    let body: Buffer;
    try {
      body = await gzip(await this.#spool.body(seg), GZIP);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw err;
      return { kind: 'retry', status: null, message: `cannot read ${seg.path}: ${(err as Error).message}` };
    }
    return this.#deliver(body, seg.count, this.#abort.signal);
  }

  /**
   * A refused batch. When the control plane named the results at fault (`results.<i>…`, e.g. a destination deleted
   * while its results waited here), only those move to `rejected/` and the rest is sent again; otherwise the whole
   * batch does. Either way it is logged and counted, never retried forever. Returns false when the files could
   * not be moved (e.g. ENOSPC): the segment stays queued whole, to be retried after a backoff.
   */
  async #refused(seg: Segment, outcome: Extract<DeliveryOutcome, { kind: 'rejected' }>): Promise<boolean> {
    const bad = new Set<number>();
    let named = outcome.issues.length > 0;
    let lines: string[] = [];
    try {
      lines = named ? await this.#spool.lines(seg) : [];
    } catch {
      named = false;
    }
    for (const issue of outcome.issues) {
      const m = /^results\.(\d+)(\.destination)?(\.|$)/.exec(issue.path);
      const i = m ? Number(m[1]) : Number.NaN;
      if (!(i < lines.length)) {
        named = false;
        continue;
      }
      bad.add(i);
      // The control plane names the first result of an unknown destination; the others of it fail the same way.
      if (m?.[2]) {
        const destination = destinationOf(lines[i]!);
        lines.forEach((line, j) => {
          if (destinationOf(line) === destination) bad.add(j);
        });
      }
    }
    const partial = named && bad.size < seg.count;
    const refused = partial ? bad.size : seg.count;
    let movedTo: string;
    try {
      movedTo = partial ? (await this.#spool.split(seg, bad)).rejectedPath : await this.#spool.reject(seg);
    } catch (err) {
      // Nothing moved: the segment (good results included) stays queued and is sent, and refused, again later.
      this.#log.error(
        { err, path: seg.path, status: outcome.status, refused, ofBatch: seg.count },
        '[agent:outbox] cannot move a refused batch to rejected/; keeping it queued and retrying with backoff',
      );
      return false;
    }
    // Counted once the files moved: until then the segment is still queued (pending).
    this.#stats.rejected += refused;
    this.#drop(refused, 'rejected', outcome.message);
    this.#log.error(
      { status: outcome.status, refused, ofBatch: seg.count, movedTo, message: outcome.message },
      refused < seg.count
        ? '[agent:outbox] the control plane refused some results of a batch for good; moved them to rejected/, resending the rest'
        : '[agent:outbox] the control plane refused a batch for good; moved it to rejected/',
    );
    return true;
  }

  /** A backoff wait that ends early when the outbox stops. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#clock.setTimer(done, ms);
      const signal = this.#abort.signal;
      function done() {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }
      const clock = this.#clock;
      function onAbort() {
        clock.clearTimer(timer);
        resolve();
      }
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function destinationOf(line: string): unknown {
  try {
    return (JSON.parse(line) as { destination?: unknown }).destination;
  } catch {
    return undefined;
  }
}
