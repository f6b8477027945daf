/**
 * Reads the dashboard's build (web/dist, made by `npm run build:web`) into the map `routes/web.ts` serves, with
 * each text file gzipped once here rather than on every request. Used by the two host entries only.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { WebAsset, WebAssets } from './routes/web.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

/** Where the build lands, relative to the repository root (and to the Lambda's task root: infra/api.ts). */
export const WEB_DIST = 'web/dist';

/** The build under `dir` as served paths, or undefined when there is no build there. */
export function loadWebAssets(dir: string): WebAssets | undefined {
  if (!existsSync(join(dir, 'index.html'))) return undefined;
  const assets = new Map<string, WebAsset>();
  const add = (path: string, file: string, immutable: boolean) => {
    const body = readFileSync(file);
    const gzip = gzipSync(body, { level: 9 });
    assets.set(path, {
      body,
      gzip: gzip.length < body.length ? gzip : undefined,
      type: TYPES[extname(file)] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
      immutable,
    });
  };
  add('/', join(dir, 'index.html'), false);
  const assetDir = join(dir, 'assets');
  if (existsSync(assetDir)) {
    for (const name of readdirSync(assetDir)) add(`/assets/${name}`, join(assetDir, name), true);
  }
  return assets;
}
