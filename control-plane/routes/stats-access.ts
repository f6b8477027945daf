/**
 * What the statistics routes share: the store's stats capability or a 501 naming the backend, the pair
 * filters read from a query (`label` may repeat), and the 404s for a destination or source that does not exist.
 */
import type { Context } from 'hono';
import { HttpError } from '../http-error.js';
import type { PairFilter, StatsStore, Store } from '../store/store.js';

/** The store's statistics, or a 501: a backend without rollups cannot answer, and says which it is. */
export function statsOf(store: Store): StatsStore {
  if (store.stats) return store.stats;
  throw new HttpError(
    501,
    'not_implemented',
    `statistics are not available on the ${store.kind} store yet (its rollups are not built); the sqlite store has them`,
  );
}

/**
 * The query as a plain record for a schema, with `label` as every value given (one string, or an array when
 * repeated: `?label=a:1&label=b:2`), since `c.req.query()` keeps only the first.
 */
export function queryWithLabels(c: Context): Record<string, unknown> {
  const query: Record<string, unknown> = { ...c.req.query() };
  const labels = c.req.queries('label');
  if (labels && labels.length > 1) query.label = labels;
  return query;
}

/**
 * Refuses a filter naming a destination or source that does not exist: 404 with the field, rather than an
 * empty answer that reads like "no results" for a typo.
 */
export async function checkPair(store: Store, filter: PairFilter): Promise<void> {
  if (filter.destination !== undefined && !(await store.getDestination(filter.destination))) {
    throw notFound('destination', filter.destination);
  }
  if (filter.source !== undefined && !(await store.getSource(filter.source))) {
    throw notFound('source', filter.source);
  }
}

function notFound(field: 'destination' | 'source', id: string): HttpError {
  const message = `${field} ${id} does not exist`;
  return new HttpError(404, 'not_found', message, [{ path: field, message: 'does not exist' }]);
}
