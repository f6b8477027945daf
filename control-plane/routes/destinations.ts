/** `/v1/destinations`: what to probe. A destination is probed by every source unless it names some. */
import { Hono } from 'hono';
import {
  DestinationCreateSchema,
  type DestinationFields,
  DestinationPatchSchema,
  DestinationQuerySchema,
} from '../../contract/index.js';
import type { AuthEnv } from '../auth.js';
import { readJson } from '../body.js';
import { MAX_ADMIN_BODY_BYTES, type RouteDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import { parseWith } from '../validate.js';

const notFound = (id: string) => new HttpError(404, 'not_found', `destination ${id} does not exist`);

export function destinationsRoutes({ store, guard }: RouteDeps) {
  return new Hono<AuthEnv>()
    .post('/', guard.admin, async (c) => {
      const body = await readJson(c, { maxBytes: MAX_ADMIN_BODY_BYTES });
      const destination = await store.createDestination(parseWith(DestinationCreateSchema, body, 'body'));
      c.header('Location', `/v1/destinations/${destination.id}`);
      return c.json(destination, 201);
    })
    .get('/', guard.reader, async (c) => {
      const query = parseWith(DestinationQuerySchema, c.req.query(), 'query');
      return c.json({ destinations: await store.listDestinations(query) });
    })
    .get('/:id', guard.reader, async (c) => {
      const destination = await store.getDestination(c.req.param('id'));
      if (!destination) throw notFound(c.req.param('id'));
      return c.json(destination);
    })
    .patch('/:id', guard.admin, async (c) => {
      const id = c.req.param('id');
      const patch = parseWith(
        DestinationPatchSchema,
        await readJson(c, { maxBytes: MAX_ADMIN_BODY_BYTES }),
        'body',
      );
      const current = await store.getDestination(id);
      if (!current) throw notFound(id);
      // The patch alone may be fine while the result is not (an IPv6 address on an icmp destination): check
      // the merged whole with the create rules, which name the field at fault.
      const { id: _id, createdAt: _c, updatedAt: _u, ...fields } = current;
      const merged: DestinationFields = parseWith(DestinationCreateSchema, { ...fields, ...patch }, 'body');
      const destination = await store.replaceDestination(id, merged);
      if (!destination) throw notFound(id);
      return c.json(destination);
    })
    .delete('/:id', guard.admin, async (c) => {
      if (!(await store.deleteDestination(c.req.param('id')))) throw notFound(c.req.param('id'));
      return c.body(null, 204);
    });
}
