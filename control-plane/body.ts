/**
 * Reading a request body safely: bounded in bytes before and after gunzip (a small gzip bomb must not become
 * gigabytes in memory), then parsed as JSON. Web streams only, so it runs on any runtime Hono does.
 */
import type { Context } from 'hono';
import { HttpError } from './http-error.js';

export interface BodyLimits {
  /** Largest body accepted, counted after decompression. */
  maxBytes: number;
  /** Whether `Content-Encoding: gzip` is accepted (the agent's results); otherwise it is refused with 415. */
  gzip?: boolean;
}

const tooLarge = (maxBytes: number) =>
  new HttpError(413, 'payload_too_large', `the body exceeds ${maxBytes} bytes (counted after decompression)`);

/** Reads the body as bytes, stopping as soon as it passes `maxBytes`. */
export async function readBody(c: Context, limits: BodyLimits): Promise<Uint8Array> {
  const declared = Number(c.req.header('content-length'));
  const encoding = (c.req.header('content-encoding') ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && !(encoding === 'gzip' && limits.gzip)) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `Content-Encoding ${encoding} is not accepted here${limits.gzip ? ' (use gzip or none)' : ''}`,
    );
  }
  // A compressed body larger than the limit cannot be within it once inflated: refuse before reading it.
  if (Number.isFinite(declared) && declared > limits.maxBytes) throw tooLarge(limits.maxBytes);
  const raw = c.req.raw.body;
  if (!raw) return new Uint8Array();
  // With a declared length (checked above) the HTTP parser delivers exactly that many bytes: read them in one
  // go. Without one (chunked), count while reading.
  const received = Number.isFinite(declared)
    ? new Uint8Array(await c.req.raw.arrayBuffer())
    : await collect(capped(raw, limits.maxBytes), 'identity');
  if (encoding === 'identity') return received;
  const inflating = new Blob([received])
    .stream()
    .pipeThrough(new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>);
  return collect(capped(inflating, limits.maxBytes), 'gzip');
}

/** Reads a stream to its end into one buffer; a stream error other than a 413 is a body that cannot be read. */
async function collect(
  stream: ReadableStream<Uint8Array>,
  encoding: 'identity' | 'gzip',
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      total += value.byteLength;
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(
      400,
      'bad_request',
      `the body could not be read${encoding === 'gzip' ? ' as gzip' : ''}`,
      [{ path: 'body', message: encoding === 'gzip' ? 'is not valid gzip' : 'was cut short' }],
      { cause: err },
    );
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

/** Passes bytes through until more than `maxBytes` have gone by, then fails the stream with a 413. */
function capped(stream: ReadableStream<Uint8Array>, maxBytes: number): ReadableStream<Uint8Array> {
  let seen = 0;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        seen += chunk.byteLength;
        if (seen > maxBytes) controller.error(tooLarge(maxBytes));
        else controller.enqueue(chunk);
      },
    }),
  );
}

/**
 * Reads and parses a JSON body: 415 for another content type, 413 past the limit, 400 `invalid_json` for
 * bytes that are not JSON.
 */
export async function readJson(c: Context, limits: BodyLimits): Promise<unknown> {
  assertJsonContentType(c);
  return parseJsonObject(await readBody(c, limits));
}

/** 415 unless the request says it is JSON (or says nothing). */
export function assertJsonContentType(c: Context): void {
  const type = c.req.header('content-type');
  if (type !== undefined && !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `Content-Type ${type} is not accepted: send application/json`,
    );
  }
}

/** Bytes to a JSON object: 400 `invalid_json` for bytes that are not UTF-8 JSON, 400 for a non-object. */
export function parseJsonObject(bytes: Uint8Array): object {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (err) {
    throw new HttpError(
      400,
      'invalid_json',
      'the body is not UTF-8',
      [{ path: 'body', message: 'is not UTF-8' }],
      {
        cause: err,
      },
    );
  }
  if (text.trim() === '') {
    throw new HttpError(400, 'invalid_json', 'the body is empty: send a JSON object', [
      { path: 'body', message: 'is required' },
    ]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HttpError(
      400,
      'invalid_json',
      `the body is not valid JSON: ${(err as Error).message}`,
      [{ path: 'body', message: 'is not valid JSON' }],
      { cause: err },
    );
  }
  // Every body of this API is an object; schema libraries tend to let an array pass as one.
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'bad_request', 'invalid body: body must be a JSON object', [
      { path: 'body', message: 'must be a JSON object' },
    ]);
  }
  return value;
}
