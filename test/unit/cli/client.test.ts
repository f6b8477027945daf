/** The API client's own behaviour: deadlines, base URLs with a path, and its named errors. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiClient,
  ApiClientError,
  ApiConnectionError,
  ApiError,
  ApiResponseError,
} from '../../../cli/client.js';
import { reply } from './fixtures.js';
import { type RecordingServer, startRecordingServer } from './recording-server.js';

let server: RecordingServer;
beforeAll(async () => {
  server = await startRecordingServer();
});
afterAll(() => server.close());

describe('ApiClient', () => {
  it('ends a request that gets no answer at its deadline with a timeout error', async () => {
    server.respond(() => undefined);
    const client = new ApiClient({ url: server.url, timeoutMs: 150 });
    const started = performance.now();
    const err = await client.listSources().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiConnectionError);
    expect((err as ApiConnectionError).reason).toBe('timeout');
    expect((err as ApiConnectionError).message).toContain('within 150 ms');
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('keeps a path prefix of the base URL and drops its trailing slash', async () => {
    server.respond(() => ({ status: 200, body: { results: [reply(0)], cursor: null } }));
    const client = new ApiClient({ url: `${server.url}/pinger/`, token: 't' });
    const page = await client.resultPage({ source: 'src_1' }, 5);
    expect(page.results).toEqual([reply(0)]);
    expect(server.requests.at(-1)).toMatchObject({
      path: '/pinger/v1/results',
      query: { source: 'src_1', limit: '5' },
    });
  });

  it('posts a result batch under the agent token', async () => {
    server.respond(() => ({ status: 200, body: { stored: 1, duplicates: 0 } }));
    const client = new ApiClient({ url: server.url, token: 'pgr_agent_x' });
    const { source: _s, rsite: _r, rhost: _h, ...input } = reply(0);
    expect(await client.postResults([input])).toEqual({ stored: 1, duplicates: 0 });
    const req = server.requests.at(-1)!;
    expect(req).toMatchObject({ method: 'POST', path: '/v1/agent/results', body: { results: [input] } });
    expect(req.headers.authorization).toBe('Bearer pgr_agent_x');
  });

  it('carries status, code, message and issues of an error body', async () => {
    server.respond(() => ({
      status: 409,
      body: {
        error: {
          code: 'conflict',
          message: 'sourceid 42 is taken',
          issues: [{ path: 'sourceid', message: 'is taken' }],
        },
      },
    }));
    const err = await new ApiClient({ url: server.url }).getSource('src_1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({
      status: 409,
      code: 'conflict',
      detail: 'sourceid 42 is taken',
      issues: [{ path: 'sourceid', message: 'is taken' }],
      method: 'GET',
    });
    expect((err as Error).message).toMatch(
      /^\[api-client\] GET .*\/v1\/sources\/src_1 answered 409 conflict: /,
    );
  });

  it('refuses a 200 that is not JSON', async () => {
    server.respond(() => ({ status: 200, body: 'ok' }));
    await expect(new ApiClient({ url: server.url }).listSources()).rejects.toBeInstanceOf(ApiResponseError);
  });

  it('refuses a base URL that is not http(s)', () => {
    expect(() => new ApiClient({ url: 'ftp://127.0.0.1' })).toThrow(ApiClientError);
    expect(() => new ApiClient({ url: 'not a url' })).toThrow(/is not a URL/);
  });
});
