/**
 * Follows the control plane's destination set: long-polls `GET /v1/agent/config?wait=S` with If-None-Match (undici)
 * and hands every new config to `onConfig` (which applies the difference to the scheduler). The last config is
 * cached on disk and applied at start-up before the first request, so probing does not wait for — or depend on —
 * the control plane being up. While it is away: exponential backoff with full jitter. A 401/403 means the token is
 * wrong, which no retry fixes: {@link ConfigSync.run} rejects with {@link SyncAuthError} and the daemon exits.
 */
import { type Dispatcher, request } from 'undici';
import * as v from 'valibot';
import { type AgentConfig, ErrorBodySchema } from '../../contract/index.js';
import { requestSignal } from '../http/abort.js';
import { fullJitterDelay } from '../http/backoff.js';
import { endpointUrl } from '../http/endpoint.js';
import { type AgentMetrics, createAgentMetrics } from '../metrics/metrics.js';
import { type Clock, systemClock } from '../schedule/clock.js';
import { loadConfigCache, saveConfigCacheText } from './config-cache.js';
import { ConfigReader } from './config-reader.js';

/** The control plane refused the agent's token (401/403): fatal, the operator must fix the token. */
export class SyncAuthError extends Error {
  override name = 'SyncAuthError';
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface SyncLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface SyncOptions {
  /** Base URL of the control plane; its path is kept (`https://h/pinger/` polls `/pinger/v1/agent/config`). */
  url: string;
  token: string;
  /** Where the last config is cached (e.g. `<spool>/config.json`). */
  cachePath: string;
  /** Receives each new config (and the cached one at start). May throw: logged, and the loop goes on. */
  onConfig: (config: AgentConfig, origin: 'cache' | 'control-plane') => void;
  /** The agent's pps budget, told to the control plane with each poll (it sizes the agent's census slices). */
  pps?: number;
  /** Long-poll wait in seconds (default 25, below common 30 s proxy timeouts). */
  waitSeconds?: number;
  /**
   * Least time between the starts of two polls (default 1 s): a proxy that ignores If-None-Match or cuts the
   * long-poll short would otherwise make a tight loop of requests.
   */
  minPollIntervalMs?: number;
  /** Backoff while the control plane is away; default 500 ms … 30 s, full jitter. */
  backoff?: { baseMs: number; capMs: number; random?: () => number };
  clock?: Clock;
  metrics?: AgentMetrics;
  logger?: SyncLogger;
  dispatcher?: Dispatcher;
}

const silent: SyncLogger = { info() {}, warn() {}, error() {} };

export class ConfigSync {
  readonly #o: SyncOptions;
  readonly #clock: Clock;
  readonly #metrics: AgentMetrics;
  readonly #log: SyncLogger;
  readonly #abort = new AbortController();
  #etag: string | undefined;
  #version: string | undefined;
  /** The last poll brought a new config. */
  #changed = false;
  /** Validates only the destinations that changed since the last config. */
  readonly #reader = new ConfigReader();
  /** The cache write in progress, and the newest config still to write after it (older ones are skipped). */
  #saving: Promise<void> | undefined;
  #toSave: { etag: string; text: string } | undefined;

  constructor(options: SyncOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#metrics = options.metrics ?? createAgentMetrics();
    this.#log = options.logger ?? silent;
  }

  /** The version of the config last applied. */
  get version(): string | undefined {
    return this.#version;
  }

  /**
   * Applies the cached config (if any), then long-polls until {@link stop}. Resolves when stopped; rejects with
   * {@link SyncAuthError} when the token is refused.
   */
  async run(): Promise<void> {
    const cached = await loadConfigCache(this.#o.cachePath, this.#log);
    if (cached && !this.#abort.signal.aborted) {
      this.#log.info(
        {
          version: cached.config.version,
          destinations: cached.config.destinations.length,
          savedAt: cached.savedAt,
        },
        '[agent:sync] probing from the cached config until the control plane answers',
      );
      this.#reader.remember(cached.config);
      this.#apply(cached.config, cached.etag, 'cache');
    }
    let attempt = 0;
    const minInterval = this.#o.minPollIntervalMs ?? 1000;
    while (!this.#abort.signal.aborted) {
      const started = this.#clock.now();
      const failure = await this.#poll();
      if (failure === undefined) {
        if (attempt > 0) this.#log.info({ failures: attempt }, '[agent:sync] control plane reachable again');
        attempt = 0;
        // An answer long before `wait` with nothing new is a proxy not holding the long-poll (or dropping
        // If-None-Match): space the polls. A real change polls again at once, to wait for the next one.
        const early = minInterval - (this.#clock.now() - started);
        if (!this.#changed && early > 0) await this.#sleep(early);
        continue;
      }
      if (this.#abort.signal.aborted) break;
      this.#metrics.syncFailures.inc();
      const delay = fullJitterDelay(attempt, this.#o.backoff ?? { baseMs: 500, capMs: 30_000 });
      if (attempt % 10 === 0) {
        this.#log.warn(
          { error: failure, attempt: attempt + 1, retryInMs: delay, version: this.#version },
          '[agent:sync] cannot fetch the config; probing goes on with the last one',
        );
      }
      attempt++;
      await this.#sleep(delay);
    }
    // The newest config reaches the disk before the agent exits.
    await this.#saving;
  }

  /** Ends the long-poll in flight and the loop. */
  stop(): void {
    this.#abort.abort();
  }

  /** One request. Resolves undefined on success (200 or 304), else a description of the failure. */
  async #poll(): Promise<string | undefined> {
    this.#changed = false;
    const wait = this.#o.waitSeconds ?? 25;
    const url = endpointUrl(this.#o.url, 'v1/agent/config');
    url.searchParams.set('wait', String(wait));
    if (this.#o.pps !== undefined) url.searchParams.set('pps', String(this.#o.pps));
    let res: Dispatcher.ResponseData;
    // The server answers by `wait`; 15 s more covers a slow answer, a stall beyond that is a failure.
    const req = requestSignal(this.#abort.signal, (wait + 15) * 1000);
    try {
      res = await request(url, {
        headers: {
          authorization: `Bearer ${this.#o.token}`,
          accept: 'application/json',
          ...(this.#etag ? { 'if-none-match': this.#etag } : {}),
        },
        signal: req.signal,
        headersTimeout: (wait + 15) * 1000,
        ...(this.#o.dispatcher ? { dispatcher: this.#o.dispatcher } : {}),
      });
    } catch (err) {
      req.done();
      return (err as Error).message;
    }
    const status = res.statusCode;
    let text: string;
    try {
      text = await res.body.text();
    } catch (err) {
      return `reading the answer: ${(err as Error).message}`;
    } finally {
      req.done();
    }
    if (status === 304) {
      this.#synced();
      return undefined;
    }
    if (status === 401 || status === 403) {
      const body = v.safeParse(ErrorBodySchema, safeJson(text));
      const why = body.success ? body.output.error.message : text.slice(0, 200);
      throw new SyncAuthError(
        `[agent:sync] the control plane refused the agent token (HTTP ${status}: ${why}); ` +
          'check --token / PINGER_TOKEN (pinger source add prints it; POST /v1/sources/:id/token rotates it)',
        status,
      );
    }
    if (status !== 200) return `HTTP ${status}: ${text.slice(0, 200)}`;
    const parsed = this.#reader.read(safeJson(text));
    if (!parsed.success) {
      const issues = parsed.issues.slice(0, 3).map((i) => `${i.path}: ${i.message}`);
      return `the config does not match the contract (${issues.join('; ')})`;
    }
    const header = res.headers.etag;
    const etag = typeof header === 'string' ? header : `"${parsed.output.version}"`;
    if (parsed.output.version === this.#version) {
      // The same config again (a proxy that drops If-None-Match): nothing to apply, nothing to fsync.
      this.#etag = etag;
      this.#synced();
      return undefined;
    }
    this.#changed = true;
    this.#apply(parsed.output, etag, 'control-plane');
    this.#synced();
    // Off the poll's path: the next long-poll (the next change) need not wait for two fsyncs.
    this.#save(etag, text);
    return undefined;
  }

  /** Caches the config as the control plane sent it (it passed the contract): no re-serialising of the set. */
  #save(etag: string, text: string): void {
    this.#toSave = { etag, text };
    this.#saving ??= (async () => {
      for (let next = this.#toSave; next !== undefined; next = this.#toSave) {
        this.#toSave = undefined;
        try {
          await saveConfigCacheText(this.#o.cachePath, next.etag, next.text);
        } catch (err) {
          this.#log.warn({ err, path: this.#o.cachePath }, '[agent:sync] cannot cache the config on disk');
        }
      }
      this.#saving = undefined;
    })();
  }

  #apply(config: AgentConfig, etag: string, origin: 'cache' | 'control-plane'): void {
    this.#etag = etag;
    this.#version = config.version;
    try {
      this.#o.onConfig(config, origin);
    } catch (err) {
      this.#log.error({ err, version: config.version }, '[agent:sync] applying the config failed');
    }
  }

  #synced(): void {
    this.#metrics.lastSync.set(Date.now() / 1000);
  }

  #sleep(ms: number): Promise<void> {
    const signal = this.#abort.signal;
    const clock = this.#clock;
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer = clock.setTimer(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      function onAbort() {
        clock.clearTimer(timer);
        resolve();
      }
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
