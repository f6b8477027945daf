/** What the routes are built from: injected by `createApp`, so each route stays free of runtime imports. */
import type { MiddlewareHandler } from 'hono';
import type { AuthEnv } from './auth.js';
import type { BatchParser } from './batch-parser.js';
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
}

/** Largest admin request body (a destination naming 1,000 sources fits with room to spare). */
export const MAX_ADMIN_BODY_BYTES = 256 * 1024;
