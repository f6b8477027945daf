/**
 * Censuses (issue 11). `POST /v1/agent/census/passes` takes a pass record from an agent (its source is the
 * token's; identity (source, destination, start), so a retried report stores once) and applies its answers to
 * the census's hosts (a split census's slice changes only the hosts in it). `GET /v1/census/:destination/{hosts,passes,events}` read them back (admin or read token);
 * `GET /v1/census/:destination/hosts/:address` gives one host's record and its history pass by pass.
 */
import { Hono } from 'hono';
import * as v from 'valibot';
import {
  CensusHostHistoryQuerySchema,
  CensusHostQuerySchema,
  CensusListQuerySchema,
  CensusPassReportSchema,
  censusAddressIndex,
  type Destination,
  defaultCensus,
  IpSchema,
  parsePrefix,
} from '../../contract/index.js';
import type { AuthEnv } from '../auth.js';
import { assertJsonContentType, parseJsonObject, readBody } from '../body.js';
import { answersOutsideSlice } from '../census/apply-pass.js';
import type { RouteDeps } from '../deps.js';
import { badRequest, HttpError } from '../http-error.js';
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
    // The members say whose slice of the pass is missing; a report naming members without its own source was
    // cut for someone else.
    if (pass.slice?.members && !pass.slice.members.includes(sourceId)) {
      throw new HttpError(400, 'bad_request', 'the slice’s members do not include this source', [
        { path: 'slice.members', message: `must include this source (${sourceId})` },
      ]);
    }
    // Members that no longer probe the census (an operator changed its sources since the agent's config) are not
    // kept: their absence from the pass must not count against them. The rest of the report stands.
    if (pass.slice?.members && destination.sources.length > 0) {
      pass.slice.members = pass.slice.members.filter((id) => destination.sources.includes(id));
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

/** The address in the URL, checked against the census: an IP address, one the census probes. */
/** `::ffff:a00:5` as `::ffff:10.0.0.5`; any other address unchanged. */
function rfc5952(ipv6: string): string {
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(ipv6);
  if (mapped === null) return ipv6;
  const [hi, lo] = [Number.parseInt(mapped[1]!, 16), Number.parseInt(mapped[2]!, 16)];
  return `::ffff:${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

function hostAddress(destination: Destination, address: string): string {
  if (!v.is(IpSchema, address)) {
    throw badRequest(`invalid address: ${address} is not an IP address`, [
      { path: 'address', message: 'must be an IPv4 or IPv6 address' },
    ]);
  }
  const parsed = parsePrefix(destination.address);
  // Hosts are kept in the form agents name them (RFC 5952 for IPv6); the URL standard's serializer gives the same
  // (lowercase, no leading zeros, the longest zero run compressed), so any spelling of an address finds its host —
  // except that it writes an IPv4-mapped address's tail in hex, which agents (as Node) keep dotted (RFC 5952 §5).
  const canonical = address.includes(':')
    ? rfc5952(new URL(`http://[${address}]/`).hostname.slice(1, -1))
    : address;
  if ('issue' in parsed || censusAddressIndex(parsed.prefix, canonical) === undefined) {
    const rule = `must be an address census ${destination.id} probes: in ${destination.address}, not its network or broadcast address`;
    throw badRequest(`invalid address: ${address} is not probed by census ${destination.id}`, [
      { path: 'address', message: rule },
    ]);
  }
  return canonical;
}

/** `/v1/census/:destination/…`: what operators read. */
export function censusRoutes({ store, guard, clock }: RouteDeps) {
  return new Hono<AuthEnv>()
    .get('/:destination/hosts', guard.reader, async (c) => {
      const { state } = parseWith(CensusHostQuerySchema, c.req.query(), 'query');
      const destination = await censusOf(store, c.req.param('destination'));
      return c.json({ hosts: await store.census.listHosts(destination.id, state) });
    })
    .get('/:destination/hosts/:address', guard.reader, async (c) => {
      const query = parseWith(CensusHostHistoryQuerySchema, c.req.query(), 'query');
      const destination = await censusOf(store, c.req.param('destination'));
      const address = hostAddress(destination, c.req.param('address'));
      const from = query.from === undefined ? undefined : BigInt(query.from);
      const to = query.to === undefined ? undefined : BigInt(query.to);
      // The schema checks the pair when both are given; a `from` after the default `to` (now) is caught here.
      const now = BigInt(clock.now().getTime()) * 1_000_000n;
      if (from !== undefined && to === undefined && from > now) {
        throw badRequest(`invalid query: from ${from} is after to (now, ${now})`, [
          { path: 'from', message: 'must not be after to' },
        ]);
      }
      const history = await store.census.hostHistory(destination.id, address, {
        from,
        to,
        limit: query.limit,
      });
      if (!history) {
        throw new HttpError(404, 'not_found', `${address} is not a host of census ${destination.id}`, [
          { path: 'address', message: `${address} never answered a pass of ${destination.id}` },
        ]);
      }
      return c.json(history);
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
