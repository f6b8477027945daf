/**
 * The control plane on a Node host: the app over @hono/node-server, a SQLite file, pino logs, and a graceful
 * close that wakes waiting long-polls, lets requests in flight finish, then closes the store.
 */
import { setMaxListeners } from 'node:events';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { serve as serveHono } from '@hono/node-server';
import pino from 'pino';
import type { Retention } from '../contract/index.js';
import { createApp } from './app.js';
import { ensureAdminToken, hashToken, MIN_ADMIN_TOKEN_LENGTH } from './auth.js';
import { createBatchWorkerPool } from './batch-worker-pool.js';
import type { Logger } from './deps.js';
import { startPruneTimer } from './prune-timer.js';
import { createSqliteStore, DEFAULT_DB_PATH } from './store/sqlite/sqlite.js';
import { loadWebAssets, WEB_DIST } from './web-assets-load.js';

export interface ServeOptions {
  host?: string;
  /** 0 picks a free port; the chosen one is in the handle's `url`. */
  port?: number;
  dbPath?: string;
  /** The operator's admin token (`PINGER_ADMIN_TOKEN`); without it one is generated on first start. */
  adminToken?: string | undefined;
  logger?: Logger;
  /** Requests still running this long after close starts are cut. */
  closeTimeoutMs?: number;
  /** Worker threads that parse result batches beside the main thread; 0 parses inline. */
  parserThreads?: number;
  /** How long raw results and each rollup tier are kept (`--retention`); the store's defaults unless given. */
  retention?: Retention;
  /** Milliseconds between retention passes when there is no backlog (default a minute). */
  pruneIntervalMs?: number;
  /** The dashboard's build to serve at `/`; the repository's web/dist unless given. */
  webDir?: string;
  /** A source not heard from for this long loses its slices of split censuses (default 3 minutes). */
  censusSilentAfterMs?: number;
}

export interface ServerHandle {
  /** Base URL the server listens on, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** The admin token this start generated (first start without `PINGER_ADMIN_TOKEN`), to print once. */
  generatedAdminToken: string | undefined;
  /** Stops accepting, answers waiting long-polls, waits for requests in flight, closes the store. Idempotent. */
  close(): Promise<void>;
}

/** Names a startup failure the operator can fix (bad port, bad token, unreadable database file). */
export class ServeError extends Error {
  override name = 'ServeError';
}

/** A pino logger writing JSON lines to stderr (stdout stays for what the operator must read). */
export function createLogger(level = process.env.PINGER_LOG_LEVEL ?? 'info'): Logger {
  return pino({ name: 'pinger', level }, pino.destination({ fd: 2, sync: false }));
}

/** Starts the control plane. */
export async function serve(options: ServeOptions = {}): Promise<ServerHandle> {
  const logger = options.logger ?? createLogger();
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? 8080;
  if (options.adminToken !== undefined && options.adminToken.length < MIN_ADMIN_TOKEN_LENGTH) {
    throw new ServeError(`[serve] PINGER_ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`);
  }
  const store = createSqliteStore({ path: options.dbPath ?? DEFAULT_DB_PATH, retention: options.retention });
  let generatedAdminToken: string | undefined;
  let adminTokenHash: string | undefined;
  try {
    if (options.adminToken !== undefined) adminTokenHash = await hashToken(options.adminToken);
    else generatedAdminToken = await ensureAdminToken(store);
  } catch (err) {
    await store.close();
    throw err;
  }

  const shutdown = new AbortController();
  // Every waiting long-poll listens to it (a thousand agents: a thousand listeners); that is no leak, and each
  // request removes its own when it ends.
  setMaxListeners(0, shutdown.signal);
  // One core runs the event loop and SQLite; parsing and validating batches goes to the others.
  const threads = options.parserThreads ?? Math.min(2, Math.max(1, availableParallelism() - 1));
  const pool = threads > 0 ? createBatchWorkerPool(threads, logger) : undefined;
  const webDir = options.webDir ?? fileURLToPath(new URL(`../${WEB_DIST}`, import.meta.url));
  const web = loadWebAssets(webDir);
  if (!web) logger.warn({ webDir }, 'no dashboard build: `npm run build:web` makes it');
  const app = createApp({
    store,
    logger,
    web,
    adminTokenHash,
    shutdown: shutdown.signal,
    parseResultBatch: pool?.parse,
    ...(options.censusSilentAfterMs !== undefined
      ? { census: { silentAfterMs: options.censusSilentAfterMs } }
      : {}),
  });
  const server = await new Promise<ReturnType<typeof serveHono>>((resolve, reject) => {
    const s = serveHono({ fetch: app.fetch, hostname: host, port }, () => resolve(s));
    s.once('error', (err) => {
      reject(new ServeError(`[serve] cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
    });
  }).catch(async (err: unknown) => {
    await pool?.close();
    await store.close();
    throw err;
  });
  const pruning = store.stats && startPruneTimer(store.stats, logger, options.pruneIntervalMs ?? 60_000);
  const address = server.address() as AddressInfo;
  const url = `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;
  logger.info({ url, db: options.dbPath ?? DEFAULT_DB_PATH, store: store.kind }, 'listening');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      shutdown.abort();
      const timer = setTimeout(() => {
        logger.warn({}, 'requests still running at the close deadline: cutting them');
        (server as import('node:http').Server).closeAllConnections();
      }, options.closeTimeoutMs ?? 10_000);
      // close() drops only connections idle at that moment; those whose long-poll the abort just answered go
      // idle a moment later and would hold the close for their keep-alive timeout. Drop them as they go idle.
      const idle = setInterval(() => (server as import('node:http').Server).closeIdleConnections(), 20);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      clearInterval(idle);
      clearTimeout(timer);
      await pool?.close();
      await pruning?.stop();
      await store.close();
      logger.info({}, 'closed');
    })();
    return closing;
  };
  return { url, generatedAdminToken, close };
}

/** Closes the server on SIGTERM or SIGINT; a second signal exits at once. */
export function closeOnSignals(handle: ServerHandle, logger: Logger): void {
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) process.exit(130);
    signalled = true;
    logger.info({ signal }, 'closing');
    handle.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'close failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
