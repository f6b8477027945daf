/**
 * `/v1/agent`: what an agent calls with its own token. The source is always the token's; nothing in a request
 * can name another. An agent reads only its own config, and posts results only for destinations its source
 * probes, or could have been probing at the result's rtime (see {@link assertConcerns}: results spooled while
 * the agent was cut off stay welcome after an operator moves the destination to other sources).
 */
import { Hono } from 'hono';
import { AgentConfigQuerySchema, MAX_BATCH_BYTES } from '../../contract/index.js';
import { buildAgentConfig, parseIfNoneMatch } from '../agent-config.js';
import type { AuthEnv } from '../auth.js';
import { assertJsonContentType, readBody } from '../body.js';
import type { RouteDeps } from '../deps.js';
import { HttpError, type Issue } from '../http-error.js';
import { linkSignals } from '../linked-signal.js';
import { waitForVersion } from '../long-poll.js';
import { parseWith } from '../validate.js';
import { VersionedLookups } from '../versioned-lookups.js';

/**
 * lastSeen is a hint for operators, and tells which sources share a split census: write it at most this often
 * per source (more often when the census's silence bound is short, so a live source never looks silent).
 */
const TOUCH_EVERY_MS = 5_000;

const gone = () => new HttpError(401, 'unauthorized', 'the source of this token no longer exists');

export function agentRoutes(deps: RouteDeps) {
  const { store, guard, clock } = deps;
  const touched = new Map<string, number>();
  const ppsOf = new Map<string, number>();
  const lookups = new VersionedLookups(store);
  const touchEvery = Math.min(TOUCH_EVERY_MS, deps.census.silentAfterMs / 3);
  const touch = (sourceId: string, pps?: number) => {
    const now = clock.now();
    const newPps = pps !== undefined && ppsOf.get(sourceId) !== pps;
    if (!newPps && now.getTime() - (touched.get(sourceId) ?? Number.NEGATIVE_INFINITY) < touchEvery) return;
    touched.set(sourceId, now.getTime());
    if (pps !== undefined) ppsOf.set(sourceId, pps);
    store.touchSource(sourceId, now, pps).catch((err: unknown) => {
      deps.logger.warn({ err, sourceId }, 'could not record lastSeen');
    });
  };

  return new Hono<AuthEnv>()
    .get('/config', guard.agent, async (c) => {
      const sourceId = c.get('principal').sourceId!;
      const { wait = 0, pps } = parseWith(AgentConfigQuerySchema, c.req.query(), 'query');
      const known = parseIfNoneMatch(c.req.header('if-none-match'));
      touch(sourceId, pps);
      const deadline = Date.now() + Math.min(wait, deps.maxWaitSeconds) * 1000;
      // Per request, released when it ends: the long-lived shutdown signal must not keep a trace of each poll.
      const linked = linkSignals(c.req.raw.signal, deps.shutdown);
      try {
        for (;;) {
          // Read the version before the config: a change committed in between is then seen by the wait.
          const since = await store.configVersion();
          const config = await buildAgentConfig(store, sourceId, {
            now: clock.now(),
            silentAfterMs: deps.census.silentAfterMs,
            ...(deps.census.rule ? { rule: deps.census.rule } : {}),
          });
          if (!config) throw gone();
          if (!known.includes(config.version)) {
            c.header('ETag', `"${config.version}"`);
            c.header('Cache-Control', 'no-store');
            return c.json(config);
          }
          const left = deadline - Date.now();
          if (left > 0)
            deps.logger.debug({ sourceId, version: config.version, waitMs: left }, 'long-poll waiting');
          // Slices of split censuses change with who is alive, which no config version tracks: re-check them
          // (and note that this source, holding its poll, is alive) every `recheckMs`.
          const recheck = config.censusSlices !== undefined;
          const outcome =
            left > 0
              ? await waitForVersion(store, since, {
                  timeoutMs: recheck ? Math.min(left, deps.census.recheckMs) : left,
                  pollIntervalMs: deps.pollIntervalMs,
                  signal: linked.signal,
                })
              : 'timeout';
          if (outcome === 'timeout' && recheck && deadline - Date.now() > 0) {
            touch(sourceId);
            continue;
          }
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
 * An agent posts only for destinations that could have been its to probe when it probed them: a destination
 * that concerns its source now (named, or naming no source), or one that changed after the result's rtime and
 * existed before it (`createdAt <= rtime < updatedAt`). The second case keeps the results an agent spooled while
 * cut off from us, for a destination an operator has since taken from its source; the store keeps no history of
 * `sources`, so any later change to the destination opens that window, and a result from before the destination
 * existed never passes through it. Active or not: results probed just before a destination was switched off are
 * still true. An unknown destination is left to the store, which refuses the batch with 400 in the same
 * transaction as the insert. None of this lets an agent read anything but its own config.
 */
async function assertConcerns(
  lookups: VersionedLookups,
  sourceId: string,
  results: readonly { destination: string; rtime: string }[],
) {
  const issues: Issue[] = [];
  // Destinations that concern the source now pass for every rtime; one issue per refused one says which.
  const mine = new Set<string>();
  const refused = new Set<string>();
  await lookups.prefetchDestinations(new Set(results.map((r) => r.destination)));
  for (const [i, r] of results.entries()) {
    if (mine.has(r.destination) || refused.has(r.destination)) continue;
    const destination = await lookups.destination(r.destination);
    if (!destination) continue;
    if (destination.sources.length === 0 || destination.sources.includes(sourceId)) {
      mine.add(r.destination);
      continue;
    }
    const rtime = BigInt(r.rtime);
    if (nanos(destination.createdAt) <= rtime && rtime < nanos(destination.updatedAt)) continue;
    refused.add(r.destination);
    issues.push({
      path: `results.${i}.destination`,
      message: `${r.destination} is not probed by this source`,
    });
  }
  if (issues.length > 0) {
    throw new HttpError(403, 'forbidden', 'the batch names destinations this source does not probe', issues);
  }
}

/** An ISO timestamp (milliseconds) in nanoseconds since the epoch, to compare with an rtime. */
function nanos(iso: string): bigint {
  return BigInt(Date.parse(iso)) * 1_000_000n;
}
