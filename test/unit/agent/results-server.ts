/**
 * A real HTTP server standing in for `POST /v1/agent/results`, with a programmable answer per request, so the
 * outbox's policy (confirm, refuse, retry) meets real sockets, real gzip and real timeouts. Records every batch
 * it answered 200 to, gunzipped and parsed.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { ResultInput } from '../../../contract/index.js';

export type Answer = { status: number; body?: unknown } | 'stall';

export interface ResultsServer {
  url: string;
  /** Results of every batch answered 200, in arrival order (re-sends included). */
  stored: ResultInput[];
  /** Arrival time (performance.now) and size of every request. */
  requests: { at: number; results: number; status: number | 'stall' }[];
  /** Decides the answer to each batch; default 200. */
  answer: (results: ResultInput[]) => Answer;
  close(): Promise<void>;
}

export async function startResultsServer(token = 'agent-token'): Promise<ResultsServer> {
  const stalled: ServerResponse[] = [];
  const state: ResultsServer = {
    url: '',
    stored: [],
    requests: [],
    answer: () => ({ status: 200 }),
    close: async () => {
      for (const res of stalled) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const ok =
      req.method === 'POST' &&
      req.url === '/v1/agent/results' &&
      req.headers.authorization === `Bearer ${token}` &&
      req.headers['content-encoding'] === 'gzip';
    if (!ok) {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end('{"error":{"code":"bad_request","message":"bad request shape"}}');
      return;
    }
    let results: ResultInput[];
    try {
      ({ results } = JSON.parse(gunzipSync(Buffer.concat(chunks)).toString('utf8')) as {
        results: ResultInput[];
      });
    } catch {
      res
        .writeHead(400, { 'content-type': 'application/json' })
        .end('{"error":{"code":"invalid_json","message":"x"}}');
      return;
    }
    const answer = state.answer(results);
    state.requests.push({
      at: performance.now(),
      results: results.length,
      status: answer === 'stall' ? 'stall' : answer.status,
    });
    if (answer === 'stall') {
      stalled.push(res);
      return;
    }
    if (answer.status === 200) state.stored.push(...results);
    const body =
      answer.body ??
      (answer.status === 200
        ? { stored: results.length, duplicates: 0 }
        : { error: { code: 'internal', message: 'try later' } });
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

/** Kept here for the agent's unit tests, which import it beside the results server. */
export { until } from '../../helpers/until.js';

/** A logger that keeps every line, for asserting that the notable events were logged. */
export function memoryLogger() {
  const lines: { level: string; msg: string; obj: Record<string, unknown> }[] = [];
  const at = (level: string) => (obj: object, msg?: string) => {
    lines.push({ level, msg: msg ?? '', obj: obj as Record<string, unknown> });
  };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
