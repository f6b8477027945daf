/**
 * Bearer tokens. A token is a kind prefix and 256 random bits (`pgr_agent_…`), shown once; the store keeps only
 * its SHA-256. Web Crypto only, so the core stays runtime-free.
 *
 * Kinds: `admin` (everything), `read` (GET of sources, destinations, results, stats, /metrics), `agent` (its
 * own source's config and results, nothing else).
 */
import type { Context, MiddlewareHandler } from 'hono';
import { HttpError } from './http-error.js';
import type { Store, TokenKind } from './store/store.js';

export const TOKEN_PREFIXES = { admin: 'pgr_admin_', read: 'pgr_read_', agent: 'pgr_agent_' } as const;

// Prefix and 32 bytes in unpadded base64url (43 characters).
const TOKEN_SHAPE = /^pgr_(admin|read|agent)_[A-Za-z0-9_-]{43}$/;

/** Who is calling, as established from the token. */
export interface Principal {
  kind: TokenKind;
  /** The source an agent token belongs to; null for admin and read tokens. */
  sourceId: string | null;
}

/** Hono variables set by {@link authenticate}. */
export interface AuthEnv {
  Variables: { principal: Principal };
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** SHA-256 of a token, lowercase hex: what the store keeps. */
export async function hashToken(token: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(token));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A fresh token of `kind` and its hash. */
export async function generateToken(kind: TokenKind): Promise<{ token: string; hash: string }> {
  const token = TOKEN_PREFIXES[kind] + base64url(crypto.getRandomValues(new Uint8Array(32)));
  return { token, hash: await hashToken(token) };
}

/** Shortest `PINGER_ADMIN_TOKEN` accepted: 32 characters of a random secret is well past guessing. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;

/** Compares two strings in time that depends only on their length (hex hashes are always 64 characters). */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export interface AuthOptions {
  store: Store;
  /**
   * Hash of the admin token given by the operator (`PINGER_ADMIN_TOKEN`, any secret of 32+ characters). When
   * set it is the only admin token: admin tokens kept in the store are not accepted, so setting it also
   * retires a generated one.
   */
  adminTokenHash?: string | undefined;
}

const unauthorized = (message: string) => new HttpError(401, 'unauthorized', message);

/** Resolves the bearer token of a request to a principal, or throws 401. */
export async function resolvePrincipal(c: Context, options: AuthOptions): Promise<Principal> {
  const header = c.req.header('authorization');
  if (!header) throw unauthorized('a bearer token is required (Authorization: Bearer pgr_…)');
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw unauthorized('the Authorization header must be "Bearer <token>"');
  const token = match[1]!;
  const hash = await hashToken(token);
  // The operator's admin token may be any long secret (e.g. from a secrets manager), so it is checked first.
  if (options.adminTokenHash !== undefined && constantTimeEqual(hash, options.adminTokenHash)) {
    return { kind: 'admin', sourceId: null };
  }
  if (!TOKEN_SHAPE.test(token)) throw unauthorized('the token is not valid');
  const record = await options.store.findToken(hash);
  // The lookup is by hash, so timing reveals nothing of the token; the comparison guards the record itself.
  if (
    !record ||
    !constantTimeEqual(record.hash, hash) ||
    !token.startsWith(TOKEN_PREFIXES[record.kind]) ||
    (record.kind === 'admin' && options.adminTokenHash !== undefined)
  ) {
    throw unauthorized('the token is not valid');
  }
  return { kind: record.kind, sourceId: record.sourceId };
}

/**
 * Middleware that admits only tokens of the given kinds: 401 without a valid token, 403 for another kind.
 * The principal is available as `c.get('principal')`.
 */
export function authenticate(options: AuthOptions, ...kinds: TokenKind[]): MiddlewareHandler<AuthEnv> {
  return async (c, next) => {
    const principal = await resolvePrincipal(c, options);
    if (!kinds.includes(principal.kind)) {
      throw new HttpError(
        403,
        'forbidden',
        `this needs a token of kind ${kinds.join(' or ')}, not ${principal.kind}`,
      );
    }
    c.set('principal', principal);
    await next();
  };
}

/**
 * Makes sure a server without `PINGER_ADMIN_TOKEN` has an admin token: generates one on first start and
 * returns it (to print once); later starts find the stored hash and return undefined.
 */
export async function ensureAdminToken(store: Store): Promise<string | undefined> {
  if ((await store.listTokens('admin')).length > 0) return undefined;
  const { token, hash } = await generateToken('admin');
  await store.createToken({ hash, kind: 'admin', sourceId: null, name: 'admin (generated on first start)' });
  return token;
}
