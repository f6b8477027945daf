/**
 * Turning the bytes of a result batch into validated results: the CPU-heavy half of ingest (UTF-8, JSON, the
 * contract schema). Behind one function type so a host can run it off the main thread (node.ts uses worker
 * threads) while the core stays runtime-free; the default runs it inline.
 */
import { type ResultBatch, ResultBatchSchema } from '../contract/index.js';
import { parseJsonObject } from './body.js';
import { HttpError, type Issue } from './http-error.js';
import { parseWith } from './validate.js';

/** Parses and validates a batch body; rejects with a 400 {@link HttpError} naming the fields at fault. */
export type BatchParser = (bytes: Uint8Array) => Promise<ResultBatch>;

/** The whole job, synchronously: what the inline parser and each worker run. */
export function parseBatchBytes(bytes: Uint8Array): ResultBatch {
  return parseWith(ResultBatchSchema, parseJsonObject(bytes), 'body');
}

/** Runs {@link parseBatchBytes} on the calling thread. */
export const inlineBatchParser: BatchParser = async (bytes) => parseBatchBytes(bytes);

/** An outcome that can cross a thread boundary (structured clone keeps no class). */
export type ParseOutcome =
  | { ok: true; batch: ResultBatch }
  | {
      ok: false;
      refusal: { status: 400 | 413 | 415; code: HttpError['code']; message: string; issues?: Issue[] };
    }
  | { ok: false; failure: string };

/** Runs the parser and packs its outcome for another thread. */
export function parseToOutcome(bytes: Uint8Array): ParseOutcome {
  try {
    return { ok: true, batch: parseBatchBytes(bytes) };
  } catch (err) {
    if (err instanceof HttpError) {
      const status = err.status as 400 | 413 | 415;
      return { ok: false, refusal: { status, code: err.code, message: err.message, issues: err.issues } };
    }
    return { ok: false, failure: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
}

/** Unpacks an outcome: the batch, or the same refusal the inline parser would have thrown. */
export function fromOutcome(outcome: ParseOutcome): ResultBatch {
  if (outcome.ok) return outcome.batch;
  if ('refusal' in outcome) {
    const { status, code, message, issues } = outcome.refusal;
    throw new HttpError(status, code, message, issues);
  }
  throw new Error(`[batch-parser] the parser failed: ${outcome.failure}`);
}
