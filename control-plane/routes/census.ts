/**
 * Censuses (issue 11). `POST /v1/agent/census/passes` takes a pass record from an agent (its source is the
 * token's; identity (source, destination, start), so a retried report stores once) and applies its answers to
 * the census's hosts (a split census's slice changes only the hosts in it). `GET /v1/census/:destination/{hosts,passes,events}` read them back (admin or read token).
 */
import { Hono } from 'hono';
import {
  CensusHostQuerySchema,
  CensusListQuerySchema,
  CensusPassReportSchema,
  type Destination,
  defaultCensus,
} from '../../contract/index.js';
import type { AuthEnv } from '../auth.js';
import { assertJsonContentType, parseJsonObject, readBody } from '../body.js';
import { answersOutsideSlice } from '../census/apply-pass.js';
import type { RouteDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import type { Store } from '../store/store.js';
import { parseWith } from '../validate.js';

/** A pass record lists at most 65,536 answers of ~40 bytes each: 4 MiB is ample, gzip or not. */
export const MAX_PASS_BYTES = 4 * 1024 * 1024;

/** The census destination named in the URL, or a 404 naming the field. */
async function censusOf(store: Store, id: string): Promise<Destination> {
  const destination = await store.getDestination(id);
  if (!destination) {
    throw new HttpError(404, 'not_found', `destination ${id} does not exist`, [
      { path: 'destination', message: `${id} does not exist` },
    ]);
  }
  if (destination.census === undefined) {
    throw new HttpError(404, 'not_found', `destination ${id} is not a census (its address is not a prefix)`, [
      { path: 'destination', message: `${id} is not a census (its address is not a prefix)` },
    ]);
  }
  return destination;
}

/** `/v1/agent/census`: what an agent reports. */
export function agentCensusRoutes({ store, guard }: RouteDeps) {
  return new Hono<AuthEnv>().post('/passes', guard.agent, async (c) => {
    const sourceId = c.get('principal').sourceId!;
    assertJsonContentType(c);
    const body = parseJsonObject(await readBody(c, { maxBytes: MAX_PASS_BYTES, gzip: true }));
    const pass = parseWith(CensusPassReportSchema, body, 'body');
    const destination = await store.getDestination(pass.destination);
    if (!destination) {
      throw new HttpError(400, 'bad_request', `destination ${pass.destination} does not exist`, [
        { path: 'destination', message: `${pass.destination} does not exist` },
      ]);
    }
    if (destination.census === undefined) {
      throw new HttpError(400, 'bad_request', `destination ${pass.destination} is not a census`, [
        { path: 'destination', message: 'is not a census (its address is not a prefix)' },
      ]);
    }
    if (destination.sources.length > 0 && !destination.sources.includes(sourceId)) {
      throw new HttpError(403, 'forbidden', 'the pass is of a destination this source does not probe', [
        { path: 'destination', message: `${pass.destination} is not probed by this source` },
      ]);
    }
    const outside = answersOutsideSlice(pass);
    if (outside.length > 0) {
      throw new HttpError(400, 'bad_request', 'the pass lists answers outside its slice', [
        { path: 'answers', message: `must lie in the slice; ${outside.join(', ')} do not` },
      ]);
    }
    const goneAfter = (destination.census ?? defaultCensus()).goneAfter;
    const { stored } = await store.census.putPass(sourceId, pass, goneAfter);
    return c.json({ stored, duplicate: !stored });
  });
}

/** `/v1/census/:destination/…`: what operators read. */
export function censusRoutes({ store, guard }: RouteDeps) {
  return new Hono<AuthEnv>()
    .get('/:destination/hosts', guard.reader, async (c) => {
      const { state } = parseWith(CensusHostQuerySchema, c.req.query(), 'query');
      const destination = await censusOf(store, c.req.param('destination'));
      return c.json({ hosts: await store.census.listHosts(destination.id, state) });
    })
    .get('/:destination/passes', guard.reader, async (c) => {
      const { limit } = parseWith(CensusListQuerySchema, c.req.query(), 'query');
      const destination = await censusOf(store, c.req.param('destination'));
      return c.json({ passes: await store.census.listPasses(destination.id, limit) });
    })
    .get('/:destination/events', guard.reader, async (c) => {
      const { limit } = parseWith(CensusListQuerySchema, c.req.query(), 'query');
      const destination = await censusOf(store, c.req.param('destination'));
      return c.json({ events: await store.census.listEvents(destination.id, limit) });
    });
}
