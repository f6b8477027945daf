/**
 * `GET /v1/stats` (series at a step over a range) and `GET /v1/stats/summary` (one row per pair over a window),
 * read from the store's rollups. Admin or read token.
 */
import { Hono } from 'hono';
import {
  DEFAULT_STATS_SPAN_SECONDS,
  StatsQuerySchema,
  SUMMARY_WINDOWS,
  SummaryQuerySchema,
} from '../../contract/index.js';
import type { AuthEnv } from '../auth.js';
import type { RouteDeps } from '../deps.js';
import { badRequest } from '../http-error.js';
import { parseWith } from '../validate.js';
import { checkPair, queryWithLabels, statsOf } from './stats-access.js';

const NS_PER_SECOND = 1_000_000_000n;

export function statsRoutes({ store, guard, clock }: RouteDeps) {
  return new Hono<AuthEnv>()
    .get('/', guard.reader, async (c) => {
      const stats = statsOf(store);
      const query = parseWith(StatsQuerySchema, queryWithLabels(c), 'query');
      const to = query.to === undefined ? BigInt(clock.now().getTime()) * 1_000_000n : BigInt(query.to);
      const from =
        query.from === undefined
          ? to - BigInt(DEFAULT_STATS_SPAN_SECONDS) * NS_PER_SECOND
          : BigInt(query.from);
      // The schema checks the pair when both are given; a `from` after the default `to` (now) is caught here.
      if (from > to) {
        throw badRequest(`invalid query: from ${from} is after to ${to}`, [
          { path: 'from', message: 'must not be after to' },
        ]);
      }
      const filter = { destination: query.destination, source: query.source, labels: query.label };
      await checkPair(store, filter);
      return c.json(await stats.readStats({ ...filter, from, to, step: query.step }));
    })
    .get('/summary', guard.reader, async (c) => {
      const stats = statsOf(store);
      const query = parseWith(SummaryQuerySchema, queryWithLabels(c), 'query');
      const filter = { destination: query.destination, source: query.source, labels: query.label };
      await checkPair(store, filter);
      const window = SUMMARY_WINDOWS[query.window];
      const to = BigInt(clock.now().getTime()) * 1_000_000n;
      const rows = await stats.summary({ ...filter, to, window, sort: query.sort });
      return c.json({ window, rows });
    });
}
