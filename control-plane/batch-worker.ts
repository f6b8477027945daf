/**
 * Worker thread body of the batch parser pool (node.ts): receives body bytes, answers with the parse outcome.
 */
import { parentPort } from 'node:worker_threads';
import { parseToOutcome } from './batch-parser.js';

parentPort!.on('message', ({ id, bytes }: { id: number; bytes: Uint8Array }) => {
  parentPort!.postMessage({ id, outcome: parseToOutcome(bytes) });
});
// Tells the pool that this worker loaded: one that dies before saying so is a broken setup, not bad luck.
parentPort!.postMessage({ ready: true });
