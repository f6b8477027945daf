/**
 * Posts one gzip-compressed result batch to `POST /v1/agent/results` (undici) and classifies the answer for the
 * outbox: confirmed, refused for good, or worth retrying. The classification is the whole policy:
 *
 * - 200 with a receipt (`BatchReceiptSchema`) accounting for every result of the batch (stored + duplicates =
 *   count): confirmed. Any other 200 (a proxy's catch-all page, a receipt for another count) is not a
 *   confirmation, and deleting the batch on it would lose it: retried, with the reason in the message.
 * - 400 / 413 / 422 / 403 whose body is the control plane's `ErrorBody` and either names results (`results.N…`:
 *   e.g. destinations this source may no longer probe) or carries a final code (`invalid_json`,
 *   `payload_too_large`): this batch can never be accepted as it is; retrying would block every later batch
 *   behind it. The issues say which results.
 * - Any other refusal (a proxy's 400, a WAF page, a version skew's unknown code, 401, a 403 naming no result) is
 *   not proof that the batch is bad: retried, with the answer in the message (the sync loop stops the agent on a
 *   wrong token).
 * - 408, 429, 5xx, network errors, timeouts: transient, retried with backoff.
 */
import { type Dispatcher, request } from 'undici';
import * as v from 'valibot';
import { BatchReceiptSchema, type ErrorBody, ErrorBodySchema } from '../../contract/index.js';
import { requestSignal } from '../http/abort.js';
import { endpointUrl } from '../http/endpoint.js';

export type DeliveryOutcome =
  | { kind: 'stored'; stored: number; duplicates: number }
  | { kind: 'rejected'; status: number; message: string; issues: { path: string; message: string }[] }
  | { kind: 'retry'; status: number | null; message: string };

/** Sends one gzip body of `count` results; never throws (a failure is an outcome). */
export type Deliver = (gzipBody: Buffer, count: number, signal: AbortSignal) => Promise<DeliveryOutcome>;

export interface ResultsClientOptions {
  /** Base URL of the control plane, e.g. `http://127.0.0.1:8080` or `https://h/pinger/` (its path is kept). */
  url: string;
  token: string;
  /** Per-request deadline in ms (default 15 s), so a stalled control plane turns into a retry. */
  timeoutMs?: number;
  dispatcher?: Dispatcher;
}

/** Builds the outbox's {@link Deliver} for one control plane. */
export function resultsClient(options: ResultsClientOptions): Deliver {
  const endpoint = endpointUrl(options.url, 'v1/agent/results').toString();
  const timeoutMs = options.timeoutMs ?? 15_000;
  return async (gzipBody, count, signal) => {
    const req = requestSignal(signal, timeoutMs);
    try {
      const res = await request(endpoint, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${options.token}`,
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        },
        body: gzipBody,
        signal: req.signal,
        ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
      });
      const text = await res.body.text();
      const status = res.statusCode;
      if (status === 200 || status === 201) {
        const receipt = v.safeParse(BatchReceiptSchema, safeJson(text));
        if (!receipt.success) {
          return {
            kind: 'retry',
            status,
            message: `HTTP ${status} without a batch receipt (not the control plane's answer?): ${text.slice(0, 200)}`,
          };
        }
        const { stored, duplicates } = receipt.output;
        if (stored + duplicates !== count) {
          return {
            kind: 'retry',
            status,
            message: `HTTP ${status} with a receipt for ${stored} stored + ${duplicates} duplicates, not the batch's ${count} results`,
          };
        }
        return { kind: 'stored', stored, duplicates };
      }
      const body = v.safeParse(ErrorBodySchema, safeJson(text));
      const issues = body.success ? (body.output.error.issues ?? []) : [];
      const message = errorMessage(body.success ? body.output : undefined, text, status);
      if (body.success && REFUSALS.has(status) && isFinal(body.output)) {
        return { kind: 'rejected', status, message, issues };
      }
      return {
        kind: 'retry',
        status,
        message: REFUSALS.has(status) ? `${message} (not a final refusal of this batch)` : message,
      };
    } catch (err) {
      return { kind: 'retry', status: null, message: (err as Error).message };
    } finally {
      req.done();
    }
  };
}

/** Statuses that may refuse a batch for good, when the body says so. */
const REFUSALS = new Set([400, 403, 413, 422]);
/** Codes that refuse the whole batch for what it is, whatever the issues. */
const FINAL_CODES: ReadonlySet<string> = new Set(['invalid_json', 'payload_too_large']);

/** The control plane's own refusal of this batch's content: it names results, or its code is final. */
function isFinal(body: ErrorBody): boolean {
  const issues = body.error.issues ?? [];
  if (issues.some((i) => /^results(\.|$)/.test(i.path))) return true;
  return body.error.code !== 'forbidden' && FINAL_CODES.has(body.error.code);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The server's error sentence with the fields at fault, or the status line when the body is not ours. */
function errorMessage(body: ErrorBody | undefined, text: string, status: number): string {
  if (body === undefined) return `HTTP ${status}${text ? `: ${text.slice(0, 200)}` : ''}`;
  const issues = body.error.issues?.map((i) => `${i.path}: ${i.message}`).join('; ');
  return `HTTP ${status} ${body.error.code}: ${body.error.message}${issues ? ` (${issues})` : ''}`;
}
