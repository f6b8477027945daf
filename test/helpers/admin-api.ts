/**
 * The control plane's HTTP API as an admin for end-to-end tests, with plain `fetch`: a call that throws on any
 * status from 300 up (with the body, so a failure says why), and every stored result of a destination.
 */
import type { Result } from '../../contract/index.js';

export interface AdminApi {
  /** `method path` with `body` as JSON; resolves with the parsed JSON answer (undefined for an empty one). */
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** Every result of `destination`, following the cursor through all pages. */
  results(destination: string): Promise<Result[]>;
}

/** An admin client of the control plane at `url` (no trailing slash) authenticating with `token`. */
export function adminApi(url: string, token: string): AdminApi {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status} ${text}`);
    return (text ? JSON.parse(text) : undefined) as T;
  };
  const results = async (destination: string): Promise<Result[]> => {
    const all: Result[] = [];
    let cursor: string | null = null;
    do {
      const qs = new URLSearchParams({ destination, limit: '10000', ...(cursor ? { cursor } : {}) });
      const page: { results: Result[]; cursor: string | null } = await call('GET', `/v1/results?${qs}`);
      all.push(...page.results);
      cursor = page.cursor;
    } while (cursor);
    return all;
  };
  return { call, results };
}
