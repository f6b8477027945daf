/**
 * Delivers census pass records to `POST /v1/agent/census/passes`, durably: each record is written to its own file
 * in the spool (`census-passes/`, written to a temporary name, fsynced, renamed) before it is sent, and deleted only
 * once the control plane answers with a receipt. Records left by a previous run are sent at start. A pass is rare
 * (one per census per interval) and may carry up to 65,536 answers, so one file per record is simpler than the
 * results' segments and costs nothing that matters.
 *
 * The answer policy mirrors the results client: a receipt deletes the file; a 400/403/413 with the control plane's
 * error body is a final refusal (the file moves to `census-passes/rejected/`, with the reason logged, so it never
 * blocks later records); anything else — network errors, 5xx, 401, a proxy's page — is retried with backoff and
 * full jitter, in order, oldest first.
 */
import { mkdir, open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { type Dispatcher, request } from 'undici';
import * as v from 'valibot';
import { type CensusPass, CensusPassReceiptSchema, ErrorBodySchema } from '../../contract/index.js';
import { requestSignal } from '../http/abort.js';
import { type BackoffOptions, fullJitterDelay } from '../http/backoff.js';
import { endpointUrl } from '../http/endpoint.js';

const gzipAsync = promisify(gzip);

export interface PassUploaderLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface PassUploaderOptions {
  url: string;
  token: string;
  /** The agent's spool directory; records live in its `census-passes/`. */
  spoolDir: string;
  logger: PassUploaderLogger;
  dispatcher?: Dispatcher;
  /** Per-request deadline (default 30 s: a record may be a few MB). */
  timeoutMs?: number;
  /** Default 250 ms … 30 s. */
  backoff?: BackoffOptions;
}

const REFUSALS = new Set([400, 403, 413, 422]);

/** See the module comment. */
export class PassUploader {
  readonly #o: PassUploaderOptions;
  readonly #dir: string;
  readonly #endpoint: string;
  readonly #queue: string[] = [];
  readonly #stop = new AbortController();
  #wake: (() => void) | undefined;
  #writes: Promise<void> = Promise.resolve();
  #loop: Promise<void> = Promise.resolve();
  #closing = false;
  #delivered = 0;

  private constructor(options: PassUploaderOptions, files: string[]) {
    this.#o = options;
    this.#dir = join(options.spoolDir, 'census-passes');
    this.#endpoint = endpointUrl(options.url, 'v1/agent/census/passes').toString();
    this.#queue.push(...files);
    this.#loop = this.#run();
  }

  /** Opens the spool directory and starts sending what a previous run left. */
  static async open(options: PassUploaderOptions): Promise<PassUploader> {
    const dir = join(options.spoolDir, 'census-passes');
    await mkdir(join(dir, 'rejected'), { recursive: true });
    const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
    if (files.length > 0)
      options.logger.info({ records: files.length }, '[agent:census] pass records to send');
    return new PassUploader(options, files);
  }

  /** Records waiting to be sent (written and not yet confirmed). */
  get pending(): number {
    return this.#queue.length;
  }

  /** Records the control plane confirmed. */
  get delivered(): number {
    return this.#delivered;
  }

  /** Spools a record and queues it; never throws (a failed write is logged: the pass is then only in the log). */
  push(record: CensusPass): void {
    const name = `${record.start.padStart(20, '0')}-${record.destination}.json`;
    this.#writes = this.#writes.then(async () => {
      try {
        const tmp = join(this.#dir, `${name}.tmp`);
        const file = await open(tmp, 'w');
        try {
          await file.writeFile(JSON.stringify(record));
          await file.sync();
        } finally {
          await file.close();
        }
        await rename(tmp, join(this.#dir, name));
        this.#queue.push(name);
        this.#wake?.();
      } catch (err) {
        this.#o.logger.error(
          { err, destination: record.destination },
          '[agent:census] cannot spool a pass record',
        );
      }
    });
  }

  /** Waits for queued writes, tries to send what is left within `deadlineMs`, then stops (files stay spooled). */
  async close(deadlineMs = 3000): Promise<void> {
    await this.#writes;
    this.#closing = true;
    this.#wake?.();
    const timer = setTimeout(() => this.#stop.abort(), deadlineMs);
    await this.#loop;
    clearTimeout(timer);
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#stop.signal.aborted) {
      const name = this.#queue[0];
      if (name === undefined) {
        if (this.#closing) return;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      const outcome = await this.#send(name);
      if (outcome === 'done') {
        this.#queue.shift();
        attempt = 0;
        continue;
      }
      if (this.#closing) return;
      const delay = fullJitterDelay(attempt++, this.#o.backoff ?? { baseMs: 250, capMs: 30_000 });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.#wake = () => {
          // A new record does not cut a backoff short; closing does.
          if (this.#closing) {
            clearTimeout(timer);
            resolve();
          }
        };
      });
      this.#wake = undefined;
    }
  }

  async #send(name: string): Promise<'done' | 'retry'> {
    const path = join(this.#dir, name);
    let body: Buffer;
    try {
      // On the thread pool: a /16 pass's record with every answer takes milliseconds to compress, which the event
      // loop would take from the probes due meanwhile.
      body = await gzipAsync(await readFile(path));
    } catch (err) {
      this.#o.logger.error(
        { err, file: path },
        '[agent:census] cannot read a spooled pass record; dropping it',
      );
      return 'done';
    }
    const req = requestSignal(this.#stop.signal, this.#o.timeoutMs ?? 30_000);
    try {
      const res = await request(this.#endpoint, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.#o.token}`,
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        },
        body,
        signal: req.signal,
        ...(this.#o.dispatcher ? { dispatcher: this.#o.dispatcher } : {}),
      });
      const text = await res.body.text();
      const status = res.statusCode;
      if (status === 200 && v.is(CensusPassReceiptSchema, safeJson(text))) {
        await unlink(path).catch(() => undefined);
        this.#delivered++;
        return 'done';
      }
      const error = v.safeParse(ErrorBodySchema, safeJson(text));
      if (REFUSALS.has(status) && error.success) {
        this.#o.logger.error(
          { file: name, status, error: error.output.error },
          '[agent:census] the control plane refused a pass record for good; moved to census-passes/rejected/',
        );
        await rename(path, join(this.#dir, 'rejected', name)).catch(() => undefined);
        return 'done';
      }
      this.#o.logger.warn(
        { file: name, status, body: text.slice(0, 200) },
        '[agent:census] pass record not delivered; retrying with backoff',
      );
      return 'retry';
    } catch (err) {
      this.#o.logger.warn(
        { err: (err as Error).message, file: name },
        '[agent:census] pass record not delivered; retrying',
      );
      return 'retry';
    } finally {
      req.done();
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
