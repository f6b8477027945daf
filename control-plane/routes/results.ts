/**
 * `GET /v1/results`: newest first, filtered, a page at a time with an opaque cursor; `?format=ndjson` streams
 * every matching page as one result per line (the `limit` is then the page size of the walk).
 */
import { Hono } from 'hono';
import { stream } from 'hono/streaming';
import { ResultQuerySchema } from '../../contract/index.js';
import type { AuthEnv } from '../auth.js';
import type { RouteDeps } from '../deps.js';
import type { ResultFilter } from '../store/store.js';
import { parseWith } from '../validate.js';

export function resultsRoutes({ store, guard, logger }: RouteDeps) {
  return new Hono<AuthEnv>().get('/', guard.reader, async (c) => {
    const query = parseWith(ResultQuerySchema, c.req.query(), 'query');
    const filter: ResultFilter = {
      destination: query.destination,
      source: query.source,
      status: query.status,
      from: query.from === undefined ? undefined : BigInt(query.from),
      to: query.to === undefined ? undefined : BigInt(query.to),
      limit: query.limit,
      cursor: query.cursor,
    };
    if (query.format === 'json') return c.json(await store.listResults(filter));

    // Read the first page before answering, so a bad cursor is still a 400 and not a broken stream.
    let page = await store.listResults(filter);
    c.header('Content-Type', 'application/x-ndjson');
    return stream(
      c,
      async (out) => {
        for (;;) {
          if (page.results.length > 0) {
            await out.write(`${page.results.map((r) => JSON.stringify(r)).join('\n')}\n`);
          }
          if (page.cursor === null || out.aborted) return;
          page = await store.listResults({ ...filter, cursor: page.cursor });
        }
      },
      async (err) => {
        // Headers are gone: all that is left is to end the stream early, which the client sees as cut short.
        logger.error({ err }, 'results export failed mid-stream');
      },
    );
  });
}
