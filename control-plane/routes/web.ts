/**
 * The dashboard's static files at `/` (web/, built by `npm run build:web`). Assets come in as a map, so this file
 * stays runtime-free: node.ts and lambda.ts read them from disk. Hashed asset names are cached for a year;
 * the page itself is revalidated by ETag on every load, so a new build shows at the next reload.
 */
import { Hono } from 'hono';
import type { AuthEnv } from '../auth.js';

/** One file of the dashboard's build, with its gzip form when that is smaller. */
export interface WebAsset {
  body: Uint8Array;
  gzip?: Uint8Array | undefined;
  type: string;
  /** Strong validator: a hash of the body. */
  etag: string;
  /** The name carries a content hash: the file under it never changes. */
  immutable: boolean;
}

/** URL path (`/`, `/assets/app-3F2A.js`) → file. */
export type WebAssets = ReadonlyMap<string, WebAsset>;

/**
 * Scripts only from this origin and nothing inline: a script injected through a destination's label would not
 * run, and the token in sessionStorage stays out of its reach. uPlot sets inline styles, hence the style rule.
 */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

const bodyOf = (bytes: Uint8Array) => bytes as Uint8Array<ArrayBuffer>;

/** `GET /` and `GET /assets/*`; when the build is missing, `/` says how to make it. */
export function webRoutes(assets: WebAssets | undefined) {
  const app = new Hono<AuthEnv>();
  if (!assets) {
    return app.get('/', (c) =>
      c.text('The dashboard is not built: run `npm run build:web` (npm ci does it), then restart.\n', 503),
    );
  }
  const serveAsset = (path: string) => (c: import('hono').Context<AuthEnv>) => {
    const asset = assets.get(path);
    if (!asset) return c.notFound();
    c.header('Content-Type', asset.type);
    c.header('ETag', asset.etag);
    c.header('Vary', 'Accept-Encoding');
    c.header('X-Content-Type-Options', 'nosniff');
    c.header('Cache-Control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    if (path === '/') {
      c.header('Content-Security-Policy', CSP);
      c.header('Referrer-Policy', 'no-referrer');
    }
    const match = c.req.header('If-None-Match');
    if (match?.split(',').some((tag) => tag.trim().replace(/^W\//, '') === asset.etag)) {
      return c.body(null, 304);
    }
    const gzip = asset.gzip !== undefined && /\bgzip\b/.test(c.req.header('Accept-Encoding') ?? '');
    if (gzip) c.header('Content-Encoding', 'gzip');
    if (c.req.method === 'HEAD') return c.body(null, 200);
    return c.body(bodyOf(gzip ? asset.gzip! : asset.body), 200);
  };
  return app
    .get('/', serveAsset('/'))
    .get('/assets/:name', (c) => serveAsset(`/assets/${c.req.param('name')}`)(c));
}
