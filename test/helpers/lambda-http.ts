/**
 * Serves a Lambda handler over real HTTP on loopback, translating each request into a Function URL event and
 * the handler's result back into a response: the control plane "deployed" locally, for tests that drive it
 * with real clients (the agent, the CLI).
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type LambdaResult, lambdaContext, lambdaEvent } from './lambda-events.js';

export type LambdaHandler = (event: never, context: never) => Promise<unknown>;

export interface LambdaHttp {
  /** `http://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

async function readAll(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Starts the adapter on a free loopback port. */
export async function serveLambda(handler: LambdaHandler): Promise<LambdaHttp> {
  const server = createServer((req, res) => {
    void (async () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
      }
      const body = await readAll(req);
      const event = lambdaEvent('function-url', {
        method: req.method ?? 'GET',
        url: req.url ?? '/',
        headers,
        ...(body.length > 0 ? { body: new Uint8Array(body) } : {}),
      });
      const result = (await handler(event as never, lambdaContext() as never)) as LambdaResult;
      const out = Buffer.from(result.body ?? '', result.isBase64Encoded ? 'base64' : 'utf8');
      res.statusCode = result.statusCode;
      for (const [name, value] of Object.entries(result.headers ?? {})) res.setHeader(name, value);
      for (const [name, values] of Object.entries(result.multiValueHeaders ?? {}))
        res.setHeader(name, values);
      if (result.cookies?.length) res.setHeader('set-cookie', result.cookies);
      res.end(out);
    })().catch((err: unknown) => {
      // What a Function URL answers when the function itself throws.
      res.statusCode = 502;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ Message: 'Internal Server Error' }));
      process.emitWarning(`[lambda-http] handler threw: ${(err as Error).stack ?? String(err)}`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
