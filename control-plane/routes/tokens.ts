/**
 * `/v1/tokens` (admin): read-only tokens for dashboards and exports. A token is shown once, when made; it is
 * listed and deleted by an id that is the first 16 hex digits of its hash. Agent tokens are listed too but are
 * replaced through their source (`POST /v1/sources/:id/token`); admin tokens are not touched here.
 */
import { Hono } from 'hono';
import { TokenCreateSchema } from '../../contract/index.js';
import { type AuthEnv, generateToken } from '../auth.js';
import { readJson } from '../body.js';
import { MAX_ADMIN_BODY_BYTES, type RouteDeps } from '../deps.js';
import { HttpError } from '../http-error.js';
import type { TokenRecord } from '../store/store.js';
import { parseWith } from '../validate.js';

/** Length of the public token id: 64 bits of the hash, enough to be unique among a server's tokens. */
const ID_LENGTH = 16;

const view = (t: TokenRecord) => ({
  id: t.hash.slice(0, ID_LENGTH),
  name: t.name,
  kind: t.kind,
  sourceId: t.sourceId,
  createdAt: t.createdAt,
});

export function tokensRoutes({ store, guard }: RouteDeps) {
  return (
    new Hono<AuthEnv>()
      .post('/', guard.admin, async (c) => {
        const { name } = parseWith(
          TokenCreateSchema,
          await readJson(c, { maxBytes: MAX_ADMIN_BODY_BYTES }),
          'body',
        );
        const { token, hash } = await generateToken('read');
        const record = await store.createToken({ hash, kind: 'read', sourceId: null, name });
        return c.json({ ...view(record), token }, 201);
      })
      // Any dashboard or CLI token may ask what it is: the dashboard hides edit buttons from a read token.
      .get('/self', guard.reader, (c) => c.json({ kind: c.get('principal').kind }))
      .get('/', guard.admin, async (c) => {
        const tokens = await store.listTokens();
        return c.json({ tokens: tokens.filter((t) => t.kind !== 'admin').map(view) });
      })
      .delete('/:id', guard.admin, async (c) => {
        const id = c.req.param('id').toLowerCase();
        const record = /^[0-9a-f]{16}$/.test(id)
          ? (await store.listTokens('read')).find((t) => t.hash.startsWith(id))
          : undefined;
        if (!record) throw new HttpError(404, 'not_found', `read-only token ${id} does not exist`);
        await store.deleteToken(record.hash);
        return c.body(null, 204);
      })
  );
}
