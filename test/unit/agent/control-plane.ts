/**
 * A real control plane for the agent's tests: `serve()` (Hono app + SQLite file + @hono/node-server) on 127.0.0.1,
 * with a small admin client to create sources and destinations and read results back.
 */

import type { Destination, DestinationCreate, Result, SourceWithToken } from '../../../contract/index.js';
import { serve } from '../../../control-plane/node.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdefghijklmnop';

export interface TestControlPlane {
  url: string;
  close(): Promise<void>;
  api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
  createSource(name: string): Promise<SourceWithToken>;
  createDestination(input: Partial<DestinationCreate> & { address: string }): Promise<Destination>;
  /** Every stored result (paginated), newest first. */
  results(query?: Record<string, string>): Promise<Result[]>;
}

export async function startControlPlane(dbPath: string, port = 0): Promise<TestControlPlane> {
  const handle = await serve({ host: '127.0.0.1', port, dbPath, adminToken: ADMIN_TOKEN, logger: silent });
  const api = async <T>(method: string, path: string, body?: unknown) => {
    const res = await fetch(`${handle.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  const must = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await api<T>(method, path, body);
    if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  return {
    url: handle.url,
    close: () => handle.close(),
    api,
    createSource: (name) => must<SourceWithToken>('POST', '/v1/sources', { name }),
    createDestination: (input) => must<Destination>('POST', '/v1/destinations', input),
    results: async (query = {}) => {
      const all: Result[] = [];
      let cursor: string | null = null;
      do {
        const qs = new URLSearchParams({ ...query, limit: '10000', ...(cursor ? { cursor } : {}) });
        const page: { results: Result[]; cursor: string | null } = await must('GET', `/v1/results?${qs}`);
        all.push(...page.results);
        cursor = page.cursor;
      } while (cursor);
      return all;
    },
  };
}
