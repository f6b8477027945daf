/**
 * `/v1/agent`: what an agent calls with its own token. The source is always the token's; nothing in a request
 * can name another.
 */
import { Hono } from 'hono';
import * as v from 'valibot';
import { MAX_BATCH_BYTES, MAX_WAIT_SECONDS } from '../../contract/index.js';
import { buildAgentConfig, parseIfNoneMatch } from '../agent-config.js';
import type { AuthEnv } from '../auth.js';
import { assertJsonContentType, readBody } from '../body.js';
import type { RouteDeps } from '../deps.js';
import { HttpError, type Issue } from '../http-error.js';
import { linkSignals } from '../linked-signal.js';
import { waitForVersion } from '../long-poll.js';
import { parseWith } from '../validate.js';
import { VersionedLookups } from '../versioned-lookups.js';

const WaitQuerySchema = v.strictObject({
  wait: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^\d+$/, 'must be a whole number of seconds'),
      v.transform(Number),
      v.maxValue(MAX_WAIT_SECONDS, `must be at most ${MAX_WAIT_SECONDS}`),
    ),
  ),
});

/** lastSeen is a hint for operators: write it at most this often per source. */
const TOUCH_EVERY_MS = 5_000;

const gone = () => new HttpError(401, 'unauthorized', 'the source of this token no longer exists');

export function agentRoutes(deps: RouteDeps) {
  const { store, guard, clock } = deps;
  const touched = new Map<string, number>();
  const lookups = new VersionedLookups(store);
  const touch = (sourceId: string) => {
    const now = clock.now();
    if (now.getTime() - (touched.get(sourceId) ?? Number.NEGATIVE_INFINITY) < TOUCH_EVERY_MS) return;
    touched.set(sourceId, now.getTime());
    store.touchSource(sourceId, now).catch((err: unknown) => {
      deps.logger.warn({ err, sourceId }, 'could not record lastSeen');
    });
  };

  return new Hono<AuthEnv>()
    .get('/config', guard.agent, async (c) => {
      const sourceId = c.get('principal').sourceId!;
      const { wait = 0 } = parseWith(WaitQuerySchema, c.req.query(), 'query');
      const known = parseIfNoneMatch(c.req.header('if-none-match'));
      touch(sourceId);
      const deadline = Date.now() + Math.min(wait, deps.maxWaitSeconds) * 1000;
      // Per request, released when it ends: the long-lived shutdown signal must not keep a trace of each poll.
      const linked = linkSignals(c.req.raw.signal, deps.shutdown);
      try {
        for (;;) {
          // Read the version before the config: a change committed in between is then seen by the wait.
          const since = await store.configVersion();
          const config = await buildAgentConfig(store, sourceId);
          if (!config) throw gone();
          if (!known.includes(config.version)) {
            c.header('ETag', `"${config.version}"`);
            c.header('Cache-Control', 'no-store');
            return c.json(config);
          }
          const left = deadline - Date.now();
          if (left > 0)
            deps.logger.debug({ sourceId, version: config.version, waitMs: left }, 'long-poll waiting');
          const outcome =
            left > 0
              ? await waitForVersion(store, since, {
                  timeoutMs: left,
                  pollIntervalMs: deps.pollIntervalMs,
                  signal: linked.signal,
                })
              : 'timeout';
          if (outcome !== 'changed') {
            c.header('ETag', `"${config.version}"`);
            return c.body(null, 304);
          }
          // Something changed; if it was another source's business the version is the same and we wait on.
        }
      } finally {
        linked.release();
      }
    })
    .post('/results', guard.agent, async (c) => {
      const sourceId = c.get('principal').sourceId!;
      assertJsonContentType(c);
      const { results } = await deps.parseResultBatch(
        await readBody(c, { maxBytes: MAX_BATCH_BYTES, gzip: true }),
      );
      await lookups.refresh();
      const source = await lookups.source(sourceId);
      if (!source) throw gone();
      touch(sourceId);
      await assertConcerns(lookups, sourceId, results);
      const receipt = await store.putResults(
        { id: source.id, location: source.location, host: source.host },
        results,
      );
      return c.json(receipt);
    });
}

/**
 * An agent posts only for destinations that concern its source (named, or naming no source). Active or not:
 * results probed just before a destination was switched off are still true. An unknown destination is left to
 * the store, which refuses the batch with 400 in the same transaction as the insert.
 */
async function assertConcerns(
  lookups: VersionedLookups,
  sourceId: string,
  results: readonly { destination: string }[],
) {
  const checked = new Set<string>();
  const issues: Issue[] = [];
  for (const [i, r] of results.entries()) {
    if (checked.has(r.destination)) continue;
    checked.add(r.destination);
    const destination = await lookups.destination(r.destination);
    if (destination && destination.sources.length > 0 && !destination.sources.includes(sourceId)) {
      issues.push({
        path: `results.${i}.destination`,
        message: `${r.destination} is not probed by this source`,
      });
    }
  }
  if (issues.length > 0) {
    throw new HttpError(403, 'forbidden', 'the batch names destinations this source does not probe', issues);
  }
}
