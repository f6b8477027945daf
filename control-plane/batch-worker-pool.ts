/**
 * Result batches parsed on worker threads, so that on a Node host JSON parsing and validation of one batch run
 * beside the SQLite insert of another instead of after it. Bodies are transferred, not copied; a worker that
 * dies fails only the batches it held and is replaced.
 */
import { Worker } from 'node:worker_threads';
import { type BatchParser, fromOutcome, inlineBatchParser, type ParseOutcome } from './batch-parser.js';
import type { Logger } from './deps.js';

export interface BatchWorkerPool {
  parse: BatchParser;
  close(): Promise<void>;
}

interface Pending {
  resolve(outcome: ParseOutcome): void;
  reject(err: Error): void;
}

// The sources run through tsx, whose loader a worker does not inherit: each worker registers it, then loads
// its TypeScript body.
const BOOT = `
const { workerData } = require('node:worker_threads');
import(workerData.tsx).then((tsx) => { tsx.register(); return import(workerData.body); });
`;

/** Starts `size` workers. */
export function createBatchWorkerPool(size: number, logger: Logger): BatchWorkerPool {
  const workerData = {
    tsx: import.meta.resolve('tsx/esm/api'),
    body: new URL('./batch-worker.ts', import.meta.url).href,
  };
  let nextId = 0;
  let closed = false;
  // Set when a worker dies before it loaded: the setup cannot run workers, so batches are parsed inline.
  let broken = false;
  const slots: { worker: Worker; pending: Map<number, Pending> }[] = [];

  const spawn = (index: number) => {
    const worker = new Worker(BOOT, { eval: true, workerData });
    const pending = new Map<number, Pending>();
    let ready = false;
    // Idle workers must not keep the process alive on their own.
    worker.unref();
    worker.on('message', (message: { ready: true } | { id: number; outcome: ParseOutcome }) => {
      if ('ready' in message) {
        ready = true;
        return;
      }
      pending.get(message.id)?.resolve(message.outcome);
      pending.delete(message.id);
    });
    worker.on('error', (err) => logger.error({ err }, 'batch parser worker failed'));
    worker.on('exit', (code) => {
      for (const p of pending.values())
        p.reject(new Error(`[batch-worker] worker exited (${code}) mid-parse`));
      pending.clear();
      if (closed) return;
      if (!ready) {
        broken = true;
        logger.error({ code }, 'batch parser worker could not start: parsing batches on the main thread');
        return;
      }
      slots[index] = spawn(index);
    });
    return { worker, pending };
  };
  for (let i = 0; i < size; i++) slots.push(spawn(i));

  return {
    async parse(bytes) {
      if (closed) throw new Error('[batch-worker] the pool is closed');
      if (broken) return inlineBatchParser(bytes);
      // The least busy worker; ties go to the first.
      const slot = slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a));
      const id = nextId++;
      // Transfer the body's memory when it is a whole buffer of its own (no copy); else copy.
      const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
      const outcome = await new Promise<ParseOutcome>((resolve, reject) => {
        slot.pending.set(id, { resolve, reject });
        slot.worker.postMessage({ id, bytes }, own ? [bytes.buffer as ArrayBuffer] : []);
      });
      return fromOutcome(outcome);
    },
    async close() {
      closed = true;
      await Promise.all(slots.map((s) => s.worker.terminate()));
    },
  };
}
