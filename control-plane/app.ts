/**
 * The control plane as a Hono app, built from injected parts. No runtime imports: `node.ts` serves it on a
 * Node host, `lambda.ts` behind API Gateway.
 */
import { Hono } from 'hono';
import { MAX_WAIT_SECONDS } from '../contract/index.js';
import { type AuthEnv, authenticate } from './auth.js';
import { type BatchParser, inlineBatchParser } from './batch-parser.js';
import {
  CENSUS_SPLIT_DEFAULTS,
  type CensusSplitOptions,
  type Clock,
  type Logger,
  type RouteDeps,
} from './deps.js';
import { errorBody, errorResponse, toHttpError } from './http-error.js';
import { openApiDocument } from './openapi.js';
import { agentRoutes } from './routes/agent.js';
import { agentCensusRoutes, censusRoutes } from './routes/census.js';
import { destinationsRoutes } from './routes/destinations.js';
import { metricsRoutes } from './routes/metrics.js';
import { resultsRoutes } from './routes/results.js';
import { sourcesRoutes } from './routes/sources.js';
import { statsRoutes } from './routes/stats.js';
import { tokensRoutes } from './routes/tokens.js';
import { type WebAssets, webRoutes } from './routes/web.js';
import type { Store } from './store/store.js';

export interface AppOptions {
  store: Store;
  clock?: Clock;
  logger?: Logger;
  /** Hash of `PINGER_ADMIN_TOKEN`; when set, the only admin token accepted (see auth.ts). */
  adminTokenHash?: string | undefined;
  /** Cap on `?wait=` of the config long-poll, seconds (60; a Lambda host sets ~20). */
  maxWaitSeconds?: number;
  /** How often a waiting long-poll re-reads the version when the store cannot push changes. */
  pollIntervalMs?: number;
  /** Abort when closing: waiting long-polls answer 304 at once instead of holding the shutdown. */
  shutdown?: AbortSignal;
  /** Parses result batch bodies; inline by default (node.ts passes a worker-thread pool). */
  parseResultBatch?: BatchParser;
  /** The dashboard's built files, served at `/` (the host entry reads them; see web-assets-load.ts). */
  web?: WebAssets | undefined;
  /** Split censuses: when a source is silent, and how often held polls re-check (defaults: 180 s, 5 s). */
  census?: Partial<CensusSplitOptions>;
}

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Builds the control plane's HTTP app. */
export function createApp(options: AppOptions): Hono<AuthEnv> {
  const auth = { store: options.store, adminTokenHash: options.adminTokenHash };
  const deps: RouteDeps = {
    store: options.store,
    clock: options.clock ?? { now: () => new Date() },
    logger: options.logger ?? silent,
    guard: {
      admin: authenticate(auth, 'admin'),
      reader: authenticate(auth, 'admin', 'read'),
      agent: authenticate(auth, 'agent'),
    },
    maxWaitSeconds: Math.min(options.maxWaitSeconds ?? MAX_WAIT_SECONDS, MAX_WAIT_SECONDS),
    pollIntervalMs: options.pollIntervalMs ?? 1000,
    shutdown: options.shutdown,
    parseResultBatch: options.parseResultBatch ?? inlineBatchParser,
    census: censusSplitOptions(options.census),
  };

  const app = new Hono<AuthEnv>()
    .use(async (c, next) => {
      const started = Date.now();
      await next();
      deps.logger.debug(
        { method: c.req.method, path: c.req.path, status: c.res.status, ms: Date.now() - started },
        'request',
      );
    })
    .get('/healthz', (c) => c.json({ ok: true, store: options.store.kind }))
    .get('/openapi.json', (c) => c.json(openApiDocument()))
    .route('/v1/sources', sourcesRoutes(deps))
    .route('/v1/destinations', destinationsRoutes(deps))
    .route('/v1/agent/census', agentCensusRoutes(deps))
    .route('/v1/agent', agentRoutes(deps))
    .route('/v1/census', censusRoutes(deps))
    .route('/v1/results', resultsRoutes(deps))
    .route('/v1/tokens', tokensRoutes(deps))
    .route('/v1/stats', statsRoutes(deps))
    .route('/metrics', metricsRoutes(deps))
    .route('/', webRoutes(options.web));

  app.notFound((c) => c.json(errorBody('not_found', `no route for ${c.req.method} ${c.req.path}`), 404));
  app.onError((err, c) => {
    const known = toHttpError(err);
    if (known) {
      if (known.status >= 500) deps.logger.warn({ err }, 'request refused');
      return errorResponse(c, known);
    }
    // A bug or a broken backend: log everything, tell the client nothing about the internals.
    deps.logger.error({ err, method: c.req.method, path: c.req.path }, 'request failed');
    return c.json(errorBody('internal', 'internal error'), 500);
  });
  return app;
}

/** The split-census options with defaults; a short silence bound re-checks held polls more often (a third of it). */
function censusSplitOptions(given: Partial<CensusSplitOptions> | undefined): CensusSplitOptions {
  const silentAfterMs = given?.silentAfterMs ?? CENSUS_SPLIT_DEFAULTS.silentAfterMs;
  return {
    silentAfterMs,
    recheckMs: given?.recheckMs ?? Math.min(CENSUS_SPLIT_DEFAULTS.recheckMs, silentAfterMs / 3),
  };
}
