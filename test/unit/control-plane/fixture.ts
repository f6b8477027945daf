/**
 * A control plane app over a real SQLite file in a temp dir, with an admin token, driven through
 * `app.request()`. Each test gets its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AppOptions, createApp } from '../../../control-plane/app.js';
import { generateToken } from '../../../control-plane/auth.js';
import { createSqliteStore } from '../../../control-plane/store/sqlite/sqlite.js';
import type { Store } from '../../../control-plane/store/store.js';
import { resultInput } from '../../helpers/factories.js';

export interface Fixture {
  store: Store;
  app: ReturnType<typeof createApp>;
  admin: string;
  /** Sends a request; `body` is JSON-encoded unless it is a string or bytes. */
  request(method: string, path: string, options?: RequestOptions): Promise<Response>;
  /** Creates a source and returns it with its agent token. */
  source(
    name?: string,
    extra?: object,
  ): Promise<{ id: string; token: string; location: number; host: number }>;
  /** Creates a destination (admin) and returns it. */
  destination(body: object): Promise<{ id: string; sources: string[] }>;
  close(): Promise<void>;
}

export interface RequestOptions {
  token?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
}

export async function makeFixture(options: Partial<AppOptions> & { wrapStore?: (s: Store) => Store } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'pinger-app-'));
  const sqlite = createSqliteStore({ path: join(dir, 'pinger.db') });
  const store = options.wrapStore ? options.wrapStore(sqlite) : sqlite;
  const { token: admin, hash } = await generateToken('admin');
  await store.createToken({ hash, kind: 'admin', sourceId: null, name: 'test admin' });
  const app = createApp({ ...options, store });

  const request: Fixture['request'] = (method, path, o = {}) => {
    const headers: Record<string, string> = { ...o.headers };
    const token = o.token === undefined ? admin : o.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    let body: string | Uint8Array | undefined;
    if (o.body !== undefined) {
      body =
        typeof o.body === 'string' || o.body instanceof Uint8Array
          ? (o.body as string | Uint8Array)
          : JSON.stringify(o.body);
      headers['content-type'] ??= 'application/json';
    }
    return Promise.resolve(app.request(path, { method, headers, body }));
  };

  const fixture: Fixture = {
    store,
    app,
    admin,
    request,
    async source(name = 'src', extra = {}) {
      const res = await request('POST', '/v1/sources', { body: { name, ...extra } });
      if (res.status !== 201) throw new Error(`source: ${res.status} ${await res.text()}`);
      return (await res.json()) as { id: string; token: string; location: number; host: number };
    },
    async destination(body) {
      const res = await request('POST', '/v1/destinations', { body });
      if (res.status !== 201) throw new Error(`destination: ${res.status} ${await res.text()}`);
      return (await res.json()) as { id: string; sources: string[] };
    },
    async close() {
      await sqlite.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fixture;
}

/** Reads an error answer and checks it has the one error body shape. */
export async function errorOf(res: Response) {
  const body = (await res.json()) as {
    error: { code: string; message: string; issues?: { path: string; message: string }[] };
  };
  if (typeof body.error?.code !== 'string' || typeof body.error.message !== 'string') {
    throw new Error(`not an error body: ${JSON.stringify(body)}`);
  }
  return body.error;
}

/**
 * A valid result for `destination` with seq `rseq`, sent `rseq` ms after a base time; `extra` overrides fields
 * (with anything, so a test can also break the result on purpose).
 */
export function resultFor(destination: string, rseq: number, extra: object = {}) {
  const rtime = (1_763_780_000_000_000_000n + BigInt(rseq) * 1_000_000n).toString();
  return { ...resultInput(destination, { rtime, rseq }), ...extra };
}
