/** What the routes are built from: injected by `createApp`, so each route stays free of runtime imports. */
import type { MiddlewareHandler } from 'hono';
import type { AuthEnv } from './auth.js';
import type { BatchParser } from './batch-parser.js';
import type { SplitRule } from './census/split-members.js';
import type { Store } from './store/store.js';

/** The subset of pino's API the app uses; pass a pino logger or anything shaped like it. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Wall clock, injectable for tests. */
export interface Clock {
  now(): Date;
}

export interface RouteDeps {
  store: Store;
  clock: Clock;
  logger: Logger;
  /** Middleware admitting admin tokens; admin or read tokens; agent tokens. */
  guard: {
    admin: MiddlewareHandler<AuthEnv>;
    reader: MiddlewareHandler<AuthEnv>;
    agent: MiddlewareHandler<AuthEnv>;
  };
  /** Longest long-poll granted, seconds. */
  maxWaitSeconds: number;
  /** Re-read interval of the config version when the store cannot push changes. */
  pollIntervalMs: number;
  /** Parses and validates a result batch body (inline, or on worker threads on a Node host). */
  parseResultBatch: BatchParser;
  /** Aborted when the server is closing: long-polls answer at once. */
  shutdown?: AbortSignal | undefined;
  /** Split censuses: when a source counts as silent (see census/split-config.ts). */
  census: CensusSplitOptions;
}

/** How the control plane decides which sources share a split census. */
export interface CensusSplitOptions {
  /**
   * A source not heard from (config poll, results) for this long is silent: its slice goes to the others at
   * their next pass. Must exceed the interval at which the store records `lastSeen` (DynamoDB: 60 s by default).
   */
  silentAfterMs: number;
  /** How often a held config poll of an agent with a split census re-checks who is alive. */
  recheckMs: number;
  /**
   * When a source that polls but does not deliver its slices is left out, and let back in (census/split-members.ts);
   * default `SPLIT_RULE_DEFAULTS` there.
   */
  rule?: SplitRule;
}

/** Defaults of {@link CensusSplitOptions}: silent after 3 minutes, re-checked every 5 s. */
export const CENSUS_SPLIT_DEFAULTS: CensusSplitOptions = { silentAfterMs: 180_000, recheckMs: 5_000 };

/** Largest admin request body (a destination naming 1,000 sources fits with room to spare). */
export const MAX_ADMIN_BODY_BYTES = 256 * 1024;
