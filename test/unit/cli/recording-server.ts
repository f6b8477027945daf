/**
 * A real HTTP server on loopback that records each request and answers what the test scripts: enough to pin
 * down exactly which request a CLI command makes, and how it treats each kind of answer.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, or undefined when there was none. */
  body: unknown;
}

export interface Answer {
  status: number;
  /** Sent as JSON unless it is a string. */
  body?: unknown;
}

export type Responder = (request: RecordedRequest) => Answer | undefined;

export interface RecordingServer {
  url: string;
  requests: RecordedRequest[];
  /** Sets how the next requests are answered (`undefined` from the responder: hold the request open). */
  respond(responder: Responder): void;
  close(): Promise<void>;
}

export async function startRecordingServer(): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  let responder: Responder = () => ({ status: 500, body: 'no answer scripted' });
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://x');
    const recorded: RecordedRequest = {
      method: req.method ?? '',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: req.headers,
      body: text === '' ? undefined : JSON.parse(text),
    };
    requests.push(recorded);
    const answer = responder(recorded);
    if (answer === undefined) return; // held open: the client's deadline must end it
    const payload = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body ?? null);
    res.writeHead(answer.status, {
      'content-type': typeof answer.body === 'string' ? 'text/plain' : 'application/json',
    });
    res.end(answer.status === 204 ? undefined : payload);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    respond: (r) => {
      responder = r;
    },
    close: async () => {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}
