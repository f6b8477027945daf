/**
 * A small typed client of the control plane's HTTP API on undici: bearer token, JSON in and out, every answer
 * checked against the contract schemas, every failure a named error. Used by the `pinger` admin commands; the
 * agent can reuse it (pass a keep-alive `dispatcher`).
 */
import { type Dispatcher, request } from 'undici';
import * as v from 'valibot';
import {
  type BatchReceipt,
  BatchReceiptSchema,
  type CensusEvent,
  CensusEventListSchema,
  type CensusHost,
  type CensusHostHistory,
  CensusHostHistorySchema,
  CensusHostListSchema,
  CensusPassListSchema,
  type CensusPassRecord,
  type Destination,
  type DestinationCreateSchema,
  type DestinationPatch,
  type DestinationQuery,
  DestinationSchema,
  ErrorBodySchema,
  type Result,
  type ResultInput,
  type ResultPage,
  ResultPageSchema,
  type ResultQuerySchema,
  type Source,
  type SourceCreateSchema,
  type SourcePatch,
  SourceSchema,
  type SourceWithToken,
  SourceWithTokenSchema,
  type StatsResponse,
  StatsResponseSchema,
  type SummaryResponse,
  SummaryResponseSchema,
  type Token,
  TokenSchema,
  type TokenWithSecret,
  TokenWithSecretSchema,
} from '../contract/index.js';

/** Where the CLI looks when neither `--url` nor `PINGER_URL` says otherwise. */
export const DEFAULT_URL = 'http://127.0.0.1:8080';
/** Whole-request deadline unless the caller sets one: generous, since a results page may be large. */
export const DEFAULT_TIMEOUT_MS = 30_000;
/** Page size used when {@link ApiClient.results} follows cursors. */
export const RESULTS_PAGE_SIZE = 1000;

export interface ApiClientOptions {
  /** Base URL of the control plane, e.g. `http://127.0.0.1:8080` (a path prefix is kept). */
  url: string;
  /** Bearer token: admin, read-only or agent, depending on the endpoints used. */
  token?: string | undefined;
  /** Deadline for one request, headers and body together. */
  timeoutMs?: number;
  /** An undici dispatcher (keep-alive pool, proxy, mock); the global one by default. */
  dispatcher?: Dispatcher;
}

/** Base of the client's errors. */
export class ApiClientError extends Error {
  override name = 'ApiClientError';
}

/**
 * The control plane answered with an error status. `code`, `detail` (the server's sentence) and `issues` come
 * from its error body.
 */
export class ApiError extends ApiClientError {
  override name = 'ApiError';
  constructor(
    readonly detail: string,
    readonly status: number,
    readonly code: string,
    readonly issues: readonly { path: string; message: string }[],
    readonly method: string,
    readonly url: string,
    options?: ErrorOptions,
  ) {
    super(`[api-client] ${method} ${url} answered ${status} ${code}: ${detail}`, options);
  }
}

/**
 * No answer at all: refused, unresolvable, reset, or over the deadline. `reason` is the system code
 * (`ECONNREFUSED`, …) or `timeout`; `detail` says it in words.
 */
export class ApiConnectionError extends ApiClientError {
  override name = 'ApiConnectionError';
  constructor(
    readonly origin: string,
    readonly reason: string,
    readonly detail: string,
    options?: ErrorOptions,
  ) {
    super(`[api-client] cannot reach the control plane at ${origin}: ${detail}`, options);
  }
}

/** The control plane answered something the contract does not allow (not JSON, wrong shape). */
export class ApiResponseError extends ApiClientError {
  override name = 'ApiResponseError';
}

/** Body of `POST /v1/sources` before the server fills in its defaults. */
export type SourceCreateInput = v.InferInput<typeof SourceCreateSchema>;
/** Body of `POST /v1/destinations` before the server fills in its defaults. */
export type DestinationCreateInput = v.InferInput<typeof DestinationCreateSchema>;
/** Filters of `GET /v1/results`; `from`/`to` are ns since the epoch or ISO 8601, as the server accepts. */
export type ResultFilterInput = Pick<
  v.InferInput<typeof ResultQuerySchema>,
  'destination' | 'source' | 'status' | 'from' | 'to'
>;

/** Filters of `GET /v1/stats`, as the server reads them (`label` as `k:v`, repeated). */
export interface StatsQueryInput {
  destination?: string | undefined;
  source?: string | undefined;
  from?: string | undefined;
  to?: string | undefined;
  step?: string | undefined;
  label?: string[] | undefined;
}

/** Filters of `GET /v1/stats/summary`. */
export interface SummaryQueryInput {
  destination?: string | undefined;
  source?: string | undefined;
  window?: string | undefined;
  sort?: string | undefined;
  label?: string[] | undefined;
}

const SourceListSchema = v.object({ sources: v.array(SourceSchema) });
const DestinationListSchema = v.object({ destinations: v.array(DestinationSchema) });
const TokenListSchema = v.object({ tokens: v.array(TokenSchema) });

/** Query parameters; an array repeats the parameter (`label=a:1&label=b:2`). */
type Query = Record<string, string | number | boolean | readonly string[] | undefined>;

/** Typed calls of the control plane API. One instance per base URL and token; safe to share. */
export class ApiClient {
  readonly url: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #dispatcher: Dispatcher | undefined;

  constructor(options: ApiClientOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch (err) {
      throw new ApiClientError(`[api-client] ${JSON.stringify(options.url)} is not a URL`, { cause: err });
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') {
      throw new ApiClientError(`[api-client] ${options.url} is not an http:// or https:// URL`);
    }
    this.url = base.href.replace(/\/+$/, '');
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#dispatcher = options.dispatcher;
  }

  // Sources --------------------------------------------------------------------------------------------------

  /** Creates a source; the answer carries its agent token, which the server never shows again. */
  createSource(input: SourceCreateInput): Promise<SourceWithToken> {
    return this.#call('POST', '/v1/sources', SourceWithTokenSchema, { body: input });
  }
  async listSources(): Promise<Source[]> {
    return (await this.#call('GET', '/v1/sources', SourceListSchema)).sources;
  }
  getSource(id: string): Promise<Source> {
    return this.#call('GET', `/v1/sources/${segment(id)}`, SourceSchema);
  }
  updateSource(id: string, patch: SourcePatch): Promise<Source> {
    return this.#call('PATCH', `/v1/sources/${segment(id)}`, SourceSchema, { body: patch });
  }
  async deleteSource(id: string): Promise<void> {
    await this.#send('DELETE', `/v1/sources/${segment(id)}`);
  }
  /** Replaces the source's agent token; the old one stops working at once. */
  rotateSourceToken(id: string): Promise<SourceWithToken> {
    return this.#call('POST', `/v1/sources/${segment(id)}/token`, SourceWithTokenSchema);
  }

  // Destinations ---------------------------------------------------------------------------------------------

  createDestination(input: DestinationCreateInput): Promise<Destination> {
    return this.#call('POST', '/v1/destinations', DestinationSchema, { body: input });
  }
  async listDestinations(filter: DestinationQuery = {}): Promise<Destination[]> {
    const query = { active: filter.active, protocol: filter.protocol, source: filter.source };
    return (await this.#call('GET', '/v1/destinations', DestinationListSchema, { query })).destinations;
  }
  getDestination(id: string): Promise<Destination> {
    return this.#call('GET', `/v1/destinations/${segment(id)}`, DestinationSchema);
  }
  /** Changes only the fields present in `patch`; the server checks the destination that results. */
  updateDestination(id: string, patch: DestinationPatch): Promise<Destination> {
    return this.#call('PATCH', `/v1/destinations/${segment(id)}`, DestinationSchema, { body: patch });
  }
  async deleteDestination(id: string): Promise<void> {
    await this.#send('DELETE', `/v1/destinations/${segment(id)}`);
  }

  // Results --------------------------------------------------------------------------------------------------

  /** One page of results, newest first. Pass the previous page's `cursor` for the next. */
  resultPage(filter: ResultFilterInput, limit: number, cursor?: string): Promise<ResultPage> {
    const query = { ...filter, limit, cursor };
    return this.#call('GET', '/v1/results', ResultPageSchema, { query });
  }

  /**
   * Up to `limit` results, newest first, page by page: yields each page as it arrives, following cursors
   * until `limit` results or the last page.
   */
  async *results(
    filter: ResultFilterInput,
    limit: number,
    pageSize = RESULTS_PAGE_SIZE,
  ): AsyncGenerator<Result[], void, undefined> {
    let remaining = limit;
    let cursor: string | undefined;
    while (remaining > 0) {
      const page = await this.resultPage(filter, Math.min(remaining, pageSize), cursor);
      const rows = page.results.slice(0, remaining);
      remaining -= rows.length;
      if (rows.length > 0) yield rows;
      // A short or empty page with a new cursor means "keep going" (DynamoDB bounds the reads per request);
      // the same cursor twice would loop forever, so do not trust the server on that.
      if (page.cursor === null || page.cursor === cursor) return;
      cursor = page.cursor;
    }
  }

  /** Posts a batch of results with an agent token; the source is the token's. */
  postResults(results: readonly ResultInput[]): Promise<BatchReceipt> {
    return this.#call('POST', '/v1/agent/results', BatchReceiptSchema, { body: { results } });
  }

  // Statistics -----------------------------------------------------------------------------------------------

  /** Series per (destination, source) at a step, from the rollups; the server picks the step when not given. */
  stats(query: StatsQueryInput): Promise<StatsResponse> {
    return this.#call('GET', '/v1/stats', StatsResponseSchema, { query: { ...query } });
  }
  /** One row per (destination, source) over a window, worst first. */
  summary(query: SummaryQueryInput): Promise<SummaryResponse> {
    return this.#call('GET', '/v1/stats/summary', SummaryResponseSchema, { query: { ...query } });
  }

  // Census ---------------------------------------------------------------------------------------------------

  /** A census's hosts by address; `state` filters (up, down, new). */
  async censusHosts(destination: string, state?: 'up' | 'down' | 'new'): Promise<CensusHost[]> {
    const path = `/v1/census/${segment(destination)}/hosts`;
    return (await this.#call('GET', path, CensusHostListSchema, { query: { state } })).hosts;
  }
  /** One host of a census: its record, its passes in [from, to] (ns or ISO 8601) and figures over them. */
  censusHost(
    destination: string,
    address: string,
    range: { from?: string; to?: string; limit?: number } = {},
  ): Promise<CensusHostHistory> {
    const path = `/v1/census/${segment(destination)}/hosts/${segment(address)}`;
    return this.#call('GET', path, CensusHostHistorySchema, { query: { ...range } });
  }
  /** A census's newest passes, newest first. */
  async censusPasses(destination: string, limit = 100): Promise<CensusPassRecord[]> {
    const path = `/v1/census/${segment(destination)}/passes`;
    return (await this.#call('GET', path, CensusPassListSchema, { query: { limit } })).passes;
  }
  /** A census's newest events, newest first. */
  async censusEvents(destination: string, limit = 100): Promise<CensusEvent[]> {
    const path = `/v1/census/${segment(destination)}/events`;
    return (await this.#call('GET', path, CensusEventListSchema, { query: { limit } })).events;
  }

  // Tokens ---------------------------------------------------------------------------------------------------

  /** Makes a read-only token (results and listings, no changes). The secret is in this answer only. */
  createReadToken(name: string): Promise<TokenWithSecret> {
    return this.#call('POST', '/v1/tokens', TokenWithSecretSchema, { body: { name } });
  }
  /** Read-only and agent tokens, by id (the start of the token's hash); never the secrets. */
  async listTokens(): Promise<Token[]> {
    return (await this.#call('GET', '/v1/tokens', TokenListSchema)).tokens;
  }
  /** Revokes a read-only token by its id. */
  async deleteToken(id: string): Promise<void> {
    await this.#send('DELETE', `/v1/tokens/${segment(id)}`);
  }

  // Transport ------------------------------------------------------------------------------------------------

  /** Sends a request and checks the answer against `schema`. */
  async #call<S extends v.GenericSchema>(
    method: Dispatcher.HttpMethod,
    path: string,
    schema: S,
    options: { query?: Query; body?: unknown } = {},
  ): Promise<v.InferOutput<S>> {
    const { url, status, json } = await this.#exchange(method, path, options);
    if (json === undefined) {
      throw new ApiResponseError(`[api-client] ${method} ${url} answered ${status} without a JSON body`);
    }
    const parsed = v.safeParse(schema, json.value);
    if (!parsed.success) {
      const issue = parsed.issues[0];
      const where = issue.path?.map((p) => String(p.key)).join('.') || 'body';
      throw new ApiResponseError(
        `[api-client] ${method} ${url} answered a body the contract does not allow (${where}: ${issue.message})`,
      );
    }
    return parsed.output;
  }

  /** Sends a request whose answer has nothing to read (a DELETE); only the status matters. */
  async #send(method: Dispatcher.HttpMethod, path: string): Promise<void> {
    await this.#exchange(method, path, {});
  }

  /** One HTTP exchange: throws {@link ApiConnectionError} without an answer, {@link ApiError} on a 4xx/5xx. */
  async #exchange(
    method: Dispatcher.HttpMethod,
    path: string,
    options: { query?: Query; body?: unknown },
  ): Promise<{ url: string; status: number; json: { value: unknown } | undefined }> {
    const url = this.url + path + queryString(options.query);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }

    let status: number;
    let text: string;
    const signal = AbortSignal.timeout(this.#timeoutMs);
    try {
      const response = await request(url, {
        method,
        headers,
        body,
        signal,
        ...(this.#dispatcher ? { dispatcher: this.#dispatcher } : {}),
      });
      status = response.statusCode;
      text = await response.body.text();
    } catch (err) {
      throw connectionError(err, method, url, this.#timeoutMs, signal.aborted);
    }
    const json = parseJson(text);
    if (status >= 400) throw apiError(status, json, text, method, url);
    return { url, status, json };
  }
}

/** Escapes one path segment (ids are plain, but a typed argument may not be). */
function segment(id: string): string {
  return encodeURIComponent(id);
}

function queryString(query: Query | undefined): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value) params.append(key, item);
    else params.set(key, String(value));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

function parseJson(text: string): { value: unknown } | undefined {
  if (text === '') return undefined;
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

function apiError(
  status: number,
  json: { value: unknown } | undefined,
  text: string,
  method: string,
  url: string,
): ApiError {
  const parsed = json ? v.safeParse(ErrorBodySchema, json.value) : undefined;
  if (parsed?.success) {
    const { code, message, issues = [] } = parsed.output.error;
    return new ApiError(message, status, code, issues, method, url);
  }
  // Not our error body (a proxy's page, a crash): keep a short excerpt so the operator sees something.
  const excerpt = text.trim().slice(0, 200) || 'no body';
  return new ApiError(`HTTP ${status}: ${excerpt}`, status, `http_${status}`, [], method, url);
}

/** Codes Node and undici put on failures to get an answer, found on the error, its `cause` or `errors`. */
function failureCode(err: unknown, depth = 0): string | undefined {
  if (depth > 4 || typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; cause?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && e.code !== 'UND_ERR_SOCKET') return e.code;
  for (const inner of [e.cause, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    const code = failureCode(inner, depth + 1);
    if (code) return code;
  }
  return typeof e.code === 'string' ? e.code : undefined;
}

function connectionError(
  err: unknown,
  method: string,
  url: string,
  timeoutMs: number,
  timedOut: boolean,
): ApiConnectionError {
  const origin = new URL(url).origin;
  if (timedOut) {
    const detail = `no answer to ${method} ${url} within ${timeoutMs} ms`;
    return new ApiConnectionError(origin, 'timeout', detail, { cause: err });
  }
  const code = failureCode(err) ?? 'unknown';
  const why: Record<string, string> = {
    ECONNREFUSED: 'connection refused — is `pinger serve` running there?',
    ENOTFOUND: 'host name not found',
    EAI_AGAIN: 'host name lookup failed',
    ECONNRESET: 'connection reset',
    EHOSTUNREACH: 'host unreachable',
    ETIMEDOUT: 'connection timed out',
  };
  const detail = why[code] ?? (err instanceof Error ? err.message : String(err));
  return new ApiConnectionError(origin, code, detail, { cause: err });
}
