/**
 * The dashboard's one way to the API: same origin, the token as a Bearer header (never in a URL), and every
 * refusal turned into an {@link ApiError} carrying the error body's code and field issues.
 */
import type { ErrorBody } from '../../contract/index.js';

/** A refusal from the API, or a network failure (status 0). */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

export type Query = Record<string, string | number | undefined>;

export interface Api {
  get<T>(path: string, query?: Query): Promise<T>;
  send<T>(method: 'POST' | 'PATCH' | 'DELETE', path: string, body?: unknown): Promise<T>;
}

/** `path?query` with undefined values left out. */
export function withQuery(path: string, query: Query = {}): string {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) qs.set(k, String(v));
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

/** An API client for `token`; `onUnauthorized` runs when the server no longer takes it (401). */
export function createApi(token: string, onUnauthorized: () => void): Api {
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    // Named spans in the Performance timeline (what bench/dashboard splits the page's time by): the request to
    // its last byte, then the JSON parse. The query is left out so one name covers every call to a route.
    const name = `${method} ${path.split('?')[0]}`;
    const t0 = performance.now();
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch (err) {
      throw new ApiError(0, 'network', `cannot reach the control plane: ${(err as Error).message}`);
    }
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    const t1 = performance.now();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    performance.measure(`fetch ${name}`, { start: t0, end: t1 });
    performance.measure(`parse ${name}`, { start: t1, end: performance.now() });
    if (!res.ok) {
      if (res.status === 401) onUnauthorized();
      const error = (parsed as Partial<ErrorBody> | undefined)?.error;
      throw new ApiError(
        res.status,
        error?.code ?? 'http',
        error?.message ?? `${res.status} ${res.statusText}`,
        error?.issues,
      );
    }
    return parsed as T;
  };
  return {
    get: (path, query) => call('GET', withQuery(path, query)),
    send: (m, path, body) => call(m, path, body),
  };
}

const KEY = 'pinger.token';

/** The token of this tab's session: sessionStorage, so it goes when the tab closes and never reaches a URL. */
export const session = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (token: string) => sessionStorage.setItem(KEY, token),
  clear: () => sessionStorage.removeItem(KEY),
};
