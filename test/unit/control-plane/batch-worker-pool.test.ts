import { afterEach, describe, expect, it } from 'vitest';
import { inlineBatchParser } from '../../../control-plane/batch-parser.js';
import { type BatchWorkerPool, createBatchWorkerPool } from '../../../control-plane/batch-worker-pool.js';
import { HttpError } from '../../../control-plane/http-error.js';
import { resultFor } from './fixture.js';

const quiet = { debug() {}, info() {}, warn() {}, error() {} };
const bytes = (value: unknown) =>
  new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value));

async function refusal(promise: Promise<unknown>): Promise<HttpError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HttpError);
  return err as HttpError;
}

describe('batch worker pool', () => {
  let pool: BatchWorkerPool | undefined;
  afterEach(async () => {
    await pool?.close();
  });

  it('parses on worker threads exactly as inline, transferring the body', async () => {
    pool = createBatchWorkerPool(2, quiet);
    const batch = { results: Array.from({ length: 200 }, (_, i) => resultFor('dst_a', i)) };
    const body = bytes(batch);
    const expected = await inlineBatchParser(bytes(batch));
    const got = await pool.parse(body);
    expect(got).toEqual(expected);
    expect(body.byteLength).toBe(0); // transferred, not copied
    // Many at once, spread over the workers, each answered with its own batch.
    const many = await Promise.all(
      Array.from({ length: 20 }, (_, k) => pool!.parse(bytes({ results: [resultFor(`dst_${k}`, k)] }))),
    );
    expect(many.map((b) => b.results[0]!.destination)).toEqual(
      Array.from({ length: 20 }, (_, k) => `dst_${k}`),
    );
  });

  it('refuses bad bodies with the same errors as inline parsing', async () => {
    pool = createBatchWorkerPool(1, quiet);
    for (const body of [
      '{"results": [',
      '[]',
      JSON.stringify({ results: [resultFor('dst_a', 1, { rtt: -1 })] }),
    ]) {
      const viaPool = await refusal(pool.parse(bytes(body)));
      const inline = await refusal(inlineBatchParser(bytes(body)));
      expect({
        status: viaPool.status,
        code: viaPool.code,
        message: viaPool.message,
        issues: viaPool.issues,
      }).toEqual({
        status: inline.status,
        code: inline.code,
        message: inline.message,
        issues: inline.issues,
      });
    }
  });
});
