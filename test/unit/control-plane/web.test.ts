/**
 * The dashboard as the control plane serves it: the real build (scripts/build-web) read by the real loader,
 * through `app.request()` — the page with its security headers, hashed assets cached for good, gzip when asked,
 * 304 on a matching ETag, and a clear 503 when there is no build.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWebAssets } from '../../../control-plane/web-assets-load.js';
import { buildWeb } from '../../../scripts/build-web/build.js';
import { type Fixture, makeFixture } from './fixture.js';

const root = join(import.meta.dirname, '../../..');
let dir: string;
let f: Fixture;
let bare: Fixture;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pinger-web-'));
  await buildWeb({ root, outDir: dir });
  f = await makeFixture({ web: loadWebAssets(dir) });
  bare = await makeFixture();
}, 60_000);
afterAll(async () => {
  await f?.close();
  await bare?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('GET / (the dashboard)', () => {
  it('serves the page without a token, revalidated each load, with a CSP that allows no inline script', async () => {
    const res = await f.request('GET', '/', { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    const html = await res.text();
    const script = /src="(\/assets\/app-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    const style = /href="(\/assets\/app-[A-Z0-9]+\.css)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    expect(style).toBeDefined();
    // Nothing from another origin: no CDN, nothing fetched at run time.
    expect(html).not.toMatch(/(src|href)="https?:/);

    const again = await f.request('GET', '/', {
      token: null,
      headers: { 'if-none-match': res.headers.get('etag')! },
    });
    expect(again.status).toBe(304);
  });

  it('serves the hashed assets for a year, gzipped when the client takes gzip', async () => {
    const html = await (await f.request('GET', '/', { token: null })).text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const plain = await f.request('GET', script, { token: null });
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(plain.headers.get('content-encoding')).toBeNull();
    const body = new Uint8Array(await plain.arrayBuffer());
    const gz = await f.request('GET', script, { token: null, headers: { 'accept-encoding': 'gzip, br' } });
    expect(gz.headers.get('content-encoding')).toBe('gzip');
    expect(gz.headers.get('vary')).toBe('Accept-Encoding');
    const zipped = new Uint8Array(await gz.arrayBuffer());
    expect(zipped.length).toBeLessThan(body.length / 2);
    expect(gunzipSync(zipped).equals(Buffer.from(body))).toBe(true);
  });

  it('answers 404 with the error body for an asset that is not in the build', async () => {
    const res = await f.request('GET', '/assets/app-NOPE.js', { token: null });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('says how to build the dashboard when there is no build, and the API is unaffected', async () => {
    expect(loadWebAssets(join(dir, 'missing'))).toBeUndefined();
    const res = await bare.request('GET', '/', { token: null });
    expect(res.status).toBe(503);
    expect(await res.text()).toContain('npm run build:web');
    expect((await bare.request('GET', '/v1/sources')).status).toBe(200);
  });
});
