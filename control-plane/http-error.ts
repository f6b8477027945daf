/**
 * The HTTP face of every failure: one error class the routes throw, and the one body every error answer has
 * (`{error: {code, message, issues}}`, see contract/error.ts).
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ErrorBody, ErrorCode } from '../contract/index.js';
import { StoreError } from './store/store.js';

export interface Issue {
  path: string;
  message: string;
}

/** A refusal with its status, code and, for bad input, the fields at fault. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly issues?: Issue[],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** Shorthand for the most common refusal: 400 with the fields at fault. */
export function badRequest(message: string, issues?: Issue[]): HttpError {
  return new HttpError(400, 'bad_request', message, issues);
}

/** The error body for a code, a sentence and optional issues. */
export function errorBody(code: ErrorCode, message: string, issues?: Issue[]): ErrorBody {
  return { error: issues && issues.length > 0 ? { code, message, issues } : { code, message } };
}

/** Answers with the error body; a 401 also tells the client which scheme to use. */
export function errorResponse(c: Context, err: HttpError): Response {
  if (err.status === 401) c.header('WWW-Authenticate', 'Bearer realm="pinger"');
  return c.json(errorBody(err.code, err.message, err.issues), err.status);
}

// Store messages carry a component prefix for logs (`[store:sqlite] …`); clients get the sentence alone.
const withoutPrefix = (message: string) => message.replace(/^\[[^\]]+\]\s*/, '');

/**
 * Maps a store refusal to HTTP. A store error that names a field of the request (`path`) is bad input (400,
 * or 409 for a conflict); one without is about the resource in the URL (404) or the backend (503).
 */
export function fromStoreError(err: StoreError): HttpError {
  const message = withoutPrefix(err.message);
  const issues = err.path ? [{ path: err.path, message }] : undefined;
  switch (err.code) {
    case 'conflict':
      return new HttpError(409, 'conflict', message, issues, { cause: err });
    case 'not_found':
      return err.path
        ? new HttpError(400, 'bad_request', message, issues, { cause: err })
        : new HttpError(404, 'not_found', message, undefined, { cause: err });
    case 'bad_request':
      return new HttpError(400, 'bad_request', message, issues, { cause: err });
    case 'unavailable':
      return new HttpError(503, 'unavailable', 'the store is unavailable, retry later', undefined, {
        cause: err,
      });
  }
}

/** Any thrown value as an HttpError; `undefined` for what is a bug (answered 500 without details). */
export function toHttpError(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  if (err instanceof StoreError) return fromStoreError(err);
  return undefined;
}
