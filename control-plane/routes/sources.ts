/** `/v1/sources`: the hosts that run an agent. Creating one, or rotating its token, shows the token once. */
import { Hono } from 'hono';
import { SourceCreateSchema, SourcePatchSchema } from '../../contract/index.js';
import { type AuthEnv, generateToken } from '../auth.js';
import { readJson } from '../body.js';
import { MAX_ADMIN_BODY_BYTES, type RouteDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import { parseWith } from '../validate.js';

const notFound = (id: string) => new HttpError(404, 'not_found', `source ${id} does not exist`);

export function sourcesRoutes({ store, guard }: RouteDeps) {
  return new Hono<AuthEnv>()
    .post('/', guard.admin, async (c) => {
      const input = parseWith(
        SourceCreateSchema,
        await readJson(c, { maxBytes: MAX_ADMIN_BODY_BYTES }),
        'body',
      );
      const { token, hash } = await generateToken('agent');
      const source = await store.createSource(input, hash);
      c.header('Location', `/v1/sources/${source.id}`);
      return c.json({ ...source, token }, 201);
    })
    .get('/', guard.reader, async (c) => c.json({ sources: await store.listSources() }))
    .get('/:id', guard.reader, async (c) => {
      const source = await store.getSource(c.req.param('id'));
      if (!source) throw notFound(c.req.param('id'));
      return c.json(source);
    })
    .patch('/:id', guard.admin, async (c) => {
      const patch = parseWith(
        SourcePatchSchema,
        await readJson(c, { maxBytes: MAX_ADMIN_BODY_BYTES }),
        'body',
      );
      const source = await store.updateSource(c.req.param('id'), patch);
      if (!source) throw notFound(c.req.param('id'));
      return c.json(source);
    })
    .delete('/:id', guard.admin, async (c) => {
      if (!(await store.deleteSource(c.req.param('id')))) throw notFound(c.req.param('id'));
      return c.body(null, 204);
    })
    .post('/:id/token', guard.admin, async (c) => {
      const id = c.req.param('id');
      const { token, hash } = await generateToken('agent');
      if (!(await store.replaceSourceToken(id, hash))) throw notFound(id);
      const source = await store.getSource(id);
      if (!source) throw notFound(id);
      return c.json({ ...source, token });
    });
}
